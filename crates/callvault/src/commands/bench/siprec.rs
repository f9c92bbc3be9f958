//! `callvault bench siprec`: how many concurrent two-stream G.711 recording sessions one
//! server holds. A `serve --no-worker` process records over SIPREC; this process is the
//! recording clients: it opens the sessions (INVITE, 200, ACK, as RFC 3261 has a UAC do over
//! UDP), then sends 50 PCMU packets a second on each stream, paced in real time. Measured:
//! packets the kernel dropped because the server did not read them in time (UDP receive-buffer
//! errors), and the server's CPU. The anchor, measured in the same run: a process that only
//! receives the same packets on as many sockets and discards them.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use callvault_telephony::siprec::{Codec, PayloadEncoder, RtpPacket, write_rtp};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;

use super::process::Install;

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Concurrent sessions to try, in order.
    #[arg(long, value_delimiter = ',', default_value = "100,250,500")]
    pub sessions: Vec<usize>,
    /// Seconds of media per step.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
}

const NUMBER: &str = "+14155550000";

/// CPU seconds a process has used (user and system), from /proc.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat.rsplit_once(')').context("a stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// UDP datagrams the kernel dropped because a socket's buffer was full.
fn receive_buffer_errors() -> anyhow::Result<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp")?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (
        udp.next().context("Udp names")?,
        udp.next().context("Udp values")?,
    );
    let index = names
        .split_whitespace()
        .position(|n| n == "RcvbufErrors")
        .context("RcvbufErrors")?;
    Ok(values
        .split_whitespace()
        .nth(index)
        .context("a value")?
        .parse()?)
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One recording client's session: its SIP socket and the answered RTP ports.
struct Session {
    sip: UdpSocket,
    call_id: String,
    to_tag: String,
    ports: [u16; 2],
}

fn invite(from: SocketAddr, call_id: &str, n: usize) -> String {
    let sdp = "v=0\r\no=src 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n\
         m=audio 40002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n";
    let xml = format!(
        "<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">\
         <participant participant_id=\"a\"><nameID aor=\"sip:+1415556{:04}@carrier\"/></participant>\
         <participant participant_id=\"b\"><nameID aor=\"sip:{NUMBER}@pbx\"/></participant></recording>",
        n % 10_000
    );
    let body = format!(
        "--b\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b\r\nContent-Type: application/rs-metadata+xml\r\n\
         Content-Disposition: recording-session\r\n\r\n{xml}\r\n--b--\r\n"
    );
    format!(
        "INVITE sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{call_id}\r\n\
         From: <sip:src@{from}>;tag=src\r\nTo: <sip:srs@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:src@{from}>;+sip.src\r\nRequire: siprec\r\nMax-Forwards: 70\r\n\
         Content-Type: multipart/mixed;boundary=b\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn in_dialog(method: &str, cseq: u32, session: &Session, from: SocketAddr, branch: &str) -> String {
    format!(
        "{method} sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{branch}\r\n\
         From: <sip:src@{from}>;tag=src\r\nTo: <sip:srs@127.0.0.1>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        session.to_tag, session.call_id
    )
}

/// Sends the INVITE and waits for the final answer (a 100 may come first); ACKs a 200.
async fn open(server: SocketAddr, step: usize, n: usize) -> anyhow::Result<Session> {
    let sip = UdpSocket::bind("127.0.0.1:0").await?;
    let from = sip.local_addr()?;
    // A Call-ID names one session: never the same twice.
    let call_id = format!("bench-{step}-{n}-{}", std::process::id());
    sip.send_to(invite(from, &call_id, n).as_bytes(), server)
        .await?;
    let mut buffer = vec![0u8; 8192];
    let answer = loop {
        let (length, _) = tokio::time::timeout(Duration::from_secs(10), sip.recv_from(&mut buffer))
            .await
            .context("no answer to an INVITE")??;
        let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            break text;
        }
    };
    if !answer.starts_with("SIP/2.0 200") {
        bail!(
            "the INVITE was answered {}",
            answer.lines().next().unwrap_or("")
        );
    }
    let to_tag = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("to:"))
        .and_then(|l| l.split("tag=").nth(1))
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned())
        .context("a To tag")?;
    let ports: Vec<u16> = answer
        .lines()
        .filter_map(|l| l.strip_prefix("m=audio "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let [first, second] = ports[..] else {
        bail!("the answer has {} streams", ports.len());
    };
    let session = Session {
        sip,
        call_id,
        to_tag,
        ports: [first, second],
    };
    let ack = in_dialog("ACK", 1, &session, from, &format!("{n}ack"));
    session.sip.send_to(ack.as_bytes(), server).await?;
    Ok(session)
}

/// Sends BYE and waits for its 200.
async fn close(server: SocketAddr, session: Session, n: usize) -> anyhow::Result<()> {
    let from = session.sip.local_addr()?;
    let bye = in_dialog("BYE", 2, &session, from, &format!("{n}bye"));
    session.sip.send_to(bye.as_bytes(), server).await?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let (length, _) =
            tokio::time::timeout(Duration::from_secs(30), session.sip.recv_from(&mut buffer))
                .await
                .context("no answer to a BYE")??;
        if buffer[..length].starts_with(b"SIP/2.0 200") {
            return Ok(());
        }
    }
}

/// 50 packets a second to every port, for `seconds`; returns the packets sent.
async fn send_media(ports: &[u16], seconds: u64) -> anyhow::Result<u64> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let tone: Vec<i16> = (0..160)
        .map(|i| (6000.0 * (f64::from(i) * 0.3).sin()) as i16)
        .collect();
    let payload = PayloadEncoder::new(Codec::Pcmu).encode(&tone);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut sent = 0u64;
    for n in 0..seconds * 50 {
        tick.tick().await;
        for (i, port) in ports.iter().enumerate() {
            let packet = write_rtp(&RtpPacket {
                payload_type: 0,
                marker: n == 0,
                sequence: n as u16,
                timestamp: (n * 160) as u32,
                ssrc: i as u32,
                payload: &payload,
            });
            socket.send_to(&packet, ("127.0.0.1", *port)).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// The hidden `bench siprec-sink`: `sockets` UDP sockets whose ports it prints on one line,
/// each receiving and discarding until stdin closes.
pub async fn sink(sockets: usize) -> anyhow::Result<()> {
    let mut ports = Vec::new();
    for _ in 0..sockets {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        ports.push(socket.local_addr()?.port().to_string());
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 2048];
            while socket.recv_from(&mut buffer).await.is_ok() {}
        });
    }
    println!("ports {}", ports.join(" "));
    let mut line = String::new();
    let _ = BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await;
    Ok(())
}

/// The anchor: the sink's CPU for the same packets.
async fn anchor(streams: usize, seconds: u64) -> anyhow::Result<(f64, u64)> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["bench", "siprec-sink", "--sockets", &streams.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    let ports: Vec<u16> = line
        .strip_prefix("ports ")
        .context("the sink's ports")?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let pid = child.id().context("the sink's pid")?;
    let (cpu, dropped) = (cpu_seconds(pid)?, receive_buffer_errors()?);
    send_media(&ports, seconds).await?;
    let used = cpu_seconds(pid)? - cpu;
    let lost = receive_buffer_errors()? - dropped;
    drop(child.stdin.take());
    child.wait().await?;
    Ok((used, lost))
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let work = tempfile::tempdir().context("a work folder")?;
    let port = free_udp_port()?;
    let server_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let install = Install::new(&work.path().join("data"), Vec::new())?;
    let listen = server_addr.to_string();
    let server = install
        .serve(&[
            "--siprec-listen",
            &listen,
            "--siprec-allow",
            "127.0.0.1",
            "--siprec-rtp-ports",
            "20000-29999",
        ])
        .await?;
    server.add_number(NUMBER, "pbx").await?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "two-stream PCMU sessions, 50 packets/s per stream, {} s each step, on {cores} cores; \
         anchor: a process receiving and discarding the same packets",
        options.seconds
    );
    println!(
        "\n{:>8} {:>10} {:>9} {:>12} {:>14} {:>16} {:>8}",
        "sessions",
        "packets/s",
        "dropped",
        "server CPU %",
        "CPU ms/sess·s",
        "anchor CPU %",
        "ratio"
    );
    let mut best = 0;
    for (step, &count) in options.sessions.iter().enumerate() {
        let mut sessions = Vec::with_capacity(count);
        for n in 0..count {
            sessions.push(
                open(server_addr, step, n)
                    .await
                    .with_context(|| format!("session {n}"))?,
            );
        }
        let ports: Vec<u16> = sessions.iter().flat_map(|s| s.ports).collect();
        let (cpu, dropped) = (cpu_seconds(server.pid())?, receive_buffer_errors()?);
        let started = Instant::now();
        let sent = send_media(&ports, options.seconds).await?;
        let wall = started.elapsed().as_secs_f64();
        let used = cpu_seconds(server.pid())? - cpu;
        let lost = receive_buffer_errors()? - dropped;
        for (n, session) in sessions.into_iter().enumerate() {
            close(server_addr, session, n).await?;
        }
        let (anchor_cpu, anchor_lost) = anchor(ports.len(), options.seconds).await?;
        let percent = used / wall * 100.0;
        println!(
            "{count:>8} {:>10.0} {lost:>9} {percent:>12.1} {:>14.3} {:>16.1} {:>8.2}",
            sent as f64 / wall,
            used * 1000.0 / wall / count as f64,
            anchor_cpu / wall * 100.0,
            used / anchor_cpu.max(0.001)
        );
        if anchor_lost > 0 {
            println!("         (the anchor itself lost {anchor_lost} packets)");
        }
        if lost == 0 {
            best = best.max(count);
        }
    }
    println!("\nsessions held with no packet dropped: {best}");
    Ok(())
}

//! The SIPREC recording server end to end: sipp is the recording client (our scenario files
//! in `tests/siprec/`), and our own sender plays a known two-channel call as two labelled
//! PCMU streams to the ports the server answered with, in real time.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callvault_telephony::siprec::{Codec, PayloadEncoder, RtpPacket, write_rtp};
use common::{Running, admin_token, callvault, fixture, send, serve_with, text, until};
use serde_json::{Value, json};

const SAMPLES_PER_PACKET: usize = 160;

/// A server that records over SIPREC for `allow`, on RTP ports of its own.
fn siprec_server(data: &Path, allow: &str, rtp_ports: &str) -> (Running, SocketAddr) {
    let mut command = callvault(data);
    command.env("CALLVAULT_SIPREC_ALLOW", allow);
    siprec_server_with(command, rtp_ports)
}

fn siprec_server_with(mut command: Command, rtp_ports: &str) -> (Running, SocketAddr) {
    command
        .env("CALLVAULT_SIPREC_LISTEN", "127.0.0.1:0")
        .env("CALLVAULT_SIPREC_RTP_PORTS", rtp_ports);
    let running = serve_with(command);
    let sip = running
        .printed
        .iter()
        .find_map(|line| line.strip_prefix("callvault: SIPREC recording server on "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("the SIPREC address in {:?}", running.printed));
    (running, sip)
}

/// The number and the team member the calls are about.
async fn configure(base: &str, token: &str, recording: bool) {
    send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/numbers"),
        token,
        Some(
            json!({"e164": "+1 415 555 0000", "label": "Support", "provider": "pbx",
                    "call_recording": recording, "transcribe_automatically": true}),
        ),
    )
    .await;
    let ana = send(
        reqwest::Method::POST,
        &format!("{base}/api/v1/users"),
        token,
        Some(json!({"email": "ana@example.com", "name": "Ana", "extension": "201"})),
    )
    .await;
    assert_eq!(ana["extension"], "201", "{ana}");
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/siprec")
        .join(name)
}

/// The refusal scenario expecting `status` (sipp takes no variable there).
fn refusal(dir: &Path, status: u16) -> PathBuf {
    let text = std::fs::read_to_string(scenario("refused.xml")).expect("scenario");
    let path = dir.join(format!("refused-{status}.xml"));
    std::fs::write(&path, text.replace("[status]", &status.to_string())).expect("written");
    path
}

/// How the client sends: SIP over UDP or TCP, and the codec of both streams.
#[derive(Clone, Copy)]
struct Client {
    tcp: bool,
    codec: Codec,
}

const UDP_PCMU: Client = Client {
    tcp: false,
    codec: Codec::Pcmu,
};

impl Client {
    fn payload_type(self) -> u8 {
        self.codec.payload_type()
    }
}

/// The authenticating client's scenario expecting `status` for its credentials; a refusal
/// ends with the ACK.
fn authenticated(dir: &Path, status: u16) -> PathBuf {
    let text = std::fs::read_to_string(scenario("authenticated.xml")).expect("scenario");
    let mut text = text.replace("[final]", &status.to_string());
    if status != 200 {
        let cut = text
            .find("  <!-- After a 200 only")
            .expect("the call's part");
        text.truncate(cut);
        text.push_str("</scenario>\n");
    }
    let path = dir.join(format!("authenticated-{status}.xml"));
    std::fs::write(&path, text).expect("written");
    path
}

/// sipp running `scenario` against the server as `client`; the call lasts `call_ms` after the
/// ACK (and after each step of the scenario that pauses).
fn sipp_command(
    server: SocketAddr,
    scenario: &Path,
    dir: &Path,
    call_ms: u64,
    client: Client,
) -> Command {
    let mut command = Command::new("sipp");
    let codec = match client.codec {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
        Codec::G722 => "G722",
    };
    command
        .arg(server.to_string())
        .arg("-sf")
        .arg(scenario)
        .args(["-m", "1", "-i", "127.0.0.1", "-p", "0", "-nostdin"])
        .args(["-t", if client.tcp { "t1" } else { "u1" }])
        .args(["-timeout", "60s", "-timeout_error", "-trace_err"])
        .args(["-d", &call_ms.to_string()])
        .args(["-key", "pt", &client.payload_type().to_string()])
        .args(["-key", "codec", codec])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// `sipp_command` with the scenario's keys (`-key NAME VALUE`), started.
fn sipp(
    server: SocketAddr,
    scenario: &Path,
    dir: &Path,
    call_ms: u64,
    client: Client,
    keys: &[(&str, &str)],
) -> Child {
    let mut command = sipp_command(server, scenario, dir, call_ms, client);
    for (key, value) in keys {
        command.args(["-key", key, value]);
    }
    command.spawn().expect("sipp (Debian's sip-tester) runs")
}

/// `sipp_command` on UDP with other options (`FLAG VALUE`, such as credentials), started.
fn sipp_with(
    server: SocketAddr,
    scenario: &Path,
    dir: &Path,
    call_ms: u64,
    options: &[(&str, &str)],
) -> Child {
    let mut command = sipp_command(server, scenario, dir, call_ms, UDP_PCMU);
    for (flag, value) in options {
        command.args([flag, value]);
    }
    command.spawn().expect("sipp (Debian's sip-tester) runs")
}

/// Whether sipp's scenario ran to its end (sipp checks every answer it expects).
async fn sipp_succeeded(mut src: Child) -> bool {
    tokio::task::spawn_blocking(move || src.wait())
        .await
        .expect("joined")
        .expect("sipp ends")
        .success()
}

/// The recording is as long as the call, from INVITE to BYE, within 0.25 s.
fn assert_as_long_as_the_call(call: &Value) {
    let heard = call["recording"]["duration_s"]
        .as_f64()
        .unwrap_or_else(|| panic!("a recording: {call}"));
    let lasted = seconds_between(call);
    assert!(
        (heard - lasted).abs() <= 0.25,
        "recording {heard} s, call {lasted} s"
    );
}

/// The RTP ports the server answered with, once sipp has written them.
async fn answered_ports(dir: &Path) -> (u16, u16) {
    let file = dir.join("ports");
    until(
        Duration::from_secs(20),
        "the answer's RTP ports",
        async || {
            let text = std::fs::read_to_string(&file).ok()?;
            let mut ports = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((ports.next()??, ports.next()??))
        },
    )
    .await
}

/// The fixture's two channels (16-bit PCM WAV, 8 kHz).
fn channels(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let bytes = std::fs::read(path).expect("fixture");
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let samples: Vec<i16> = bytes[data..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    )
}

/// How the network treats the streams.
#[derive(Clone, Copy)]
enum Network {
    Clean,
    /// One packet in 20 lost, and one in 20 swapped with the next.
    LossyAndReordered,
}

/// Sends `left` to the first port and `right` to the second, 20 ms per packet, in real time.
async fn send_call(
    ports: (u16, u16),
    left: &[i16],
    right: &[i16],
    network: Network,
    client: Client,
) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("socket");
    let mut encoders = [
        PayloadEncoder::new(client.codec),
        PayloadEncoder::new(client.codec),
    ];
    // G.722 is 16 kHz audio: each 8 kHz sample, then the point halfway to the next.
    let wideband = client.codec == Codec::G722;
    let widen = |samples: Vec<i16>| -> Vec<i16> {
        if !wideband {
            return samples;
        }
        let mut out = Vec::with_capacity(2 * samples.len());
        for (i, s) in samples.iter().enumerate() {
            let next = samples.get(i + 1).copied().unwrap_or(*s);
            out.push(*s);
            out.push(((i32::from(*s) + i32::from(next)) / 2) as i16);
        }
        out
    };
    let packets = left.len().max(right.len()) / SAMPLES_PER_PACKET;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut held: [Option<Vec<u8>>; 2] = [None, None];
    for n in 0..packets {
        tick.tick().await;
        for (stream, (samples, port)) in [(left, ports.0), (right, ports.1)].into_iter().enumerate()
        {
            let frame: Vec<i16> = (0..SAMPLES_PER_PACKET)
                .map(|i| {
                    samples
                        .get(n * SAMPLES_PER_PACKET + i)
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            let payload = encoders[stream].encode(&widen(frame));
            let packet = write_rtp(&RtpPacket {
                payload_type: client.payload_type(),
                marker: n == 0,
                // Both counters wrap during the call.
                sequence: (65_500u16).wrapping_add(n as u16),
                timestamp: (u32::MAX - 8000).wrapping_add((n * SAMPLES_PER_PACKET) as u32),
                ssrc: 0x1000 + stream as u32,
                payload: &payload,
            });
            let to = SocketAddr::from(([127, 0, 0, 1], port));
            match network {
                Network::Clean => {}
                Network::LossyAndReordered if n % 20 == 7 => continue,
                Network::LossyAndReordered if n % 20 == 13 => {
                    held[stream] = Some(packet);
                    continue;
                }
                Network::LossyAndReordered => {}
            }
            socket.send_to(&packet, to).await.expect("sent");
            if let Some(late) = held[stream].take() {
                socket.send_to(&late, to).await.expect("sent");
            }
        }
    }
}

async fn get(base: &str, path: &str, token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON")
}

/// The last call of the only conversation, once it has ended and its recording is stored.
async fn recorded_call(base: &str, token: &str) -> Value {
    until(
        Duration::from_secs(60),
        "the call's recording",
        async || {
            let list = get(base, "/api/v1/conversations", token).await;
            let id = list["items"].get(0)?["id"].as_str()?.to_owned();
            let conversation = get(base, &format!("/api/v1/conversations/{id}"), token).await;
            let call = conversation["events"]
                .as_array()?
                .iter()
                .rev()
                .find_map(|e| e.get("call").filter(|c| !c.is_null()))?
                .clone();
            (!call["ended_at"].is_null() && !call["recording"].is_null()).then_some(call)
        },
    )
    .await
}

fn seconds_between(call: &Value) -> f64 {
    let at = |key: &str| {
        time::OffsetDateTime::parse(
            call[key].as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    (at("ended_at") - at("started_at")).as_seconds_f64()
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// One recorded call: the server, sipp and the sender, until sipp has hung up.
async fn record_call(
    data: &Path,
    network: Network,
    client: Client,
    rtp_ports: &str,
) -> (Running, String) {
    let token = admin_token(data);
    let (server, sip) = siprec_server(data, "127.0.0.1", rtp_ports);
    configure(&server.base, &token, true).await;
    let dir = temp();
    let src = sipp(
        sip,
        &scenario("record.xml"),
        dir.path(),
        9000,
        client,
        &[
            ("caller", "sip:+14155550100@carrier.example;user=phone"),
            ("callee", "sip:201@pbx.example"),
        ],
    );
    let ports = answered_ports(dir.path()).await;
    let (left, right) = channels(&fixture("call-2ch.wav"));
    send_call(ports, &left, &right, network, client).await;
    assert!(sipp_succeeded(src).await, "sipp's call failed");
    (server, token)
}

#[tokio::test]
async fn a_forked_call_lands_with_its_parties_each_on_their_channel() {
    let data = temp();
    let (server, token) = record_call(data.path(), Network::Clean, UDP_PCMU, "32000-32099").await;
    let call = recorded_call(&server.base, &token).await;
    assert_eq!(call["direction"], "inbound", "{call}");
    assert_eq!(call["from"], "+14155550100", "{call}");
    assert_eq!(call["handled_by"]["name"], "Ana", "{call}");
    assert_eq!(call["source"], "siprec", "{call}");
    assert!(call["recording_note"].is_null(), "{call}");
    let conversations = get(&server.base, "/api/v1/conversations", &token).await;
    assert_eq!(conversations["items"][0]["contact"]["name"], "Maria Lopez");

    let recording = &call["recording"];
    assert_eq!(recording["channels"], 2, "{call}");
    assert_as_long_as_the_call(&call);
    each_party_on_their_channel(&server.base, &token, &text(recording, "id")).await;
}

/// The automatic transcript has each party's words on their own channel: the contact's
/// ("invoice") on the left, the team member's ("account") on the right.
async fn each_party_on_their_channel(base: &str, token: &str, recording: &str) {
    let transcript = until(Duration::from_secs(240), "the transcript", async || {
        let t = get(
            base,
            &format!("/api/v1/recordings/{recording}/transcript"),
            token,
        )
        .await;
        (t["status"] == "done").then_some(t)
    })
    .await;
    let said = |channel: u64| {
        transcript["segments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["channel"] == channel)
            .map(|s| s["text"].as_str().unwrap_or_default().to_lowercase())
            .collect::<String>()
    };
    assert!(said(0).contains("invoice"), "{transcript}");
    assert!(said(1).contains("account"), "{transcript}");
    assert!(!said(0).contains("account"), "{transcript}");
}

#[tokio::test]
async fn a_wideband_call_over_tcp_lands_the_same() {
    let data = temp();
    let client = Client {
        tcp: true,
        codec: Codec::G722,
    };
    let (server, token) = record_call(data.path(), Network::Clean, client, "32500-32599").await;
    let call = recorded_call(&server.base, &token).await;
    assert_eq!(call["handled_by"]["name"], "Ana", "{call}");
    assert_as_long_as_the_call(&call);
    each_party_on_their_channel(&server.base, &token, &text(&call["recording"], "id")).await;
}

#[tokio::test]
async fn a_transfer_names_who_took_the_call_over() {
    let data = temp();
    let token = admin_token(data.path());
    let (server, sip) = siprec_server(data.path(), "127.0.0.1", "32600-32699");
    configure(&server.base, &token, true).await;
    send(
        reqwest::Method::POST,
        &format!("{}/api/v1/users", server.base),
        &token,
        Some(json!({"email": "ben@example.com", "name": "Ben", "extension": "202"})),
    )
    .await;
    let dir = temp();
    let src = sipp(
        sip,
        &scenario("transfer.xml"),
        dir.path(),
        1500,
        UDP_PCMU,
        &[
            ("caller", "sip:+14155550100@carrier.example"),
            ("callee", "sip:201@pbx.example"),
            ("transferee", "sip:202@pbx.example"),
        ],
    );
    // sipp checks that the re-INVITE's answer repeats the SDP and the session timer.
    assert!(sipp_succeeded(src).await, "sipp's transfer failed");
    let call = recorded_call(&server.base, &token).await;
    assert_eq!(call["handled_by"]["name"], "Ben", "{call}");
}

#[tokio::test]
async fn options_pings_are_answered_with_what_the_server_takes() {
    let data = temp();
    let (_server, sip) = siprec_server(data.path(), "127.0.0.1", "32700-32799");
    let dir = temp();
    for client in [
        UDP_PCMU,
        Client {
            tcp: true,
            ..UDP_PCMU
        },
    ] {
        let src = sipp(sip, &scenario("options.xml"), dir.path(), 0, client, &[]);
        assert!(sipp_succeeded(src).await, "OPTIONS answered 200");
    }
}

#[tokio::test]
async fn lost_and_reordered_packets_still_give_a_recording_of_the_right_length() {
    let data = temp();
    let (server, token) = record_call(
        data.path(),
        Network::LossyAndReordered,
        UDP_PCMU,
        "32100-32199",
    )
    .await;
    let call = recorded_call(&server.base, &token).await;
    assert_as_long_as_the_call(&call);
    // Out-of-order packets put back in place: each party is still heard on their channel.
    each_party_on_their_channel(&server.base, &token, &text(&call["recording"], "id")).await;
}

#[tokio::test]
async fn a_client_outside_the_allow_list_is_refused_and_nothing_is_stored() {
    let data = temp();
    let token = admin_token(data.path());
    let (server, sip) = siprec_server(data.path(), "10.0.0.0/8", "32200-32299");
    configure(&server.base, &token, true).await;
    let dir = temp();
    let src = sipp(sip, &refusal(dir.path(), 403), dir.path(), 0, UDP_PCMU, &[]);
    assert!(sipp_succeeded(src).await, "the INVITE got 403");
    let list = get(&server.base, "/api/v1/conversations", &token).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn recording_off_declines_the_session_and_the_call_is_still_in_the_timeline() {
    let data = temp();
    let token = admin_token(data.path());
    let (server, sip) = siprec_server(data.path(), "127.0.0.1", "32300-32399");
    configure(&server.base, &token, false).await;
    let dir = temp();
    let src = sipp(sip, &refusal(dir.path(), 603), dir.path(), 0, UDP_PCMU, &[]);
    assert!(sipp_succeeded(src).await, "the INVITE got 603");
    let list = get(&server.base, "/api/v1/conversations", &token).await;
    let id = text(&list["items"][0], "id");
    let conversation = get(&server.base, &format!("/api/v1/conversations/{id}"), &token).await;
    let call = &conversation["events"][0]["call"];
    assert_eq!(call["recording_allowed"], false, "{call}");
    assert!(call["recording"].is_null(), "{call}");
}

#[tokio::test]
async fn a_killed_server_stores_what_it_had_marked_as_cut_short() {
    let data = temp();
    let token = admin_token(data.path());
    let (mut server, sip) = siprec_server(data.path(), "127.0.0.1", "32400-32499");
    configure(&server.base, &token, true).await;
    let dir = temp();
    // The client would hang up after a minute; the server dies three seconds in.
    let mut src = sipp(
        sip,
        &scenario("record.xml"),
        dir.path(),
        60_000,
        UDP_PCMU,
        &[
            ("caller", "sip:+14155550100@carrier.example"),
            ("callee", "sip:201@pbx.example"),
        ],
    );
    let ports = answered_ports(dir.path()).await;
    let (left, right) = channels(&fixture("call-2ch.wav"));
    let three_seconds = 3 * 8000;
    send_call(
        ports,
        &left[..three_seconds],
        &right[..three_seconds],
        Network::Clean,
        UDP_PCMU,
    )
    .await;
    server.child.kill().expect("killed"); // SIGKILL
    server.child.wait().expect("reaped");
    let _ = src.kill();
    let _ = src.wait();
    drop(server);

    let (server, _) = siprec_server(data.path(), "127.0.0.1", "32400-32499");
    assert!(
        server
            .printed
            .iter()
            .any(|l| l.contains("stored 1 SIPREC recordings")),
        "{:?}",
        server.printed
    );
    let call = recorded_call(&server.base, &token).await;
    let note = call["recording_note"].as_str().unwrap_or_default();
    assert!(note.contains("cut short"), "{call}");
    let heard = call["recording"]["duration_s"]
        .as_f64()
        .expect("a recording");
    // What was spooled: from the INVITE to the last flush before the kill, which is the three
    // seconds sent (and the set-up before them) less the jitter window (0.3 s) and at most
    // one flush period (0.25 s) not yet written out.
    assert!((2.2..=3.6).contains(&heard), "recording {heard} s");
}

#[tokio::test]
async fn a_client_with_credentials_records_and_a_wrong_password_is_refused() {
    let data = temp();
    let token = admin_token(data.path());
    // No address list: the credentials alone decide.
    let mut command = callvault(data.path());
    command
        .env("CALLVAULT_SIPREC_USER", "sbc")
        .env("CALLVAULT_SIPREC_PASSWORD", "a long shared secret");
    let (server, sip) = siprec_server_with(command, "32800-32899");
    configure(&server.base, &token, true).await;
    let dir = temp();
    let credentials = |password: &'static str| [("-au", "sbc"), ("-ap", password)];
    for (status, password) in [(403, "a wrong guess"), (200, "a long shared secret")] {
        let src = sipp_with(
            sip,
            &authenticated(dir.path(), status),
            dir.path(),
            500,
            &credentials(password),
        );
        assert!(
            sipp_succeeded(src).await,
            "the authenticated INVITE got {status}"
        );
    }
    // Only the authenticated session made a call.
    let call = recorded_call(&server.base, &token).await;
    assert_eq!(call["from"], "+14155550100", "{call}");
    let list = get(&server.base, "/api/v1/conversations", &token).await;
    let conversation = text(&list["items"][0], "id");
    let events = get(
        &server.base,
        &format!("/api/v1/conversations/{conversation}"),
        &token,
    )
    .await;
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
}

/// Reads one SIP message from a stream: its head, then as much body as Content-Length says.
/// `pending` keeps what came after it.
async fn read_sip_message(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    pending: &mut Vec<u8>,
) -> String {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    (name.trim().eq_ignore_ascii_case("Content-Length")
                        || name.trim().eq_ignore_ascii_case("l"))
                    .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if pending.len() >= end + 4 + length {
                let message: Vec<u8> = pending.drain(..end + 4 + length).collect();
                return String::from_utf8_lossy(&message).into_owned();
            }
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("the server answers")
            .expect("reads");
        assert!(read > 0, "the server closed the connection");
        pending.extend_from_slice(&chunk[..read]);
    }
}

/// Reads until a final response (a 100 may come first).
async fn final_response(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    pending: &mut Vec<u8>,
) -> String {
    loop {
        let message = read_sip_message(stream, pending).await;
        if !message.starts_with("SIP/2.0 1") {
            return message;
        }
    }
}

#[tokio::test]
async fn a_client_over_tls_records() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::AsyncWriteExt;

    let data = temp();
    let token = admin_token(data.path());
    let certs = temp();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=recorder.test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        // A server's certificate, not an authority's: what a client accepts for a server.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut command = callvault(data.path());
    command
        .env("CALLVAULT_SIPREC_ALLOW", "127.0.0.1")
        .env("CALLVAULT_SIPREC_TLS_LISTEN", "127.0.0.1:0")
        .env("CALLVAULT_SIPREC_TLS_CERT", &cert)
        .env("CALLVAULT_SIPREC_TLS_KEY", &key);
    let (server, _) = siprec_server_with(command, "32900-32999");
    let tls_addr: SocketAddr = server
        .printed
        .iter()
        .find_map(|l| l.split_once("TLS on ").map(|(_, a)| a.trim().to_owned()))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the TLS address in {:?}", server.printed));
    configure(&server.base, &token, true).await;

    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(&cert).expect("PEM") {
        roots
            .add(certificate.expect("a certificate"))
            .expect("a root");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(tls_addr)
        .await
        .expect("connects");
    let local = tcp.local_addr().expect("address");
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            ServerName::from(std::net::IpAddr::from([127, 0, 0, 1])),
            tcp,
        )
        .await
        .expect("the server's certificate is trusted");
    let mut pending = Vec::new();

    let sdp = "v=0\r\no=src 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n\
               m=audio 40002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n";
    let dialog = |method: &str, cseq: u32, branch: &str, to_tag: &str| {
        format!(
            "{method} sip:srs@{tls_addr};transport=tls SIP/2.0\r\n\
             Via: SIP/2.0/TLS {local};branch=z9hG4bK{branch}\r\n\
             From: <sip:+14155550100@carrier.example>;tag=src1\r\n\
             To: <sip:+14155550000@pbx.example>{to_tag}\r\nCall-ID: tls-call-1\r\n\
             CSeq: {cseq} {method}\r\nContact: <sip:src@{local};transport=tls>;+sip.src\r\n\
             Max-Forwards: 70\r\n"
        )
    };
    let invite = format!(
        "{}Require: siprec\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        dialog("INVITE", 1, "inv", ""),
        sdp.len()
    );
    tls.write_all(invite.as_bytes()).await.expect("sent");
    let answer = final_response(&mut tls, &mut pending).await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    let contact = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("contact:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        contact.to_ascii_lowercase().contains("transport=tls"),
        "in-dialog requests come back over TLS: {contact}"
    );
    let to_tag = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("to:"))
        .and_then(|l| l.split("tag=").nth(1))
        .map(|t| format!(";tag={}", t.trim()))
        .expect("a To tag");
    let ack = format!(
        "{}Content-Length: 0\r\n\r\n",
        dialog("ACK", 1, "ack", &to_tag)
    );
    tls.write_all(ack.as_bytes()).await.expect("sent");
    // The call lasts a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bye = format!(
        "{}Content-Length: 0\r\n\r\n",
        dialog("BYE", 2, "bye", &to_tag)
    );
    tls.write_all(bye.as_bytes()).await.expect("sent");
    let ended = final_response(&mut tls, &mut pending).await;
    assert!(ended.starts_with("SIP/2.0 200"), "{ended}");

    let call = recorded_call(&server.base, &token).await;
    assert_eq!(call["from"], "+14155550100", "{call}");
    assert_eq!(call["recording"]["channels"], 2, "{call}");
}

//! One recorded stream: RTP from its socket, decoded and laid on the call's timeline, and
//! written to the spool as soon as the jitter window has passed over it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use callvault_telephony::siprec::{Codec, PayloadDecoder, Timeline, parse_rtp};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::allow::AllowList;
use crate::spool::ChannelWriter;

/// How late a packet may be and still find its place.
pub const JITTER_WINDOW_MS: u32 = 300;
/// How often what the window has passed is written out.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// What the session's streams share: when its timeline began, and when a packet last came.
#[derive(Debug)]
pub struct SessionClock {
    pub start: Instant,
    /// Milliseconds after `start` that the newest packet of any stream came.
    pub last_packet_ms: AtomicU64,
}

impl SessionClock {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_packet_ms: AtomicU64::new(0),
        })
    }

    pub fn samples_now(&self, rate: u32) -> u64 {
        let elapsed = self.start.elapsed();
        elapsed.as_secs() * u64::from(rate)
            + u64::from(elapsed.subsec_nanos()) * u64::from(rate) / 1_000_000_000
    }
}

/// A stream to record.
#[derive(Debug)]
pub struct StreamSpec {
    pub socket: UdpSocket,
    pub codec: Codec,
    pub payload_type: u8,
}

/// What a stream's receiving left: its timeline with the samples still in the window, and
/// what it counted.
#[derive(Debug)]
pub struct Received {
    pub timeline: Timeline,
    pub writer: ChannelWriter,
    pub packets: u64,
    pub refused: u64,
}

/// Receives until `stop`, writing to `writer`.
pub async fn receive(
    stream: StreamSpec,
    rate: u32,
    clock: Arc<SessionClock>,
    allow: AllowList,
    mut writer: ChannelWriter,
    stop: CancellationToken,
) -> Received {
    let mut decoder = PayloadDecoder::new(stream.codec, rate);
    // Every codec offered here has an 8 kHz RTP clock.
    let mut timeline = Timeline::new(rate, 8000, JITTER_WINDOW_MS);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut buffer = vec![0u8; 2048];
    let (mut packets, mut refused) = (0u64, 0u64);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = flush.tick() => {
                let ready = timeline.take_ready(clock.samples_now(rate));
                if let Err(e) = writer.append(&ready) {
                    tracing::error!(error = %e, "could not spool a call's audio");
                }
            }
            got = stream.socket.recv_from(&mut buffer) => {
                let Ok((length, from)) = got else { continue };
                if !allow.allows(from.ip()) {
                    refused += 1;
                    continue;
                }
                // Comfort noise, DTMF events and RTCP are not the stream's audio.
                let Ok(packet) = parse_rtp(&buffer[..length]) else { refused += 1; continue };
                if packet.payload_type != stream.payload_type {
                    continue;
                }
                packets += 1;
                let arrival = clock.samples_now(rate);
                clock.last_packet_ms.fetch_max(
                    u64::try_from(clock.start.elapsed().as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                let samples = decoder.decode(packet.payload);
                timeline.push(packet.ssrc, packet.timestamp, arrival, &samples);
            }
        }
    }
    Received {
        timeline,
        writer,
        packets,
        refused,
    }
}

/// Writes out what each stream still held, all up to the same end so the channels stay the
/// same length: the session's end, or where the last packet ended if that is later.
pub fn finish(received: &mut [Received], clock: &SessionClock, rate: u32) -> std::io::Result<()> {
    let end = received
        .iter()
        .map(|r| r.timeline.written_end())
        .fold(clock.samples_now(rate), u64::max);
    for stream in received.iter_mut() {
        let rest = stream.timeline.finish(end);
        stream.writer.append(&rest)?;
    }
    Ok(())
}

//! Datagrams on an RTP port: read as RTP, decoded as each codec, and laid on a timeline with
//! arrival times taken from the input. Nothing a sender does may panic.
#![no_main]

use callvault_telephony::siprec::{Codec, PayloadDecoder, Timeline, parse_rtp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut timeline = Timeline::new(16000, 8000, 300);
    let mut decoders = [Codec::Pcmu, Codec::Pcma, Codec::G722].map(|c| PayloadDecoder::new(c, 16000));
    for (n, datagram) in data.split(|b| *b == 0xff).enumerate() {
        if let Ok(packet) = parse_rtp(datagram) {
            let samples = decoders[usize::from(packet.payload_type % 3)].decode(packet.payload);
            let arrival = n as u64 * 320;
            timeline.push(packet.ssrc, packet.timestamp, arrival, &samples);
            let _ = timeline.take_ready(arrival / 2);
        }
    }
    let end = timeline.written_end();
    let _ = timeline.finish(end.min(16000 * 600));
});

//! One stream's audio laid on the call's timeline: a jitter buffer for recording rather than
//! playing. Each packet is placed by its RTP timestamp, counted from where its source's first
//! packet arrived, so packets that come out of order land in order, a lost packet leaves
//! silence, and a stream that starts late starts late in the file. Both channels of a call
//! therefore stay aligned with wall time.
//!
//! A new SSRC (the recording client restarted its media), or a new packet that would land more
//! than the window away from when it came (a pause in sending, a slow clock, a jump), starts
//! the count again from the arrival time. Sequence numbers are
//! not needed for placement, so their wrap is harmless; the timestamp's wrap is followed.

use std::collections::VecDeque;

/// Where a source's timestamps are counted from.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    ssrc: u32,
    /// The newest timestamp seen, and its value with wraps counted.
    last: u32,
    extended: i64,
    /// Where the extended timestamp 0 (the source's first packet) sits.
    position: u64,
}

/// Samples of one stream from `flushed` on, until they are old enough to be written out.
#[derive(Debug)]
pub struct Timeline {
    /// Samples per second written, and RTP timestamp units per second.
    rate: u64,
    clock: u64,
    /// How long a packet may be late and still be placed (in samples).
    window: u64,
    /// How far an older timestamp may be from its arrival time before the count starts again.
    max_skew: u64,
    anchor: Option<Anchor>,
    pending: VecDeque<i16>,
    flushed: u64,
    written_end: u64,
    late_packets: u64,
}

impl Timeline {
    /// A stream written at `rate` samples per second whose RTP clock runs at `clock`;
    /// packets later than `window_ms` are dropped (and counted).
    #[must_use]
    pub fn new(rate: u32, clock: u32, window_ms: u32) -> Self {
        let rate = u64::from(rate.max(1));
        Self {
            rate,
            clock: u64::from(clock.max(1)),
            window: rate * u64::from(window_ms) / 1000,
            max_skew: rate * 2,
            anchor: None,
            pending: VecDeque::new(),
            flushed: 0,
            written_end: 0,
            late_packets: 0,
        }
    }

    /// Places a packet's decoded samples. `arrival` is when it came, in samples since the
    /// call's timeline began.
    pub fn push(&mut self, ssrc: u32, timestamp: u32, arrival: u64, samples: &[i16]) {
        let position = self.place(ssrc, timestamp, arrival);
        self.write(position, samples);
    }

    fn place(&mut self, ssrc: u32, timestamp: u32, arrival: u64) -> u64 {
        if let Some(anchor) = self.anchor.as_mut().filter(|a| a.ssrc == ssrc) {
            let step = i64::from(timestamp.wrapping_sub(anchor.last) as i32);
            let extended = anchor.extended + step;
            if step > 0 {
                anchor.last = timestamp;
                anchor.extended = extended;
            }
            let offset = extended * self.rate as i64 / self.clock as i64;
            let position = anchor.position as i64 + offset;
            let arrived = arrival as i64;
            let window = self.window as i64;
            let fits = if step > 0 {
                // The newest packet so far belongs near when it came. One that would land
                // more than the window before that (the sender paused and went on counting
                // from where it stopped, or its clock runs slow) or after it (the timestamps
                // jumped ahead) starts the count again, rather than being dropped as late.
                position >= arrived - window && position <= arrived + window
            } else {
                // Reordered packets keep their place, late or not; a timestamp far behind is
                // a sender that started counting again under the same SSRC.
                position >= 0 && position.abs_diff(arrived) <= self.max_skew
            };
            if fits {
                return position as u64;
            }
        }
        self.anchor = Some(Anchor {
            ssrc,
            last: timestamp,
            extended: 0,
            position: arrival,
        });
        arrival
    }

    fn write(&mut self, position: u64, samples: &[i16]) {
        let end = position + samples.len() as u64;
        if end <= self.flushed {
            self.late_packets += 1;
            return;
        }
        let skip = self.flushed.saturating_sub(position) as usize;
        let start = (position.max(self.flushed) - self.flushed) as usize;
        let needed = (end - self.flushed) as usize;
        if self.pending.len() < needed {
            self.pending.resize(needed, 0);
        }
        for (slot, sample) in self.pending.range_mut(start..needed).zip(&samples[skip..]) {
            *slot = *sample;
        }
        self.written_end = self.written_end.max(end);
    }

    /// The samples before `now` less the window, which no packet may change any more; gaps
    /// come out as silence.
    pub fn take_ready(&mut self, now: u64) -> Vec<i16> {
        self.take_until(now.saturating_sub(self.window))
    }

    /// Everything up to `end`, silence where nothing came: the stream's last samples.
    pub fn finish(&mut self, end: u64) -> Vec<i16> {
        self.take_until(end)
    }

    fn take_until(&mut self, until: u64) -> Vec<i16> {
        if until <= self.flushed {
            return Vec::new();
        }
        let count = (until - self.flushed) as usize;
        let from_pending = count.min(self.pending.len());
        let mut out: Vec<i16> = self.pending.drain(..from_pending).collect();
        out.resize(count, 0);
        self.flushed = until;
        out
    }

    /// Where the last sample written ends.
    #[must_use]
    pub fn written_end(&self) -> u64 {
        self.written_end
    }

    /// Packets that came after their place had been written out.
    #[must_use]
    pub fn late_packets(&self) -> u64 {
        self.late_packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: usize = 160;

    fn frame(value: i16) -> Vec<i16> {
        vec![value; FRAME]
    }

    /// A stream at 8 kHz with its clock at 8 kHz, reordering up to 200 ms.
    fn timeline() -> Timeline {
        Timeline::new(8000, 8000, 200)
    }

    #[test]
    fn packets_out_of_order_land_in_order() {
        let mut t = timeline();
        t.push(1, 1000, 0, &frame(1));
        t.push(1, 1000 + 320, 320, &frame(3));
        t.push(1, 1000 + 160, 330, &frame(2));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 3 * FRAME);
        assert_eq!((out[0], out[FRAME], out[2 * FRAME]), (1, 2, 3));
    }

    #[test]
    fn a_lost_packet_leaves_silence_of_its_length() {
        let mut t = timeline();
        t.push(1, 0, 0, &frame(1));
        t.push(1, 320, 320, &frame(3));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 3 * FRAME);
        assert!(out[FRAME..2 * FRAME].iter().all(|s| *s == 0));
    }

    #[test]
    fn a_stream_that_starts_late_starts_late_in_the_file() {
        let mut t = timeline();
        t.push(7, 5555, 8000, &frame(4));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 8000 + FRAME);
        assert!(out[..8000].iter().all(|s| *s == 0));
        assert_eq!(out[8000], 4);
    }

    #[test]
    fn a_new_ssrc_counts_again_from_its_arrival() {
        let mut t = timeline();
        t.push(1, 0, 0, &frame(1));
        // The client restarted: a new source with an unrelated timestamp, one second later.
        t.push(2, 987_654, 8000, &frame(2));
        t.push(2, 987_654 + 160, 8160, &frame(3));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 8000 + 2 * FRAME);
        assert_eq!((out[8000], out[8000 + FRAME]), (2, 3));
    }

    #[test]
    fn the_timestamp_wrap_is_followed() {
        let mut t = timeline();
        let start = u32::MAX - 159;
        t.push(1, start, 0, &frame(1));
        t.push(1, start.wrapping_add(160), 160, &frame(2));
        t.push(1, start.wrapping_add(320), 320, &frame(3));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 3 * FRAME);
        assert_eq!(out[2 * FRAME], 3);
    }

    #[test]
    fn a_timestamp_that_strays_from_wall_time_starts_again() {
        let mut t = timeline();
        t.push(1, 0, 0, &frame(1));
        // Ten minutes ahead by its timestamp, but it came 20 ms after the first.
        t.push(1, 8000 * 600, 160, &frame(2));
        assert_eq!(t.written_end(), 2 * FRAME as u64);
    }

    #[test]
    fn after_a_pause_in_sending_the_stream_goes_on_where_it_is_heard() {
        let mut t = timeline();
        t.push(1, 0, 0, &frame(1));
        // Nothing for a second, written out as silence; then the sender goes on from the next
        // timestamp, as if it had not stopped.
        assert_eq!(t.take_ready(8000).len(), 8000 - 1600);
        t.push(1, 160, 8000, &frame(2));
        t.push(1, 320, 8160, &frame(3));
        assert_eq!(t.late_packets(), 0);
        let rest = t.finish(t.written_end());
        assert_eq!(rest.len(), 1600 + 2 * FRAME);
        assert_eq!((rest[1600], rest[1600 + FRAME]), (2, 3));
    }

    #[test]
    fn a_sender_that_counts_again_under_the_same_ssrc_is_followed() {
        let mut t = timeline();
        t.push(1, 900_000, 0, &frame(1));
        // Restarted its timestamps, two seconds and a half later, keeping its SSRC.
        t.push(1, 10, 20_000, &frame(2));
        t.push(1, 170, 20_160, &frame(3));
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 20_000 + 2 * FRAME);
        assert_eq!((out[20_000], out[20_000 + FRAME]), (2, 3));
    }

    #[test]
    fn ready_samples_wait_out_the_window_and_later_packets_are_counted() {
        let mut t = timeline();
        t.push(1, 0, 0, &frame(1));
        assert!(
            t.take_ready(1000).is_empty(),
            "still inside the 200 ms window"
        );
        let ready = t.take_ready(1600 + 160);
        assert_eq!(ready.len(), 160);
        // A packet for the part already written out is dropped, and counted.
        t.push(1, 0, 1800, &frame(9));
        assert_eq!(t.late_packets(), 1);
        // Nothing arrived for a while: silence comes out, keeping the channel on time.
        assert_eq!(t.take_ready(8000 + 1600).len(), 8000 - 160);
    }

    #[test]
    fn a_slower_clock_is_scaled_to_the_rate() {
        // G.722: 16 kHz audio, RTP clock 8 kHz.
        let mut t = Timeline::new(16000, 8000, 200);
        t.push(1, 0, 0, &[1; 320]);
        t.push(1, 160, 320, &[2; 320]);
        let out = t.finish(t.written_end());
        assert_eq!(out.len(), 640);
        assert_eq!(out[320], 2);
    }
}

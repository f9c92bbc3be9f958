//! RTP payloads to samples and back, for the three codecs a recording client may offer. The
//! codecs themselves come from the `audio-codec` crate; this adds the one rate a call is
//! written at, so a G.711 party and a G.722 party share a file.

use audio_codec::{CodecType, Decoder, Encoder};

use super::Codec;

fn codec_type(codec: Codec) -> CodecType {
    match codec {
        Codec::Pcmu => CodecType::PCMU,
        Codec::Pcma => CodecType::PCMA,
        Codec::G722 => CodecType::G722,
    }
}

/// Samples per second a codec's audio has (G.722 is 16 kHz though its RTP clock is 8 kHz).
#[must_use]
pub fn audio_rate(codec: Codec) -> u32 {
    match codec {
        Codec::Pcmu | Codec::Pcma => 8000,
        Codec::G722 => 16000,
    }
}

/// Decodes one stream's payloads at a call's rate (8 or 16 kHz).
pub struct PayloadDecoder {
    inner: Box<dyn Decoder>,
    /// Output samples per decoded sample: 2 when 8 kHz audio goes into a 16 kHz call.
    upsample: bool,
    previous: i16,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for PayloadDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadDecoder")
            .field("upsample", &self.upsample)
            .finish_non_exhaustive()
    }
}

impl PayloadDecoder {
    #[must_use]
    pub fn new(codec: Codec, rate: u32) -> Self {
        Self {
            inner: audio_codec::create_decoder(codec_type(codec)),
            upsample: rate > audio_rate(codec),
            previous: 0,
            scratch: Vec::new(),
        }
    }

    /// The payload's samples, at the call's rate.
    pub fn decode(&mut self, payload: &[u8]) -> Vec<i16> {
        let max = self.inner.max_decode_samples(payload.len());
        self.scratch.resize(max, 0);
        let count = self
            .inner
            .decode_into(payload, &mut self.scratch)
            .unwrap_or(0);
        let decoded = &self.scratch[..count];
        if !self.upsample {
            return decoded.to_vec();
        }
        // Twice the rate: each sample, then the point halfway to the next.
        let mut out = Vec::with_capacity(2 * count);
        for &sample in decoded {
            let mid = ((i32::from(self.previous) + i32::from(sample)) / 2) as i16;
            out.push(mid);
            out.push(sample);
            self.previous = sample;
        }
        out
    }
}

/// Encodes samples at the codec's own rate: what a test sender or the benchmark sends.
pub struct PayloadEncoder(Box<dyn Encoder>);

impl std::fmt::Debug for PayloadEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadEncoder")
    }
}

impl PayloadEncoder {
    #[must_use]
    pub fn new(codec: Codec) -> Self {
        Self(audio_codec::create_encoder(codec_type(codec)))
    }

    pub fn encode(&mut self, samples: &[i16]) -> Vec<u8> {
        self.0.encode(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, count: usize) -> Vec<i16> {
        (0..count)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect()
    }

    fn close(a: &[i16], b: &[i16]) -> f64 {
        let error: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum();
        let signal: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
        10.0 * (signal / error.max(1.0)).log10()
    }

    #[test]
    fn each_codec_carries_speech_range_audio_through() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let input = tone(8000, 160);
            let payload = PayloadEncoder::new(codec).encode(&input);
            assert_eq!(payload.len(), 160, "one byte per sample");
            let output = PayloadDecoder::new(codec, 8000).decode(&payload);
            assert!(close(&output, &input) > 30.0, "{codec:?}");
        }
        let input = tone(16000, 3200);
        let mut encoder = PayloadEncoder::new(Codec::G722);
        let payload = encoder.encode(&input);
        assert_eq!(payload.len(), 1600, "G.722 is 64 kbit/s");
        let output = PayloadDecoder::new(Codec::G722, 16000).decode(&payload);
        assert_eq!(output.len(), input.len());
    }

    #[test]
    fn narrowband_audio_in_a_wideband_call_is_doubled_in_rate() {
        let payload = PayloadEncoder::new(Codec::Pcmu).encode(&tone(8000, 160));
        let output = PayloadDecoder::new(Codec::Pcmu, 16000).decode(&payload);
        assert_eq!(output.len(), 320);
        assert!(close(&output, &tone(16000, 320)) > 15.0);
    }
}

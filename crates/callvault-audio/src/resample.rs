//! Sample-rate conversion with rubato's FFT resampler, streamed block by block so memory stays
//! bounded, with the resampler's start-up delay trimmed so the output lines up with the input.

use audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::AudioError;

const CHUNK: usize = 1024;

/// Where blocks of planar audio go, one plane per channel.
pub type BlockSink<'a> = dyn FnMut(&[Vec<f32>]) -> Result<(), AudioError> + 'a;

pub struct StreamResampler {
    inner: Fft<f32>,
    from: u32,
    to: u32,
    channels: usize,
    pending: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    to_trim: usize,
    frames_in: u64,
    frames_out: u64,
}

fn resample_error(e: impl std::fmt::Display) -> AudioError {
    AudioError::Corrupt(format!("resampling: {e}"))
}

impl StreamResampler {
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, AudioError> {
        let inner = Fft::<f32>::new(
            from as usize,
            to as usize,
            CHUNK,
            channels.max(1),
            FixedSync::Input,
        )
        .map_err(resample_error)?;
        let out = vec![vec![0.0; inner.output_frames_max()]; channels.max(1)];
        Ok(Self {
            to_trim: inner.output_delay(),
            inner,
            from,
            to,
            channels: channels.max(1),
            pending: vec![Vec::with_capacity(2 * CHUNK); channels.max(1)],
            out,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Resamples a block of planar input; each finished block of output goes to `sink`.
    pub fn push(
        &mut self,
        planes: &[Vec<f32>],
        sink: &mut BlockSink<'_>,
    ) -> Result<(), AudioError> {
        for (pending, plane) in self.pending.iter_mut().zip(planes) {
            pending.extend_from_slice(plane);
        }
        self.frames_in += planes.first().map_or(0, Vec::len) as u64;
        while self.pending[0].len() >= self.inner.input_frames_next() {
            self.step(None, None, sink)?;
        }
        Ok(())
    }

    /// Resamples what is left and stops exactly at the input's length in the new rate.
    pub fn finish(mut self, sink: &mut BlockSink<'_>) -> Result<(), AudioError> {
        let expected =
            (u128::from(self.frames_in) * u128::from(self.to)).div_ceil(u128::from(self.from));
        let expected = u64::try_from(expected).unwrap_or(u64::MAX);
        let left = self.pending[0].len();
        if left > 0 {
            self.step(Some(left), Some(expected), sink)?;
        }
        while self.frames_out < expected {
            self.step(Some(0), Some(expected), sink)?;
        }
        Ok(())
    }

    /// One chunk through the resampler; `partial` is how many real frames are pending at the
    /// end (the rest is silence), `limit` the total output not to exceed.
    fn step(
        &mut self,
        partial: Option<usize>,
        limit: Option<u64>,
        sink: &mut BlockSink<'_>,
    ) -> Result<(), AudioError> {
        let need = self.inner.input_frames_next();
        let available = partial.unwrap_or(need);
        if partial.is_some() {
            // The adapter wants `need` frames to exist; the resampler reads only `available`.
            for pending in &mut self.pending {
                pending.resize(need.max(pending.len()), 0.0);
            }
        }
        let input = SequentialSliceOfVecs::new(&self.pending, self.channels, need)
            .map_err(resample_error)?;
        let capacity = self.out[0].len();
        let mut output = SequentialSliceOfVecs::new_mut(&mut self.out, self.channels, capacity)
            .map_err(resample_error)?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: partial,
            active_channels_mask: None,
        };
        let (_, written) = self
            .inner
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(resample_error)?;
        for pending in &mut self.pending {
            pending.drain(..available.min(pending.len()));
            if partial.is_some() {
                pending.clear();
            }
        }
        let skip = self.to_trim.min(written);
        self.to_trim -= skip;
        let mut end = written;
        if let Some(limit) = limit {
            let room = usize::try_from(limit.saturating_sub(self.frames_out)).unwrap_or(usize::MAX);
            end = end.min(skip + room);
        }
        if end > skip {
            let block: Vec<Vec<f32>> = self.out.iter().map(|c| c[skip..end].to_vec()).collect();
            self.frames_out += (end - skip) as u64;
            sink(&block)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(from: u32, to: u32, input: &[f32], block: usize) -> Vec<f32> {
        let mut r = StreamResampler::new(from, to, 1).expect("resampler");
        let mut out = Vec::new();
        let mut sink = |b: &[Vec<f32>]| {
            out.extend_from_slice(&b[0]);
            Ok(())
        };
        for chunk in input.chunks(block) {
            r.push(&[chunk.to_vec()], &mut sink).expect("push");
        }
        r.finish(&mut sink).expect("finish");
        out
    }

    #[test]
    fn length_follows_the_ratio_exactly_whatever_the_block_size() {
        let input = vec![0.1f32; 44_100 * 3 + 17];
        for block in [1, 333, 4096, 1_000_000] {
            let out = run(44_100, 16_000, &input, block);
            assert_eq!(
                out.len(),
                (input.len() * 16_000).div_ceil(44_100),
                "block {block}"
            );
        }
    }

    #[test]
    fn a_tone_keeps_its_timing() {
        // A click at 1.000 s in 48 kHz lands at 1.000 s in 16 kHz.
        let mut input = vec![0.0f32; 48_000 * 2];
        for s in &mut input[48_000..48_000 + 48] {
            *s = 0.9;
        }
        let out = run(48_000, 16_000, &input, 1000);
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap_or(0);
        assert!((15_990..=16_030).contains(&peak), "click at frame {peak}");
    }
}

//! A recording, transcribed: decoded and resampled as it streams, each channel gated for speech,
//! the speech packed into windows, windows read in batches, and text the model did not finish
//! before a window's edge read again from its last timestamp (Whisper's long-form rule).
//! Memory holds only the windows waiting for a pass, whatever the length of the call.

use std::collections::VecDeque;
use std::path::Path;

use crate::AsrError;
use crate::engine::Engine;
use crate::packer::{Packer, Piece, Window, seconds};
use crate::vad::SpeechGate;

/// Less than this left unread in a window is not worth another pass.
const MIN_REST_SECONDS: f64 = 1.0;

/// One stretch of speech by one party.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    /// The channel it was heard on (0 is left: the contact in a two-channel call).
    pub channel: usize,
    pub text: String,
    /// Its words, timed (only when asked for): joined, they give `text`.
    pub words: Vec<Word>,
}

/// One word and when it was said, in seconds from the start of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// As the model wrote it, with the space before it.
    pub text: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub language: String,
    /// Seconds of audio.
    pub duration: f64,
    pub channels: usize,
    /// In order of time.
    pub segments: Vec<Segment>,
    /// What the model looped on ("6, 6, 6, …"), left out of `segments`: the text is not what
    /// was said, but the time is where something was (redaction covers those with digits).
    pub dropped: Vec<Segment>,
}

/// Who speaks on a channel: in a two-channel call the left channel is the contact and the
/// right the team member (the usual dual-channel layout); one channel holds everyone.
#[must_use]
pub fn speaker(
    channel: usize,
    channels: usize,
    contact: Option<&str>,
    agent: Option<&str>,
) -> String {
    match (channels, channel) {
        (2, 0) => contact.unwrap_or("Caller").to_owned(),
        (2, 1) => agent.unwrap_or("Agent").to_owned(),
        _ => "Speaker".to_owned(),
    }
}

struct Run<'a> {
    engine: &'a Engine,
    time_words: bool,
    gates: Vec<SpeechGate>,
    packers: Vec<Packer>,
    ready: VecDeque<Window>,
    segments: Vec<Segment>,
    dropped: Vec<Segment>,
}

impl Run<'_> {
    fn channels(&mut self, n: usize) {
        while self.gates.len() < n {
            self.packers.push(Packer::new(self.gates.len()));
            self.gates.push(SpeechGate::default());
        }
    }

    fn speech(&mut self, channel: usize, chunk: crate::vad::Chunk) {
        let full = self.packers[channel].push(Piece {
            origin: chunk.start,
            samples: chunk.samples,
        });
        self.ready.extend(full);
    }

    /// Reads every ready window, a batch at a time; with `all`, a partial batch too.
    fn read(&mut self, all: bool) -> Result<(), AsrError> {
        while self.ready.len() >= self.engine.batch() || (all && !self.ready.is_empty()) {
            let take = self.engine.batch().min(self.ready.len());
            let batch: Vec<Window> = self.ready.drain(..take).collect();
            let audio: Vec<Vec<f32>> = batch.iter().map(Window::audio).collect();
            let results = self.engine.recognize(&audio, self.time_words)?;
            for (window, result) in batch.into_iter().zip(results) {
                self.take(window, result);
            }
        }
        Ok(())
    }

    fn take(&mut self, window: Window, result: crate::engine::WindowResult) {
        if result.no_speech {
            return;
        }
        let content = window.content_seconds();
        for s in &result.parsed.segments {
            let (start, end) = window.segment_to_channel(s.start, s.end.min(content));
            let segment = Segment {
                start,
                end,
                channel: window.channel,
                text: s.text.clone(),
                words: words_of(&window, &result.words, &s.tokens),
            };
            if crate::repetition::is_repetition(&s.text) {
                self.dropped.push(segment);
            } else {
                self.segments.push(segment);
            }
        }
        // Whatever the model left after its last timestamp is read again, with what follows;
        // when too little is left to be worth a pass (or nothing was closed at all), the open
        // text is kept as it is, so no speech is lost.
        match result.parsed.consumed {
            Some(consumed)
                if consumed > MIN_REST_SECONDS && content - consumed > MIN_REST_SECONDS =>
            {
                let rest = window.rest_after(consumed);
                let full = self.packers[window.channel].push_front(rest);
                self.ready.extend(full);
            }
            _ => {
                if let Some(open) = result.parsed.open.as_ref() {
                    let (start, end) = window.segment_to_channel(open.start, content);
                    let segment = Segment {
                        start,
                        end,
                        channel: window.channel,
                        text: open.text.clone(),
                        words: words_of(&window, &result.words, &open.tokens),
                    };
                    if crate::repetition::is_repetition(&open.text) {
                        self.dropped.push(segment);
                    } else {
                        self.segments.push(segment);
                    }
                }
            }
        }
    }
}

/// The words of a segment made of a window's text `tokens`, on the channel's clock.
fn words_of(
    window: &Window,
    words: &[crate::words::WordTime],
    tokens: &std::ops::Range<usize>,
) -> Vec<Word> {
    words
        .iter()
        .filter(|w| tokens.contains(&w.tokens.start))
        .map(|w| {
            let start = window.start_to_channel(w.start);
            Word {
                text: w.text.clone(),
                start,
                end: window.to_channel(w.end).max(start),
            }
        })
        .collect()
}

/// What a transcription is asked for besides the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Time each word (costs a few percent more).
    pub words: bool,
}

/// Transcribes a recording. `progress` hears how many seconds of audio have been read, and
/// answers whether to go on (`false` stops with [`AsrError::Cancelled`]).
pub fn transcribe(
    engine: &Engine,
    path: &Path,
    options: Options,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Transcript, AsrError> {
    let mut run = Run {
        engine,
        time_words: options.words,
        gates: Vec::new(),
        packers: Vec::new(),
        ready: VecDeque::new(),
        segments: Vec::new(),
        dropped: Vec::new(),
    };
    let mut failure: Option<AsrError> = None;
    let mut heard = 0usize;
    let source = callvault_audio::stream_16k(path, &mut |block| {
        run.channels(block.len());
        for (channel, plane) in block.iter().enumerate() {
            for chunk in run.gates[channel].push(plane) {
                run.speech(channel, chunk);
            }
        }
        heard += block.first().map_or(0, Vec::len);
        if let Err(e) = run.read(false) {
            failure = Some(e);
            return Err(callvault_audio::AudioError::Stopped);
        }
        let go_on = progress(seconds(heard));
        if !go_on {
            failure = Some(AsrError::Cancelled);
            return Err(callvault_audio::AudioError::Stopped);
        }
        Ok(())
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let source = source?;
    for channel in 0..run.gates.len() {
        if let Some(chunk) = run.gates[channel].finish() {
            run.speech(channel, chunk);
        }
    }
    // Flushing may put unfinished audio back into the packers: go round until all is read.
    loop {
        for packer in &mut run.packers {
            run.ready.extend(packer.flush());
        }
        if run.ready.is_empty() {
            break;
        }
        if !progress(seconds(heard)) {
            return Err(AsrError::Cancelled);
        }
        run.read(true)?;
    }
    let mut segments = run.segments;
    let mut dropped = run.dropped;
    dropped.sort_by(|a, b| a.start.total_cmp(&b.start));
    segments.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.channel.cmp(&b.channel)));
    let duration = seconds(usize::try_from(source.frames).unwrap_or(usize::MAX));
    Ok(Transcript {
        language: engine.language().to_owned(),
        duration,
        channels: usize::from(source.channels),
        segments,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::speaker;

    #[test]
    fn speakers_follow_the_channels() {
        assert_eq!(
            speaker(0, 2, Some("Maria Lopez"), Some("Ana")),
            "Maria Lopez"
        );
        assert_eq!(speaker(1, 2, Some("Maria Lopez"), Some("Ana")), "Ana");
        assert_eq!(speaker(0, 2, None, None), "Caller");
        assert_eq!(speaker(1, 2, None, None), "Agent");
        assert_eq!(speaker(0, 1, Some("Maria Lopez"), Some("Ana")), "Speaker");
    }
}

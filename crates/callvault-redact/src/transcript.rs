//! Redaction over a whole transcript: each channel's words read as one stream (a card number
//! may run across segments), what [`find`] flags replaced by [`MARK`] in the segments' text,
//! and the time each hidden run took, padded, for the audio.

use crate::MARK;
use crate::numbers::digit_runs;
use crate::rules::{Finding, Kind, find};

/// Word times are off by up to a quarter second at a pause: each hidden span reaches this far
/// past its words on both sides.
pub const PAD_SECONDS: f64 = 0.25;

/// A word as the transcript has it, in seconds from the start of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedWord {
    /// As written, with any space before it.
    pub text: String,
    pub start: f64,
    pub end: f64,
}

/// One segment of a transcript: its channel, text and (when timed) words.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentIn {
    pub channel: usize,
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Empty when its words were not timed: then each word takes the whole segment's time.
    pub words: Vec<TimedWord>,
}

/// A stretch of audio to hide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
    pub channel: usize,
    pub kind: Kind,
}

/// What redacting a transcript gives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedactedTranscript {
    /// Each segment's text, with what was hidden replaced by [`MARK`].
    pub texts: Vec<String>,
    /// In order of time.
    pub spans: Vec<Span>,
}

/// The words of a segment: its timed words, or its text's words spread over its time.
fn words_of(segment: &SegmentIn) -> Vec<TimedWord> {
    if !segment.words.is_empty() {
        return segment.words.clone();
    }
    segment
        .text
        .split_whitespace()
        .map(|w| TimedWord {
            text: format!(" {w}"),
            start: segment.start,
            end: segment.end,
        })
        .collect()
}

/// Redacts a transcript (segments in order of time).
#[must_use]
pub fn redact_transcript(segments: &[SegmentIn]) -> RedactedTranscript {
    let words: Vec<Vec<TimedWord>> = segments.iter().map(words_of).collect();
    // Which finding hides each word, if any: (segment, word) -> finding number.
    let mut hidden: Vec<Vec<Option<usize>>> = words.iter().map(|w| vec![None; w.len()]).collect();
    let mut spans: Vec<Span> = Vec::new();
    let mut channels: Vec<usize> = segments.iter().map(|s| s.channel).collect();
    channels.sort_unstable();
    channels.dedup();
    let of_channel = |channel: usize| -> Vec<(usize, usize)> {
        segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.channel == channel)
            .flat_map(|(i, _)| (0..words[i].len()).map(move |k| (i, k)))
            .collect()
    };
    // Each party alone (their numbers run on in their own words), then everyone together in
    // order of time: "what is the card number?" on one channel makes the digits said on the
    // other a card.
    let mut streams: Vec<Vec<(usize, usize)>> = channels.iter().map(|&c| of_channel(c)).collect();
    if channels.len() > 1 {
        let mut together: Vec<(usize, usize)> = streams.concat();
        together.sort_by(|&(i, k), &(j, l)| {
            words[i][k]
                .start
                .total_cmp(&words[j][l].start)
                .then((i, k).cmp(&(j, l)))
        });
        streams.push(together);
    }
    let mut next_finding = 0;
    for stream in &streams {
        let texts: Vec<&str> = stream
            .iter()
            .map(|&(i, k)| words[i][k].text.trim())
            .collect();
        for Finding { kind, words: run } in find(&texts) {
            let covered = &stream[run];
            // Read together, a run may take words from both parties (an agent reading back
            // what the contact said): each party's part is covered if it says digits; words
            // of a party that said none in it ("go on") are context, and stay.
            let mut kept: Vec<(usize, usize)> = Vec::new();
            for &channel in &channels {
                let theirs: Vec<(usize, usize)> = covered
                    .iter()
                    .copied()
                    .filter(|&(i, _)| segments[i].channel == channel)
                    .collect();
                let said: Vec<&str> = theirs
                    .iter()
                    .map(|&(i, k)| words[i][k].text.trim())
                    .collect();
                if theirs.is_empty() || digit_runs(&said).is_empty() {
                    continue;
                }
                let start = theirs
                    .iter()
                    .map(|&(i, k)| words[i][k].start)
                    .fold(f64::INFINITY, f64::min);
                let end = theirs
                    .iter()
                    .map(|&(i, k)| words[i][k].end)
                    .fold(0.0, f64::max);
                spans.push(Span {
                    start: (start - PAD_SECONDS).max(0.0),
                    end: end + PAD_SECONDS,
                    channel,
                    kind,
                });
                kept.extend(theirs);
            }
            let covered = &kept[..];
            for &(i, k) in covered {
                hidden[i][k].get_or_insert(next_finding);
            }
            next_finding += 1;
        }
    }
    // What two readings both found is one span.
    spans.sort_by(|a, b| a.channel.cmp(&b.channel).then(a.start.total_cmp(&b.start)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if last.channel == span.channel && span.start <= last.end => {
                last.end = last.end.max(span.end);
            }
            _ => merged.push(span),
        }
    }
    let mut spans = merged;
    spans.sort_by(|a, b| a.start.total_cmp(&b.start));
    let texts = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| {
            if hidden[i].iter().all(Option::is_none) {
                return segment.text.clone();
            }
            let mut text = String::new();
            let mut last: Option<usize> = None;
            for (k, word) in words[i].iter().enumerate() {
                match hidden[i][k] {
                    Some(f) if last == Some(f) => {}
                    Some(f) => {
                        text.push_str(if word.text.starts_with(char::is_whitespace) {
                            " "
                        } else {
                            ""
                        });
                        text.push_str(MARK);
                        last = Some(f);
                    }
                    None => {
                        text.push_str(&word.text);
                        last = None;
                    }
                }
            }
            text.trim().to_owned()
        })
        .collect();
    RedactedTranscript { texts, spans }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(text: &str, from: f64) -> Vec<TimedWord> {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| {
                #[allow(clippy::cast_precision_loss)]
                let at = from + i as f64 * 0.5;
                TimedWord {
                    text: if i == 0 {
                        w.to_owned()
                    } else {
                        format!(" {w}")
                    },
                    start: at,
                    end: at + 0.4,
                }
            })
            .collect()
    }

    fn segment(channel: usize, text: &str, from: f64) -> SegmentIn {
        let words = timed(text, from);
        SegmentIn {
            channel,
            start: from,
            end: words.last().map_or(from, |w| w.end),
            text: text.to_owned(),
            words,
        }
    }

    #[test]
    fn a_card_split_across_segments_is_hidden_in_both_and_in_the_audio() {
        let segments = [
            segment(0, "My card is 4111 1111", 0.0),
            segment(1, "Go on.", 2.0),
            segment(0, "1111 1111, thanks for order 42.", 3.0),
        ];
        let r = redact_transcript(&segments);
        assert_eq!(r.texts[0], "My card is [redacted]");
        assert_eq!(r.texts[1], "Go on.");
        assert_eq!(r.texts[2], "[redacted] thanks for order 42.");
        assert_eq!(r.spans.len(), 1);
        let span = r.spans[0];
        assert_eq!((span.channel, span.kind), (0, Kind::Card));
        assert!((span.start - (1.5 - PAD_SECONDS)).abs() < 1e-9, "{span:?}");
        assert!((span.end - (3.9 + PAD_SECONDS)).abs() < 1e-9, "{span:?}");
    }

    #[test]
    fn a_question_on_one_channel_makes_the_digits_on_the_other_a_card() {
        // Fifteen digits that fail Luhn: a card only because the agent asked for one.
        let segments = [
            segment(1, "What is the card number?", 0.0),
            segment(0, "It is 4532 0011 2830 100.", 3.0),
            segment(0, "And my order is 42.", 7.0),
        ];
        let r = redact_transcript(&segments);
        assert_eq!(r.texts[1], "It is [redacted]");
        assert_eq!(r.texts[2], "And my order is 42.");
        assert_eq!(r.spans.len(), 1, "{:?}", r.spans);
        assert_eq!((r.spans[0].channel, r.spans[0].kind), (0, Kind::Card));
        // Alone, the same words are left as they are.
        let alone = redact_transcript(&segments[1..]);
        assert!(alone.spans.is_empty());
    }

    #[test]
    fn a_card_read_back_by_the_other_party_is_hidden_on_both_channels() {
        let segments = [
            segment(0, "My card number is 4111 1111", 0.0),
            segment(1, "4111 1111, go on", 3.5),
            segment(0, "1111 1111", 5.5),
        ];
        let r = redact_transcript(&segments);
        assert_eq!(r.texts[0], "My card number is [redacted]");
        assert_eq!(r.texts[1], "[redacted] go on");
        assert_eq!(r.texts[2], "[redacted]");
        assert!(r.spans.iter().any(|s| s.channel == 1), "{:?}", r.spans);
    }

    #[test]
    fn untimed_segments_hide_their_whole_time_and_clean_ones_stay_as_they_were() {
        let untimed = SegmentIn {
            channel: 0,
            start: 10.0,
            end: 14.0,
            text: "ssn is 123-45-6789 ok".into(),
            words: Vec::new(),
        };
        let clean = segment(1, "Call me at 415 555 0123.", 20.0);
        let r = redact_transcript(&[untimed, clean]);
        assert_eq!(
            r.texts,
            ["ssn is [redacted] ok", "Call me at 415 555 0123."]
        );
        assert_eq!(r.spans.len(), 1);
        assert!((r.spans[0].start - (10.0 - PAD_SECONDS)).abs() < 1e-9);
        assert!((r.spans[0].end - (14.0 + PAD_SECONDS)).abs() < 1e-9);
    }
}

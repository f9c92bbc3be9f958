//! Whisper's vocabulary: token ids to text (byte-level BPE, as GPT-2 writes bytes as
//! characters), the special tokens, and reading a generated sequence into timestamped segments
//! the way Whisper's own long-form transcription does.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crate::AsrError;

/// Seconds per timestamp token step.
pub const TIMESTAMP_STEP: f64 = 0.02;

pub struct Vocabulary {
    tokens: Vec<String>,
    byte_of: HashMap<char, u8>,
    pub eot: usize,
    pub timestamp_begin: usize,
}

/// A stretch of speech read from one window, in seconds from the window's start.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSegment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Which of the window's text tokens (those below end-of-text, in order) it is made of.
    pub tokens: Range<usize>,
}

/// What a window's output says.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub segments: Vec<WindowSegment>,
    /// How far into the window the output accounts for the audio; `None` when it covers all of
    /// it. Whatever comes after must be transcribed again.
    pub consumed: Option<f64>,
    /// Text after the last timestamp that no timestamp closed: read again with what follows
    /// when there is enough left, else kept as it is (from its start to the window's end).
    pub open: Option<WindowSegment>,
}

/// GPT-2's table of which character stands for each byte.
fn byte_table() -> HashMap<char, u8> {
    let mut bytes: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars = bytes.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !bytes.contains(&b) {
            bytes.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    bytes
        .into_iter()
        .zip(chars)
        .filter_map(|(b, c)| Some((char::from_u32(c)?, u8::try_from(b).ok()?)))
        .collect()
}

impl Vocabulary {
    /// Reads `vocabulary.txt` (a token a line), `vocabulary.json` (an array) or, failing both,
    /// `tokenizer.json` from a CTranslate2 Whisper model folder.
    pub fn load(dir: &Path) -> Result<Self, AsrError> {
        let tokens: Vec<String> =
            if let Ok(text) = std::fs::read_to_string(dir.join("vocabulary.txt")) {
                text.lines().map(str::to_owned).collect()
            } else if let Ok(text) = std::fs::read_to_string(dir.join("vocabulary.json")) {
                serde_json::from_str(&text)
                    .map_err(|e| AsrError::Model(format!("vocabulary.json: {e}")))?
            } else {
                let text = std::fs::read_to_string(dir.join("tokenizer.json")).map_err(|_| {
                    AsrError::Model("no vocabulary.txt, vocabulary.json or tokenizer.json".into())
                })?;
                from_tokenizer_json(&text)?
            };
        Self::from_tokens(tokens)
    }

    pub fn from_tokens(tokens: Vec<String>) -> Result<Self, AsrError> {
        let find = |name: &str| {
            tokens
                .iter()
                .position(|t| t == name)
                .ok_or_else(|| AsrError::Model(format!("the vocabulary has no {name}")))
        };
        Ok(Self {
            eot: find("<|endoftext|>")?,
            timestamp_begin: find("<|0.00|>")?,
            byte_of: byte_table(),
            tokens,
        })
    }

    /// The text of ordinary tokens.
    #[must_use]
    pub fn decode(&self, ids: &[usize]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .filter(|&&id| id < self.eot)
            .flat_map(|&id| self.bytes(id))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes one token stands for (none for an unknown id).
    #[must_use]
    pub fn bytes(&self, id: usize) -> Vec<u8> {
        self.tokens.get(id).map_or_else(Vec::new, |t| {
            t.chars()
                .filter_map(|c| self.byte_of.get(&c).copied())
                .collect()
        })
    }

    /// A token's id, by its text as the vocabulary writes it (`<|startoftranscript|>`).
    #[must_use]
    pub fn id(&self, token: &str) -> Option<usize> {
        self.tokens.iter().position(|t| t == token)
    }

    /// The text tokens of a generated sequence, in order (timestamps and specials left out).
    #[must_use]
    pub fn text_ids(&self, ids: &[usize]) -> Vec<usize> {
        ids.iter().copied().filter(|&id| id < self.eot).collect()
    }

    /// Reads generated ids into segments. Timestamps mark where segments start and end; text
    /// left after the last one was cut off by the window's edge: it is returned apart (`open`)
    /// and the window counts as read only up to that timestamp.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "timestamp indexes are small")]
    pub fn parse(&self, ids: &[usize]) -> Parsed {
        let mut segments = Vec::new();
        let mut start: Option<f64> = None;
        let mut text: Vec<usize> = Vec::new();
        let mut last_time = None;
        // Text tokens seen so far: a segment's are the last `text.len()` of them.
        let mut seen = 0;
        for &id in ids {
            if id >= self.timestamp_begin {
                let t = (id - self.timestamp_begin) as f64 * TIMESTAMP_STEP;
                last_time = Some(t);
                match start {
                    Some(s) if !text.is_empty() => {
                        let words = self.decode(&text).trim().to_owned();
                        if !words.is_empty() {
                            segments.push(WindowSegment {
                                start: s,
                                end: t,
                                text: words,
                                tokens: seen - text.len()..seen,
                            });
                        }
                        text.clear();
                        start = None;
                    }
                    _ => start = Some(t),
                }
            } else if id < self.eot {
                text.push(id);
                seen += 1;
            }
        }
        let ends_with_closed_segment = ids.len() >= 2
            && ids[ids.len() - 1] >= self.timestamp_begin
            && ids[ids.len() - 2] < self.timestamp_begin;
        let consumed = match last_time {
            // No timestamps at all: the whole window is one segment.
            None => {
                let words = self.decode(&text).trim().to_owned();
                if !words.is_empty() {
                    segments.push(WindowSegment {
                        start: 0.0,
                        end: f64::INFINITY,
                        text: words,
                        tokens: seen - text.len()..seen,
                    });
                }
                None
            }
            Some(_) if ends_with_closed_segment => None,
            Some(t) => Some(t),
        };
        let open = match (start, consumed) {
            (Some(from), Some(_)) if !text.is_empty() => {
                let words = self.decode(&text).trim().to_owned();
                (!words.is_empty()).then_some(WindowSegment {
                    start: from,
                    end: f64::INFINITY,
                    text: words,
                    tokens: seen - text.len()..seen,
                })
            }
            _ => None,
        };
        Parsed {
            segments,
            consumed,
            open,
        }
    }
}

fn from_tokenizer_json(text: &str) -> Result<Vec<String>, AsrError> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AsrError::Model(format!("tokenizer.json: {e}")))?;
    let mut by_id: HashMap<usize, String> = HashMap::new();
    if let Some(vocab) = json["model"]["vocab"].as_object() {
        for (token, id) in vocab {
            if let Some(id) = id.as_u64().and_then(|i| usize::try_from(i).ok()) {
                by_id.insert(id, token.clone());
            }
        }
    }
    for added in json["added_tokens"].as_array().into_iter().flatten() {
        if let (Some(id), Some(content)) = (
            added["id"].as_u64().and_then(|i| usize::try_from(i).ok()),
            added["content"].as_str(),
        ) {
            by_id.insert(id, content.to_owned());
        }
    }
    let n = by_id.keys().max().map_or(0, |m| m + 1);
    Ok((0..n)
        .map(|i| by_id.remove(&i).unwrap_or_default())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        // Ġ is how byte-level BPE writes a leading space.
        let mut tokens: Vec<String> = ["Hello", ",", "Ġworld", "!", "Ġcaf", "Ã©"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        tokens.push("<|endoftext|>".into());
        tokens.push("<|startoftranscript|>".into());
        for i in 0..=1500 {
            tokens.push(format!("<|{:.2}|>", f64::from(i) * 0.02));
        }
        Vocabulary::from_tokens(tokens).expect("vocabulary")
    }

    fn ts(v: &Vocabulary, seconds: f64) -> usize {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let step = (seconds / TIMESTAMP_STEP).round() as usize;
        v.timestamp_begin + step
    }

    #[test]
    fn bytes_come_back_as_text() {
        let v = vocab();
        assert_eq!(v.decode(&[0, 1, 2, 3]), "Hello, world!");
        assert_eq!(v.decode(&[4, 5]), " café");
    }

    #[test]
    fn timestamps_cut_segments() {
        let v = vocab();
        let ids = [
            ts(&v, 0.0),
            0,
            1,
            ts(&v, 1.0),
            ts(&v, 1.5),
            2,
            3,
            ts(&v, 2.5),
        ];
        let p = v.parse(&ids);
        assert_eq!(
            p.segments,
            vec![
                WindowSegment {
                    start: 0.0,
                    end: 1.0,
                    text: "Hello,".into(),
                    tokens: 0..2,
                },
                WindowSegment {
                    start: 1.5,
                    end: 2.5,
                    text: "world!".into(),
                    tokens: 2..4,
                },
            ]
        );
        assert_eq!(
            p.consumed, None,
            "ending on a closing timestamp reads the whole window"
        );
    }

    #[test]
    fn text_cut_off_by_the_window_is_read_again() {
        let v = vocab();
        let ids = [ts(&v, 0.0), 0, ts(&v, 20.0), ts(&v, 21.0), 2, 3];
        let p = v.parse(&ids);
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.consumed, Some(21.0));
        let open = p.open.expect("the cut-off text is kept aside");
        assert_eq!((open.start, open.text.as_str()), (21.0, "world!"));
        let ends_on_pair = [ts(&v, 0.0), 0, ts(&v, 20.0), ts(&v, 21.0)];
        assert_eq!(v.parse(&ends_on_pair).consumed, Some(21.0));
        assert_eq!(v.parse(&ends_on_pair).open, None);
        // Only an opening timestamp: nothing closed, and the words are still there.
        let never_closed = v.parse(&[ts(&v, 0.0), 0, 1]);
        assert!(never_closed.segments.is_empty());
        assert_eq!(never_closed.open.map(|o| o.text), Some("Hello,".to_owned()));
    }

    #[test]
    fn output_without_timestamps_is_one_segment() {
        let v = vocab();
        let p = v.parse(&[0, 1]);
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.segments[0].text, "Hello,");
    }
}

//! Word times from the model's cross-attention alignment: CTranslate2's `align` answers, for a
//! window's text tokens (and the end-of-text that follows them), a path of (token, frame)
//! pairs over the encoder's frames (20 ms each). A token starts at the first frame the path
//! gives it; a word runs from its first token's start to the next word's (or end-of-text's).
//! Words start at a token that begins with a space, at punctuation, or where the text starts;
//! tokens that only make sense together (UTF-8 split across tokens) stay together. Then, as
//! Whisper's own word timing does, a word longer than twice the median word (at most 0.7 s)
//! at a sentence's end is shortened to that. Pure; the engine calls `align` and hands the
//! path here.

use std::ops::Range;

/// Encoder frames per second of audio (the mel's 100 a second, halved by the encoder).
pub const FRAMES_PER_SECOND: f64 = 50.0;

/// A word and when it was said, in seconds from the window's start.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTime {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// The text tokens it is made of.
    pub tokens: Range<usize>,
}

const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const SENTENCE_ENDS: [&str; 6] = [".", "。", "!", "！", "?", "？"];

/// Groups the text tokens (as bytes) into words: each word's text and token range.
fn split_words(tokens: &[Vec<u8>]) -> Vec<(String, Range<usize>)> {
    // First, pieces that decode on their own (a character split across tokens joins up).
    let mut pieces: Vec<(String, Range<usize>)> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut from = 0;
    for (i, bytes) in tokens.iter().enumerate() {
        pending.extend_from_slice(bytes);
        if let Ok(text) = std::str::from_utf8(&pending) {
            pieces.push((text.to_owned(), from..i + 1));
            pending.clear();
            from = i + 1;
        }
    }
    if !pending.is_empty() {
        pieces.push((
            String::from_utf8_lossy(&pending).into_owned(),
            from..tokens.len(),
        ));
    }
    let mut words: Vec<(String, Range<usize>)> = Vec::new();
    for (text, range) in pieces {
        let stripped = text.trim();
        let starts_word = text.starts_with(' ') || PUNCTUATION.contains(stripped);
        match words.last_mut() {
            Some((word, span)) if !starts_word => {
                word.push_str(&text);
                span.end = range.end;
            }
            _ => words.push((text, range)),
        }
    }
    words
}

/// Each token's start, in seconds: the first frame the path gives it. `count` tokens are
/// expected (the text and the end-of-text after it); a token the path skips starts where the
/// one before did.
fn token_starts(path: &[(usize, usize)], count: usize) -> Vec<f64> {
    let mut starts = vec![None; count];
    for &(token, frame) in path {
        if let Some(slot) = starts.get_mut(token)
            && slot.is_none()
        {
            #[allow(clippy::cast_precision_loss, reason = "frame counts are small")]
            let at = frame as f64 / FRAMES_PER_SECOND;
            *slot = Some(at);
        }
    }
    let mut last = 0.0;
    starts
        .into_iter()
        .map(|s| {
            last = s.unwrap_or(last);
            last
        })
        .collect()
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The words of a window's text tokens (as bytes), timed by the alignment `path` of (token
/// index, encoder frame) pairs, in which index `tokens.len()` is the end-of-text.
#[must_use]
pub fn words_from_alignment(tokens: &[Vec<u8>], path: &[(usize, usize)]) -> Vec<WordTime> {
    if tokens.is_empty() || path.is_empty() {
        return Vec::new();
    }
    let starts = token_starts(path, tokens.len() + 1);
    let mut words: Vec<WordTime> = split_words(tokens)
        .into_iter()
        .map(|(text, range)| WordTime {
            start: starts[range.start],
            end: starts[range.end],
            text,
            tokens: range,
        })
        .collect();
    // A word at a sentence's edge may take in the pause after (or before) it.
    let mut durations: Vec<f64> = words
        .iter()
        .map(|w| w.end - w.start)
        .filter(|d| *d > 0.0)
        .collect();
    let median = median(&mut durations).min(0.7);
    let longest = 2.0 * median;
    if longest > 0.0 {
        for i in 1..words.len() {
            if words[i].end - words[i].start <= longest {
                continue;
            }
            if SENTENCE_ENDS.contains(&words[i].text.trim()) {
                words[i].end = words[i].start + longest;
            } else if SENTENCE_ENDS.contains(&words[i - 1].text.trim()) {
                words[i].start = words[i].end - longest;
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(texts: &[&str]) -> Vec<Vec<u8>> {
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn words_start_at_spaces_and_punctuation_and_keep_their_tokens() {
        let words = split_words(&toks(&[" My", " card", " is", " 45", "32", "-", "91", "."]));
        let texts: Vec<&str> = words.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, [" My", " card", " is", " 4532", "-91", "."]);
        assert_eq!(words[3].1, 3..5);
    }

    #[test]
    fn a_character_split_across_tokens_is_one_piece() {
        let e_acute = "é".as_bytes();
        let words = split_words(&[b" caf".to_vec(), vec![e_acute[0]], vec![e_acute[1]]]);
        assert_eq!(words, vec![(" café".to_owned(), 0..3)]);
    }

    #[test]
    fn each_word_runs_from_its_first_token_to_the_next_word() {
        // " four" (1 token) at frames 10-24, " one" at 25-39, end-of-text from 40.
        let path = [
            (0, 10),
            (0, 11),
            (0, 24),
            (1, 25),
            (1, 39),
            (2, 40),
            (2, 41),
        ];
        let words = words_from_alignment(&toks(&[" four", " one"]), &path);
        assert_eq!(words.len(), 2);
        assert!((words[0].start - 0.2).abs() < 1e-9);
        assert!((words[0].end - 0.5).abs() < 1e-9);
        assert!((words[1].start - 0.5).abs() < 1e-9);
        assert!((words[1].end - 0.8).abs() < 1e-9);
    }

    #[test]
    fn a_long_sentence_end_is_cut_to_twice_the_median_word() {
        // Three words of 0.2 s, then a full stop stretched over two seconds of silence.
        let path = [(0, 0), (1, 10), (2, 20), (3, 30), (4, 130)];
        let words = words_from_alignment(&toks(&[" a", " b", " c", "."]), &path);
        let stop = &words[3];
        assert_eq!(stop.text, ".");
        assert!((stop.end - stop.start - 0.4).abs() < 1e-9, "{stop:?}");
    }

    #[test]
    fn nothing_to_align_gives_no_words() {
        assert!(words_from_alignment(&[], &[(0, 0)]).is_empty());
        assert!(words_from_alignment(&toks(&[" a"]), &[]).is_empty());
    }
}

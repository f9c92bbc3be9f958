//! Word times from the model's cross-attention alignment: CTranslate2's `align` answers, for a
//! window's text tokens (and the end-of-text that follows them), a path of (token, frame)
//! pairs over the encoder's frames (20 ms each). A token starts at the first frame the path
//! gives it; a word runs from its first token's start to the next word's (or end-of-text's).
//! Words start at a token that begins with a space, at punctuation, or where the text starts;
//! tokens that only make sense together (UTF-8 split across tokens) stay together. Then, as
//! Whisper's own word timing does, a word longer than twice the median word (at most 0.7 s)
//! at a sentence's end (or at the window's start) is shortened to that. Pure; the engine calls `align` and hands the
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

/// Punctuation that belongs to the word before it, even after a space (as Whisper merges it).
const CLOSING: [&str; 15] = [
    "\"", "'", ".", "。", ",", "，", "!", "！", "?", "？", ":", "：", ")", "]", "}",
];
const SENTENCE_ENDS: [char; 6] = ['.', '。', '!', '！', '?', '？'];

fn ends_sentence(word: &str) -> bool {
    word.trim_end().ends_with(SENTENCE_ENDS)
}

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
        let starts_word = text.starts_with(' ') && !CLOSING.contains(&stripped);
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
        for i in 0..words.len() {
            // A card said as one long number is a long word: its whole time is kept.
            if words[i].end - words[i].start <= longest
                || words[i].text.chars().any(|c| c.is_ascii_digit())
            {
                continue;
            }
            if i == 0 {
                // The first word takes in the silence the window starts with.
                words[0].start = words[0].end - longest;
            } else if ends_sentence(&words[i].text) {
                words[i].end = words[i].start + longest;
            } else if ends_sentence(&words[i - 1].text) {
                words[i].start = words[i].end - longest;
            }
        }
    }
    words
}

/// Audio frames as long as an encoder frame (20 ms at 16 kHz).
const FRAME_SAMPLES: usize = 320;
/// How far a word's edge may move to the onset or end of the sound it sits in.
const SNAP_REACH_FRAMES: usize = 25;

/// Which 20 ms frames of `audio` (16 kHz) hold sound: louder than a tenth of the way from the
/// quiet floor to the loud frames, in amplitude.
fn loud_frames(audio: &[f32]) -> Vec<bool> {
    #[allow(clippy::cast_precision_loss, reason = "a frame's sample count")]
    let rms: Vec<f32> = audio
        .chunks(FRAME_SAMPLES)
        .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt())
        .collect();
    if rms.is_empty() {
        return Vec::new();
    }
    let mut sorted = rms.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let peak = sorted[sorted.len() * 19 / 20];
    let threshold = floor + (peak - floor) * 0.1;
    rms.into_iter().map(|r| r > threshold).collect()
}

/// Moves word edges the alignment put in silence onto the sound: a start in silence moves
/// forward to where sound begins within the word, a start inside sound back to that sound's
/// onset when one is near; an end in silence moves back to where the sound stops. The
/// cross-attention path is coarse where a pause falls (it puts a word anywhere in the silence
/// before it), the signal is not.
pub fn snap_to_speech(words: &mut [WordTime], audio: &[f32]) {
    let loud = loud_frames(audio);
    if !loud.iter().any(|l| *l) {
        return;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "times within a window"
    )]
    let frame = |t: f64| ((t * FRAMES_PER_SECOND).round().max(0.0) as usize).min(loud.len());
    #[allow(clippy::cast_precision_loss, reason = "frame counts are small")]
    let time = |f: usize| f as f64 / FRAMES_PER_SECOND;
    // Starts first: each moves onto the onset of the sound it is in (or the first sound after
    // it), never back past the word before's start.
    let mut previous_start = 0;
    for word in words.iter_mut() {
        let (mut s, e) = (frame(word.start), frame(word.end).max(frame(word.start)));
        if s < loud.len() && loud[s] {
            let reach = s.saturating_sub(SNAP_REACH_FRAMES).max(previous_start + 1);
            if let Some(quiet) = (reach..s).rev().find(|&f| !loud[f]) {
                s = quiet + 1;
            }
        } else if let Some(onset) = (s..e).find(|&f| loud[f]) {
            s = onset;
        }
        word.start = time(s);
        previous_start = s;
    }
    // Then ends: no later than the next word's start, and back off the silence before it.
    let starts: Vec<f64> = words.iter().map(|w| w.start).collect();
    for (i, word) in words.iter_mut().enumerate() {
        let s = frame(word.start);
        let mut e = frame(word.end);
        if let Some(next) = starts.get(i + 1) {
            e = e.min(frame(*next));
        }
        if let Some(last) = (s..e).rev().find(|&f| loud[f]) {
            e = last + 1;
        }
        word.end = time(e.max(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(texts: &[&str]) -> Vec<Vec<u8>> {
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn words_start_at_spaces_and_punctuation_and_keep_their_tokens() {
        let words = split_words(&toks(&[
            " My", " card", " is", " 45", "32", "-", "91", ".", " Thanks", " !",
        ]));
        let texts: Vec<&str> = words.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, [" My", " card", " is", " 4532-91.", " Thanks !"]);
        assert_eq!(words[3].1, 3..8);
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
        // Three words of 0.2 s, the last with a full stop stretched over two seconds of silence.
        let path = [(0, 0), (1, 10), (2, 20), (3, 30), (4, 130)];
        let words = words_from_alignment(&toks(&[" a", " b", " c", "."]), &path);
        let stop = &words[2];
        assert_eq!(stop.text, " c.");
        assert!((stop.end - stop.start - 0.4).abs() < 1e-9, "{stop:?}");
    }

    #[test]
    fn edges_in_silence_move_onto_the_sound() {
        // Sound from 1.0 to 1.5 s and from 2.0 to 2.4 s; silence elsewhere.
        let mut audio = vec![0.0_f32; 16_000 * 3];
        for (i, s) in audio.iter_mut().enumerate() {
            let t = i as f64 / 16_000.0;
            if (1.0..1.5).contains(&t) || (2.0..2.4).contains(&t) {
                *s = (t * 2_000.0).sin() as f32 * 0.5;
            }
        }
        let word = |start: f64, end: f64| WordTime {
            text: String::new(),
            start,
            end,
            tokens: 0..1,
        };
        // The first word starts in the silence before it and ends in the gap after it; the
        // second starts late, inside its sound.
        let mut words = vec![word(0.6, 1.9), word(2.1, 2.8)];
        snap_to_speech(&mut words, &audio);
        let close = |a: f64, b: f64| (a - b).abs() <= 0.021;
        assert!(
            close(words[0].start, 1.0) && close(words[0].end, 1.5),
            "{words:?}"
        );
        assert!(
            close(words[1].start, 2.0) && close(words[1].end, 2.4),
            "{words:?}"
        );
        // All silence: nothing moves.
        let mut quiet = vec![word(0.5, 1.0)];
        snap_to_speech(&mut quiet, &vec![0.0; 16_000]);
        assert_eq!(quiet, vec![word(0.5, 1.0)]);
    }

    #[test]
    fn nothing_to_align_gives_no_words() {
        assert!(words_from_alignment(&[], &[(0, 0)]).is_empty());
        assert!(words_from_alignment(&toks(&[" a"]), &[]).is_empty());
    }
}

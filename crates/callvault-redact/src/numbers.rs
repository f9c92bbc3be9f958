//! Numbers as people say and write them, read into digits: "4111", "4111-1111", "four one one
//! one", "forty one eleven", "oh", "double four", "nineteen ninety". A run is a stretch of
//! words that all say digits (fillers such as "uh" or "dash" between them allowed).

use std::ops::Range;

/// Digits said over a run of words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitRun {
    pub digits: String,
    /// The words it spans (indexes into the words given).
    pub words: Range<usize>,
}

fn unit(word: &str) -> Option<u32> {
    Some(match word {
        "zero" | "oh" | "o" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" | "for" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

fn teen(word: &str) -> Option<u32> {
    Some(match word {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return None,
    })
}

fn tens(word: &str) -> Option<u32> {
    Some(match word {
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Words said between digits that do not end a run.
fn filler(word: &str) -> bool {
    matches!(
        word,
        "uh" | "um" | "er" | "erm" | "dash" | "hyphen" | "space" | "-" | "and"
    )
}

/// A word as compared: lower case, without the punctuation around it.
pub(crate) fn plain(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// What one word contributes: digits written ("4111", "12/26", "4111-1111"), or said.
enum Said {
    Digits(String),
    /// A tens word ("forty"): "40" alone, "4x" before a unit.
    Tens(u32),
    /// "double" / "triple": the next digit said that many times.
    Repeat(usize),
    Filler,
    Other,
}

fn said(word: &str) -> Said {
    let w = plain(word);
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.' | ','))
        && w.chars().any(|c| c.is_ascii_digit())
    {
        return Said::Digits(w.chars().filter(char::is_ascii_digit).collect());
    }
    if let Some(d) = unit(&w) {
        return Said::Digits(d.to_string());
    }
    if let Some(t) = teen(&w) {
        return Said::Digits(t.to_string());
    }
    if let Some(t) = tens(&w) {
        return Said::Tens(t);
    }
    match w.as_str() {
        "double" => Said::Repeat(2),
        "triple" => Said::Repeat(3),
        _ if filler(&w) || word.trim() == "-" => Said::Filler,
        _ => Said::Other,
    }
}

/// Every run of words that says digits, in order.
#[must_use]
pub fn digit_runs(words: &[&str]) -> Vec<DigitRun> {
    let mut runs = Vec::new();
    let mut current: Option<DigitRun> = None;
    let mut pending_tens: Option<(u32, usize)> = None;
    let mut repeat = 1;
    let mut last_digit_word = 0;
    let close = |current: &mut Option<DigitRun>, runs: &mut Vec<DigitRun>, end: usize| {
        if let Some(mut run) = current.take() {
            run.words.end = end;
            runs.push(run);
        }
    };
    for (i, word) in words.iter().enumerate() {
        let push = |current: &mut Option<DigitRun>, digits: &str| {
            let run = current.get_or_insert_with(|| DigitRun {
                digits: String::new(),
                words: i..i + 1,
            });
            run.digits.push_str(digits);
        };
        match said(word) {
            Said::Digits(d) => {
                let digits = match pending_tens.take() {
                    // "forty one" is 41; "forty" then "eleven" is 40 then 11.
                    Some((t, _)) if d.len() == 1 => (t + d.parse::<u32>().unwrap_or(0)).to_string(),
                    Some((t, _)) => format!("{t}{d}"),
                    None => d,
                };
                let digits = digits.repeat(std::mem::replace(&mut repeat, 1));
                push(&mut current, &digits);
                last_digit_word = i;
            }
            Said::Tens(t) => {
                if let Some((before, _)) = pending_tens.replace((t, i)) {
                    push(&mut current, &before.to_string());
                }
                if current.is_none() {
                    current = Some(DigitRun {
                        digits: String::new(),
                        words: i..i + 1,
                    });
                }
                last_digit_word = i;
            }
            Said::Repeat(n) => {
                repeat = n;
                if current.is_none() {
                    current = Some(DigitRun {
                        digits: String::new(),
                        words: i..i + 1,
                    });
                }
            }
            Said::Filler if current.is_some() => {}
            Said::Filler | Said::Other => {
                if let Some((t, _)) = pending_tens.take() {
                    push(&mut current, &t.to_string());
                }
                repeat = 1;
                close(&mut current, &mut runs, last_digit_word + 1);
            }
        }
    }
    if let Some((t, i)) = pending_tens.take() {
        if let Some(run) = current.as_mut() {
            run.digits.push_str(&t.to_string());
        }
        last_digit_word = i;
    }
    close(&mut current, &mut runs, last_digit_word + 1);
    runs.retain(|r| !r.digits.is_empty());
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str) -> Vec<(String, Range<usize>)> {
        let words: Vec<&str> = text.split_whitespace().collect();
        digit_runs(&words)
            .into_iter()
            .map(|r| (r.digits, r.words))
            .collect()
    }

    #[test]
    fn written_digits_with_or_without_separators() {
        assert_eq!(
            runs("card 4111 1111 1111 1111 please"),
            [("4111111111111111".into(), 1..5)]
        );
        assert_eq!(
            runs("it is 4111-1111-1111-1111."),
            [("4111111111111111".into(), 2..3)]
        );
        assert_eq!(runs("expires 12/26"), [("1226".into(), 1..2)]);
    }

    #[test]
    fn digits_said_one_by_one_or_in_pairs() {
        assert_eq!(runs("four one one one"), [("4111".into(), 0..4)]);
        assert_eq!(runs("forty one eleven"), [("4111".into(), 0..3)]);
        assert_eq!(runs("forty eleven"), [("4011".into(), 0..2)]);
        assert_eq!(runs("oh five double four"), [("0544".into(), 0..4)]);
        assert_eq!(runs("twenty twenty six"), [("2026".into(), 0..3)]);
        assert_eq!(runs("four uh one one one"), [("4111".into(), 0..5)]);
    }

    #[test]
    fn words_between_numbers_split_them() {
        assert_eq!(
            runs("order 42 from 2 days ago"),
            [("42".into(), 1..2), ("2".into(), 3..4)]
        );
        assert_eq!(runs("nothing here"), Vec::<(String, Range<usize>)>::new());
    }
}

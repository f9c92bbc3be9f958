//! Which runs of digits are what: a card number passes Luhn; its expiry and security code are
//! recognised only near it; an SSN is written as one or said after "social security"; bank
//! numbers are redacted only when said as such ("account number", "routing number"). Order
//! numbers, phone numbers, amounts and times are left alone.

use std::ops::Range;

use crate::numbers::{DigitRun, digit_runs, plain};

/// What a finding is (the kinds a recording's redacted spans carry).
pub use callvault_core::redaction::RedactionKind as Kind;

/// A run of words to hide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// Indexes into the words given.
    pub words: Range<usize>,
}

/// Words that say a card number follows.
const CARD_WORDS: &[&str] = &[
    "card",
    "visa",
    "mastercard",
    "amex",
    "american express",
    "discover",
    "credit",
    "debit",
];

/// How soon after a card, in words, three or four digits are taken for its details.
const AFTER_CARD: usize = 12;

/// How many misheard words may split a card number said after the word "card".
const MISHEARD_WORDS: usize = 2;

/// How far around a card its expiry and code are looked for, in words.
const NEAR_CARD: usize = 30;
/// How far before a number its keyword ("account number") may be, in words.
const KEYWORD_REACH: usize = 6;

/// The Luhn check every card number passes.
#[must_use]
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

fn is_card(digits: &str) -> bool {
    // A run may carry the expiry or code said straight after: a card at its start is enough.
    (13..=19).any(|n| digits.len() >= n && luhn(&digits[..n]))
}

fn valid_ssn(d: &str) -> bool {
    d.len() == 9
        && !d.starts_with("000")
        && !d.starts_with("666")
        && !d.starts_with('9')
        && &d[3..5] != "00"
        && &d[5..] != "0000"
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_and_year(digits: &str) -> bool {
    let month = |m: &str| m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    match digits.len() {
        3 | 5 => month(&digits[..1]),
        4 | 6 => month(&digits[..2]),
        _ => false,
    }
}

/// Whether one of `keys` is among the `reach` words before `at` (a key of two words matches
/// them in order).
fn said_before(plain: &[String], at: usize, reach: usize, keys: &[&str]) -> bool {
    let from = at.saturating_sub(reach);
    keys.iter().any(|key| {
        let parts: Vec<&str> = key.split(' ').collect();
        (from..at).any(|i| {
            parts.iter().enumerate().all(|(k, part)| {
                plain.get(i + k).is_some_and(|w| {
                    w == part || (part.ends_with('*') && w.starts_with(part.trim_end_matches('*')))
                }) && i + k < at
            })
        })
    })
}

/// What to hide among `words`, in order, never overlapping.
#[must_use]
pub fn find(words: &[&str]) -> Vec<Finding> {
    let plain: Vec<String> = words.iter().map(|w| plain(w)).collect();
    let runs = digit_runs(words);
    let mut found: Vec<Finding> = Vec::new();
    let mut taken = vec![false; runs.len()];

    // Cards first: the expiry and code are found by their distance from one.
    // A card passes Luhn. One said after the word "card" is hidden even when it does not, and
    // even when a word or two the recogniser misheard split its digits: better to hide a
    // stretch too many than leave a card number in the clear.
    let mut cards: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        if is_card(&runs[i].digits) {
            taken[i] = true;
            cards.push(runs[i].words.clone());
            i += 1;
            continue;
        }
        if said_before(&plain, runs[i].words.start, KEYWORD_REACH, CARD_WORDS) {
            let mut digits = runs[i].digits.len();
            let mut last = i;
            while digits < 12
                && last + 1 < runs.len()
                && runs[last + 1].words.start - runs[last].words.end <= MISHEARD_WORDS
                && digits + runs[last + 1].digits.len() <= 19
            {
                last += 1;
                digits += runs[last].digits.len();
            }
            if (12..=19).contains(&digits) {
                taken[i..=last].fill(true);
                cards.push(runs[i].words.start..runs[last].words.end);
                i = last + 1;
                continue;
            }
        }
        i += 1;
    }
    for card in &cards {
        found.push(Finding {
            kind: Kind::Card,
            words: card.clone(),
        });
    }
    let near_card = |r: &DigitRun| {
        cards.iter().any(|c| {
            r.words.start >= c.end && r.words.start - c.end <= NEAR_CARD
                || r.words.end <= c.start && c.start - r.words.end <= NEAR_CARD
        })
    };

    for (i, run) in runs.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let at = run.words.start;
        let len = run.digits.len();
        let kind = if len == 9
            && valid_ssn(&run.digits)
            && (said_before(
                &plain,
                at,
                KEYWORD_REACH + 2,
                &["social", "ssn", "security number", "social security"],
            ) || words[run.words.clone()].iter().any(|w| {
                let p: Vec<&str> = w
                    .trim_matches(|c: char| !c.is_ascii_digit())
                    .split('-')
                    .collect();
                p.len() == 3 && p[0].len() == 3 && p[1].len() == 2 && p[2].len() == 4
            })) {
            Some(Kind::Ssn)
        } else if len == 9
            && said_before(
                &plain,
                at,
                KEYWORD_REACH,
                &["routing", "aba", "transit number"],
            )
        {
            Some(Kind::RoutingNumber)
        } else if (4..=17).contains(&len)
            && said_before(
                &plain,
                at,
                KEYWORD_REACH,
                &["account number", "account no", "acct", "account #"],
            )
        {
            Some(Kind::BankAccount)
        } else if near_card(run)
            && (3..=4).contains(&len)
            && said_before(
                &plain,
                at,
                5,
                &["security", "cvv", "cvc", "cvv2", "cid", "code", "back"],
            )
        {
            Some(Kind::SecurityCode)
        } else if near_card(run)
            && month_and_year(&run.digits)
            && (said_before(
                &plain,
                at,
                4,
                &["expir*", "exp", "valid", "thru", "through", "until"],
            ) || len >= 4)
        {
            Some(Kind::Expiry)
        } else if near_card(run) && (3..=4).contains(&len) {
            // Three or four digits soon after a card (or straight after its expiry) are taken
            // for its code or a misheard expiry: better hidden than heard.
            let after_expiry = found
                .iter()
                .any(|f| f.kind == Kind::Expiry && at >= f.words.end && at - f.words.end <= 8);
            let after_card = cards
                .iter()
                .any(|c| at >= c.end && at - c.end <= AFTER_CARD);
            (after_expiry || after_card).then_some(Kind::SecurityCode)
        } else {
            None
        };
        if let Some(kind) = kind {
            let mut words = run.words.clone();
            // "December twenty six": the month goes with the year.
            if kind == Kind::Expiry && at > 0 && MONTHS.contains(&plain[at - 1].as_str()) {
                words.start = at - 1;
            }
            taken[i] = true;
            found.push(Finding { kind, words });
        }
    }
    // Month names said with a year near a card, without digits for the month.
    for (at, w) in plain.iter().enumerate() {
        if !MONTHS.contains(&w.as_str()) || found.iter().any(|f| f.words.contains(&at)) {
            continue;
        }
        if let Some((i, run)) = runs
            .iter()
            .enumerate()
            .find(|(_, r)| r.words.start == at + 1)
            && !taken[i]
            && near_card(run)
            && matches!(run.digits.len(), 2 | 4)
        {
            taken[i] = true;
            found.push(Finding {
                kind: Kind::Expiry,
                words: at..run.words.end,
            });
        }
    }
    found.sort_by_key(|f| f.words.start);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact_text;

    fn redact(text: &str) -> (String, Vec<Kind>) {
        let words: Vec<&str> = text.split_whitespace().collect();
        let found = find(&words);
        (
            redact_text(&words, &found),
            found.iter().map(|f| f.kind).collect(),
        )
    }

    #[test]
    fn luhn_tells_card_numbers_from_other_long_numbers() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("378282246310005"));
        assert!(luhn("5555555555554444"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn(""));
    }

    #[test]
    fn a_card_said_in_digits_or_in_words_is_hidden() {
        assert_eq!(
            redact("my card is 4111 1111 1111 1111 thanks"),
            ("my card is [redacted] thanks".into(), vec![Kind::Card])
        );
        assert_eq!(
            redact("it's four one one one one one one one one one one one one one one one okay"),
            ("it's [redacted] okay".into(), vec![Kind::Card])
        );
        assert_eq!(
            redact("forty one eleven eleven eleven eleven eleven eleven eleven and that's it"),
            ("[redacted] and that's it".into(), vec![Kind::Card])
        );
        // Sixteen digits that fail Luhn are not a card, unless said as one (a digit misheard).
        assert_eq!(redact("reference 4111 1111 1111 1112").1, vec![]);
        assert_eq!(
            redact("my card number is 4111 1111 1111 1112 thanks").0,
            "my card number is [redacted] thanks"
        );
        // A word misheard in the middle does not let the rest through.
        assert_eq!(
            redact("my card number is 4532, 0 one time, 1, 2, 8, 3, 0, 3, 6, thanks").0,
            "my card number is [redacted] thanks"
        );
        // Without the word "card", numbers apart stay apart.
        assert_eq!(redact("order 453201 time 1283036 please").1, vec![]);
    }

    #[test]
    fn expiry_and_security_code_near_a_card_are_hidden() {
        let (text, kinds) =
            redact("the card is 5555 5555 5555 4444 expires 12/26 and the security code is 737");
        assert_eq!(
            text,
            "the card is [redacted] expires [redacted] and the security code is [redacted]"
        );
        assert_eq!(kinds, vec![Kind::Card, Kind::Expiry, Kind::SecurityCode]);
        let (text, kinds) = redact(
            "card number 4111 1111 1111 1111 expiration date december twenty six cvv one two three",
        );
        assert_eq!(
            text,
            "card number [redacted] expiration date [redacted] cvv [redacted]"
        );
        assert_eq!(kinds, vec![Kind::Card, Kind::Expiry, Kind::SecurityCode]);
    }

    #[test]
    fn a_few_digits_soon_after_a_card_are_hidden_whatever_was_heard_around_them() {
        // "The expiry is one two two six" heard as "the estimated 1, 2, 6".
        assert_eq!(
            redact("card number 4111 1111 1111 1111 the estimated 1, 2, 6. thanks").0,
            "card number [redacted] the estimated [redacted] thanks"
        );
        // Far from any card, three digits are just three digits.
        assert_eq!(redact("room 126 on the second floor").1, vec![]);
    }

    #[test]
    fn an_ssn_written_or_said_as_one_is_hidden() {
        assert_eq!(redact("my ssn is 123-45-6789").1, vec![Kind::Ssn]);
        assert_eq!(
            redact("social security number one two three four five six seven eight nine ok").0,
            "social security number [redacted] ok"
        );
        // Nine digits said without saying what they are stay.
        assert_eq!(redact("the tracking code is 123456789").1, vec![]);
    }

    #[test]
    fn bank_numbers_said_as_such_are_hidden() {
        let (text, kinds) =
            redact("routing number 021000021 and account number 000123456789 thanks");
        assert_eq!(
            text,
            "routing number [redacted] and account number [redacted] thanks"
        );
        assert_eq!(kinds, vec![Kind::RoutingNumber, Kind::BankAccount]);
    }

    #[test]
    fn ordinary_numbers_are_left_alone() {
        for text in [
            "order 42 shipped on the 3rd",
            "call me back at 415 555 0123",
            "it costs 1299 dollars",
            "meet at 3 30 on friday",
            "my order number is 123456",
        ] {
            assert_eq!(redact(text).1, vec![], "{text}");
        }
    }
}

//! What the inbox's search box matches, decided once for every backend.

use callvault_core::contact::fold_for_search;
use callvault_core::phone::{E164, Region, SearchNumber, search_number};

use crate::StoreResult;

/// Search text as the store reads it: contacts match when every word is the start of a word of
/// their name (ignoring case and accents, in any order: "martin elo" finds "Élodie Martin"), or
/// when their number's E.164 digits contain `digits` (a phone-like query in any format: the
/// national form, the last four digits or more), or are them when the text is a whole number
/// (in any format): a whole number is one line, and the same digits inside a longer number
/// are someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    words: Vec<String>,
    number: Option<SearchNumber>,
}

impl SearchText {
    /// Words beyond this many are ignored: a name is rarely longer, and each word costs the
    /// index a lookup.
    pub const MAX_WORDS: usize = 8;

    #[must_use]
    pub fn new(typed: &str, region: Region) -> Self {
        let folded = fold_for_search(typed);
        let number = search_number(typed, region);
        let mut words: Vec<String> = Vec::new();
        // Text typed like a phone number is looked for among numbers, not as the words of
        // names ("(415) 555" is not the start of two words).
        let numeric = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
        for word in folded
            .split(' ')
            .filter(|w| !(w.is_empty() || number.is_some() && numeric(w)))
        {
            // "ann anna" needs only "anna": a shorter word that starts another adds nothing.
            if words.iter().any(|w| w.starts_with(word)) {
                continue;
            }
            words.retain(|w| !word.starts_with(w.as_str()));
            words.push(word.to_owned());
        }
        words.truncate(Self::MAX_WORDS);
        Self { words, number }
    }

    /// The number when the text is a whole one: `digits` are then its E.164 digits, matched
    /// whole.
    #[must_use]
    pub fn whole_number(&self) -> Option<&E164> {
        match &self.number {
            Some(SearchNumber::Whole(number)) => Some(number),
            _ => None,
        }
    }

    /// The folded words, each to be the start of a word of the name.
    #[must_use]
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Digits to find inside the number, when the text looks like (part of) one.
    #[must_use]
    pub fn digits(&self) -> Option<&str> {
        self.number.as_ref().map(SearchNumber::digits)
    }

    /// The digits a backend asks its index for: the last [`Self::FEW_FROM_DIGITS`] of them.
    /// The leading digits of a number (country, area code) are the ones many numbers share, so
    /// a trigram index answers for the tail at a fraction of the cost of the whole; the whole
    /// is then tested on each number found (when the two differ).
    #[must_use]
    pub fn indexed_digits(&self) -> Option<&str> {
        // Digits are ASCII, so any byte offset is a character boundary.
        let digits = self.digits()?;
        Some(&digits[digits.len().saturating_sub(Self::FEW_FROM_DIGITS)..])
    }

    /// Text with neither a word nor digits ("--") matches no one.
    #[must_use]
    pub fn matches_nothing(&self) -> bool {
        self.words.is_empty() && self.number.is_none()
    }

    /// The rule itself, for a folded name and a number's digits: what every backend's index
    /// must agree with.
    #[must_use]
    pub fn matches(&self, folded_name: &str, phone_digits: &str) -> bool {
        let by_name = !self.words.is_empty()
            && self
                .words
                .iter()
                .all(|w| folded_name.split(' ').any(|n| n.starts_with(w.as_str())));
        let by_digits = match &self.number {
            Some(SearchNumber::Whole(number)) => phone_digits == number.digits(),
            Some(SearchNumber::Part(digits)) => phone_digits.contains(digits.as_str()),
            None => false,
        };
        by_name || by_digits
    }
}

/// How a backend answers a search: fetch the few matching contacts from its indexes (every
/// word, or the digits, looked up; several words' matches intersected by the index) and sort
/// them, or walk the inbox in order testing each entry until a page is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchPlan {
    FromIndexes,
    Walk,
}

/// What a backend must find out next to choose a [`SearchPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStep {
    Decided(SearchPlan),
    /// How many contacts the one word starts a word of, counted up to
    /// [`SearchText::FEW_MATCHES`] + 1.
    CountWord,
    /// How many of the first [`SearchText::SAMPLE_ROWS`] entries of the walk match.
    Sample,
}

/// The first entries of the walk, tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub tested: u64,
    pub matched: u64,
    /// Entries the walk could visit in all (an estimate is fine).
    pub total: u64,
}

impl SearchText {
    /// Up to this many matching contacts are fetched from the indexes and sorted; a walk finds
    /// a page after about `limit × total / matches` entries, under this many matches too many.
    pub const FEW_MATCHES: u64 = 4_000;
    /// Entries of the walk tested to estimate how common a match is.
    pub const SAMPLE_ROWS: u64 = 2_000;
    /// A walk over this many entries at most costs little whatever matches, less than an index
    /// lookup of a common word or digit fragment (a restricted user's few thousand contacts).
    pub const SHORT_WALK: u64 = 10_000;
    /// A number typed to this many digits matches a handful of contacts.
    pub const FEW_FROM_DIGITS: usize = 7;
    /// The shortest digit string a trigram index can look up.
    pub const MIN_INDEXED_DIGITS: usize = 3;

    /// The next step in choosing how to answer this search, given what is known so far: the
    /// word's count (capped) when there is one word, and a sample of the walk. Every backend
    /// follows the same steps.
    ///
    /// One word is counted in the index, cheaply and exactly. Several words are judged by a
    /// sample only: whether they are rare together is what matters, not how rare each is
    /// ("maria garcia": thousands each, a few hundred together), and each backend's index
    /// intersects their matches at about the cost of the rarest.
    #[must_use]
    pub fn plan(&self, word_count: Option<u64>, sample: Option<Sample>) -> SearchStep {
        let by_sample = |sample: Sample| {
            // Matches expected in all, from the share of the sample that matched.
            let expected = sample.matched.saturating_mul(sample.total) / sample.tested.max(1);
            SearchStep::Decided(
                if sample.total > Self::SHORT_WALK && expected <= Self::FEW_MATCHES {
                    SearchPlan::FromIndexes
                } else {
                    SearchPlan::Walk
                },
            )
        };
        if let Some(digits) = self.digits() {
            if digits.len() < Self::MIN_INDEXED_DIGITS {
                return SearchStep::Decided(SearchPlan::Walk);
            }
            if self.whole_number().is_some()
                || self.words.is_empty() && digits.len() >= Self::FEW_FROM_DIGITS
            {
                return SearchStep::Decided(SearchPlan::FromIndexes);
            }
            // A digit index cannot count cheaply (every hit is checked in the table).
        } else if self.words.len() == 1 {
            return match word_count {
                None => SearchStep::CountWord,
                Some(n) if n <= Self::FEW_MATCHES => SearchStep::Decided(SearchPlan::FromIndexes),
                Some(_) => SearchStep::Decided(SearchPlan::Walk),
            };
        }
        match sample {
            Some(sample) => by_sample(sample),
            None => SearchStep::Sample,
        }
    }
}

/// What a backend is asked while a search plan is chosen (see [`SearchText::choose_plan`]).
#[async_trait::async_trait]
pub trait PlanProbe: Send {
    /// How many contacts `word` starts a word of, counted up to [`SearchText::FEW_MATCHES`] + 1.
    async fn count_word(&mut self, word: &str) -> StoreResult<u64>;
    /// The first [`SearchText::SAMPLE_ROWS`] entries of the walk, tested.
    async fn sample(&mut self) -> StoreResult<Sample>;
}

impl SearchText {
    /// Follows [`SearchText::plan`] to a decision, asking `probe` what each step needs.
    pub async fn choose_plan(&self, probe: &mut (dyn PlanProbe + '_)) -> StoreResult<SearchPlan> {
        let (mut count, mut sample) = (None, None);
        loop {
            match self.plan(count, sample) {
                SearchStep::Decided(plan) => return Ok(plan),
                SearchStep::CountWord => {
                    let word = self.words.first().map_or("", String::as_str);
                    count = Some(probe.count_word(word).await?);
                }
                SearchStep::Sample => sample = Some(probe.sample().await?),
            }
        }
    }
}

/// Words of a transcript a search snippet shows at most; longer text is cut around the match.
const SNIPPET_WORDS: usize = 16;

/// A search hit's text with the matched phrase in [brackets], cut to about
/// [`SNIPPET_WORDS`] words around it with "…" where text was left out. Words compare as search
/// folds them (case and accents ignored); the text keeps its own spelling. Every backend marks
/// snippets here, so they read the same whichever found them.
#[must_use]
pub fn mark_phrase(text: &str, phrase: &str) -> String {
    let wanted: Vec<String> = fold_for_search(phrase)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let words = word_spans(text);
    let found = (!wanted.is_empty() && words.len() >= wanted.len())
        .then(|| {
            (0..=words.len() - wanted.len()).find(|&i| {
                wanted
                    .iter()
                    .zip(&words[i..])
                    .all(|(w, &(a, b))| fold_for_search(&text[a..b]) == *w)
            })
        })
        .flatten();
    let (first, last) = match found {
        Some(i) => (i, i + wanted.len() - 1),
        None => (0, 0),
    };
    let (from, to) = if words.len() <= SNIPPET_WORDS {
        (0, words.len())
    } else {
        let from = first.saturating_sub(4).min(words.len() - SNIPPET_WORDS);
        (from, (from + SNIPPET_WORDS).max(last + 1).min(words.len()))
    };
    let start = if from == 0 { 0 } else { words[from].0 };
    let end = if to == words.len() {
        text.len()
    } else {
        words[to - 1].1
    };
    let mut out = String::with_capacity(end - start + 8);
    if from > 0 {
        out.push('…');
    }
    match found {
        Some(_) => {
            let (a, b) = (words[first].0, words[last].1);
            out.push_str(&text[start..a]);
            out.push('[');
            out.push_str(&text[a..b]);
            out.push(']');
            out.push_str(&text[b..end]);
        }
        None => out.push_str(&text[start..end]),
    }
    if to < words.len() {
        out.push('…');
    }
    out
}

/// Byte ranges of the words (runs of letters, digits and their accents) of `text`.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let in_word = c.is_alphanumeric()
            || (start.is_some() && unicode_normalization::char::is_combining_mark(c));
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_mark_the_phrase_however_it_is_spelled() {
        assert_eq!(
            mark_phrase("What is the DELIVERY address, please?", "delivery address"),
            "What is the [DELIVERY address], please?"
        );
        assert_eq!(mark_phrase("Ça coûte trop", "cout"), "Ça coûte trop");
        assert_eq!(mark_phrase("Ça coûte trop", "coute"), "Ça [coûte] trop");
        let long = (1..=40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            mark_phrase(&long, "w20 w21"),
            "…w16 w17 w18 w19 [w20 w21] w22 w23 w24 w25 w26 w27 w28 w29 w30 w31…"
        );
        assert_eq!(mark_phrase("", "x"), "");
    }

    fn text(q: &str) -> SearchText {
        SearchText::new(q, Region::us())
    }

    #[test]
    fn names_match_by_word_starts_in_any_order_and_any_accent() {
        let name = fold_for_search("Élodie Martin");
        for q in ["elodie", "Elodie M", "martin elodie", "ÉLO", "mart"] {
            assert!(text(q).matches(&name, "14155550100"), "{q}");
        }
        for q in ["lodie", "elodie x", "martina"] {
            assert!(!text(q).matches(&name, "14155550100"), "{q}");
        }
        assert!(text("garcia").matches(&fold_for_search("José García"), ""));
    }

    #[test]
    fn numbers_match_in_any_typed_form() {
        for q in ["(415) 555-0100", "+1 415 555 0100", "0100", "555 0100"] {
            assert!(text(q).matches("", "14155550100"), "{q}");
        }
        assert!(!text("0199").matches("", "14155550100"));
    }

    #[test]
    fn a_number_is_looked_for_among_numbers_only() {
        let t = text("(415) 555-0100");
        assert!(t.words().is_empty());
        assert_eq!(t.digits(), Some("14155550100"));
        assert_eq!(text("Room 101").words(), ["room", "101"]);
        assert_eq!(t.indexed_digits(), Some("5550100"));
        assert_eq!(text("0100").indexed_digits(), Some("0100"));
        // A whole number is that line, not a longer number holding the same digits.
        assert!(t.whole_number().is_some() && text("555-0100").whole_number().is_none());
        assert!(t.matches("", "14155550100"));
        assert!(!t.matches("", "4414155550100"));
        assert!(text("555-0100").matches("", "14155550100"));
    }

    #[test]
    fn searches_are_planned_from_counts_and_samples() {
        use SearchPlan::*;
        use SearchStep::*;
        let few = SearchText::FEW_MATCHES;
        let sample = |matched| super::Sample {
            tested: 2_000,
            matched,
            total: 1_000_000,
        };
        assert_eq!(text("elodie").plan(None, None), CountWord);
        assert_eq!(text("elodie").plan(Some(12), None), Decided(FromIndexes));
        assert_eq!(text("mar").plan(Some(few + 1), None), Decided(Walk));
        // Several words: rare together or not, whatever each is alone.
        let two = text("maria garcia");
        assert_eq!(two.plan(None, None), Sample);
        assert_eq!(two.plan(None, Some(sample(0))), Decided(FromIndexes));
        assert_eq!(two.plan(None, Some(sample(1))), Decided(FromIndexes));
        assert_eq!(two.plan(None, Some(sample(40))), Decided(Walk));
        assert_eq!(
            text("(415) 555-0100").plan(None, None),
            Decided(FromIndexes)
        );
        assert_eq!(text("0100").plan(None, None), Sample);
        assert_eq!(
            text("0100").plan(None, Some(sample(1))),
            Decided(FromIndexes)
        );
        assert_eq!(text("555").plan(None, Some(sample(200))), Decided(Walk));
        // A short walk (a restricted user's few thousand contacts) is walked whatever matches.
        let short = super::Sample {
            tested: 2_000,
            matched: 0,
            total: 5_000,
        };
        assert_eq!(text("0100").plan(None, Some(short)), Decided(Walk));
        assert_eq!(two.plan(None, Some(short)), Decided(Walk));
    }

    #[test]
    fn redundant_words_are_dropped_and_empty_text_matches_nothing() {
        assert_eq!(text("ann anna an").words(), ["anna"]);
        assert!(text(" -- ").matches_nothing());
        assert!(!text("--").matches("a b", "123"));
    }
}

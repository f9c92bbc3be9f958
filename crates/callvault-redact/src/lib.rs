//! What to redact from what was said: card numbers (Luhn-checked, in digits or in words:
//! "four one one one …", "forty one eleven …"), a card's expiry and security code when they
//! come near it, US social security numbers, and bank account and routing numbers said as
//! such. Pure: it reads a transcript's words and answers which runs of them to hide; the
//! caller replaces them with `[redacted]` in the text (and, with the words' times, with a tone
//! in the audio).

mod numbers;
mod rules;
mod transcript;

pub use numbers::{DigitRun, digit_runs};
pub use rules::{Finding, Kind, find};
pub use transcript::{
    PAD_SECONDS, RedactedTranscript, SegmentIn, Span, TimedWord, redact_transcript,
};

/// What stands in for each hidden run of words.
pub const MARK: &str = "[redacted]";

/// The words with each finding's run replaced by one [`MARK`].
#[must_use]
pub fn redact_text(words: &[&str], findings: &[Finding]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        if let Some(f) = findings.iter().find(|f| f.words.contains(&i)) {
            out.push(MARK);
            i = f.words.end;
        } else {
            out.push(words[i]);
            i += 1;
        }
    }
    out.join(" ")
}

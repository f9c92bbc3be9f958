//! What redaction hid in a recording: each span of its audio replaced by a tone, with what it
//! was (the words themselves are gone; the transcript says `[redacted]` in their place).

use serde::{Deserialize, Serialize};

/// What a redacted span held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedactionKind {
    Card,
    Expiry,
    SecurityCode,
    Ssn,
    BankAccount,
    RoutingNumber,
    /// Digits the model could not read (it looped on them): covered, since they may be any of
    /// the above.
    UnclearDigits,
}

impl RedactionKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Expiry => "expiry",
            Self::SecurityCode => "security_code",
            Self::Ssn => "ssn",
            Self::BankAccount => "bank_account",
            Self::RoutingNumber => "routing_number",
            Self::UnclearDigits => "unclear_digits",
        }
    }

    /// How the player and transcript name it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "Card number",
            Self::Expiry => "Card expiry",
            Self::SecurityCode => "Security code",
            Self::Ssn => "Social security number",
            Self::BankAccount => "Bank account number",
            Self::RoutingNumber => "Routing number",
            Self::UnclearDigits => "Digits that could not be read",
        }
    }
}

/// A stretch of a recording's audio replaced by a tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RedactedSpan {
    /// Milliseconds from the start of the recording.
    pub start_ms: u64,
    pub end_ms: u64,
    pub kind: RedactionKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_their_names() {
        let span = RedactedSpan {
            start_ms: 1200,
            end_ms: 4800,
            kind: RedactionKind::SecurityCode,
        };
        let json = serde_json::to_string(&span).expect("json");
        assert_eq!(
            json,
            r#"{"start_ms":1200,"end_ms":4800,"kind":"security_code"}"#
        );
        assert_eq!(
            serde_json::from_str::<RedactedSpan>(&json).expect("back"),
            span
        );
        assert_eq!(RedactionKind::SecurityCode.as_str(), "security_code");
    }
}

//! Phone numbers: everything is stored in E.164 ("+14155550100"), whatever way it was typed,
//! and the inbox search matches on digits so any typed form finds the contact.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use serde::{Deserialize, Serialize};

/// A phone number in E.164 form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "+14155550100")]
pub struct E164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("{0:?} is not a phone number")]
    Unparseable(String),
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
    #[error("{0:?} is not a country code this server knows (use two letters, like US or GB)")]
    UnknownRegion(String),
}

/// The country whose numbering plan applies to numbers typed without a leading `+`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    #[must_use]
    pub fn us() -> Self {
        Self(country::Id::US)
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl FromStr for Region {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map(Self)
            .map_err(|_| PhoneError::UnknownRegion(s.to_owned()))
    }
}

impl E164 {
    /// Parses a number as a person would type it; national forms are read in `region`.
    pub fn parse(raw: &str, region: Region) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.len() > 64 {
            return Err(PhoneError::Unparseable(raw.to_owned()));
        }
        let number = phonenumber::parse(Some(region.0), trimmed)
            .map_err(|_| PhoneError::Unparseable(raw.to_owned()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(raw.to_owned()));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How people in `home` write the number: nationally for a number of that country
    /// ("(415) 555-0101"), internationally for another ("+44 20 7946 0958").
    #[must_use]
    pub fn for_people(&self, home: Region) -> String {
        let Ok(number) = phonenumber::parse(None, &self.0) else {
            return self.0.clone();
        };
        let mode = if number.country().id() == Some(home.0) {
            phonenumber::Mode::National
        } else {
            phonenumber::Mode::International
        };
        number.format().mode(mode).to_string()
    }

    /// The digits without the leading `+`, as kept for search.
    #[must_use]
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    /// Accepts only the canonical form, as stored; use [`E164::parse`] for typed input.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let canonical = value.len() > 2
            && value.len() <= 16
            && value.starts_with('+')
            && value[1..].bytes().all(|b| b.is_ascii_digit())
            && !value[1..].starts_with('0');
        if canonical {
            Ok(Self(value))
        } else {
            Err(PhoneError::Invalid(value))
        }
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

/// Digits from this many on are a number typed from its start, whose leading zeros are a
/// trunk or international prefix; shorter ones are a fragment ("0100", the last four digits)
/// whose zeros count.
const TYPED_FROM_START: usize = 7;

/// What a phone-like inbox query looks for among stored numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchNumber {
    /// A whole number, typed in any format: that line.
    Whole(E164),
    /// Part of a number ("555 0100", "0100"), found inside stored numbers' digits.
    Part(String),
}

impl SearchNumber {
    /// The digits looked for: a whole number's E.164 digits, or the part's.
    #[must_use]
    pub fn digits(&self) -> &str {
        match self {
            Self::Whole(number) => number.digits(),
            Self::Part(digits) => digits,
        }
    }
}

/// What an inbox query looks for among numbers, if it is phone-like: a whole number in any
/// format is that number; a fragment ("555 0100", "0100") keeps its digits; a longer one loses
/// a leading trunk or international prefix of zeros ("020 7946" looks for 207946).
#[must_use]
pub fn search_number(query: &str, region: Region) -> Option<SearchNumber> {
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 3 || !looks_like_phone(query) {
        return None;
    }
    if let Ok(whole) = E164::parse(query, region) {
        return Some(SearchNumber::Whole(whole));
    }
    let fragment = if digits.len() >= TYPED_FROM_START {
        digits.trim_start_matches('0')
    } else {
        &digits
    };
    (fragment.len() >= 3).then(|| SearchNumber::Part(fragment.to_owned()))
}

/// True when the text is made only of what people type in phone numbers.
fn looks_like_phone(query: &str) -> bool {
    query
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(raw: &str) -> Result<E164, PhoneError> {
        E164::parse(raw, Region::us())
    }

    #[test]
    fn every_typed_form_normalises_to_the_same_e164() {
        for raw in [
            "(415) 555-0100",
            "+1 415 555 0100",
            "415.555.0100",
            "+14155550100",
            "1-415-555-0100",
        ] {
            assert_eq!(
                us(raw).map(String::from),
                Ok("+14155550100".to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn national_forms_follow_the_region() {
        let gb: Region = "gb".parse().expect("GB is a region");
        assert_eq!(
            E164::parse("020 7946 0018", gb).map(String::from),
            Ok("+442079460018".to_owned())
        );
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(matches!(us("hello"), Err(PhoneError::Unparseable(_))));
        assert!(matches!(us(""), Err(PhoneError::Unparseable(_))));
        assert!(us("123").is_err());
        assert!("XX".parse::<Region>().is_err());
    }

    #[test]
    fn stored_form_is_checked_when_read_back() {
        assert!(E164::try_from("+14155550100".to_owned()).is_ok());
        assert!(E164::try_from("4155550100".to_owned()).is_err());
        assert!(E164::try_from("+1415555010a".to_owned()).is_err());
    }

    #[test]
    fn search_digits_for_each_form() {
        let r = Region::us();
        let search_digits = |query: &str, r| search_number(query, r).map(|n| n.digits().to_owned());
        assert_eq!(
            search_digits("(415) 555-0100", r).as_deref(),
            Some("14155550100")
        );
        assert_eq!(
            search_digits("+1 415 555 0100", r).as_deref(),
            Some("14155550100")
        );
        assert_eq!(search_digits("5550100", r).as_deref(), Some("5550100"));
        assert_eq!(search_digits("555-01", r).as_deref(), Some("55501"));
        assert_eq!(search_digits("Alice", r), None);
        assert_eq!(search_digits("Room 101", r), None);
        assert_eq!(search_digits("41", r), None);
        assert_eq!(
            search_digits("0100", r).as_deref(),
            Some("0100"),
            "the last four digits"
        );
        assert_eq!(search_digits("020 7946", r).as_deref(), Some("207946"));
        assert_eq!(search_digits("000", r).as_deref(), Some("000"));
        assert!(matches!(
            search_number("(415) 555-0100", r),
            Some(SearchNumber::Whole(_))
        ));
        assert!(matches!(
            search_number("555 0100", r),
            Some(SearchNumber::Part(_))
        ));
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        let us = Region::us();
        let gb: Region = "GB".parse().expect("a region");
        let local = E164::parse("+14155550101", us).expect("valid");
        assert_eq!(local.for_people(us), "(415) 555-0101");
        assert_eq!(local.for_people(gb), "+1 415-555-0101");
        let london = E164::parse("+442079460958", us).expect("valid");
        assert_eq!(london.for_people(us), "+44 20 7946 0958");
        assert_eq!(london.for_people(gb), "020 7946 0958");
    }
}

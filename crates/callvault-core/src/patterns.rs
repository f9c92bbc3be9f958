//! The rules for typed text, written as JSON Schema patterns for the API document. Each says
//! exactly what its function here accepts (the tests hold them together), in the regular
//! expression syntax ECMA-262 and Python's `re` read alike: `\uXXXX` escapes and classes only.

/// White space as `str::trim` removes it (Unicode `White_Space`).
macro_rules! white {
    () => {
        r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// A character that is neither a control character nor white space.
macro_rules! visible {
    () => {
        r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    };
}

/// [`crate::contact::clean_name`]: something visible, no control characters, white space
/// around it allowed (it is dropped).
pub const NAME: &str = concat!(
    "^[",
    white!(),
    "]*",
    visible!(),
    r"([^\u0000-\u001f\u007f-\u009f]*",
    visible!(),
    ")?[",
    white!(),
    "]*$"
);

/// [`crate::user::normalise_email`]: one `@` with something on each side, and no white space
/// (but around it) or control character.
pub const EMAIL: &str = concat!(
    "^[",
    white!(),
    r"]*[^@\u0000-\u001f\u007f-\u009f",
    white!(),
    r"]+@[^@\u0000-\u001f\u007f-\u009f",
    white!(),
    "]+[",
    white!(),
    "]*$"
);

/// [`crate::number::clean_announcement`]: plain text, lines allowed, white space around it
/// dropped.
pub const ANNOUNCEMENT: &str = concat!(
    "^[",
    white!(),
    r"]*[^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*[",
    white!(),
    "]*$"
);

/// [`crate::conversation::clean_note`]: something other than white space, and no NUL.
pub const NOTE: &str = concat!(r"^[^\u0000]*[^\u0000", white!(), r"][^\u0000]*$");

/// Text without control characters (ids other systems give).
pub const PRINTABLE: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{MAX_NAME_CHARS, clean_name};
    use crate::conversation::{MAX_NOTE_CHARS, clean_note};
    use crate::number::{MAX_ANNOUNCEMENT_CHARS, clean_announcement};
    use crate::user::{MAX_EMAIL_CHARS, normalise_email};

    /// Strings at the edges of both rules: blanks, controls inside and around, every kind of
    /// white space, `@` in odd places.
    fn samples() -> Vec<String> {
        let pieces = [
            "", " ", "a", "Ada", "@", "a@b", "@b", "a@", "a@@b", "a@b@c", "\t", "\n", "\r\n",
            "\u{0}", "\u{1c}", "\u{7f}", "\u{85}", "\u{a0}", "\u{feff}", "\u{200b}", "\u{2003}",
            "\u{3000}", "é", "名", "😀", "x y", "a b@c",
        ];
        let mut out = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    out.push(format!("{a}{b}{c}"));
                }
            }
        }
        out
    }

    #[test]
    fn the_name_pattern_says_what_clean_name_accepts() {
        let pattern = regex::Regex::new(NAME).expect("a valid pattern");
        for s in samples() {
            let by_pattern = pattern.is_match(&s) && s.chars().count() <= MAX_NAME_CHARS;
            assert_eq!(by_pattern, clean_name(&s).is_some(), "{s:?}");
        }
        let longest = "n".repeat(MAX_NAME_CHARS);
        assert!(clean_name(&longest).is_some());
        assert!(
            clean_name(&format!("{longest} ")).is_none(),
            "counted as sent"
        );
    }

    #[test]
    fn the_email_pattern_says_what_normalise_email_accepts() {
        let pattern = regex::Regex::new(EMAIL).expect("a valid pattern");
        for s in samples() {
            let by_pattern = pattern.is_match(&s) && s.chars().count() <= MAX_EMAIL_CHARS;
            assert_eq!(by_pattern, normalise_email(&s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn the_note_pattern_says_what_clean_note_accepts() {
        let pattern = regex::Regex::new(NOTE).expect("a valid pattern");
        for s in samples() {
            let by_pattern = pattern.is_match(&s) && s.chars().count() <= MAX_NOTE_CHARS;
            assert_eq!(by_pattern, clean_note(&s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn the_announcement_pattern_says_what_clean_announcement_accepts() {
        let pattern = regex::Regex::new(ANNOUNCEMENT).expect("a valid pattern");
        for s in samples() {
            let by_pattern = pattern.is_match(&s) && s.chars().count() <= MAX_ANNOUNCEMENT_CHARS;
            assert_eq!(by_pattern, clean_announcement(&s).is_ok(), "{s:?}");
        }
        assert_eq!(clean_announcement(" \n "), Ok(None), "blank is none");
        assert_eq!(
            clean_announcement(" Recorded.\nThank you. "),
            Ok(Some("Recorded.\nThank you.".to_owned()))
        );
    }
}

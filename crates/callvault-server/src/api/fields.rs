//! The shapes of the text fields the API reads, as the document states them: lengths and
//! patterns that say exactly what the checks in `callvault_core` accept (see
//! `callvault_core::patterns`), so a client (or a fuzzer) can tell a good value from a bad one
//! without asking. What no schema can say (a phone number's digits, a password's strength, a
//! call's times in order) is in the descriptions, and answered with 422.

use callvault_app::passwords::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use callvault_core::contact::MAX_NAME_CHARS;
use callvault_core::conversation::MAX_NOTE_CHARS;
use callvault_core::number::MAX_ANNOUNCEMENT_CHARS;
use callvault_core::patterns;
use callvault_core::user::MAX_EMAIL_CHARS;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// Longest external id or text search.
pub const MAX_ID_CHARS: usize = 200;
/// Longest search text in the inbox and contact lists.
pub const MAX_FILTER_CHARS: usize = 100;

fn text(min: usize, max: usize, pattern: Option<&str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern)
        .description(Some(description))
}

fn or_null(schema: ObjectBuilder) -> ObjectBuilder {
    schema.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

const NAME: &str = "1 to 200 characters as sent, not blank, no control characters; spaces \
    around it are dropped.";

pub fn name() -> ObjectBuilder {
    text(1, MAX_NAME_CHARS, Some(patterns::NAME), NAME)
}

pub fn optional_name() -> ObjectBuilder {
    or_null(name())
}

const EMAIL: &str = "An email address: one `@` with something on each side, no spaces or \
    control characters, at most 254 characters; compared without regard to case.";

pub fn email() -> ObjectBuilder {
    text(3, MAX_EMAIL_CHARS, Some(patterns::EMAIL), EMAIL)
}

pub fn optional_email() -> ObjectBuilder {
    or_null(email())
}

const PASSWORD: &str = "10 to 1024 characters, no control characters, and hard to guess: \
    common passwords, keyboard walks, repeats and the person's own name or email are refused \
    with 422 `weak_password` saying why.";

pub fn password() -> ObjectBuilder {
    text(MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS, None, PASSWORD)
}

pub fn optional_password() -> ObjectBuilder {
    or_null(password())
}

const PHONE: &str = "A phone number in any common format (with the installation's default \
    region when it has no `+`); stored as E.164. One that is not a possible number is \
    refused with 422 `invalid_phone`.";

pub fn phone() -> ObjectBuilder {
    text(1, 64, None, PHONE)
}

pub fn optional_phone() -> ObjectBuilder {
    or_null(phone())
}

pub fn announcement() -> ObjectBuilder {
    or_null(text(
        0,
        MAX_ANNOUNCEMENT_CHARS,
        Some(patterns::ANNOUNCEMENT),
        "Read aloud before each call: plain text (lines allowed), at most 1000 characters; \
         blank or `null` means none.",
    ))
}

pub fn external_id() -> ObjectBuilder {
    or_null(text(
        1,
        MAX_ID_CHARS,
        Some(patterns::PRINTABLE),
        "The phone system's id for the call, 1 to 200 characters without control characters; \
         reporting the same id again answers 200 with the call it made.",
    ))
}

pub fn source() -> ObjectBuilder {
    or_null(text(
        1,
        40,
        Some("^[a-z0-9_-]*$"),
        "What reported the call (`pbx` when left out): 1 to 40 of a-z, 0-9, - and _.",
    ))
}

pub fn hold_reason() -> ObjectBuilder {
    text(
        1,
        callvault_core::hold::MAX_REASON_CHARS,
        Some(patterns::NAME),
        "Why the hold is placed (a matter, a case number): one line of 1 to 500 characters as \
         sent, not blank, no control characters.",
    )
}

pub fn note() -> ObjectBuilder {
    text(
        1,
        MAX_NOTE_CHARS,
        Some(patterns::NOTE),
        "1 to 5000 characters as sent, not blank; lines allowed.",
    )
}

pub fn search_text() -> ObjectBuilder {
    text(
        1,
        MAX_ID_CHARS,
        Some(patterns::NAME),
        "Words to find in what was said: 1 to 200 characters, not blank.",
    )
}

pub fn filter_text() -> ObjectBuilder {
    text(
        0,
        MAX_FILTER_CHARS,
        Some(patterns::PRINTABLE),
        "A name or number, as typed in a search box; blank lists everything.",
    )
}

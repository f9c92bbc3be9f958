//! TwiML, the XML Twilio executes for a call. Everything that comes from users (announcement
//! text, numbers, URLs) is escaped.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub verbs: Vec<Verb>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Text read to the caller.
    Say(String),
    Dial(Dial),
    Hangup,
    /// Refuses the call; Twilio plays a busy signal or "not in service".
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dial {
    /// The phones to ring, all at once.
    pub numbers: Vec<DialNumber>,
    /// Record both legs into two channels from the moment someone answers.
    pub record: bool,
    pub recording_status_callback: Option<String>,
    /// Where Twilio reports how the dial ended.
    pub action: Option<String>,
    /// Seconds to ring before giving up.
    pub timeout: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialNumber {
    pub number: String,
    /// Where Twilio reports this leg's answer and end (to learn who picked up).
    pub status_callback: Option<String>,
}

/// Escapes text for an XML element or a double-quoted attribute.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped, not escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape(value, out);
    out.push('"');
}

impl Response {
    #[must_use]
    pub fn new(verbs: Vec<Verb>) -> Self {
        Self { verbs }
    }

    #[must_use]
    pub fn to_xml(&self) -> String {
        let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        for verb in &self.verbs {
            match verb {
                Verb::Say(text) => {
                    out.push_str("<Say>");
                    escape(text, &mut out);
                    out.push_str("</Say>");
                }
                Verb::Hangup => out.push_str("<Hangup/>"),
                Verb::Reject => out.push_str("<Reject/>"),
                Verb::Dial(dial) => {
                    out.push_str("<Dial");
                    if let Some(action) = &dial.action {
                        attr(&mut out, "action", action);
                        attr(&mut out, "method", "POST");
                    }
                    if let Some(timeout) = dial.timeout {
                        attr(&mut out, "timeout", &timeout.to_string());
                    }
                    if dial.record {
                        attr(&mut out, "record", "record-from-answer-dual");
                        if let Some(url) = &dial.recording_status_callback {
                            attr(&mut out, "recordingStatusCallback", url);
                            attr(&mut out, "recordingStatusCallbackMethod", "POST");
                            attr(&mut out, "recordingStatusCallbackEvent", "completed absent");
                        }
                    }
                    out.push('>');
                    for number in &dial.numbers {
                        out.push_str("<Number");
                        if let Some(url) = &number.status_callback {
                            attr(&mut out, "statusCallback", url);
                            attr(&mut out, "statusCallbackMethod", "POST");
                            attr(&mut out, "statusCallbackEvent", "answered completed");
                        }
                        out.push('>');
                        escape(&number.number, &mut out);
                        out.push_str("</Number>");
                    }
                    out.push_str("</Dial>");
                }
            }
        }
        out.push_str("</Response>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let xml = Response::new(vec![
            Verb::Say("Calls are recorded <for \"quality\"> & training\u{7}".into()),
            Verb::Hangup,
        ])
        .to_xml();
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Calls are recorded &lt;for &quot;quality&quot;&gt; &amp; training</Say><Hangup/></Response>"#
        );
    }

    #[test]
    fn a_recorded_dial() {
        let dial = Dial {
            numbers: vec![DialNumber {
                number: "+14155550201".into(),
                status_callback: Some("https://x/s?a=1&b=2".into()),
            }],
            record: true,
            recording_status_callback: Some("https://x/r".into()),
            action: Some("https://x/d".into()),
            timeout: Some(25),
        };
        let xml = Response::new(vec![Verb::Dial(dial)]).to_xml();
        assert!(xml.contains(r#"record="record-from-answer-dual""#));
        assert!(xml.contains(r#"recordingStatusCallback="https://x/r""#));
        assert!(xml.contains(r#"<Number statusCallback="https://x/s?a=1&amp;b=2""#));
        assert!(xml.contains(">+14155550201</Number></Dial>"));
    }

    #[test]
    fn an_unrecorded_dial_asks_for_nothing() {
        let dial = Dial {
            numbers: vec![DialNumber {
                number: "+1".into(),
                status_callback: None,
            }],
            recording_status_callback: Some("https://x/r".into()),
            ..Dial::default()
        };
        let xml = Response::new(vec![Verb::Dial(dial)]).to_xml();
        assert!(!xml.contains("record"), "{xml}");
    }
}

//! The parameters Twilio sends to each webhook, read into typed values. A required parameter
//! that is missing or malformed is an error naming it.

use callvault_core::call::CallStatus;

/// Form parameters as decoded from the request body.
pub struct Params<'a>(pub &'a [(String, String)]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter {name}: {problem}")]
pub struct ParamError {
    pub name: &'static str,
    pub problem: &'static str,
}

impl Params<'_> {
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &'static str) -> Result<&str, ParamError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or(ParamError {
            name,
            problem: "missing",
        })
    }

    /// A Twilio id: two letters, then 32 hexadecimal digits.
    fn sid(&self, name: &'static str, prefixes: &[&str]) -> Result<String, ParamError> {
        let value = self.required(name)?;
        let ok = value.len() == 34
            && prefixes.iter().any(|p| value.starts_with(p))
            && value[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(value.to_owned())
        } else {
            Err(ParamError {
                name,
                problem: "not a Twilio id",
            })
        }
    }

    fn optional_sid(
        &self,
        name: &'static str,
        prefixes: &[&str],
    ) -> Result<Option<String>, ParamError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(_) => self.sid(name, prefixes).map(Some),
        }
    }

    fn seconds(&self, name: &'static str) -> Result<Option<u64>, ParamError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ParamError {
                name,
                problem: "not a number of seconds",
            }),
        }
    }

    fn text(&self, name: &'static str) -> Result<String, ParamError> {
        self.required(name).map(str::to_owned)
    }
}

/// How Twilio reports a call leg's state (`CallStatus`, `DialCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegStatus {
    Queued,
    Ringing,
    InProgress,
    /// For `DialCallStatus`: the dialed party answered (and the call may go on).
    Answered,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    /// The caller hung up before anyone answered.
    Canceled,
}

impl LegStatus {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "queued" | "initiated" => Self::Queued,
            "ringing" => Self::Ringing,
            "in-progress" => Self::InProgress,
            "answered" => Self::Answered,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    /// The call's outcome when this is how the dialed leg ended. A caller who hung up before
    /// anyone answered (`canceled`) is, for the team, a call nobody answered.
    #[must_use]
    pub fn dial_outcome(self) -> Option<CallStatus> {
        match self {
            Self::Completed | Self::Answered | Self::InProgress => Some(CallStatus::Answered),
            Self::Busy => Some(CallStatus::Busy),
            Self::NoAnswer | Self::Canceled => Some(CallStatus::NoAnswer),
            Self::Failed => Some(CallStatus::Failed),
            Self::Queued | Self::Ringing => None,
        }
    }

    /// Whether the leg has ended.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Failed | Self::Canceled
        )
    }
}

fn status(params: &Params<'_>, name: &'static str) -> Result<LegStatus, ParamError> {
    LegStatus::parse(params.required(name)?).ok_or(ParamError {
        name,
        problem: "not a call status",
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDirection {
    Inbound,
    /// Placed through the REST API.
    OutboundApi,
    /// A leg created by `<Dial>`.
    OutboundDial,
}

/// The request for TwiML when a call reaches one of the account's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRequest {
    pub account_sid: String,
    pub call_sid: String,
    pub from: String,
    pub to: String,
    pub direction: CallDirection,
    /// The caller's name, when the carrier gives one.
    pub caller_name: Option<String>,
}

impl VoiceRequest {
    pub fn parse(params: &Params<'_>) -> Result<Self, ParamError> {
        let direction = match params.required("Direction")? {
            "inbound" => CallDirection::Inbound,
            "outbound-api" => CallDirection::OutboundApi,
            "outbound-dial" => CallDirection::OutboundDial,
            _ => {
                return Err(ParamError {
                    name: "Direction",
                    problem: "not a call direction",
                });
            }
        };
        Ok(Self {
            account_sid: params.sid("AccountSid", &["AC"])?,
            call_sid: params.sid("CallSid", &["CA"])?,
            from: params.text("From")?,
            to: params.text("To")?,
            direction,
            caller_name: params
                .get("CallerName")
                .filter(|n| !n.trim().is_empty())
                .map(str::to_owned),
        })
    }
}

/// A call's status callback: the parent call's, or (with `parent_call_sid`) a dialed leg's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub account_sid: String,
    pub call_sid: String,
    pub parent_call_sid: Option<String>,
    pub status: LegStatus,
    pub to: String,
    /// Seconds the call lasted, on its final callback.
    pub duration: Option<u64>,
}

impl StatusCallback {
    pub fn parse(params: &Params<'_>) -> Result<Self, ParamError> {
        Ok(Self {
            account_sid: params.sid("AccountSid", &["AC"])?,
            call_sid: params.sid("CallSid", &["CA"])?,
            parent_call_sid: params.optional_sid("ParentCallSid", &["CA"])?,
            status: status(params, "CallStatus")?,
            to: params.get("To").unwrap_or_default().to_owned(),
            duration: params.seconds("CallDuration")?,
        })
    }
}

/// How a `<Dial>` ended, sent to its `action` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialAction {
    pub account_sid: String,
    pub call_sid: String,
    pub dial_status: LegStatus,
    /// Seconds the dialed party was connected.
    pub dial_duration: Option<u64>,
}

impl DialAction {
    pub fn parse(params: &Params<'_>) -> Result<Self, ParamError> {
        Ok(Self {
            account_sid: params.sid("AccountSid", &["AC"])?,
            call_sid: params.sid("CallSid", &["CA"])?,
            dial_status: status(params, "DialCallStatus")?,
            dial_duration: params.seconds("DialCallDuration")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingStatus {
    InProgress,
    Completed,
    /// Nothing was recorded (no audio, or the call ended before recording began).
    Absent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingCallback {
    pub account_sid: String,
    pub call_sid: String,
    pub recording_sid: String,
    /// Without an extension; Twilio serves `.wav` and `.mp3` under it.
    pub recording_url: String,
    pub status: RecordingStatus,
    pub error_code: Option<String>,
}

impl RecordingCallback {
    pub fn parse(params: &Params<'_>) -> Result<Self, ParamError> {
        let status = match params.required("RecordingStatus")? {
            "in-progress" => RecordingStatus::InProgress,
            "completed" => RecordingStatus::Completed,
            "absent" => RecordingStatus::Absent,
            "failed" => RecordingStatus::Failed,
            _ => {
                return Err(ParamError {
                    name: "RecordingStatus",
                    problem: "not a recording status",
                });
            }
        };
        let recording_url = params.get("RecordingUrl").unwrap_or_default().to_owned();
        if status == RecordingStatus::Completed && recording_url.is_empty() {
            return Err(ParamError {
                name: "RecordingUrl",
                problem: "missing",
            });
        }
        Ok(Self {
            account_sid: params.sid("AccountSid", &["AC"])?,
            call_sid: params.sid("CallSid", &["CA"])?,
            recording_sid: params.sid("RecordingSid", &["RE"])?,
            recording_url,
            status,
            error_code: params
                .get("ErrorCode")
                .filter(|c| !c.is_empty() && *c != "0")
                .map(str::to_owned),
        })
    }
}

/// An incoming text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRequest {
    pub account_sid: String,
    pub message_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

impl SmsRequest {
    pub fn parse(params: &Params<'_>) -> Result<Self, ParamError> {
        Ok(Self {
            account_sid: params.sid("AccountSid", &["AC"])?,
            message_sid: params.sid("MessageSid", &["SM", "MM"])?,
            from: params.text("From")?,
            to: params.text("To")?,
            body: params.get("Body").unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const CA: &str = "CA0123456789abcdef0123456789abcdef";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_voice_request() {
        let p = params(&[
            ("AccountSid", AC),
            ("CallSid", CA),
            ("From", "+14155550100"),
            ("To", "+14155550000"),
            ("Direction", "inbound"),
            ("CallerName", "ANA SOUZA"),
        ]);
        let v = VoiceRequest::parse(&Params(&p)).expect("parses");
        assert_eq!(
            (v.direction, v.caller_name.as_deref()),
            (CallDirection::Inbound, Some("ANA SOUZA"))
        );
    }

    #[test]
    fn missing_and_malformed_parameters_are_named() {
        let p = params(&[
            ("AccountSid", AC),
            ("CallSid", "CA123"),
            ("From", "+1"),
            ("To", "+2"),
            ("Direction", "inbound"),
        ]);
        assert_eq!(
            VoiceRequest::parse(&Params(&p)).err().map(|e| e.name),
            Some("CallSid")
        );
        let p = params(&[
            ("AccountSid", AC),
            ("CallSid", CA),
            ("From", "+1"),
            ("To", "+2"),
            ("Direction", "sideways"),
        ]);
        assert_eq!(
            VoiceRequest::parse(&Params(&p)).err().map(|e| e.name),
            Some("Direction")
        );
        let p = params(&[
            ("AccountSid", AC),
            ("CallSid", CA),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "ten"),
        ]);
        assert_eq!(
            DialAction::parse(&Params(&p)).err().map(|e| e.name),
            Some("DialCallDuration")
        );
    }

    #[test]
    fn how_dials_end() {
        assert_eq!(
            LegStatus::Completed.dial_outcome(),
            Some(CallStatus::Answered)
        );
        assert_eq!(
            LegStatus::Canceled.dial_outcome(),
            Some(CallStatus::NoAnswer)
        );
        assert_eq!(LegStatus::Busy.dial_outcome(), Some(CallStatus::Busy));
        assert_eq!(LegStatus::Ringing.dial_outcome(), None);
    }

    #[test]
    fn a_completed_recording_needs_its_url() {
        let p = params(&[
            ("AccountSid", AC),
            ("CallSid", CA),
            ("RecordingSid", "RE0123456789abcdef0123456789abcdef"),
            ("RecordingStatus", "completed"),
        ]);
        assert_eq!(
            RecordingCallback::parse(&Params(&p)).err().map(|e| e.name),
            Some("RecordingUrl")
        );
    }
}

//! What phone systems and telephony providers send, read into callvault's terms, and what is
//! answered to them. Pure: bytes and text in, values out; no network, no async runtime.

pub mod asterisk;
pub mod siprec;
pub mod twilio;

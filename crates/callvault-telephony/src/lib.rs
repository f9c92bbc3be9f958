//! What phone systems and telephony providers send, read into callvault's terms. Pure: bytes
//! and text in, values out; no network, no async runtime.

pub mod asterisk;

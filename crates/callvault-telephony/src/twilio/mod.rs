//! Twilio's webhook protocol for voice and messaging, as its documentation describes it.

pub mod callbacks;
pub mod signature;
pub mod twiml;

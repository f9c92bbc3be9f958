//! The callvault domain: typed ids, the clock, phone numbers, users and their permissions,
//! contacts, numbers, calls and recordings, legal holds. Pure: no I/O, no async runtime.

pub mod call;
pub mod clock;
pub mod contact;
pub mod conversation;
pub mod hold;
pub mod ids;
pub mod number;
pub mod patterns;
pub mod permissions;
pub mod phone;
pub mod recording;
pub mod redaction;
pub mod retention;
pub mod user;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::*;

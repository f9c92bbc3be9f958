//! Who is asking: sessions (the web UI's cookie) and API tokens, passwords, and the checks
//! that apply the core's permission rules at each door.

mod client;
mod current_user;
mod origin;

pub use callvault_app::access::{require, require_org};
pub use client::ClientAddress;
pub use current_user::{CurrentUser, SESSION_COOKIE, bearer, cross_site, session_from_headers};
pub use origin::from_this_site;

//! The server's integration tests, one binary: each module is one area, driven through HTTP
//! against a real server (`common`). One binary rather than one per file: each would link the
//! whole server and its speech engine again.

mod common;

mod audit;
mod auth;
mod calls;
mod compliance;
mod connections;
mod inbox;
mod openapi;
mod permissions;
mod recordings;
mod redaction;
mod throttling;
mod transcripts;
mod twilio;
mod ui;
mod webhooks;

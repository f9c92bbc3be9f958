//! Webhooks telephony providers call. They answer in the provider's language (TwiML), not the
//! JSON API's, and authenticate by signature rather than by session or token.

mod twilio;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().nest("/webhooks/twilio", twilio::routes())
}

//! The web UI: server-rendered pages (askama templates beside their view modules) with small
//! script modules for the player, live search and dialogs. The scripts talk to the JSON API
//! with the session cookie, so every permission check stays in one place.

mod assets;
mod audit;
mod chrome;
mod compliance;
mod conversation;
mod error;
mod format;
mod inbox;
mod inbox_filters;
mod numbers;
mod session;
mod users;
mod webhooks;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub use error::PageError;

/// Every page and the assets they load.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox::page))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", axum::routing::post(session::logout))
        .route("/conversations/{id}", get(conversation::page))
        .route(
            "/conversations/{id}/calls/{call}",
            get(conversation::call_page),
        )
        .route("/settings/phone-numbers", get(numbers::page))
        .route("/settings/users", get(users::page))
        .route("/settings/compliance", get(compliance::page))
        .route("/settings/audit", get(audit::page))
        .route("/settings/webhooks", get(webhooks::page))
        .layer(axum::middleware::from_fn(chrome::fresh))
        .route("/assets/{version}/{name}", get(assets::serve))
}

//! The stylesheet, scripts and icons, embedded in the binary. They are served under a path
//! that carries a hash of all of them, so browsers keep them for a year and still fetch a
//! new build's files at once. Scripts import each other by relative path and so share it.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::PageError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icons.svg", "image/svg+xml"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("inbox.js", JS),
    asset!("player.js", JS),
    asset!("transcript.js", JS),
    asset!("conversation.js", JS),
    asset!("numbers.js", JS),
    asset!("users.js", JS),
    asset!("holds.js", JS),
    asset!("retention.js", JS),
    asset!("webhooks.js", JS),
];

static BASE: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.name.as_bytes());
        hash.update(asset.body);
    }
    format!("/assets/{}", &hex::encode(hash.finalize())[..12])
});

/// Where this build's assets are: `/assets/<hash>`.
pub fn base() -> &'static str {
    &BASE
}

pub async fn serve(Path((version, name)): Path<(String, String)>) -> Result<Response, PageError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(PageError::not_found)?;
    // A page from an older build may still ask for its version: it gets today's file, but
    // only this build's path may be kept for good.
    let cache = if BASE.rsplit('/').next() == Some(version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response())
}

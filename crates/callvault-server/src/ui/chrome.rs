//! What every signed-in page shares: who is signed in, the navigation, the headers that keep
//! pages from being framed or running foreign scripts, and turning a template into a response.

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use callvault_core::user::{Role, User};
use sha2::{Digest, Sha256};

use super::PageError;
use crate::auth::CurrentUser;
use crate::state::AppState;

/// The signed-in user of a page; anyone else is sent to the sign-in page.
pub struct PageUser(pub User);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(CurrentUser(user)) => Ok(Self(user)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(PageError::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), ToString::to_string),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// A page's query parameters; a bad one is answered with the 400 page, naming it.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(pub T);

/// Which part of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Inbox,
    PhoneNumbers,
    Users,
    Compliance,
    Audit,
    Webhooks,
}

/// The header of every signed-in page.
pub struct Chrome {
    pub user_name: String,
    pub is_admin: bool,
    pub section: Section,
}

impl Chrome {
    pub fn new(user: &User, section: Section) -> Self {
        Self {
            user_name: user.name.clone(),
            is_admin: user.role == Role::Admin,
            section,
        }
    }

    /// `aria-current` for a navigation link.
    pub fn current(&self, section: Section) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// Renders a page with the security headers every page carries, and an ETag of what it
/// shows, so a page that checks for news (`fresh`) hears "nothing new" in a few bytes.
pub fn render(page: &impl Template) -> Result<Response, PageError> {
    let body = page.render()?;
    let tag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let mut response = secure(Html(body).into_response());
    if let Ok(value) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// Answers 304 Not Modified, without the page, when the page is the one the browser already
/// has (`If-None-Match`): the Inbox and a conversation ask every few seconds.
pub async fn fresh(request: Request, next: Next) -> Response {
    let known = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    let unchanged = response.status() == StatusCode::OK
        && known.is_some()
        && response.headers().get(header::ETAG) == known.as_ref();
    if !unchanged {
        return response;
    }
    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
    for name in [header::ETAG, header::CACHE_CONTROL] {
        if let Some(value) = response.headers().get(&name) {
            not_modified.headers_mut().insert(name, value.clone());
        }
    }
    not_modified
}

/// Scripts and styles only from this server, no framing, no sniffing; pages are private, so
/// they are never cached by anything in between.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; media-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

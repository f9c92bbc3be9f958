//! Signing in and out from the browser: a plain form that works without scripts.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::chrome::{self, PageQuery, PageUser};
use super::{PageError, assets};
use crate::api::auth::{LoginRequest, sign_in, sign_out};
use crate::auth::{ClientAddress, from_this_site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    assets: &'a str,
    next: &'a str,
    email: &'a str,
    problem: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path on this site, as the value arrived (decoded once): never `//elsewhere`,
/// `https://elsewhere`, a backslash (some browsers read it as a slash) or any control
/// character or space (browsers drop a tab or newline, so `/<tab>/elsewhere` would lead to
/// `//elsewhere`; a CR or LF cannot go in a header at all). Anything else goes to `/`.
fn safe_next(next: Option<&str>) -> &str {
    let Some(n) = next else { return "/" };
    let on_this_site = n.starts_with('/')
        && !n.starts_with("//")
        && !n
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && n.parse::<axum::http::uri::PathAndQuery>().is_ok();
    if on_this_site { n } else { "/" }
}

pub async fn login_page(
    PageQuery(q): PageQuery<NextQuery>,
    signed_in: Result<PageUser, PageError>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref());
    if signed_in.is_ok() {
        return Ok(Redirect::to(next).into_response());
    }
    chrome::render(&LoginPage {
        assets: assets::base(),
        next,
        email: "",
        problem: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    // No session yet: a form from another site would sign the visitor in to an account of
    // that site's choosing. Without Origin (not a browser) it is let through.
    if !from_this_site(&headers, &state.settings.public_url, false) {
        return Err(not_from_this_site());
    }
    let Form(form) = form.map_err(|e| PageError::bad_request(e.body_text()))?;
    let next = safe_next(form.next.as_deref()).to_owned();
    let email = form.email.clone();
    match sign_in(
        &state,
        LoginRequest {
            email: form.email,
            password: form.password,
        },
        client,
    )
    .await
    {
        Ok((_, cookie)) => Ok(([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            let mut response = chrome::render(&LoginPage {
                assets: assets::base(),
                next: &next,
                email: &email,
                problem: Some("The email or password is wrong."),
            })?;
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(response)
        }
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            let wait = e.retry_after.unwrap_or(1);
            let problem = if wait == 1 {
                "Too many wrong passwords. Try again in a second.".to_owned()
            } else if wait < 90 {
                format!("Too many wrong passwords. Try again in {wait} seconds.")
            } else {
                format!(
                    "Too many wrong passwords. Try again in {} minutes.",
                    wait.div_ceil(60)
                )
            };
            let mut response = chrome::render(&LoginPage {
                assets: assets::base(),
                next: &next,
                email: &email,
                problem: Some(&problem),
            })?;
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, wait.into());
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if !from_this_site(&headers, &state.settings.public_url, true) {
        return Err(not_from_this_site());
    }
    let cleared = sign_out(&state, &headers).await?;
    Ok(([(SET_COOKIE, cleared)], Redirect::to("/login")).into_response())
}

fn not_from_this_site() -> PageError {
    PageError::forbidden(
        "This form was sent from another site, so it was not accepted. If you opened callvault \
         at another address than its public URL, use that URL (or ask your admin to set \
         --public-url).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/conversations/1")), "/conversations/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\u{7f}x",
            " //evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(safe_next(Some("/login?next=%2F")), "/login?next=%2F");
        assert_eq!(safe_next(None), "/");
    }
}

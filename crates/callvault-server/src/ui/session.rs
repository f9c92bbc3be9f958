//! Signing in and out from the browser: a plain form that works without scripts.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::chrome::{self, PageQuery, PageUser};
use super::{PageError, assets};
use crate::api::auth::{LoginRequest, sign_in, sign_out};
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

/// Only a path on this site: never `//elsewhere` or `https://elsewhere`.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
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
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let Form(form) = form.map_err(|e| PageError::bad_request(e.body_text()))?;
    let next = safe_next(form.next.as_deref()).to_owned();
    let email = form.email.clone();
    match sign_in(
        &state,
        LoginRequest {
            email: form.email,
            password: form.password,
        },
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
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let cleared = sign_out(&state, &headers).await?;
    Ok(([(SET_COOKIE, cleared)], Redirect::to("/login")).into_response())
}

/// Forms are refused when a browser says they come from another site. The session cookie is
/// `SameSite=Lax` already; this also covers signing someone in to an account of the attacker's.
fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    if origin_host.is_some() && origin_host == host {
        Ok(())
    } else {
        Err(PageError::forbidden(
            "This form was sent from another site, so it was not accepted.",
        ))
    }
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
        assert_eq!(safe_next(None), "/");
    }
}

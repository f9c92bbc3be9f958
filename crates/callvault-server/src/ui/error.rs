//! The UI's error type: a page for people, never JSON. A visitor who is not signed in is sent
//! to the sign-in page and brought back afterwards.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::assets;
use crate::error::ApiError;

#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to `/login`, then back to `next`.
    SignIn { next: String },
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
}

impl PageError {
    pub fn not_found() -> Self {
        Self::Page {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: "This page does not exist, or your account does not have access to it."
                .to_owned(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Page {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed",
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Page {
            status: StatusCode::BAD_REQUEST,
            title: "That did not work",
            message: message.into(),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::UNAUTHORIZED => Self::SignIn {
                next: "/".to_owned(),
            },
            StatusCode::NOT_FOUND => Self::not_found(),
            StatusCode::FORBIDDEN => Self::forbidden(e.message.into_owned()),
            status if status.is_client_error() => Self::Page {
                status,
                title: "That did not work",
                message: e.message.into_owned(),
            },
            status => Self::Page {
                status,
                title: "Something went wrong",
                message: "The server could not show this page. Try again in a moment.".to_owned(),
            },
        }
    }
}

impl From<callvault_app::AppError> for PageError {
    fn from(e: callvault_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<callvault_store::StoreError> for PageError {
    fn from(e: callvault_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<axum::extract::rejection::QueryRejection> for PageError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        ApiError::internal(&e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    assets: &'a str,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            Self::Page {
                status,
                title,
                message,
            } => {
                let page = ErrorPage {
                    assets: assets::base(),
                    title,
                    message: &message,
                };
                let body = page
                    .render()
                    .unwrap_or_else(|_| format!("{} — {title}", status.as_u16()));
                let mut response = (status, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/html; charset=utf-8"),
                );
                super::chrome::secure(response)
            }
        }
    }
}

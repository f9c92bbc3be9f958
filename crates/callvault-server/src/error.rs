//! The one error type at the HTTP edge. Every failure becomes `{"error": {"code", "message"}}`
//! with a fitting status; database and storage details go to the log, never to the client.

use std::borrow::Cow;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use callvault_app::AppError;
use callvault_blob::BlobError;
use callvault_store::{Conflict, StoreError};
use serde::Serialize;

use crate::api::views::HoldView;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: Cow<'static, str>,
    /// Seconds to wait before trying again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    /// The legal hold that refused a deletion.
    pub hold: Option<Box<HoldView>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case; programs branch on this.
    pub code: String,
    /// For people; may change.
    pub message: String,
    /// With `legal_hold`: the hold that keeps the thing, who placed it and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<Box<HoldView>>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            hold: None,
        }
    }

    /// Says when to try again (`Retry-After`, whole seconds, at least 1).
    #[must_use]
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API token as Authorization: Bearer <token>",
        )
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The request was understood but its content is not acceptable.
    pub fn invalid(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    }

    /// Something failed on our side. The cause is logged here and not shown to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the server",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code.into_owned(),
                    message: self.message.into_owned(),
                    hold: self.hold,
                },
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            StoreError::Conflict(c) => c.into(),
            StoreError::Held(hold) => AppError::Held(hold).into(),
            StoreError::Missing(what) => Self::invalid(
                what.code(),
                format!("the request names a {what} that does not exist"),
            ),
            StoreError::Unsupported(_) | StoreError::Unavailable(_) | StoreError::Backend(_) => {
                Self::internal(&e)
            }
        }
    }
}

impl From<Conflict> for ApiError {
    fn from(c: Conflict) -> Self {
        Self::conflict(c.code(), c.message())
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => Self::not_found(what),
            AppError::Forbidden(denied) => Self::forbidden(denied.message()),
            AppError::Invalid(invalid) => Self::invalid(invalid.code(), invalid.message()),
            AppError::Conflict(c) => c.into(),
            AppError::Held(ref hold) => {
                let view = HoldView::from((**hold).clone());
                let mut error = Self::conflict("legal_hold", e.to_string());
                error.hold = Some(Box::new(view));
                error
            }
            AppError::UnsupportedAudio(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_audio",
                e.to_string(),
            ),
            AppError::CorruptAudio(_) => Self::invalid("corrupt_audio", e.to_string()),
            AppError::WeakPassword(why) => Self::invalid("weak_password", why),
            AppError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                e.to_string(),
            ),
            AppError::WrongPassword => Self::invalid("invalid_credentials", e.to_string()),
            AppError::Throttled(wait) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                e.to_string(),
            )
            .retry_after(wait),
            AppError::Store(e) => e.into(),
            AppError::Blob(e) => e.into(),
            AppError::Internal(_) => Self::internal(&e),
        }
    }
}

/// Names what was not found when the store says so.
pub trait NotFoundAs<T> {
    fn or_not_found(self, what: &'static str) -> ApiResult<T>;
}

impl<T> NotFoundAs<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &'static str) -> ApiResult<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(what),
            other => other.into(),
        })
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        Self::internal(&e)
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // A path id that does not even parse names nothing that could exist.
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request("invalid_query", r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_do_not_leak() {
        let e = ApiError::from(StoreError::Backend("disk I/O error at /secret/path".into()));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("secret"));
    }

    #[test]
    fn store_conflicts_keep_their_code() {
        let e = ApiError::from(StoreError::Conflict(Conflict::RecordingExists));
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.code, "recording_exists");
    }
}

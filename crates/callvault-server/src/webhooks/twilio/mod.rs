//! Twilio's webhooks: voice (the TwiML for a new call), call status, the end of a `<Dial>`,
//! recording status, and incoming SMS. Every request must carry Twilio's signature, computed on
//! `--public-url` plus the path and query Twilio called (so it holds behind a reverse proxy);
//! a bad or missing one answers 403 before anything is read or changed. Slow work (fetching
//! recordings) goes to the job queue, so Twilio always gets its answer within its timeout.

mod calls;
mod recording;
mod sms;
mod voice;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use callvault_telephony::twilio::callbacks::ParamError;
use callvault_telephony::twilio::signature::{self, Algorithm, Body};
use callvault_telephony::twilio::twiml;
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::state::AppState;

pub const STATUS: &str = "/webhooks/twilio/status";
pub const DIAL: &str = "/webhooks/twilio/dial";
pub const RECORDING: &str = "/webhooks/twilio/recording";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/voice", post(voice::voice))
        .route("/status", post(calls::status))
        .route("/dial", post(calls::dial_ended))
        .route("/recording", post(recording::recording))
        .route("/sms", post(sms::sms))
}

/// A request that Twilio signed, with its form parameters.
pub struct Signed {
    pub params: Vec<(String, String)>,
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let Some(twilio) = state.settings.twilio.as_ref() else {
            return Err(ApiError::not_found(
                "Twilio configuration (set --twilio-account-sid and --twilio-auth-token)",
            ));
        };
        let path = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().path().to_owned(), |o| o.0.path().to_owned());
        let forbidden = |why: &'static str| {
            tracing::warn!(%path, why, "refused a Twilio webhook");
            ApiError::forbidden(why)
        };
        let given = req
            .headers()
            .get(signature::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(given) = given else {
            return Err(forbidden("the request is not signed by Twilio"));
        };
        let settings = req
            .headers()
            .get(signature::SIGNATURE_SETTINGS_HEADER)
            .and_then(|v| v.to_str().ok());
        let Some(algorithm) = Algorithm::from_settings_header(settings) else {
            return Err(forbidden(
                "the request asks for a signature algorithm this server does not know",
            ));
        };
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        // Inside the nested router the path lacks its prefix; Twilio signed the whole one.
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |o| o.0.clone());
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let url = state.settings.public(&path_and_query);
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is too large",
            )
        })?;
        let params: Vec<(String, String)> = if is_form {
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        } else {
            Vec::new()
        };
        let body = if is_form {
            Body::Form(&params)
        } else {
            Body::Raw(&bytes)
        };
        if !signature::validate(
            twilio.auth_token.expose_secret(),
            &url,
            body,
            &given,
            algorithm,
        ) {
            tracing::warn!(%url, "refused a Twilio webhook with a wrong signature");
            return Err(ApiError::forbidden("the Twilio signature does not match"));
        }
        if !is_form {
            return Err(ApiError::bad_request(
                "malformed_parameters",
                "Twilio webhooks are form-encoded",
            ));
        }
        let account = params
            .iter()
            .find(|(k, _)| k == "AccountSid")
            .map(|(_, v)| v.as_str());
        if account != Some(twilio.account_sid.as_str()) {
            return Err(forbidden("the request is for another Twilio account"));
        }
        Ok(Self { params })
    }
}

/// A TwiML answer.
pub struct Twiml(pub twiml::Response);

impl IntoResponse for Twiml {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            self.0.to_xml(),
        )
            .into_response()
    }
}

/// The answer to callbacks that need none: an empty TwiML document.
pub fn nothing() -> Twiml {
    Twiml(twiml::Response::default())
}

pub fn malformed(e: &ParamError) -> ApiError {
    ApiError::bad_request("malformed_parameters", e.to_string())
}

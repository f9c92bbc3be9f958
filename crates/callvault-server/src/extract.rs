//! Axum's extractors, with their rejections turned into our JSON errors.

use axum::extract::{FromRequest, FromRequestParts};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// A JSON body; malformed JSON, wrong types and unknown fields answer with a clear 4xx.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; an id that does not parse answers 404.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; a bad one answers 400 naming it.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// For PATCH fields that can be cleared: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

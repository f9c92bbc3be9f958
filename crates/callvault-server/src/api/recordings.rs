//! Recordings: upload from a phone system, metadata, streaming with byte ranges for the
//! player, and download as a file.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callvault_app::ingest;
use callvault_app::listening::{self, Access};
use callvault_core::permissions::{ContactAction, Decision, OrgAction, can};
use callvault_core::user::User;
use callvault_core::{CallId, RecordingId};
use callvault_store::AuditAction;
use callvault_store::{RecordingMedia, RecordingRecord};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use super::views::RecordingView;
use crate::auth::{CurrentUser, require, require_org};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::range::{self, RangeRequest};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(metadata))
        .routes(routes!(audio))
        .routes(routes!(download))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Replace the call's existing recording (its audio is deleted).
    #[serde(default)]
    pub replace: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadedRecording {
    pub recording_id: RecordingId,
    pub duration_s: f64,
    /// 1 or 2: two-channel calls keep the contact on the left and the team member on the right.
    pub channels: u16,
    /// What was uploaded ("pcm_mulaw", "opus", …); it is stored as MP3.
    pub source_codec: String,
    /// The file is shorter than its header says (cut short in transfer or by the phone
    /// system): what was there is kept, and `duration_s` is its length.
    pub truncated: bool,
}

/// Spools the body to a temporary file that disappears whatever happens: also when the
/// upload is cut off for being too slow (nothing for `body_idle_timeout`, or on average under
/// `upload_min_rate` once `upload_grace` has passed), so a slow client holds no file.
async fn spool(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<tempfile::NamedTempFile> {
    let limit = state.settings.max_upload_bytes;
    let min_rate = state.settings.http.upload_min_rate;
    let grace = state.settings.http.upload_grace;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let file = state
        .settings
        .spool_file("")
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let handle = file.reopen().map_err(|e| ApiError::internal(&e))?;
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(handle));
    let mut bytes = 0u64;
    let started = std::time::Instant::now();
    let too_slow = || {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "upload_too_slow",
            format!("the upload was slower than {min_rate} bytes a second, so it was cut off"),
        )
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::connections::timed_out(&e) {
                too_slow()
            } else {
                ApiError::bad_request("body_interrupted", "the upload was interrupted")
            }
        })?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(ApiError::too_large(limit));
        }
        let elapsed = started.elapsed();
        if elapsed > grace && (bytes as f64) < min_rate as f64 * elapsed.as_secs_f64() {
            return Err(too_slow());
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    out.flush().await.map_err(|e| ApiError::internal(&e))?;
    Ok(file)
}

/// Stores a call's recording from a phone system: the raw audio is the body, in any common
/// format (WAV with PCM, G.711 µ-law/A-law or IMA ADPCM; MP3; FLAC; Ogg Vorbis or Opus; WebM
/// Opus; AAC in M4A). It is stored as MP3 with its channels kept. Refused with 409
/// `recording_disabled` when recording was off for the number when the call started.
#[utoipa::path(put, path = "/api/v1/calls/{id}/recording", tag = "recordings",
    params(("id" = CallId, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The recording, in any supported format"),
    responses((status = 201, body = UploadedRecording), (status = 404, body = ErrorBody),
              (status = 408, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(call_id): ApiPath<CallId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<UploadedRecording>)> {
    require_org(&user, OrgAction::ReportCalls)?;
    ingest::recordable_call(&state, call_id, q.replace).await?;
    // Held until the recording is stored: each upload costs a spool file and a transcode.
    let _receiving = state.uploads.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_uploads",
            "the server is receiving as many uploads as it takes at once; try again shortly",
        )
        .retry_after(std::time::Duration::from_secs(5))
    })?;
    let spooled = spool(&state, &headers, body).await?;
    let stored = ingest::store_recording(&state, call_id, spooled.path(), q.replace, None).await?;
    state.jobs.run_now(&state, &stored.cleanup).await;
    let (recording, transcoded) = (stored.recording, stored.transcoded);
    audit::record(&state, Some(&user), AuditAction::RecordingUpload, "recording", Some(recording.id.to_string()),
        serde_json::json!({"call_id": call_id, "source_codec": transcoded.source_codec, "bytes": recording.bytes})).await;
    Ok((
        StatusCode::CREATED,
        Json(UploadedRecording {
            recording_id: recording.id,
            duration_s: super::views::seconds(recording.duration_ms),
            channels: recording.channels,
            source_codec: transcoded.source_codec.to_owned(),
            truncated: transcoded.truncated,
        }),
    ))
}

pub(super) async fn visible(
    state: &AppState,
    user: &User,
    id: RecordingId,
) -> ApiResult<RecordingRecord> {
    let record = state
        .store
        .recording(id)
        .await?
        .ok_or_else(|| ApiError::not_found("recording"))?;
    require(
        user,
        ContactAction::View,
        &record.access.assigned,
        "recording",
    )?;
    Ok(record)
}

/// What streaming a recording's audio needs, when the user may see it.
async fn visible_media(
    state: &AppState,
    user: &User,
    id: RecordingId,
) -> ApiResult<RecordingMedia> {
    let media = state
        .store
        .recording_media(id)
        .await?
        .ok_or_else(|| ApiError::not_found("recording"))?;
    require(
        user,
        ContactAction::View,
        &media.access.assigned,
        "recording",
    )?;
    if media.redaction_pending {
        return Err(callvault_store::Conflict::RedactionPending.into());
    }
    Ok(media)
}

/// A recording's length, channels, size, checksum, waveform peaks and transcript status.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "recordings", params(("id" = RecordingId, Path)),
    responses((status = 200, body = RecordingView), (status = 404, body = ErrorBody)))]
async fn metadata(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
) -> ApiResult<Json<RecordingView>> {
    Ok(Json(visible(&state, &user, id).await?.into()))
}

fn etag(media: &RecordingMedia) -> String {
    format!("\"{}\"", media.sha256)
}

/// Largest piece of audio sent at once to someone who may play but not download: players ask
/// for ranges and come back for more, while saving the file whole takes deliberate effort.
/// A deterrent, not DRM: whoever can hear a recording can capture it.
const PLAY_ONLY_CHUNK: u64 = 1024 * 1024;

/// How the audio may be sent to this user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// The whole file, cacheable privately.
    Download,
    /// Byte ranges of at most [`PLAY_ONLY_CHUNK`], never stored by the browser.
    PlayOnly,
}

/// Sends the MP3, or the byte range asked for.
async fn send_audio(
    state: &AppState,
    media: &RecordingMedia,
    headers: &HeaderMap,
    delivery: Delivery,
) -> ApiResult<Response> {
    let size = media.bytes;
    let tag = etag(media);
    let cache = match delivery {
        // Private: recordings are personal data; revalidated so a deleted one is not kept fresh.
        Delivery::Download => "private, no-cache",
        Delivery::PlayOnly => "no-store",
    };
    let wanted = range::parse(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| range::none_match(h, &tag));
    if cached && delivery == Delivery::Download {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, tag),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
        )
            .into_response());
    }
    let range = match (wanted, delivery) {
        (RangeRequest::Unsatisfiable, _) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [
                    (header::CONTENT_RANGE, format!("bytes */{size}")),
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                ],
            )
                .into_response());
        }
        (RangeRequest::Full, Delivery::Download) => None,
        (RangeRequest::Full, Delivery::PlayOnly) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "range_required",
                "your account may play recordings but not download them; ask for byte ranges as audio players do",
            ));
        }
        (RangeRequest::Partial(r), Delivery::Download) => Some(r),
        (RangeRequest::Partial(r), Delivery::PlayOnly) => {
            Some(r.start..r.end.min(r.start + PLAY_ONLY_CHUNK))
        }
    };
    let read = state.blobs.get(&media.blob_key, range.clone()).await.map_err(|e| match e {
        callvault_blob::BlobError::NotFound => {
            tracing::error!(recording = %media.id, key = %media.blob_key, "a recording's audio object is missing");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "audio_missing", "the recording's audio is missing on the server")
        }
        other => other.into(),
    })?;
    let mut response = Response::new(Body::from_stream(read.body));
    *response.status_mut() = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(read.range.end - read.range.start),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    if range.is_some() {
        let value = format!(
            "bytes {}-{}/{}",
            read.range.start,
            read.range.end.saturating_sub(1),
            read.size
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

/// The MP3 for the player, with `Range` (206) for seeking. Users without the download
/// permission get byte ranges only (at most 1 MiB each, not cacheable).
#[utoipa::path(get, path = "/api/v1/recordings/{id}/audio", tag = "recordings", params(("id" = RecordingId, Path)),
    responses((status = 200, content_type = "audio/mpeg", body = Vec<u8>),
              (status = 206, content_type = "audio/mpeg", body = Vec<u8>),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416)))]
async fn audio(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let media = visible_media(&state, &user, id).await?;
    let delivery = if can(&user, ContactAction::Download, &media.access.assigned) == Decision::Allow
    {
        Delivery::Download
    } else {
        Delivery::PlayOnly
    };
    let response = send_audio(&state, &media, &headers, delivery).await?;
    listening::accessed(
        &state,
        &user,
        Access::Play(id),
        media.conversation_id,
        media.access.contact_id,
    )
    .await;
    Ok(response)
}

/// A file name people recognise: the contact and when the call started.
fn download_name(media: &RecordingMedia) -> String {
    let when = media
        .call_started_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]-[minute] UTC"
        ))
        .unwrap_or_default();
    let name: String = media
        .contact_name
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{} {when}.mp3", name.trim())
}

fn content_disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() && c != '"' { c } else { '_' })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"recording.mp3\""))
}

/// The MP3 as a file to save. Needs the download permission (403 without it).
#[utoipa::path(get, path = "/api/v1/recordings/{id}/download", tag = "recordings", params(("id" = RecordingId, Path)),
    responses((status = 200, content_type = "audio/mpeg", body = Vec<u8>),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
) -> ApiResult<Response> {
    let media = visible_media(&state, &user, id).await?;
    require(
        &user,
        ContactAction::Download,
        &media.access.assigned,
        "recording",
    )?;
    let mut response = send_audio(&state, &media, &HeaderMap::new(), Delivery::Download).await?;
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&download_name(&media)),
    );
    audit::record_about(
        &state,
        Some(&user),
        AuditAction::Download,
        "recording",
        Some(id.to_string()),
        media.access.contact_id,
        serde_json::json!({"conversation_id": media.conversation_id}),
    )
    .await;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_survive_any_contact_name() {
        let v = content_disposition("Zoë \"Z\" Müller 2026-01-02 10-11 UTC.mp3");
        let s = v.to_str().expect("ascii header");
        assert!(
            s.starts_with("attachment; filename=\"Zo_ _Z_ M_ller 2026-01-02 10-11 UTC.mp3\""),
            "{s}"
        );
        assert!(
            s.contains("filename*=UTF-8''Zo%C3%AB%20%22Z%22%20M%C3%BCller"),
            "{s}"
        );
    }
}

//! Recordings: upload from a phone system, metadata, streaming with byte ranges for the
//! player, and download as a file.

use std::io::Write;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callvault_audio::AudioError;
use callvault_core::permissions::{ContactAction, OrgAction};
use callvault_core::recording::Recording;
use callvault_core::user::User;
use callvault_core::{CallId, RecordingId};
use callvault_store::{NewRecording, RecordingRecord, collect_blob_job};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Duration;
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

/// How long an upload may take before its object, if left unreferenced, is collected.
const UPLOAD_GUARD: Duration = Duration::hours(1);

#[derive(Deserialize, utoipa::IntoParams)]
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
    pub channels: u16,
}

/// The upload, spooled to a temporary file that disappears whatever happens.
struct Spooled {
    file: tempfile::NamedTempFile,
    bytes: u64,
    sha256: String,
}

async fn spool(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Spooled> {
    let limit = state.settings.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let dir = state.settings.upload_dir();
    std::fs::create_dir_all(&dir).map_err(|e| ApiError::internal(&e))?;
    let file = tempfile::NamedTempFile::new_in(&dir).map_err(|e| ApiError::internal(&e))?;
    let mut out = std::io::BufWriter::new(file.reopen().map_err(|e| ApiError::internal(&e))?);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("body_interrupted", "the upload was interrupted"))?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(ApiError::too_large(limit));
        }
        hasher.update(&chunk);
        // Small blocking writes to a local buffered file; cheaper than a thread hop per chunk.
        out.write_all(&chunk).map_err(|e| ApiError::internal(&e))?;
    }
    out.flush().map_err(|e| ApiError::internal(&e))?;
    Ok(Spooled {
        file,
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

fn audio_error(e: AudioError) -> ApiError {
    match e {
        AudioError::Unsupported(why) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_audio",
            format!("this is not audio the server can store ({why}); send MP3"),
        ),
        AudioError::Corrupt(why) => {
            ApiError::invalid("corrupt_audio", format!("the audio is damaged: {why}"))
        }
        AudioError::Io(e) => ApiError::internal(&e),
    }
}

/// Stores a call's recording from a phone system: the raw audio is the body. Refused with 409
/// `recording_disabled` when recording was off for the number when the call started.
#[utoipa::path(put, path = "/api/v1/calls/{id}/recording", tag = "recordings",
    params(("id" = CallId, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "audio/mpeg", description = "The recording (MP3)"),
    responses((status = 201, body = UploadedRecording), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(call_id): ApiPath<CallId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<UploadedRecording>)> {
    require_org(&user, OrgAction::ReportCalls)?;
    let call = state
        .store
        .call(call_id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    // Checked before reading the body, to spare the upload; the store checks again on commit.
    if !call.call.recording_allowed {
        return Err(callvault_store::StoreError::Conflict("recording_disabled").into());
    }
    if call.recording.is_some() && !q.replace {
        return Err(callvault_store::StoreError::Conflict("recording_exists").into());
    }
    let spooled = spool(&state, &headers, body).await?;
    let path = spooled.file.path().to_owned();
    let analysis = tokio::task::spawn_blocking(move || callvault_audio::analyze_file(&path))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(audio_error)?;
    if analysis.codec != "mp3" {
        return Err(audio_error(AudioError::Unsupported(format!(
            "{} audio",
            analysis.codec
        ))));
    }

    let id = RecordingId::new();
    let key = Recording::blob_key_for(id);
    let now = state.now();
    // If anything below dies halfway, this job removes the object nobody owns.
    let guard = state
        .store
        .enqueue(collect_blob_job(&key, now + UPLOAD_GUARD), now)
        .await?;
    let stored = async {
        state.blobs.put_file(&key, spooled.file.path()).await?;
        let new = NewRecording {
            id,
            call_id,
            blob_key: key.clone(),
            duration_ms: analysis.duration_ms(),
            channels: analysis.channels,
            sample_rate: analysis.sample_rate,
            bytes: spooled.bytes,
            sha256: spooled.sha256.clone(),
            peaks: analysis.peaks.clone(),
        };
        Ok::<_, ApiError>(
            state
                .store
                .add_recording(new, q.replace, Some(guard), state.now())
                .await?,
        )
    }
    .await;
    let (recording, replaced) = match stored {
        Ok(done) => done,
        Err(e) => {
            // Undo now rather than in an hour; the guard stays queued in case this fails too.
            if state.blobs.delete(&key).await.is_ok() {
                let _ = state.store.complete(guard).await;
            }
            return Err(e);
        }
    };
    state.jobs.run_now(&replaced.cleanup_jobs).await;
    audit::record(&state, Some(&user), "recording.upload", "recording", Some(id.to_string()),
        serde_json::json!({"call_id": call_id, "bytes": recording.bytes, "replaced": !replaced.cleanup_jobs.is_empty()})).await;
    let view = RecordingView::from(RecordingRecord {
        recording,
        conversation_id: call.call.conversation_id,
        contact_name: String::new(),
        call_started_at: call.call.times.started_at,
        transcript_status: None,
        access: call.access,
    });
    Ok((
        StatusCode::CREATED,
        Json(UploadedRecording {
            recording_id: id,
            duration_s: view.duration_s,
            channels: view.channels,
        }),
    ))
}

async fn visible(state: &AppState, user: &User, id: RecordingId) -> ApiResult<RecordingRecord> {
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

fn etag(recording: &Recording) -> String {
    format!("\"{}\"", recording.sha256)
}

/// Sends the MP3, or the byte range asked for.
async fn send_audio(
    state: &AppState,
    recording: &Recording,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let size = recording.bytes;
    let tag = etag(recording);
    let wanted = range::parse(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(tag.as_str());
    if not_modified && wanted == RangeRequest::Full {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let (status, range) = match wanted {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        RangeRequest::Unsatisfiable => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [
                    (header::CONTENT_RANGE, format!("bytes */{size}")),
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                ],
            )
                .into_response());
        }
    };
    let read = state.blobs.get(&recording.blob_key, range.clone()).await?;
    let mut response = Response::new(Body::from_stream(read.body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Private: recordings are personal data; revalidated so a deleted one is not kept fresh.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
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

/// The MP3 for the player; supports `Range` (206) for seeking.
#[utoipa::path(get, path = "/api/v1/recordings/{id}/audio", tag = "recordings", params(("id" = RecordingId, Path)),
    responses((status = 200, content_type = "audio/mpeg", body = Vec<u8>),
              (status = 206, content_type = "audio/mpeg", body = Vec<u8>),
              (status = 404, body = ErrorBody), (status = 416)))]
async fn audio(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let record = visible(&state, &user, id).await?;
    send_audio(&state, &record.recording, &headers).await
}

/// A file name people recognise: the contact and when the call started.
fn download_name(record: &RecordingRecord) -> String {
    let when = record
        .call_started_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]-[minute] UTC"
        ))
        .unwrap_or_default();
    let name: String = record
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
    let record = visible(&state, &user, id).await?;
    require(
        &user,
        ContactAction::Download,
        &record.access.assigned,
        "recording",
    )?;
    let mut response = send_audio(&state, &record.recording, &HeaderMap::new()).await?;
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&download_name(&record)),
    );
    audit::record(
        &state,
        Some(&user),
        "recording.download",
        "recording",
        Some(id.to_string()),
        serde_json::json!({"conversation_id": record.conversation_id}),
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

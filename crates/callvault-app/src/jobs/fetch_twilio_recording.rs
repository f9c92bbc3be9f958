//! Fetches a finished call recording from Twilio and stores it through the audio pipeline.
//! Twilio may answer 404 for a short while after announcing a recording, so 404 and server
//! errors are retried with backoff. Media is fetched only from under the configured API base,
//! redirects included: a callback can never make us request another host.

use callvault_core::CallId;
use callvault_store::{CallUpdate, Conflict, Job, JobSpec, NewJob};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

use super::JobError;
use crate::App;
use crate::ingest;
use crate::settings::TwilioSettings;

/// Redirects followed within the API base before giving up.
const MAX_REDIRECTS: usize = 5;

/// The job for one announced recording; a second announcement of it is refused as a duplicate.
#[must_use]
pub fn job(call_id: CallId, recording_sid: &str, url: &str, now: OffsetDateTime) -> NewJob {
    JobSpec::FetchTwilioRecording {
        call_id,
        recording_sid: recording_sid.to_owned(),
        url: url.to_owned(),
    }
    .at(now)
}

/// Whether `url` lies under `base`: same scheme, host and port, and within the base's path.
#[must_use]
pub fn under_base(url: &str, base: &str) -> bool {
    let (Ok(url), Ok(base)) = (reqwest::Url::parse(url), reqwest::Url::parse(base)) else {
        return false;
    };
    let base_path = base.path().trim_end_matches('/');
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && (url.path() == base_path || url.path().starts_with(&format!("{base_path}/")))
}

pub async fn run(
    state: &App,
    job: &Job,
    call_id: CallId,
    sid: &str,
    url: &str,
) -> Result<(), JobError> {
    let result = fetch_and_store(state, call_id, sid, url).await;
    if let Err(e) = &result
        && (e.permanent || job.last_attempt())
    {
        let note = format!(
            "The recording could not be fetched from Twilio: {}",
            e.message
        );
        let update = CallUpdate {
            recording_note: Some(note),
            ..CallUpdate::default()
        };
        if let Err(e) = state.store.update_call(call_id, update).await {
            tracing::warn!(error = %e, call = %call_id, "could not note the failed recording");
        }
    }
    result
}

async fn fetch_and_store(
    state: &App,
    call_id: CallId,
    sid: &str,
    url: &str,
) -> Result<(), JobError> {
    let twilio = state
        .settings
        .twilio
        .as_ref()
        .ok_or_else(|| JobError::permanent("Twilio is not configured"))?;
    if state
        .store
        .recording_by_source_ref(sid)
        .await
        .map_err(JobError::new)?
        .is_some()
    {
        return Ok(());
    }
    match state.store.call(call_id).await.map_err(JobError::new)? {
        // The conversation was deleted meanwhile, or the recording came by another way.
        None => return Ok(()),
        Some(call) if call.recording.is_some() => return Ok(()),
        Some(_) => {}
    }
    let file = download(state, twilio, &format!("{url}.wav")).await?;
    match ingest::store_recording(state, call_id, file.path(), false, Some(sid.to_owned())).await {
        Ok(stored) => {
            tracing::info!(call = %call_id, recording = sid, "recording fetched from Twilio");
            // A replaced object's cleanup is queued; this worker's lanes take it from there.
            if !stored.cleanup.is_empty() {
                state.jobs.wake();
            }
            Ok(())
        }
        Err(e) if e.is_not_found() || e.conflict() == Some(Conflict::RecordingExists) => Ok(()),
        Err(e) if e.is_callers() => Err(JobError::permanent(e)),
        Err(e) => Err(JobError::new(e)),
    }
}

/// Downloads `url` to a temporary file with the account's credentials.
async fn download(
    state: &App,
    twilio: &TwilioSettings,
    url: &str,
) -> Result<tempfile::NamedTempFile, JobError> {
    let mut current = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        if !under_base(&current, &twilio.api_base) {
            return Err(JobError::permanent(format!(
                "{current} is not under the Twilio API ({})",
                twilio.api_base
            )));
        }
        let response = state
            .http
            .get(&current)
            .basic_auth(&twilio.account_sid, Some(twilio.auth_token.expose_secret()))
            .send()
            .await
            .map_err(|e| JobError::new(format!("Twilio could not be reached: {e}")))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            current = reqwest::Url::parse(&current)
                .and_then(|base| base.join(location))
                .map_err(|_| {
                    JobError::permanent("Twilio redirected to an address that does not parse")
                })?
                .to_string();
            continue;
        }
        return match status {
            StatusCode::OK => save(state, response).await,
            StatusCode::NOT_FOUND => Err(JobError::new(
                "Twilio does not have the recording ready yet (404)",
            )),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(JobError::permanent(format!(
                "Twilio refused the account's credentials ({status})"
            ))),
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Err(JobError::new(format!("Twilio answered {s}")))
            }
            s => Err(JobError::permanent(format!("Twilio answered {s}"))),
        };
    }
    Err(JobError::permanent("Twilio redirected too many times"))
}

async fn save(
    state: &App,
    response: reqwest::Response,
) -> Result<tempfile::NamedTempFile, JobError> {
    let file = state.settings.spool_file("").await.map_err(JobError::new)?;
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(
        file.reopen().map_err(JobError::new)?,
    ));
    let limit = state.settings.max_upload_bytes;
    let mut bytes = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| JobError::new(format!("the download broke off: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(JobError::permanent(format!(
                "the recording is larger than {limit} bytes"
            )));
        }
        out.write_all(&chunk).await.map_err(JobError::new)?;
    }
    out.flush().await.map_err(JobError::new)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_under_the_base_are_fetched() {
        let base = "https://api.twilio.com";
        assert!(under_base(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1.wav",
            base
        ));
        assert!(under_base("https://api.twilio.com:443/x", base));
        assert!(
            !under_base("http://api.twilio.com/x", base),
            "another scheme"
        );
        assert!(
            !under_base("https://api.twilio.com.evil.example/x", base),
            "another host"
        );
        assert!(!under_base(
            "https://evil.example/?https://api.twilio.com",
            base
        ));
        assert!(
            !under_base("https://user:pw@api.twilio.com/x", base),
            "credentials in the URL"
        );
        assert!(!under_base("not a url", base));
        let local = "http://127.0.0.1:9000/twilio";
        assert!(under_base(
            "http://127.0.0.1:9000/twilio/2010-04-01/x",
            local
        ));
        assert!(
            !under_base("http://127.0.0.1:9001/twilio/x", local),
            "another port"
        );
        assert!(
            !under_base("http://127.0.0.1:9000/twilio-evil/x", local),
            "a sibling path"
        );
    }
}

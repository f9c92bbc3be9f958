//! Calls recorded over SIPREC, as the services see them. When a recording session opens, the
//! parties it names decide the number, the contact, the direction and who handled the call,
//! and the call is reported then, so whether it may be recorded is frozen at its start. When
//! the session ends, the call is closed and its audio goes through the same ingest as an
//! upload (MP3, peaks, automatic transcript). Nothing here knows about SIP or RTP.

use std::path::Path;

use callvault_core::call::{CallStatus, CallTimes, Direction};
use callvault_core::phone::E164;
use callvault_core::user::normalise_extension;
use callvault_core::{CallId, UserId};
use callvault_store::{CallUpdate, Conflict, NewCall};
use callvault_telephony::siprec::uri_user;
use time::OffsetDateTime;

use crate::error::Invalid;
use crate::{App, AppError, AppResult, ingest, webhooks};

/// What the recorded calls are reported as coming from.
pub const SOURCE: &str = "siprec";

/// Said of a recording whose session never ended: the server stopped during the call.
pub const CUT_SHORT_NOTE: &str =
    "Recording cut short: the recording server stopped during the call; what was received is kept.";

/// A party to the recorded call, as the recording client names it.
#[derive(Debug, Clone, Default)]
pub struct Party {
    /// A SIP or tel URI (`sip:+15551234567@carrier`, `sip:201@pbx`).
    pub aor: Option<String>,
    pub name: Option<String>,
}

/// A recording session opening: the parties, the caller first.
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub parties: Vec<Party>,
    /// The recording client's id for the session; a repeat of it is the same call.
    pub session_ref: String,
    pub started_at: OffsetDateTime,
}

/// The call a session records.
#[derive(Debug, Clone, Copy)]
pub struct OpenedCall {
    pub call_id: CallId,
    /// Off when the number did not record at the start of the call: the session is declined.
    pub recording_allowed: bool,
    /// Which party is the contact (their audio goes on the left channel).
    pub contact: usize,
    /// The session id had been reported before: this is not a new call.
    pub repeated: bool,
}

/// What a party turned out to be.
#[derive(Debug)]
enum Role {
    /// One of the configured numbers.
    Number(E164),
    /// A team member, by their extension.
    Member(UserId),
    /// Someone outside: a possible contact.
    Outside(E164),
    Unknown,
}

async fn role_of(app: &App, numbers: &[E164], party: &Party) -> AppResult<Role> {
    let Some(user_part) = party.aor.as_deref().and_then(uri_user) else {
        return Ok(Role::Unknown);
    };
    if let Some(extension) = normalise_extension(user_part)
        && let Some(member) = app.store.user_by_extension(&extension).await?
    {
        return Ok(Role::Member(member.id));
    }
    Ok(match E164::parse(user_part, app.settings.default_region) {
        Ok(phone) if numbers.contains(&phone) => Role::Number(phone),
        Ok(phone) => Role::Outside(phone),
        Err(_) => Role::Unknown,
    })
}

/// Reports the call a session records. `Invalid::CallParties` when no party is someone
/// outside, or no configured number can be told (none named, and more than one configured).
pub async fn open_call(app: &App, start: SessionStart) -> AppResult<OpenedCall> {
    let numbers = ingest::configured_numbers(app).await?;
    let mut roles = Vec::with_capacity(start.parties.len());
    for party in &start.parties {
        roles.push(role_of(app, &numbers, party).await?);
    }
    let (contact, contact_phone) = roles
        .iter()
        .enumerate()
        .find_map(|(i, role)| match role {
            Role::Outside(phone) => Some((i, phone.clone())),
            _ => None,
        })
        .ok_or(AppError::Invalid(Invalid::CallParties))?;
    let number = roles
        .iter()
        .find_map(|role| match role {
            Role::Number(phone) => Some(phone.clone()),
            _ => None,
        })
        // An extension calling out names no number: the installation's only one is it.
        .or_else(|| match numbers.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        })
        .ok_or(AppError::Invalid(Invalid::CallParties))?;
    let handled_by = roles.iter().find_map(|role| match role {
        Role::Member(id) => Some(*id),
        _ => None,
    });
    let direction = if contact == 0 {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let now = app.now();
    // Started now, so never in the future: a failure here is ours.
    let times = CallTimes::new(CallStatus::Answered, start.started_at, None, None, now)
        .map_err(AppError::internal)?;
    let party = &start.parties[contact];
    let reported = app
        .store
        .report_call(
            NewCall {
                number,
                contact_phone,
                contact_phone_raw: party
                    .aor
                    .as_deref()
                    .and_then(uri_user)
                    .unwrap_or_default()
                    .to_owned(),
                contact_name: party.name.clone().filter(|n| !n.trim().is_empty()),
                direction,
                status: CallStatus::Answered,
                times,
                handled_by,
                source: SOURCE.into(),
                external_id: Some(start.session_ref),
            },
            now,
        )
        .await?;
    let call = &reported.record.call;
    Ok(OpenedCall {
        call_id: call.id,
        recording_allowed: call.recording_allowed,
        contact,
        repeated: !reported.created,
    })
}

/// New metadata during the call (a transfer, say): the team member it names last, the one who
/// joined most recently, becomes who handled the call.
pub async fn parties_changed(app: &App, call_id: CallId, parties: &[Party]) -> AppResult<()> {
    let numbers = ingest::configured_numbers(app).await?;
    for party in parties.iter().rev() {
        if let Role::Member(id) = role_of(app, &numbers, party).await? {
            app.store
                .update_call(
                    call_id,
                    CallUpdate {
                        handed_to: Some(id),
                        ..CallUpdate::default()
                    },
                )
                .await?;
            break;
        }
    }
    Ok(())
}

/// Ends the call at `ended_at` and stores its audio (a file any decoder here reads), if it
/// has any. `cut_short` when the session did not end but the server did.
pub async fn close_call(
    app: &App,
    call_id: CallId,
    ended_at: OffsetDateTime,
    audio: Option<&Path>,
    cut_short: bool,
) -> AppResult<()> {
    let record = app
        .store
        .update_call(
            call_id,
            CallUpdate {
                status: Some(CallStatus::Answered),
                ended_at: Some(ended_at),
                recording_note: cut_short.then(|| CUT_SHORT_NOTE.to_owned()),
                ..CallUpdate::default()
            },
        )
        .await
        .map_err(|e| AppError::named(e, "call"))?;
    webhooks::call_completed(app, &record.call).await;
    let Some(audio) = audio else {
        return Ok(());
    };
    match ingest::store_recording(app, call_id, audio, false, None).await {
        // Stored before a crash that came before the spool was cleared.
        Ok(_) | Err(AppError::Conflict(Conflict::RecordingExists)) => Ok(()),
        Err(e) => Err(e),
    }
}

//! One recording session, from the INVITE to the BYE: the call reported, a socket per kept
//! stream, the answer, then the dialog followed (re-INVITE and UPDATE with new metadata,
//! OPTIONS, the session timer, BYE from either side) until the call is stored.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use callvault_app::AppError;
use callvault_app::siprec::{OpenedCall, SessionStart, close_call, open_call, parties_changed};
use callvault_core::CallId;
use callvault_telephony::siprec::{Codec, answer, audio_rate};
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, HeadersExt, StatusCode};
use rsipstack::transaction::Transaction;
use tokio_util::sync::CancellationToken;

use crate::Context;
use crate::invite::{self, Invite, Refusal};
use crate::media::{self, Received, SessionClock, StreamSpec};
use crate::spool::{SessionInfo, SessionSpool};

/// How long a session may go without a packet (and without a refresh, when it has no session
/// timer) before it is taken as over: the client must have lost it.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) async fn run(ctx: Arc<Context>, mut tx: Transaction) {
    let invite = match invite::read(&tx.original) {
        Ok(invite) => invite,
        Err(refusal) => return refuse(&mut tx, refusal).await,
    };
    let (state_sender, states) = ctx.dialogs.new_dialog_state_channel();
    let dialog = match ctx.dialogs.get_or_create_server_invite(
        &tx,
        state_sender,
        None,
        Some(
            ctx.contacts
                .for_transport(tx.connection.as_ref().map(|c| c.transport())),
        ),
    ) {
        Ok(dialog) => dialog,
        Err(e) => {
            // An INVITE with a To tag names a dialog we do not have.
            let refusal = Refusal::new(StatusCode::CallTransactionDoesNotExist, e.to_string());
            return refuse(&mut tx, refusal).await;
        }
    };
    let session_ref = tx
        .original
        .call_id_header()
        .map(|h| h.value().to_owned())
        .unwrap_or_default();
    // The dialog answers retransmissions, CANCEL and the ACK while the call is set up.
    let mut handler = dialog.clone();
    tokio::spawn(async move {
        if let Err(e) = handler.handle(&mut tx).await {
            tracing::debug!(error = %e, "the INVITE transaction ended");
        }
    });
    let id = dialog.id();
    record(&ctx, &dialog, invite, session_ref, states).await;
    ctx.dialogs.remove_dialog(&id);
}

async fn refuse(tx: &mut Transaction, refusal: Refusal) {
    tracing::info!(status = %refusal.status, reason = %refusal.reason, "refused a SIPREC request");
    let mut headers = refusal.headers;
    headers.push(warning(&refusal.reason));
    if let Err(e) = tx.reply_with(refusal.status, headers, None).await {
        tracing::debug!(error = %e, "could not answer a refused request");
    }
}

/// RFC 3261's Warning, which SRC logs show: code 399 (miscellaneous) with our reason.
fn warning(reason: &str) -> Header {
    let text = reason.replace(['"', '\\', '\r', '\n'], " ");
    Header::Other("Warning".into(), format!("399 callvault \"{text}\""))
}

fn reject(dialog: &InviteDialog, status: StatusCode, reason: &str) {
    tracing::info!(%status, reason, "declined a SIPREC session");
    // rsipstack would put the reason in a Reason header, whose syntax is the protocol's
    // (RFC 3326), not free text: the status says it, and the log says why.
    if let Err(e) = dialog.reject(Some(status), None) {
        tracing::debug!(error = %e, "could not decline");
    }
}

/// The streams kept: the contact's first (left channel), then the team member's; each
/// an index into the offer. A mixed or unattributed third stream is declined.
fn choose_streams(invite: &Invite, opened: &OpenedCall) -> [Option<usize>; 2] {
    let usable = |i: &usize| invite.streams[*i].codec.is_some();
    let contact = (0..invite.streams.len())
        .filter(usable)
        .find(|i| invite.speakers[*i] == Some(opened.contact));
    let member = (0..invite.streams.len())
        .filter(usable)
        .find(|i| Some(*i) != contact && invite.speakers[*i].is_some_and(|p| p != opened.contact));
    [contact, member]
}

async fn record(
    ctx: &Arc<Context>,
    dialog: &InviteDialog,
    invite: Invite,
    session_ref: String,
    states: DialogStateReceiver,
) {
    // The call starts now, and so does its audio's timeline: a recording's length is the
    // call's, from INVITE to BYE.
    let started_at = ctx.app.now();
    let clock = SessionClock::new();
    let start = SessionStart {
        parties: invite.parties.clone(),
        session_ref,
        started_at,
    };
    let opened = match open_call(&ctx.app, start).await {
        Ok(opened) => opened,
        Err(AppError::Invalid(e)) => return reject(dialog, StatusCode::NotFound, e.message()),
        Err(e) => {
            tracing::error!(error = %e, "could not report a SIPREC call");
            return reject(
                dialog,
                StatusCode::ServerInternalError,
                "could not report the call",
            );
        }
    };
    if opened.repeated {
        // The same Call-ID again: a request merged on its way, or a client reusing an id.
        return reject(
            dialog,
            StatusCode::LoopDetected,
            "this Call-ID already has a recording session",
        );
    }
    if !opened.recording_allowed {
        return reject(
            dialog,
            StatusCode::Decline,
            "recording is off for this number",
        );
    }
    let chosen = choose_streams(&invite, &opened);
    let codecs: Vec<Codec> = chosen
        .iter()
        .flatten()
        .filter_map(|i| invite.streams[*i].codec.map(|(codec, _)| codec))
        .collect();
    if codecs.is_empty() {
        reject(
            dialog,
            StatusCode::NotAcceptableHere,
            "no stream of the call's parties in PCMU, PCMA or G.722",
        );
        return close(ctx, &opened, None).await;
    }
    let rate = codecs.iter().copied().map(audio_rate).max().unwrap_or(8000);

    let mut sockets = Vec::new();
    let mut ports = vec![0u16; invite.streams.len()];
    for (channel, index) in chosen.iter().enumerate() {
        let Some(index) = *index else { continue };
        match ctx.ports.bind().await {
            Ok(socket) => {
                ports[index] = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                sockets.push((channel, index, socket));
            }
            Err(e) => {
                tracing::error!(error = %e, "no RTP port for a SIPREC session");
                reject(dialog, StatusCode::ServiceUnavailable, "no free RTP port");
                return close(ctx, &opened, None).await;
            }
        }
    }
    let spool = match SessionSpool::create(
        &ctx.spool_root,
        SessionInfo {
            call_id: opened.call_id,
            rate,
            started_at,
        },
    ) {
        Ok(spool) => spool,
        Err(e) => {
            tracing::error!(error = %e, "could not spool a SIPREC session");
            reject(
                dialog,
                StatusCode::ServerInternalError,
                "could not keep the audio",
            );
            return close(ctx, &opened, None).await;
        }
    };

    let stop = CancellationToken::new();
    let mut receivers = Vec::new();
    for (channel, index, socket) in sockets {
        let Some((codec, payload_type)) = invite.streams[index].codec else {
            continue;
        };
        let writer = match spool.channel_writer(channel) {
            Ok(writer) => writer,
            Err(e) => {
                tracing::error!(error = %e, "could not spool a SIPREC stream");
                continue;
            }
        };
        let stream = StreamSpec {
            socket,
            codec,
            payload_type,
        };
        receivers.push(tokio::spawn(media::receive(
            stream,
            rate,
            clock.clone(),
            ctx.allow.clone(),
            writer,
            stop.clone(),
        )));
    }

    let sdp = answer(
        &invite.streams,
        &ctx.media_address.to_string(),
        &ports,
        session_id(),
    );
    // Cancelled while the call was being set up: nothing was recorded.
    let cancelled = matches!(dialog.state(), DialogState::Terminated(..));
    let ended = if cancelled {
        Ended::Cancelled
    } else {
        if let Err(e) = dialog.accept(
            Some(answer_headers(&invite)),
            Some(sdp.clone().into_bytes()),
        ) {
            tracing::warn!(error = %e, "could not answer a SIPREC INVITE");
        }
        follow(ctx, dialog, states, &clock, &invite, &sdp, opened.call_id).await
    };
    stop.cancel();
    let mut received: Vec<Received> = Vec::new();
    for receiver in receivers {
        if let Ok(done) = receiver.await {
            received.push(done);
        }
    }
    let packets: u64 = received.iter().map(|r| r.packets).sum();
    let late: u64 = received.iter().map(|r| r.timeline.late_packets()).sum();
    let refused: u64 = received.iter().map(|r| r.refused).sum();
    tracing::info!(call = %opened.call_id, packets, late, refused, ?ended, "a SIPREC session ended");
    if let Err(e) = media::finish(&mut received, &clock, rate) {
        tracing::error!(error = %e, "could not spool the end of a SIPREC session");
    }
    drop(received);
    if ended == Ended::Cancelled {
        close(ctx, &opened, None).await;
        if let Err(e) = spool.remove() {
            tracing::warn!(error = %e, "could not clear a cancelled SIPREC session");
        }
        return;
    }
    store(ctx, &opened, spool, ended == Ended::ServerStopped).await;
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Bye,
    Cancelled,
    Expired,
    ServerStopped,
}

/// Follows the dialog until it ends; answers what comes within it.
async fn follow(
    ctx: &Arc<Context>,
    dialog: &InviteDialog,
    mut states: DialogStateReceiver,
    clock: &SessionClock,
    invite: &Invite,
    sdp: &str,
    call_id: CallId,
) -> Ended {
    let session_expires = invite.session_expires;
    let mut refreshed = tokio::time::Instant::now();
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = ctx.shutdown.cancelled() => {
                let _ = dialog.bye().await;
                return Ended::ServerStopped;
            }
            _ = check.tick() => {
                let last_packet = clock.start + Duration::from_millis(clock.last_packet_ms.load(Ordering::Relaxed));
                let active = refreshed.max(tokio::time::Instant::from_std(last_packet));
                // RFC 4028: without a refresh in the interval, the session is over; and
                // whatever the timer, a session with no packet and no refresh for the media
                // timeout was lost by its client.
                let unrefreshed = session_expires
                    .is_some_and(|seconds| refreshed.elapsed() > Duration::from_secs(seconds));
                let expired = unrefreshed || active.elapsed() > MEDIA_TIMEOUT;
                if expired {
                    tracing::info!("a SIPREC session expired; sending BYE");
                    let _ = dialog.bye().await;
                    return Ended::Expired;
                }
            }
            state = states.recv() => match state {
                None => return Ended::Bye,
                Some(DialogState::Terminated(_, reason)) => {
                    return match reason {
                        TerminatedReason::UacCancel => Ended::Cancelled,
                        _ => Ended::Bye,
                    };
                }
                Some(DialogState::Updated(_, request, handle)) => {
                    // A re-INVITE or UPDATE: a refresh, perhaps with new metadata. The media
                    // stays as answered.
                    refreshed = tokio::time::Instant::now();
                    if let Some(parties) = invite::updated_parties(&request)
                        && let Err(e) = parties_changed(&ctx.app, call_id, &parties).await
                    {
                        tracing::warn!(error = %e, "could not apply a SIPREC metadata update");
                    }
                    // A 2xx to a re-INVITE always carries SDP (it is the offer when the
                    // re-INVITE had none); to an UPDATE, only when it brought an offer.
                    let with_sdp = request.method == rsipstack::sip::Method::Invite
                        || !request.body.is_empty();
                    let body = with_sdp.then(|| sdp.as_bytes().to_vec());
                    let headers = refresh_headers(invite, with_sdp);
                    if let Err(e) = handle.respond(StatusCode::OK, Some(headers), body).await {
                        tracing::debug!(error = %e, "could not answer a session refresh");
                    }
                }
                Some(DialogState::Options(_, _, handle)) | Some(DialogState::Info(_, _, handle)) => {
                    let _ = handle.reply(StatusCode::OK).await;
                }
                Some(DialogState::Notify(_, _, handle)) | Some(DialogState::Message(_, _, handle)) | Some(DialogState::Refer(_, _, handle)) | Some(DialogState::Publish(_, _, handle)) => {
                    let _ = handle.reply(StatusCode::MethodNotAllowed).await;
                }
                Some(_) => {}
            }
        }
    }
}

/// 200 OK headers: Require for SIPREC when the client required it, and the session timer the
/// client refreshes. (The Contact, with the recording server's feature tag, is the dialog's.)
fn answer_headers(invite: &Invite) -> Vec<Header> {
    refresh_headers(invite, true)
}

/// The same for the 2xx to each refresh, which must repeat the session timer (RFC 4028
/// 7.4: without it the client takes the timer as gone and stops refreshing).
fn refresh_headers(invite: &Invite, with_sdp: bool) -> Vec<Header> {
    let mut headers = Vec::new();
    if with_sdp {
        headers.push(Header::ContentType("application/sdp".into()));
    }
    let mut require = Vec::new();
    if invite.requires_siprec {
        require.push("siprec");
    }
    if let Some(seconds) = invite.session_expires {
        headers.push(Header::Other(
            "Session-Expires".into(),
            format!("{seconds};refresher=uac"),
        ));
        require.push("timer");
    }
    if !require.is_empty() {
        headers.push(Header::Require(require.join(", ").into()));
    }
    headers
}

fn session_id() -> u64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .unsigned_abs()
}

/// Reports the end of a call that recorded nothing.
async fn close(ctx: &Context, opened: &OpenedCall, audio: Option<&std::path::Path>) {
    let ended_at = ctx.app.now();
    if let Err(e) = close_call(&ctx.app, opened.call_id, ended_at, audio, false).await {
        tracing::error!(error = %e, "could not close a SIPREC call");
    }
}

/// Stores the spooled audio as the call's recording, and clears the spool once it is safe.
async fn store(ctx: &Context, opened: &OpenedCall, spool: SessionSpool, cut_short: bool) {
    let ended_at = ctx.app.now();
    // Reading the whole call back is disk work: kept off the threads that receive RTP.
    let assembled = tokio::task::spawn_blocking(move || {
        let wav = spool.to_wav();
        (spool, wav)
    })
    .await;
    let (spool, wav) = match assembled {
        Ok((spool, Ok((wav, _)))) => (spool, wav),
        Ok((_, Err(e))) => {
            // Left in the spool: the next start stores it.
            tracing::error!(error = %e, "could not assemble a SIPREC recording");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "assembling a SIPREC recording failed");
            return;
        }
    };
    let stored = close_call(&ctx.app, opened.call_id, ended_at, Some(&wav), cut_short).await;
    crate::recovery::settle(spool, stored);
}

//! Redaction in the store: a number that redacts holds its recordings back until they were
//! checked, and the redacted transcript and audio take the place of the old in one step.

use callvault_core::permissions::ContactScope;
use callvault_core::recording::Peaks;
use callvault_core::redaction::{RedactedSpan, RedactionKind};
use callvault_store::*;

use crate::suite::{T0, call, number, recording_for};

fn segment(text: &str) -> TranscriptSegment {
    TranscriptSegment {
        start: 1.0,
        end: 4.0,
        channel: Some(0),
        speaker: "Caller".into(),
        text: text.into(),
    }
}

fn redacted_audio(replaces: &str, guard: callvault_core::JobId) -> RedactedAudio {
    RedactedAudio {
        replaces: replaces.to_owned(),
        blob_key: format!("{replaces}.redacted"),
        bytes: 4321,
        sha256: "ab".repeat(32),
        peaks: Peaks::default(),
        spans: vec![RedactedSpan {
            start_ms: 1200,
            end_ms: 3900,
            kind: RedactionKind::Card,
        }],
        guard,
    }
}

async fn guard_for(s: &dyn Store, key: &str) -> callvault_core::JobId {
    s.enqueue(
        JobSpec::CollectBlob {
            key: key.to_owned(),
        }
        .at(T0 + time::Duration::hours(1)),
        T0,
    )
    .await
    .expect("guard")
}

pub async fn redacted_text_and_audio_replace_the_old_in_one_step(s: &dyn Store) {
    let n = number(s, "+1 415 555 0000", true, T0).await;
    // Stored before the number redacted: heard as it is until its transcript is asked for.
    let before = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0103", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let (earlier, _) = s
        .add_recording(recording_for(before.id), false, None, T0)
        .await
        .expect("stored");
    assert!(!earlier.redaction_pending);
    let n = s
        .update_number(
            n.id,
            NumberPatch {
                redact_sensitive: Some(true),
                ..NumberPatch::default()
            },
            T0,
        )
        .await
        .expect("redaction on");
    assert!(n.redact_sensitive);
    s.request_transcript(earlier.id, T0).await.expect("asked");
    assert!(
        s.recording_media(earlier.id)
            .await
            .ok()
            .flatten()
            .is_some_and(|m| m.redaction_pending),
        "checked with its transcript, held back until then"
    );
    let c = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0101", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let (rec, _) = s
        .add_recording(recording_for(c.id), false, None, T0)
        .await
        .expect("stored");
    assert!(rec.redaction_pending, "held back until checked");
    let media = s
        .recording_media(rec.id)
        .await
        .ok()
        .flatten()
        .expect("media");
    assert!(media.redaction_pending);
    let queued = s
        .transcript(rec.id)
        .await
        .ok()
        .flatten()
        .expect("asked for");
    assert_eq!(
        queued.status,
        TranscriptStatus::Queued,
        "redaction reads the transcript: it is asked for with the upload"
    );

    // The audio was replaced meanwhile: nothing changes.
    let guard = guard_for(s, &format!("{}.redacted", rec.blob_key)).await;
    let stale = s
        .transcript_redacted(
            rec.id,
            "en",
            &[segment("my card is [redacted]")],
            redacted_audio("someone-else.mp3", guard),
            T0,
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(Conflict::UploadExpired))),
        "{stale:?}"
    );
    let still = s.recording(rec.id).await.ok().flatten().expect("recording");
    assert_eq!(still.recording.blob_key, rec.blob_key);
    assert!(still.recording.redaction_pending);
    assert_eq!(
        s.transcript(rec.id).await.ok().flatten().map(|t| t.status),
        Some(TranscriptStatus::Queued)
    );

    let cleanup = s
        .transcript_redacted(
            rec.id,
            "en",
            &[segment("my card is [redacted] thanks")],
            redacted_audio(&rec.blob_key, guard),
            T0,
        )
        .await
        .expect("redacted");
    let job = s
        .job(cleanup)
        .await
        .ok()
        .flatten()
        .expect("the old audio's removal");
    assert_eq!(
        job.spec,
        JobSpec::CollectBlob {
            key: rec.blob_key.clone()
        }
    );
    assert!(
        s.job(guard).await.ok().flatten().is_none(),
        "the guard goes with the swap"
    );
    assert!(!s.blob_in_use(&rec.blob_key).await.unwrap_or(true));
    assert!(
        s.blob_in_use(&format!("{}.redacted", rec.blob_key))
            .await
            .unwrap_or(false)
    );
    let now = s.recording(rec.id).await.ok().flatten().expect("recording");
    assert!(!now.recording.redaction_pending);
    assert_eq!(now.recording.bytes, 4321);
    assert_eq!(now.recording.redactions.len(), 1);
    assert_eq!(now.recording.redactions[0].kind, RedactionKind::Card);
    let transcript = s
        .transcript(rec.id)
        .await
        .ok()
        .flatten()
        .expect("transcript");
    assert_eq!(transcript.status, TranscriptStatus::Done);
    assert_eq!(transcript.segments[0].text, "my card is [redacted] thanks");
    let hits = s
        .search_transcripts(SearchQuery {
            scope: ContactScope::All,
            text: "card is".into(),
            limit: 10,
        })
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);

    // A recording deleted meanwhile: not found.
    let gone = s
        .transcript_redacted(
            callvault_core::RecordingId::new(),
            "en",
            &[],
            redacted_audio("x.mp3", guard),
            T0,
        )
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");

    // Nothing to hide: storing the transcript lets it be heard.
    let c2 = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0102", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let (clean, _) = s
        .add_recording(recording_for(c2.id), false, None, T0)
        .await
        .expect("stored");
    assert!(clean.redaction_pending);
    s.transcript_done(clean.id, "en", &[segment("order 42 please")], T0)
        .await
        .expect("done");
    let media = s
        .recording_media(clean.id)
        .await
        .ok()
        .flatten()
        .expect("media");
    assert!(!media.redaction_pending);
}

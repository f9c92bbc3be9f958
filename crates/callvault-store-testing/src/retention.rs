//! Retention: the default policy, a number's own, the walks that find what is past its time,
//! and the deletions (what goes, what stays, what a hold keeps, what became active again).

use callvault_core::permissions::ContactScope;
use callvault_core::retention::RetentionPolicy;
use callvault_core::user::Scope;
use callvault_store::*;
use time::Duration;

use crate::suite::{T0, call, number, recording_for, user};

fn said(text: &str) -> TranscriptSegment {
    TranscriptSegment {
        start: 0.0,
        end: 2.0,
        channel: Some(0),
        speaker: "Caller".into(),
        text: text.into(),
    }
}

pub async fn policies_are_kept_per_number_and_for_the_installation(s: &dyn Store) {
    assert_eq!(
        s.retention_default().await.expect("read"),
        RetentionPolicy::KeepForever
    );
    let ninety = RetentionPolicy::DeleteRecordings { after_days: 90 };
    s.set_retention_default(ninety, T0).await.expect("set");
    assert_eq!(s.retention_default().await.expect("read"), ninety);
    let n = number(s, "+1 415 555 0000", true, T0).await;
    assert_eq!(n.retention, None, "a new number follows the default");
    let year = RetentionPolicy::DeleteConversations { after_days: 365 };
    let patch = |retention| NumberPatch {
        retention: Some(retention),
        ..NumberPatch::default()
    };
    let changed = s
        .update_number(n.id, patch(Some(year)), T0)
        .await
        .expect("set");
    assert_eq!(changed.retention, Some(year));
    let label_only = NumberPatch {
        label: Some("Support".into()),
        ..NumberPatch::default()
    };
    let kept = s.update_number(n.id, label_only, T0).await.expect("set");
    assert_eq!(kept.retention, Some(year), "other changes leave it");
    let back = s.update_number(n.id, patch(None), T0).await.expect("set");
    assert_eq!(back.retention, None);
}

pub async fn expired_recordings_go_and_their_calls_stay(s: &dyn Store) {
    let n = number(s, "+1 415 555 0000", true, T0).await;
    let other = number(s, "+1 415 555 0001", true, T0).await;
    let mut calls = Vec::new();
    for day in 0..5 {
        let c = s
            .report_call(
                call(
                    "+1 415 555 0000",
                    &format!("+1 415 555 01{day:02}"),
                    T0 + Duration::days(day),
                    None,
                ),
                T0 + Duration::days(10),
            )
            .await
            .expect("call")
            .record
            .call;
        let r = recording_for(c.id);
        s.add_recording(r.clone(), false, None, T0 + Duration::days(10))
            .await
            .expect("recording");
        calls.push((c, r));
    }
    let elsewhere = s
        .report_call(
            call("+1 415 555 0001", "+1 415 555 0199", T0, None),
            T0 + Duration::days(10),
        )
        .await
        .expect("call")
        .record
        .call;
    s.add_recording(
        recording_for(elsewhere.id),
        false,
        None,
        T0 + Duration::days(10),
    )
    .await
    .expect("recording");
    // A transcript that must go with its recording, search entries included.
    let (first_call, first) = &calls[0];
    s.request_transcript(first.id, T0).await.expect("asked");
    s.transcript_done(first.id, "en", &[said("my card number is on file")], T0)
        .await
        .expect("stored");

    // Calls started before day 3, oldest first, in pages, of this number only.
    let before = T0 + Duration::days(3);
    let page = s
        .recordings_started_before(n.id, before, None, 2)
        .await
        .expect("walk");
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        [calls[0].1.id, calls[1].1.id]
    );
    let last = page.last().expect("two");
    let cursor = CallAgeCursor {
        started_at: last.call_started_at,
        call_id: last.call_id,
    };
    let rest = s
        .recordings_started_before(n.id, before, Some(cursor), 2)
        .await
        .expect("walk");
    assert_eq!(
        rest.iter().map(|r| r.id).collect::<Vec<_>>(),
        [calls[2].1.id]
    );
    assert_eq!(rest[0].bytes, 1234);
    assert!(!rest[0].held);
    assert!(
        s.recordings_started_before(other.id, T0, None, 10)
            .await
            .expect("walk")
            .is_empty()
    );

    // A hold keeps one, and the walk says so.
    let admin = user(s, "counsel@example.com", Scope::All).await;
    let (held_call, held) = &calls[1];
    let hold = s
        .place_hold(
            NewHold {
                scope: callvault_core::hold::HoldScope::Contact(held_call.contact_id),
                reason: "Matter 7".into(),
                placed_by: admin.id,
            },
            T0,
        )
        .await
        .expect("hold");
    let page = s
        .recordings_started_before(n.id, before, None, 10)
        .await
        .expect("walk");
    assert_eq!(
        page.iter().map(|r| r.held).collect::<Vec<_>>(),
        [false, true, false]
    );
    assert!(matches!(
        s.expire_recording(held.id, T0 + Duration::days(100)).await,
        Err(StoreError::Held(_))
    ));

    let now = T0 + Duration::days(100);
    let deleted = s.expire_recording(first.id, now).await.expect("expired");
    assert_eq!(
        deleted.cleanup_jobs.len(),
        1,
        "its audio is queued for removal"
    );
    assert!(s.recording(first.id).await.expect("read").is_none());
    assert!(s.transcript(first.id).await.expect("read").is_none());
    let hits = s
        .search_transcripts(SearchQuery {
            scope: ContactScope::All,
            text: "card number".into(),
            limit: 10,
        })
        .await
        .expect("search");
    assert!(hits.is_empty(), "the search index forgot it");
    let kept = s
        .call(first_call.id)
        .await
        .expect("read")
        .expect("the call stays");
    assert_eq!(kept.call.recording_expired_at, Some(now));
    assert!(kept.recording.is_none());
    assert!(matches!(
        s.expire_recording(first.id, now).await,
        Err(StoreError::NotFound)
    ));

    s.release_hold(hold.id, admin.id, now)
        .await
        .expect("released");
    s.expire_recording(held.id, now)
        .await
        .expect("expired once released");
}

pub async fn idle_conversations_are_found_and_go_only_while_still_idle(s: &dyn Store) {
    let a = number(s, "+1 415 555 0000", true, T0).await;
    let b = number(s, "+1 415 555 0001", true, T0).await;
    let report = |number: &'static str, contact: &'static str, at| async move {
        let c = s
            .report_call(call(number, contact, at, None), T0 + Duration::days(60))
            .await
            .expect("call")
            .record
            .call;
        s.add_recording(recording_for(c.id), false, None, T0 + Duration::days(60))
            .await
            .expect("recording");
        c
    };
    let old = report("+1 415 555 0000", "+1 415 555 0101", T0).await;
    report("+1 415 555 0001", "+1 415 555 0101", T0 + Duration::days(1)).await;
    let recent = report(
        "+1 415 555 0000",
        "+1 415 555 0102",
        T0 + Duration::days(50),
    )
    .await;

    let idle = s
        .conversations_idle_since(T0 + Duration::days(10), None, 10)
        .await
        .expect("walk");
    assert_eq!(idle.len(), 1);
    let found = &idle[0];
    assert_eq!(found.id, old.conversation_id);
    let mut numbers = found.numbers.clone();
    numbers.sort();
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(numbers, both, "the numbers its calls were on");
    assert_eq!((found.calls, found.recordings, found.bytes), (2, 2, 2468));
    assert!(!found.held);

    // Activity since the walk keeps it.
    let idle_before = T0 + Duration::days(10);
    s.add_note(
        old.conversation_id,
        user(s, "ana@example.com", Scope::All).await.id,
        "Called back",
        T0 + Duration::days(61),
    )
    .await
    .expect("note");
    assert_eq!(
        s.expire_conversation(
            old.conversation_id,
            &found.numbers,
            idle_before,
            T0 + Duration::days(62)
        )
        .await
        .expect("checked"),
        None
    );
    assert!(
        s.conversation(old.conversation_id)
            .await
            .expect("read")
            .is_some()
    );

    // A call reported late on another number (an old start does not move the activity): the
    // policies judged were not all of its numbers' policies, so it stays for the next run.
    let late = s
        .report_call(
            call(
                "+1 415 555 0001",
                "+1 415 555 0102",
                T0 + Duration::days(49),
                None,
            ),
            T0 + Duration::days(61),
        )
        .await
        .expect("late call")
        .record
        .call;
    assert_eq!(late.conversation_id, recent.conversation_id);
    assert_eq!(
        s.expire_conversation(
            recent.conversation_id,
            &[a.id],
            T0 + Duration::days(51),
            T0 + Duration::days(62)
        )
        .await
        .expect("checked"),
        None
    );

    // Idle long enough, on the numbers judged: it goes whole, its audio queued.
    let deleted = s
        .expire_conversation(
            recent.conversation_id,
            &[b.id, a.id],
            T0 + Duration::days(51),
            T0 + Duration::days(62),
        )
        .await
        .expect("expired")
        .expect("it was idle");
    assert_eq!(deleted.cleanup_jobs.len(), 1);
    assert!(
        s.conversation(recent.conversation_id)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        s.expire_conversation(
            recent.conversation_id,
            &[a.id, b.id],
            T0 + Duration::days(51),
            T0 + Duration::days(62)
        )
        .await
        .expect("gone is no error"),
        None
    );
}

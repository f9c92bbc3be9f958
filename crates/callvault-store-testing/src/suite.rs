//! One story of the store, told against the `Store` trait: each function takes a fresh store
//! of any backend and checks what users of that backend rely on. [`crate::store_suite!`] turns
//! them into tests for one backend.

use callvault_core::call::{CallStatus, CallTimes, Direction};
use callvault_core::conversation::Channel;
use callvault_core::number::Provider;
use callvault_core::permissions::ContactScope;
use callvault_core::phone::{E164, Region};
use callvault_core::recording::Peaks;
use callvault_core::user::{Role, Scope, User};
use callvault_core::{ConversationId, RecordingId, UserId};
use callvault_store::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub(crate) const T0: OffsetDateTime = datetime!(2026-02-02 09:00 UTC);

pub(crate) fn phone(raw: &str) -> E164 {
    E164::parse(raw, Region::us()).expect("test numbers are valid")
}

pub(crate) async fn user(store: &dyn Store, email: &str, scope: Scope) -> User {
    store
        .create_user(
            NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap_or(email).into(),
                role: Role::User,
                scope,
                can_download: true,
                can_delete: false,
                extension: None,
                password_hash: Some("hash".into()),
            },
            T0,
        )
        .await
        .expect("user is created")
}

pub(crate) async fn number(
    store: &dyn Store,
    e164: &str,
    recording: bool,
    at: OffsetDateTime,
) -> callvault_core::number::PhoneNumber {
    store
        .create_number(
            NewNumber {
                e164: phone(e164),
                label: "Sales".into(),
                provider: Provider::Pbx,
                call_recording: recording,
                consent_announcement: None,
                forward_to: vec![],
                transcribe_automatically: false,
                redact_sensitive: false,
                recording_since: None,
            },
            at,
        )
        .await
        .expect("number is created")
}

pub(crate) fn call(
    number: &str,
    contact: &str,
    started_at: OffsetDateTime,
    external_id: Option<&str>,
) -> NewCall {
    NewCall {
        number: phone(number),
        contact_phone: phone(contact),
        contact_phone_raw: contact.into(),
        contact_name: None,
        direction: Direction::Inbound,
        status: CallStatus::Answered,
        times: CallTimes::new(
            CallStatus::Answered,
            started_at,
            Some(started_at + Duration::seconds(5)),
            Some(started_at + Duration::seconds(65)),
            started_at + Duration::hours(1),
        )
        .expect("consistent times"),
        handled_by: None,
        source: "pbx".into(),
        external_id: external_id.map(Into::into),
    }
}

pub(crate) fn recording_for(call: callvault_core::CallId) -> NewRecording {
    let id = RecordingId::new();
    NewRecording {
        id,
        call_id: call,
        blob_key: format!("{id}.mp3"),
        duration_ms: 60_000,
        channels: 2,
        sample_rate: 8000,
        bytes: 1234,
        sha256: "00".repeat(32),
        peaks: Peaks::default(),
        source_ref: None,
    }
}

/// A job that needs nothing else to exist, due at `at`; `n` tells one from another.
pub(crate) fn plain_job(n: u32, at: OffsetDateTime) -> NewJob {
    JobSpec::CollectBlob {
        key: format!("object-{n}.mp3"),
    }
    .at(at)
}

/// Another kind of job, for checks that workers take only the kinds they ask for.
fn other_job(at: OffsetDateTime) -> NewJob {
    JobSpec::Transcribe {
        recording_id: RecordingId::new(),
    }
    .at(at)
}

const PLAIN: JobKind = JobKind::CollectBlob;

/// Search text as typed in the search box.
pub(crate) fn search(typed: &str) -> SearchText {
    SearchText::new(typed, Region::us())
}

pub(crate) fn inbox(scope: ContactScope) -> ConversationQuery {
    ConversationQuery {
        scope,
        text: None,
        channel: None,
        activity: ActivityFilter::default(),
        unread_by: None,
        after: None,
        limit: 50,
    }
}

pub async fn users_sessions_and_tokens(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::All).await;
    assert_eq!(s.count_users().await.ok(), Some(1));
    let again = s
        .create_user(
            NewUser {
                email: "ana@example.com".into(),
                name: "Other".into(),
                role: Role::Admin,
                scope: Scope::All,
                can_download: true,
                can_delete: true,
                extension: None,
                password_hash: None,
            },
            T0,
        )
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict(Conflict::EmailTaken))
    ));

    let (found, hash) = s
        .credentials("ana@example.com")
        .await
        .ok()
        .flatten()
        .expect("found");
    assert_eq!(found, ana);
    assert_eq!(hash.as_deref(), Some("hash"));

    s.create_session(NewSession {
        token_hash: "s1".into(),
        user_id: ana.id,
        created_at: T0,
        expires_at: T0 + Duration::hours(1),
    })
    .await
    .expect("session");
    assert_eq!(
        s.session_user("s1", T0).await.ok().flatten().map(|u| u.id),
        Some(ana.id)
    );
    assert!(
        s.session_user("s1", T0 + Duration::hours(2))
            .await
            .ok()
            .flatten()
            .is_none(),
        "expired"
    );

    // A new password ends every session.
    s.set_password(ana.id, "new-hash")
        .await
        .expect("password set");
    assert!(s.session_user("s1", T0).await.ok().flatten().is_none());

    let token = s
        .create_token(ana.id, "pbx", "t1", T0)
        .await
        .expect("token");
    assert_eq!(
        s.token_user("t1").await.ok().flatten().map(|u| u.id),
        Some(ana.id)
    );
    assert_eq!(s.tokens(ana.id).await.ok().map(|t| t.len()), Some(1));

    s.delete_token(ana.id, token.id).await.expect("deleted");
    assert!(matches!(
        s.delete_token(ana.id, token.id).await,
        Err(StoreError::NotFound)
    ));
    for (name, hash) in [("a", "t2"), ("b", "t3")] {
        s.create_token(ana.id, name, hash, T0).await.expect("token");
    }
    assert_eq!(s.delete_tokens(ana.id).await.ok(), Some(2));
    assert!(s.token_user("t2").await.ok().flatten().is_none());
    assert_eq!(s.delete_tokens(ana.id).await.ok(), Some(0));

    // Disabling a user revokes their tokens: enabling them again brings none back.
    s.create_token(ana.id, "pbx", "t4", T0)
        .await
        .expect("token");
    let disable = |disabled| UserPatch {
        disabled: Some(disabled),
        ..UserPatch::default()
    };
    let updated = s.update_user(ana.id, disable(true)).await.expect("updated");
    assert!(updated.disabled);
    assert!(s.token_user("t4").await.ok().flatten().is_none());
    s.update_user(ana.id, disable(false))
        .await
        .expect("enabled");
    assert!(s.token_user("t4").await.ok().flatten().is_none());
    assert_eq!(s.tokens(ana.id).await.ok().map(|t| t.len()), Some(0));
    assert!(matches!(
        s.update_user(UserId::new(), UserPatch::default()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn contacts_get_a_conversation_and_unique_phones(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    let contact = s
        .create_contact(
            NewContact {
                name: "Élodie Martin".into(),
                phone: phone("(415) 555-0100"),
                phone_raw: "(415) 555-0100".into(),
                email: Some("elodie@example.com".into()),
                assigned: vec![ana.id],
            },
            T0,
        )
        .await
        .expect("contact");
    assert_eq!(contact.phone.as_str(), "+14155550100");
    assert_eq!(contact.assigned_user_ids, vec![ana.id]);
    assert!(contact.conversation_id.is_some());

    let same_phone = s
        .create_contact(
            NewContact {
                name: "Dup".into(),
                phone: phone("+1 415 555 0100"),
                phone_raw: "x".into(),
                email: None,
                assigned: vec![],
            },
            T0,
        )
        .await;
    assert!(matches!(
        same_phone,
        Err(StoreError::Conflict(Conflict::PhoneTaken))
    ));

    let ghost = s
        .create_contact(
            NewContact {
                name: "Ghost".into(),
                phone: phone("+1 415 555 0199"),
                phone_raw: "x".into(),
                email: None,
                assigned: vec![UserId::new()],
            },
            T0,
        )
        .await;
    assert!(matches!(ghost, Err(StoreError::Missing(Missing::User))));
    assert!(
        s.contact_by_phone(&phone("+1 415 555 0199"))
            .await
            .ok()
            .flatten()
            .is_none(),
        "nothing half-made"
    );

    let patched = s
        .update_contact(
            contact.id,
            ContactPatch {
                name: Some("Élodie M.".into()),
                email: Some(None),
                assigned: Some(vec![]),
                ..ContactPatch::default()
            },
        )
        .await
        .expect("patched");
    assert_eq!(patched.name, "Élodie M.");
    assert_eq!(patched.email, None);
    assert!(patched.assigned_user_ids.is_empty());
    assert_eq!(patched.phone, contact.phone, "untouched fields stay");
}

pub async fn inbox_search_scope_channel_and_pages(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", false, T0).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let reported = s
            .report_call(
                call(
                    "+1 415 555 0000",
                    &format!("+1 415 555 01{i:02}"),
                    T0 + Duration::minutes(i),
                    None,
                ),
                T0 + Duration::hours(1),
            )
            .await
            .expect("call");
        ids.push(reported.record.call.conversation_id);
    }
    let named = s
        .create_contact(
            NewContact {
                name: "Zoë Álvarez".into(),
                phone: phone("+44 20 7946 0018"),
                phone_raw: "020 7946 0018".into(),
                email: None,
                assigned: vec![ana.id],
            },
            T0 + Duration::hours(2),
        )
        .await
        .expect("contact");

    // Newest activity first; the contact without calls sorts by its creation.
    let all = s
        .conversations(inbox(ContactScope::All))
        .await
        .expect("list");
    assert_eq!(all.items.len(), 8);
    assert_eq!(all.items[0].contact.id, named.id);
    assert_eq!(all.items[1].id, ids[6]);
    assert_eq!(all.items[7].id, ids[0]);

    // Pages of three walk the same order with no gaps or repeats.
    let mut walked: Vec<ConversationId> = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .conversations(ConversationQuery {
                limit: 3,
                after,
                ..inbox(ContactScope::All)
            })
            .await
            .expect("page");
        walked.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, all.items.iter().map(|c| c.id).collect::<Vec<_>>());

    let by_name = s
        .conversations(ConversationQuery {
            text: Some(search("zoë")),
            ..inbox(ContactScope::All)
        })
        .await
        .expect("by name");
    assert_eq!(
        by_name
            .items
            .iter()
            .map(|c| c.contact.id)
            .collect::<Vec<_>>(),
        vec![named.id]
    );

    let by_digits = s
        .conversations(ConversationQuery {
            text: Some(search("555-0103")),
            ..inbox(ContactScope::All)
        })
        .await
        .expect("by digits");
    assert_eq!(by_digits.items.len(), 1);
    assert_eq!(by_digits.items[0].contact.phone.as_str(), "+14155550103");

    let wildcard = s
        .conversations(ConversationQuery {
            text: Some(search("%")),
            ..inbox(ContactScope::All)
        })
        .await
        .expect("wildcard");
    assert!(
        wildcard.items.is_empty(),
        "wildcards in the query match nothing"
    );

    let calls_only = s
        .conversations(ConversationQuery {
            channel: Some(Channel::Call),
            ..inbox(ContactScope::All)
        })
        .await
        .expect("calls");
    assert_eq!(calls_only.items.len(), 7);
    assert!(
        calls_only
            .items
            .iter()
            .all(|c| c.last_message_channel == Some(Channel::Call))
    );

    let scoped = s
        .conversations(inbox(ContactScope::AssignedTo(ana.id)))
        .await
        .expect("scoped");
    assert_eq!(
        scoped
            .items
            .iter()
            .map(|c| c.contact.id)
            .collect::<Vec<_>>(),
        vec![named.id]
    );
}

pub async fn recording_permission_is_frozen_at_the_start_of_the_call(s: &dyn Store) {
    let n = number(s, "+1 415 555 0000", false, T0).await;
    let now = T0 + Duration::hours(3);

    let before = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 + Duration::minutes(10),
                Some("a"),
            ),
            now,
        )
        .await
        .expect("call");
    assert!(!before.record.call.recording_allowed);

    s.update_number(
        n.id,
        NumberPatch {
            call_recording: Some(true),
            ..NumberPatch::default()
        },
        T0 + Duration::hours(1),
    )
    .await
    .expect("turned on");
    assert_eq!(
        s.recording_history(n.id).await.ok().map(|h| h.len()),
        Some(2)
    );

    // Turning recording on later changes nothing for the earlier call...
    let reread = s
        .call(before.record.call.id)
        .await
        .ok()
        .flatten()
        .expect("call");
    assert!(!reread.call.recording_allowed);
    let upload = s
        .add_recording(recording_for(before.record.call.id), false, None, now)
        .await;
    assert!(matches!(
        upload,
        Err(StoreError::Conflict(Conflict::RecordingDisabled))
    ));
    // ...even when the phone system reports it only now.
    let late_report = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0102",
                T0 + Duration::minutes(30),
                Some("b"),
            ),
            now,
        )
        .await
        .expect("call");
    assert!(!late_report.record.call.recording_allowed);

    let after = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 + Duration::hours(2),
                Some("c"),
            ),
            now,
        )
        .await
        .expect("call");
    assert!(after.record.call.recording_allowed);
    assert_eq!(
        after.record.call.conversation_id, before.record.call.conversation_id,
        "same contact, same conversation"
    );

    // A call from before the number was configured here is never recorded.
    let before_setup = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0103",
                T0 - Duration::days(30),
                Some("d"),
            ),
            now,
        )
        .await
        .expect("call");
    assert!(!before_setup.record.call.recording_allowed);

    // Saving the same value again adds no history.
    s.update_number(
        n.id,
        NumberPatch {
            call_recording: Some(true),
            ..NumberPatch::default()
        },
        now,
    )
    .await
    .expect("same");
    assert_eq!(
        s.recording_history(n.id).await.ok().map(|h| h.len()),
        Some(2)
    );
}

pub async fn repeated_reports_are_idempotent_and_unknown_numbers_refused(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", true, T0).await;
    let mut first = call(
        "+1 415 555 0000",
        "+1 415 555 0101",
        T0 + Duration::minutes(1),
        Some("uniq-1"),
    );
    first.handled_by = Some(ana.id);
    first.contact_name = Some("Bruno".into());
    let a = s
        .report_call(first.clone(), T0 + Duration::hours(1))
        .await
        .expect("first");
    let b = s
        .report_call(first, T0 + Duration::hours(1))
        .await
        .expect("repeat");
    assert!(a.created);
    assert!(!b.created);
    assert_eq!(a.record.call.id, b.record.call.id);
    assert_eq!(a.record.handled_by.as_ref().map(|u| u.id), Some(ana.id));
    // The new contact is assigned to who handled the call, so they can see it.
    assert_eq!(
        a.record.access.assigned,
        vec![ana.id],
        "the handler may see the caller"
    );
    let contact = s
        .contact(a.record.call.contact_id)
        .await
        .ok()
        .flatten()
        .expect("contact");
    assert_eq!(contact.name, "Bruno");
    let conv = s
        .conversation(a.record.call.conversation_id)
        .await
        .ok()
        .flatten()
        .expect("conversation");
    assert_eq!(conv.events.len(), 1);
    assert_eq!(conv.last_message_channel, Some(Channel::Call));
    assert_eq!(conv.last_message_at, Some(T0 + Duration::minutes(1)));

    let unknown = s
        .report_call(call("+1 415 555 0009", "+1 415 555 0101", T0, None), T0)
        .await;
    assert!(matches!(unknown, Err(StoreError::Missing(Missing::Number))));
    let mut ghost = call("+1 415 555 0000", "+1 415 555 0177", T0, None);
    ghost.handled_by = Some(UserId::new());
    assert!(matches!(
        s.report_call(ghost, T0).await,
        Err(StoreError::Missing(Missing::User))
    ));
    assert!(
        s.contact_by_phone(&phone("+1 415 555 0177"))
            .await
            .ok()
            .flatten()
            .is_none(),
        "nothing half-made"
    );
}

pub async fn timeline_keeps_order_when_reports_arrive_late(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let now = T0 + Duration::hours(5);
    let late = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 + Duration::hours(2),
                None,
            ),
            now,
        )
        .await
        .expect("call");
    s.report_call(
        call(
            "+1 415 555 0000",
            "+1 415 555 0101",
            T0 + Duration::hours(1),
            None,
        ),
        now,
    )
    .await
    .expect("call");
    let conv = s
        .conversation(late.record.call.conversation_id)
        .await
        .ok()
        .flatten()
        .expect("conversation");
    let starts: Vec<_> = conv.events.iter().map(|e| e.occurred_at).collect();
    assert_eq!(
        starts,
        vec![T0 + Duration::hours(1), T0 + Duration::hours(2)],
        "oldest first"
    );
    assert_eq!(
        conv.last_message_at,
        Some(T0 + Duration::hours(2)),
        "an older report does not move the inbox"
    );
}

pub async fn recordings_replace_and_guard_jobs(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let c = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0101", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;

    let first = recording_for(c.id);
    let guard = s
        .enqueue(
            JobSpec::CollectBlob {
                key: first.blob_key.clone(),
            }
            .at(T0 + Duration::hours(1)),
            T0,
        )
        .await
        .expect("guard");
    let (rec, deleted) = s
        .add_recording(first.clone(), false, Some(guard), T0)
        .await
        .expect("stored");
    assert!(deleted.cleanup_jobs.is_empty());
    assert!(
        s.job(guard).await.ok().flatten().is_none(),
        "the guard goes with the commit"
    );
    assert!(s.blob_in_use(&first.blob_key).await.unwrap_or(false));

    let got = s.recording(rec.id).await.ok().flatten().expect("recording");
    assert_eq!(got.recording, rec);
    assert_eq!(got.conversation_id, c.conversation_id);
    assert_eq!(got.access.contact_id, c.contact_id);
    let media = s
        .recording_media(rec.id)
        .await
        .ok()
        .flatten()
        .expect("the recording's media");
    assert_eq!(
        media,
        RecordingMedia {
            id: rec.id,
            blob_key: rec.blob_key.clone(),
            redaction_pending: false,
            bytes: rec.bytes,
            sha256: rec.sha256.clone(),
            conversation_id: got.conversation_id,
            contact_name: got.contact_name.clone(),
            call_started_at: got.call_started_at,
            access: got.access.clone(),
        }
    );

    let again = s.add_recording(recording_for(c.id), false, None, T0).await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict(Conflict::RecordingExists))
    ));

    let (replacement, deleted) = s
        .add_recording(recording_for(c.id), true, None, T0)
        .await
        .expect("replaced");
    assert_eq!(deleted.cleanup_jobs.len(), 1);
    let cleanup = s
        .job(deleted.cleanup_jobs[0])
        .await
        .ok()
        .flatten()
        .expect("cleanup job");
    assert_eq!(
        cleanup.spec,
        JobSpec::CollectBlob {
            key: first.blob_key.clone()
        }
    );
    assert!(!s.blob_in_use(&first.blob_key).await.unwrap_or(true));
    assert!(s.recording(rec.id).await.ok().flatten().is_none());
    assert!(s.recording_media(rec.id).await.ok().flatten().is_none());
    assert_eq!(
        s.call(c.id)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.recording)
            .map(|r| r.id),
        Some(replacement.id)
    );
}

pub async fn deleting_a_conversation_takes_everything_and_queues_the_audio(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let c1 = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0101", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let c2 = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 + Duration::minutes(5),
                None,
            ),
            T0,
        )
        .await
        .expect("call")
        .record
        .call;
    let r1 = recording_for(c1.id);
    let r2 = recording_for(c2.id);
    s.add_recording(r1.clone(), false, None, T0)
        .await
        .expect("r1");
    s.add_recording(r2.clone(), false, None, T0)
        .await
        .expect("r2");

    let deleted = s
        .delete_conversation(c1.conversation_id, T0)
        .await
        .expect("deleted");
    assert_eq!(deleted.cleanup_jobs.len(), 2);
    let mut keys = Vec::new();
    for id in &deleted.cleanup_jobs {
        let job = s.job(*id).await.ok().flatten().expect("job");
        match job.spec {
            JobSpec::CollectBlob { key } => keys.push(key),
            other => panic!("expected an audio cleanup, got {other:?}"),
        }
    }
    keys.sort();
    let mut expected = vec![r1.blob_key.clone(), r2.blob_key.clone()];
    expected.sort();
    assert_eq!(keys, expected);

    assert!(
        s.conversation(c1.conversation_id)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    assert!(s.call(c1.id).await.ok().flatten().is_none());
    assert!(s.recording(r2.id).await.ok().flatten().is_none());
    assert!(!s.blob_in_use(&r1.blob_key).await.unwrap_or(true));
    assert!(matches!(
        s.delete_conversation(c1.conversation_id, T0).await,
        Err(StoreError::NotFound)
    ));

    // The contact stays; its next call opens a new conversation.
    assert!(
        s.conversation_access(c1.conversation_id)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let contact = s
        .contact(c1.contact_id)
        .await
        .ok()
        .flatten()
        .expect("contact stays");
    assert_eq!(contact.conversation_id, None);
    let c3 = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 + Duration::minutes(9),
                None,
            ),
            T0,
        )
        .await
        .expect("call")
        .record
        .call;
    assert_ne!(c3.conversation_id, c1.conversation_id);

    // Deleting the contact takes its conversation along.
    let gone = s
        .delete_contact(c3.contact_id, T0)
        .await
        .expect("contact deleted");
    assert!(gone.cleanup_jobs.is_empty());
    assert!(
        s.conversation(c3.conversation_id)
            .await
            .ok()
            .flatten()
            .is_none()
    );
}

pub async fn a_job_handed_back_at_shutdown_keeps_its_attempts(s: &dyn Store) {
    let lease = Duration::minutes(5);
    let id = s.enqueue(plain_job(1, T0), T0).await.expect("enqueued");
    s.claim_next(&[PLAIN], "w1", T0, lease)
        .await
        .ok()
        .flatten()
        .expect("claimed");
    assert!(
        matches!(s.release(id, "w2", T0).await, Err(StoreError::NotFound)),
        "only the worker holding it hands it back"
    );
    let later = T0 + Duration::minutes(1);
    s.release(id, "w1", later).await.expect("handed back");
    let queued = s.job(id).await.ok().flatten().expect("kept");
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.attempts, 0, "the stopped attempt does not count");
    let again = s
        .claim_next(&[PLAIN], "w2", later, lease)
        .await
        .ok()
        .flatten()
        .expect("its attempts are all still there");
    assert_eq!((again.id, again.attempts), (id, 1));
}

/// Claims `id` at `at` as `worker`, expecting that very job.
async fn claim_expecting(
    s: &dyn Store,
    id: callvault_core::JobId,
    worker: &str,
    at: OffsetDateTime,
) -> Job {
    let job = s
        .claim_next(&[PLAIN], worker, at, Duration::minutes(5))
        .await
        .ok()
        .flatten()
        .expect("a job is due");
    assert_eq!(job.id, id);
    job
}

pub async fn jobs_are_leased_retried_and_buried(s: &dyn Store) {
    let lease = Duration::minutes(5);
    let later = s
        .enqueue(plain_job(2, T0 + Duration::minutes(10)), T0)
        .await
        .expect("enqueued");
    let now_job = s.enqueue(plain_job(1, T0), T0).await.expect("enqueued");
    s.enqueue(other_job(T0), T0).await.expect("enqueued");
    assert_eq!(s.pending_jobs(PLAIN).await.ok(), Some(2));
    assert_eq!(s.next_due(&[PLAIN]).await.ok().flatten(), Some(T0));

    let claimed = claim_expecting(s, now_job, "w1", T0).await;
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.max_attempts, PLAIN.max_attempts());
    assert_eq!(
        claimed.spec,
        JobSpec::CollectBlob {
            key: "object-1.mp3".into()
        }
    );
    assert!(
        s.claim_next(&[PLAIN], "w2", T0, lease)
            .await
            .ok()
            .flatten()
            .is_none(),
        "the other is not due, and the third is of a kind not asked for"
    );
    assert!(
        s.claim(now_job, "w2", T0, lease)
            .await
            .ok()
            .flatten()
            .is_none(),
        "leased to w1"
    );

    // w1 dies; after the lease the job is free again.
    let mut at = T0 + Duration::minutes(6);
    let reclaimed = claim_expecting(s, now_job, "w2", at).await;
    assert_eq!(reclaimed.attempts, 2);
    s.heartbeat(now_job, "w2", at + Duration::minutes(20))
        .await
        .expect("heartbeat");
    assert!(
        s.heartbeat(now_job, "w1", at + Duration::minutes(20))
            .await
            .is_err(),
        "w1 lost it"
    );
    assert!(
        matches!(
            s.fail(now_job, "w1", "late", Some(at), at).await,
            Err(StoreError::NotFound)
        ),
        "w1 no longer holds the job, so its outcome is not recorded"
    );

    // Each failure is retried when asked, until no attempts are left: then it is kept as dead
    // with the error.
    let mut attempts = reclaimed.attempts;
    loop {
        let retry = at + Duration::seconds(1);
        s.fail(now_job, "w2", &format!("boom {attempts}"), Some(retry), at)
            .await
            .expect("failed");
        if attempts == PLAIN.max_attempts() {
            break;
        }
        assert_eq!(
            s.job(now_job).await.ok().flatten().map(|j| j.state),
            Some(JobState::Queued)
        );
        at = retry;
        attempts = claim_expecting(s, now_job, "w2", at).await.attempts;
    }
    let dead = s.job(now_job).await.ok().flatten().expect("kept");
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some(format!("boom {}", PLAIN.max_attempts()).as_str())
    );
    assert!(
        s.claim_next(&[PLAIN], "w3", T0 + Duration::minutes(9), lease)
            .await
            .ok()
            .flatten()
            .is_none()
    );

    let second = claim_expecting(s, later, "w3", T0 + Duration::minutes(10)).await;
    assert_eq!(second.attempts, 1);
    s.fail(
        later,
        "w3",
        "try again",
        Some(T0 + Duration::minutes(11)),
        T0 + Duration::minutes(10),
    )
    .await
    .expect("retry");
    let third = claim_expecting(s, later, "w3", T0 + Duration::minutes(11)).await;
    assert!(matches!(
        s.complete(third.id, "w1").await,
        Err(StoreError::NotFound)
    ));
    s.complete(third.id, "w3").await.expect("done");
    assert!(s.job(later).await.ok().flatten().is_none());
    assert_eq!(s.pending_jobs(PLAIN).await.ok(), Some(0));

    // A permanent failure (no retry time) buries the job at once.
    let doomed = s.enqueue(plain_job(3, T0), T0).await.expect("enqueued");
    claim_expecting(s, doomed, "w3", T0 + Duration::minutes(12)).await;
    s.fail(
        doomed,
        "w3",
        "cannot be done",
        None,
        T0 + Duration::minutes(12),
    )
    .await
    .expect("failed");
    assert_eq!(
        s.job(doomed).await.ok().flatten().map(|j| j.state),
        Some(JobState::Dead)
    );
}

pub async fn audit_log_is_newest_first(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::All).await;
    let ben = user(s, "ben@example.com", Scope::All).await;
    let contact = callvault_core::ContactId::new();
    // Five entries a minute apart: who, what and which contact vary.
    let entries = [
        (ana.id, AuditAction::NumberUpdate, None),
        (ana.id, AuditAction::Play, Some(contact)),
        (ben.id, AuditAction::Play, Some(contact)),
        (ben.id, AuditAction::Download, None),
        (ana.id, AuditAction::Delete, Some(contact)),
    ];
    for (i, (actor, action, about)) in entries.iter().enumerate() {
        s.audit(NewAudit {
            at: T0 + Duration::minutes(i64::try_from(i).unwrap_or(0)),
            actor: Some(*actor),
            action: *action,
            target_kind: "x".into(),
            target_id: None,
            contact: *about,
            detail: serde_json::json!({"i": i}),
        })
        .await
        .expect("audited");
    }
    let all = AuditFilter::default();
    let log = s.audit_page(&all, None, 10).await.expect("log");
    assert_eq!(
        log.items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["delete", "download", "play", "play", "number.update"]
    );
    assert_eq!(
        log.items[0].actor.as_ref().map(|a| a.name.as_str()),
        Some("ana")
    );
    assert_eq!(log.items[0].contact_id, Some(contact));
    assert!(log.next.is_none());

    // Pages of two, each starting where the last ended.
    let first = s.audit_page(&all, None, 2).await.expect("page");
    let second = s.audit_page(&all, first.next, 2).await.expect("page");
    let third = s.audit_page(&all, second.next, 2).await.expect("page");
    let walked: Vec<_> = [first.items, second.items, third.items.clone()]
        .concat()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(walked, log.items.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(third.next.is_none());

    // Filters, alone and together.
    let count = |filter: AuditFilter| async move {
        s.audit_page(&filter, None, 100)
            .await
            .expect("page")
            .items
            .len()
    };
    assert_eq!(
        count(AuditFilter {
            actor: Some(ana.id),
            ..AuditFilter::default()
        })
        .await,
        3
    );
    assert_eq!(
        count(AuditFilter {
            action: Some(AuditAction::Play),
            ..AuditFilter::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(AuditFilter {
            contact: Some(contact),
            ..AuditFilter::default()
        })
        .await,
        3
    );
    assert_eq!(
        count(AuditFilter {
            actor: Some(ben.id),
            contact: Some(contact),
            ..AuditFilter::default()
        })
        .await,
        1
    );
    let window = AuditFilter {
        since: Some(T0 + Duration::minutes(1)),
        until: Some(T0 + Duration::minutes(3)),
        ..AuditFilter::default()
    };
    assert_eq!(count(window).await, 2, "from since, before until");

    // The log's own retention removes what is older, and only that.
    assert_eq!(s.audit_retention_days().await.expect("read"), None);
    s.set_audit_retention_days(Some(400), T0)
        .await
        .expect("set");
    assert_eq!(s.audit_retention_days().await.expect("read"), Some(400));
    assert_eq!(
        s.prune_audit(T0 + Duration::minutes(2))
            .await
            .expect("pruned"),
        2
    );
    assert_eq!(count(AuditFilter::default()).await, 3);
}

pub async fn an_expired_lease_with_no_attempts_left_is_buried(s: &dyn Store) {
    let lease = Duration::minutes(5);
    let id = s.enqueue(plain_job(1, T0), T0).await.expect("enqueued");
    // Its worker dies mid-job every time, and every time the lease runs out.
    let mut at = T0;
    for attempt in 1..=PLAIN.max_attempts() {
        let job = claim_expecting(s, id, &format!("w{attempt}"), at).await;
        assert_eq!(job.attempts, attempt);
        at += lease + Duration::minutes(1);
    }
    // Then the job is not handed out again.
    assert!(
        s.claim_next(&[PLAIN], "wx", at, lease)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    assert!(s.claim(id, "wx", at, lease).await.ok().flatten().is_none());
    let dead = s.job(id).await.ok().flatten().expect("kept");
    assert_eq!(dead.state, JobState::Dead);
    assert!(
        dead.last_error
            .unwrap_or_default()
            .contains("stopped while running")
    );

    // A transcription whose worker keeps dying is buried the same way, and says it failed
    // instead of staying queued.
    number(s, "+1 415 555 0000", true, T0).await;
    let call_record = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0101", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let recording = recording_for(call_record.id);
    s.add_recording(recording.clone(), false, None, T0)
        .await
        .expect("recording");
    let transcription = s
        .request_transcript(recording.id, T0)
        .await
        .expect("asked")
        .job
        .expect("a job");
    let mut at = T0;
    for attempt in 1..=JobKind::Transcribe.max_attempts() {
        s.claim(transcription, &format!("t{attempt}"), at, lease)
            .await
            .ok()
            .flatten()
            .expect("due again once its lease ran out");
        at += lease + Duration::minutes(1);
    }
    assert!(
        s.claim_next(&[JobKind::Transcribe], "tx", at, lease)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let transcript = s
        .transcript(recording.id)
        .await
        .ok()
        .flatten()
        .expect("kept");
    assert_eq!(transcript.status, TranscriptStatus::Failed);
    assert!(
        transcript
            .error
            .unwrap_or_default()
            .contains("stopped with its worker")
    );

    let queued = s
        .enqueue(plain_job(2, T0 + Duration::hours(1)), T0)
        .await
        .expect("enqueued");
    s.cancel(queued)
        .await
        .expect("a job nobody started can be cancelled");
    assert!(s.job(queued).await.ok().flatten().is_none());
}

pub async fn the_last_active_admin_cannot_be_demoted_or_disabled(s: &dyn Store) {
    let admin = s
        .create_user(
            NewUser {
                email: "root@example.com".into(),
                name: "Root".into(),
                role: Role::Admin,
                scope: Scope::All,
                can_download: true,
                can_delete: true,
                extension: None,
                password_hash: None,
            },
            T0,
        )
        .await
        .expect("admin");
    let demote = s
        .update_user(
            admin.id,
            UserPatch {
                role: Some(Role::User),
                name: Some("X".into()),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(matches!(
        demote,
        Err(StoreError::Conflict(Conflict::LastAdmin))
    ));
    let disable = s
        .update_user(
            admin.id,
            UserPatch {
                disabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(matches!(
        disable,
        Err(StoreError::Conflict(Conflict::LastAdmin))
    ));
    let unchanged = s.user(admin.id).await.ok().flatten().expect("admin");
    assert_eq!(
        (unchanged.role, unchanged.disabled, unchanged.name.as_str()),
        (Role::Admin, false, "Root"),
        "nothing half-applied"
    );

    let ana = user(s, "ana@example.com", Scope::All).await;
    s.update_user(
        ana.id,
        UserPatch {
            role: Some(Role::Admin),
            ..UserPatch::default()
        },
    )
    .await
    .expect("promoted");
    s.update_user(
        admin.id,
        UserPatch {
            role: Some(Role::User),
            password_hash: Some("h2".into()),
            ..UserPatch::default()
        },
    )
    .await
    .expect("another admin exists now");
    let (_, hash) = s
        .credentials("root@example.com")
        .await
        .ok()
        .flatten()
        .expect("found");
    assert_eq!(hash.as_deref(), Some("h2"));
}

pub async fn whoever_handles_a_call_may_see_the_contact(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    let bob = user(s, "bob@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", true, T0).await;
    let mut first = call(
        "+1 415 555 0000",
        "+1 415 555 0101",
        T0 + Duration::minutes(1),
        None,
    );
    first.handled_by = Some(ana.id);
    let a = s
        .report_call(first, T0 + Duration::hours(1))
        .await
        .expect("call");
    let mut second = call(
        "+1 415 555 0000",
        "+1 415 555 0101",
        T0 + Duration::minutes(5),
        None,
    );
    second.handled_by = Some(bob.id);
    let b = s
        .report_call(second, T0 + Duration::hours(1))
        .await
        .expect("call");
    let mut both = vec![ana.id, bob.id];
    both.sort();
    assert_eq!(b.record.access.assigned, both);
    let access = s
        .conversation_access(a.record.call.conversation_id)
        .await
        .ok()
        .flatten()
        .expect("access");
    assert_eq!(access.assigned, both);
    assert_eq!(access.contact_id, a.record.call.contact_id);
}

pub async fn contacts_list_by_name_with_scope_and_pages(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    for (i, name) in ["delta", "Alpha", "charlie", "Bravo", "echo"]
        .iter()
        .enumerate()
    {
        s.create_contact(
            NewContact {
                name: (*name).into(),
                phone: phone(&format!("+1 415 555 02{i:02}")),
                phone_raw: "x".into(),
                email: None,
                assigned: if i % 2 == 0 { vec![ana.id] } else { vec![] },
            },
            T0,
        )
        .await
        .expect("contact");
    }
    let query = |after, scope| ContactQuery {
        scope,
        text: None,
        after,
        limit: 2,
    };
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .contacts(query(after, ContactScope::All))
            .await
            .expect("page");
        names.extend(page.items.iter().map(|c| c.name.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(names, vec!["Alpha", "Bravo", "charlie", "delta", "echo"]);
    let mine = s
        .contacts(ContactQuery {
            limit: 50,
            ..query(None, ContactScope::AssignedTo(ana.id))
        })
        .await
        .expect("mine");
    assert_eq!(
        mine.items
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["charlie", "delta", "echo"]
    );
    let by_digits = s
        .contacts(ContactQuery {
            text: Some(search("555 0203")),
            limit: 50,
            ..query(None, ContactScope::All)
        })
        .await
        .expect("digits");
    assert_eq!(
        by_digits
            .items
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Bravo"]
    );
}

pub async fn a_new_number_may_say_since_when_its_phone_system_recorded(s: &dyn Store) {
    s.create_number(
        NewNumber {
            e164: phone("+1 415 555 0000"),
            label: "Imported PBX line".into(),
            provider: Provider::Pbx,
            call_recording: true,
            consent_announcement: None,
            forward_to: vec![],
            transcribe_automatically: false,
            redact_sensitive: false,
            recording_since: Some(T0 - Duration::days(365)),
        },
        T0,
    )
    .await
    .expect("number");
    let old = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 - Duration::days(30),
                None,
            ),
            T0,
        )
        .await
        .expect("call");
    assert!(
        old.record.call.recording_allowed,
        "recorded since a year ago"
    );
    let older = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0101",
                T0 - Duration::days(400),
                None,
            ),
            T0,
        )
        .await
        .expect("call");
    assert!(!older.record.call.recording_allowed, "but not before that");
}

pub async fn provider_updates_move_a_call_forward_only(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", true, T0).await;
    let mut ringing = call("+1 415 555 0000", "+1 415 555 0101", T0, Some("CA1"));
    ringing.status = CallStatus::Ringing;
    ringing.times = CallTimes::new(CallStatus::Ringing, T0, None, None, T0).expect("times");
    let id = s
        .report_call(ringing, T0)
        .await
        .expect("call")
        .record
        .call
        .id;
    assert_eq!(
        s.call_by_external_id("pbx", "CA1")
            .await
            .ok()
            .flatten()
            .map(|r| r.call.id),
        Some(id)
    );

    let answered = s
        .update_call(
            id,
            CallUpdate {
                status: Some(CallStatus::Answered),
                answered_at: Some(T0 + Duration::seconds(5)),
                handled_by: Some(ana.id),
                ..CallUpdate::default()
            },
        )
        .await
        .expect("answered");
    assert_eq!(answered.call.status, CallStatus::Answered);
    assert_eq!(answered.handled_by.map(|u| u.id), Some(ana.id));
    assert_eq!(
        answered.access.assigned,
        vec![ana.id],
        "the handler sees the caller"
    );

    let later = s
        .update_call(
            id,
            CallUpdate {
                status: Some(CallStatus::Ringing),
                answered_at: Some(T0 + Duration::seconds(9)),
                ended_at: Some(T0 + Duration::seconds(65)),
                recording_note: Some("no audio".into()),
                ..CallUpdate::default()
            },
        )
        .await
        .expect("ended");
    assert_eq!(
        later.call.status,
        CallStatus::Answered,
        "never back to ringing"
    );
    assert_eq!(
        later.call.times.answered_at,
        Some(T0 + Duration::seconds(5)),
        "the first answer time stays"
    );
    assert_eq!(later.call.times.talk_seconds(), 60);
    assert_eq!(later.call.recording_note.as_deref(), Some("no audio"));

    // A transfer hands the call to someone else; a late report of the first handler does
    // not take it back.
    let ben = user(s, "ben@example.com", Scope::Assigned).await;
    let handed = s
        .update_call(
            id,
            CallUpdate {
                handed_to: Some(ben.id),
                ..CallUpdate::default()
            },
        )
        .await
        .expect("handed over");
    assert_eq!(handed.handled_by.map(|u| u.id), Some(ben.id));
    assert!(
        handed.access.assigned.contains(&ben.id),
        "the new handler sees the caller"
    );
    let repeated = s
        .update_call(
            id,
            CallUpdate {
                handled_by: Some(ana.id),
                ..CallUpdate::default()
            },
        )
        .await
        .expect("repeated");
    assert_eq!(repeated.handled_by.map(|u| u.id), Some(ben.id));
    assert!(matches!(
        s.update_call(callvault_core::CallId::new(), CallUpdate::default())
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn text_messages_land_in_the_timeline_once(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let sms = NewSms {
        number: phone("+1 415 555 0000"),
        contact_phone: phone("+1 415 555 0155"),
        contact_phone_raw: "+14155550155".into(),
        direction: Direction::Inbound,
        body: "Can you call me back?".into(),
        external_id: "SM1".into(),
        at: T0 + Duration::minutes(3),
    };
    assert_eq!(s.record_sms(sms.clone(), T0).await.ok(), Some(true));
    assert_eq!(
        s.record_sms(sms.clone(), T0).await.ok(),
        Some(false),
        "a repeated callback adds nothing"
    );
    let contact = s
        .contact_by_phone(&phone("+1 415 555 0155"))
        .await
        .ok()
        .flatten()
        .expect("contact made");
    let conversation = s
        .conversation(contact.conversation_id.expect("conversation"))
        .await
        .ok()
        .flatten()
        .expect("conversation");
    assert_eq!(conversation.events.len(), 1);
    assert_eq!(conversation.last_message_channel, Some(Channel::Sms));
    assert!(
        matches!(&conversation.events[0].kind, EventKind::Sms { body, .. } if body == "Can you call me back?")
    );
    let elsewhere = NewSms {
        number: phone("+1 212 555 0100"),
        external_id: "SM2".into(),
        ..sms
    };
    assert!(matches!(
        s.record_sms(elsewhere, T0).await,
        Err(StoreError::Missing(Missing::Number))
    ));
}

/// A long history is read a page at a time, newest first, each page oldest first within it;
/// events at the same moment are told apart by id, so no page repeats or skips one.
pub async fn a_long_timeline_is_read_a_page_at_a_time(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let now = T0 + Duration::hours(2);
    // Three calls (two recorded) and five texts, three of them in the same minute.
    let mut calls = Vec::new();
    for (i, minute) in [1_i64, 4, 9].into_iter().enumerate() {
        let reported = s
            .report_call(
                call(
                    "+1 415 555 0000",
                    "+1 415 555 0177",
                    T0 + Duration::minutes(minute),
                    Some(&format!("call-{i}")),
                ),
                now,
            )
            .await
            .expect("call");
        calls.push(reported.record.call.id);
    }
    for id in &calls[..2] {
        s.add_recording(recording_for(*id), false, None, now)
            .await
            .expect("recording");
    }
    for (i, minute) in [2_i64, 5, 5, 5, 8].into_iter().enumerate() {
        let sms = NewSms {
            number: phone("+1 415 555 0000"),
            contact_phone: phone("+1 415 555 0177"),
            contact_phone_raw: "+14155550177".into(),
            direction: Direction::Inbound,
            body: format!("text {i}"),
            external_id: format!("SM-page-{i}"),
            at: T0 + Duration::minutes(minute),
        };
        assert_eq!(s.record_sms(sms, now).await.ok(), Some(true));
    }
    let id = s
        .contact_by_phone(&phone("+1 415 555 0177"))
        .await
        .ok()
        .flatten()
        .and_then(|c| c.conversation_id)
        .expect("conversation");
    let whole = s
        .conversation(id)
        .await
        .ok()
        .flatten()
        .expect("conversation");
    assert_eq!(whole.events.len(), 8);
    assert_eq!(whole.earlier, None);
    assert_eq!((whole.call_count, whole.recording_count), (3, 2));
    let order: Vec<_> = whole.events.iter().map(|e| (e.occurred_at, e.id)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "oldest first");

    // Pages of three from the newest: 8 = 3 + 3 + 2, the whole timeline once, in order.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .conversation_window(id, TimelineWindow::Newest { before, limit: 3 })
            .await
            .ok()
            .flatten()
            .expect("a page");
        assert_eq!(
            (page.call_count, page.recording_count),
            (3, 2),
            "counts are whole"
        );
        pages.push(
            page.events
                .iter()
                .map(|e| (e.occurred_at, e.id))
                .collect::<Vec<_>>(),
        );
        match page.earlier {
            Some(cursor) => {
                assert_eq!(
                    Some((cursor.occurred_at, cursor.id)),
                    pages.last().and_then(|p| p.first().copied()),
                    "earlier starts before this page's oldest"
                );
                before = Some(cursor);
            }
            None => break,
        }
        assert!(pages.len() < 5, "the pages end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 2]
    );
    let joined: Vec<_> = pages.into_iter().rev().flatten().collect();
    assert_eq!(joined, order);

    // A page's calls come with their records.
    let newest = s
        .conversation_window(
            id,
            TimelineWindow::Newest {
                before: None,
                limit: 1,
            },
        )
        .await
        .ok()
        .flatten()
        .expect("a page");
    assert!(
        matches!(&newest.events[0].kind, EventKind::Call(record) if record.call.id == calls[2])
    );
    let none = s
        .conversation_window(
            ConversationId::new(),
            TimelineWindow::Newest {
                before: None,
                limit: 3,
            },
        )
        .await;
    assert!(matches!(none, Ok(None)));

    // The inbox row carries the newest event, whatever came before it: here the last call,
    // then a note added after it.
    let row = |page: ConversationPage| {
        page.items
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.last_event)
            .expect("the row's last event")
    };
    let last = row(s
        .conversations(inbox(ContactScope::All))
        .await
        .expect("list"));
    assert!(matches!(&last.kind, EventKind::Call(record) if record.call.id == calls[2]));
    let author = user(s, "noter@example.com", Scope::All).await;
    s.add_note(id, author.id, "Promised a call back", now)
        .await
        .expect("note");
    let last = row(s
        .conversations(inbox(ContactScope::All))
        .await
        .expect("list"));
    assert!(
        matches!(&last.kind, EventKind::Note { body, author: Some(a) } if body == "Promised a call back" && a.name == author.name)
    );
}

/// Read marks are per user; a later mark wins, an earlier one changes nothing, and marking a
/// conversation that is gone adds nothing.
pub async fn each_user_marks_conversations_read(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let ana = user(s, "ana@example.com", Scope::All).await;
    let bo = user(s, "bo@example.com", Scope::All).await;
    let reported = s
        .report_call(
            call("+1 415 555 0000", "+1 415 555 0188", T0, None),
            T0 + Duration::hours(1),
        )
        .await
        .expect("call");
    let id = reported.record.call.conversation_id;
    assert!(s.read_marks(ana.id, &[id]).await.expect("marks").is_empty());
    s.mark_read(ana.id, id, T0 + Duration::minutes(10))
        .await
        .expect("marked");
    s.mark_read(ana.id, id, T0 + Duration::minutes(5))
        .await
        .expect("an earlier mark");
    let marks = s.read_marks(ana.id, &[id]).await.expect("marks");
    assert_eq!(
        marks.get(&id),
        Some(&(T0 + Duration::minutes(10))),
        "the later mark stays"
    );
    assert!(
        s.read_marks(bo.id, &[id]).await.expect("marks").is_empty(),
        "per user"
    );
    s.mark_read(ana.id, ConversationId::new(), T0)
        .await
        .expect("a conversation that is gone is ignored");
    s.delete_conversation(id, T0 + Duration::hours(2))
        .await
        .expect("deleted");
    assert!(
        s.read_marks(ana.id, &[id]).await.expect("marks").is_empty(),
        "gone with it"
    );
}

/// Quick Filters on what happened: a call's direction, how it went, who took it, on which
/// number, when; and what a user has not seen.
pub async fn the_inbox_filters_by_what_happened(s: &dyn Store) {
    let a = number(s, "+1 415 555 0000", false, T0).await;
    let b = number(s, "+1 415 555 0001", false, T0).await;
    let ana = user(s, "ana@example.com", Scope::All).await;
    let now = T0 + Duration::days(3);
    let report = |number: &str, contact: &str, at: OffsetDateTime, direction, status| {
        let mut new = call(number, contact, at, None);
        new.direction = direction;
        new.status = status;
        if status != CallStatus::Answered {
            new.times = CallTimes::new(status, at, None, Some(at + Duration::seconds(20)), now)
                .expect("times");
        }
        new
    };
    let mut answered = report(
        "+1 415 555 0000",
        "+1 415 555 0301",
        T0 + Duration::minutes(1),
        Direction::Inbound,
        CallStatus::Answered,
    );
    answered.handled_by = Some(ana.id);
    let answered = s
        .report_call(answered, now)
        .await
        .expect("call")
        .record
        .call;
    let missed = s
        .report_call(
            report(
                "+1 415 555 0001",
                "+1 415 555 0302",
                T0 + Duration::days(2),
                Direction::Inbound,
                CallStatus::NoAnswer,
            ),
            now,
        )
        .await
        .expect("call")
        .record
        .call;
    let busy = s
        .report_call(
            report(
                "+1 415 555 0000",
                "+1 415 555 0303",
                T0 + Duration::minutes(3),
                Direction::Outbound,
                CallStatus::Busy,
            ),
            now,
        )
        .await
        .expect("call")
        .record
        .call;
    let ids = |c: &[&callvault_core::call::Call]| {
        let mut v: Vec<ConversationId> = c.iter().map(|c| c.conversation_id).collect();
        v.sort();
        v
    };
    let found = async |activity: ActivityFilter, unread_by: Option<UserId>| {
        let page = s
            .conversations(ConversationQuery {
                activity,
                unread_by,
                ..inbox(ContactScope::All)
            })
            .await
            .expect("page");
        let mut v: Vec<ConversationId> = page.items.iter().map(|c| c.id).collect();
        v.sort();
        v
    };
    let only = |f: fn(&mut ActivityFilter)| {
        let mut filter = ActivityFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(
        found(only(|f| f.direction = Some(Direction::Inbound)), None).await,
        ids(&[&answered, &missed])
    );
    assert_eq!(
        found(only(|f| f.status = Some(StatusFilter::Missed)), None).await,
        ids(&[&missed]),
        "missed is inbound and unanswered: the outbound busy call is not"
    );
    assert_eq!(
        found(only(|f| f.status = Some(StatusFilter::Answered)), None).await,
        ids(&[&answered])
    );
    let by_ana = ActivityFilter {
        handled_by: Some(ana.id),
        ..ActivityFilter::default()
    };
    assert_eq!(found(by_ana, None).await, ids(&[&answered]));
    let on_b = ActivityFilter {
        number: Some(b.id),
        ..ActivityFilter::default()
    };
    assert_eq!(found(on_b, None).await, ids(&[&missed]));
    let on_a_early = ActivityFilter {
        number: Some(a.id),
        until: Some(T0 + Duration::days(1)),
        ..ActivityFilter::default()
    };
    assert_eq!(found(on_a_early, None).await, ids(&[&answered, &busy]));
    // Dates alone ask about any activity.
    let late = ActivityFilter {
        since: Some(T0 + Duration::days(1)),
        ..ActivityFilter::default()
    };
    assert_eq!(found(late, None).await, ids(&[&missed]));
    // Unread: what this user has not seen since.
    s.mark_read(ana.id, answered.conversation_id, now)
        .await
        .expect("marked");
    assert_eq!(
        found(ActivityFilter::default(), Some(ana.id)).await,
        ids(&[&missed, &busy])
    );
    // The same filters on a restricted user's walk.
    s.update_contact(
        missed.contact_id,
        ContactPatch {
            name: None,
            phone: None,
            email: None,
            assigned: Some(vec![ana.id]),
        },
    )
    .await
    .expect("assigned");
    let mine = s
        .conversations(ConversationQuery {
            activity: only(|f| f.status = Some(StatusFilter::Missed)),
            unread_by: Some(ana.id),
            ..inbox(ContactScope::AssignedTo(ana.id))
        })
        .await
        .expect("page");
    assert_eq!(
        mine.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![missed.conversation_id]
    );
}

pub async fn jobs_with_a_key_are_queued_once_and_recordings_found_by_provider_id(s: &dyn Store) {
    let for_call = callvault_core::CallId::new();
    let job = || {
        JobSpec::FetchTwilioRecording {
            call_id: for_call,
            recording_sid: "RE1".into(),
            url: "https://api.twilio.com/RE1".into(),
        }
        .at(T0)
    };
    let first = s.enqueue(job(), T0).await.expect("queued");
    assert!(matches!(
        s.enqueue(job(), T0).await,
        Err(StoreError::Conflict(Conflict::DuplicateJob))
    ));
    s.claim(first, "w", T0, Duration::minutes(1))
        .await
        .ok()
        .flatten()
        .expect("claimed");
    s.complete(first, "w").await.expect("done");
    s.enqueue(job(), T0)
        .await
        .expect("a finished job no longer blocks its key");

    number(s, "+1 415 555 0000", true, T0).await;
    let c = s
        .report_call(call("+1 415 555 0000", "+1 415 555 0101", T0, None), T0)
        .await
        .expect("call")
        .record
        .call;
    let mut rec = recording_for(c.id);
    rec.source_ref = Some("RE1".into());
    s.add_recording(rec.clone(), false, None, T0)
        .await
        .expect("stored");
    assert_eq!(
        s.recording_by_source_ref("RE1").await.ok().flatten(),
        Some(rec.id)
    );
    assert_eq!(s.recording_by_source_ref("RE2").await.ok().flatten(), None);
}

fn segment(start: f64, speaker: &str, text: &str) -> TranscriptSegment {
    TranscriptSegment {
        start,
        end: start + 2.0,
        channel: Some(u16::from(speaker != "Caller")),
        speaker: speaker.into(),
        text: text.into(),
    }
}

pub async fn transcripts_are_queued_once_stored_and_searched_within_scope(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", true, T0).await;
    let mut older = call("+1 415 555 0000", "+1 415 555 0101", T0, None);
    older.handled_by = Some(ana.id);
    let older = s.report_call(older, T0).await.expect("call").record.call;
    let newer = call(
        "+1 415 555 0000",
        "+1 415 555 0202",
        T0 + Duration::hours(1),
        None,
    );
    let newer = s.report_call(newer, T0).await.expect("call").record.call;
    let r_old = recording_for(older.id);
    let r_new = recording_for(newer.id);
    s.add_recording(r_old.clone(), false, None, T0)
        .await
        .expect("recording");
    s.add_recording(r_new.clone(), false, None, T0)
        .await
        .expect("recording");

    assert_eq!(s.transcript(r_old.id).await.expect("read"), None);
    assert!(matches!(
        s.request_transcript(RecordingId::new(), T0).await,
        Err(StoreError::NotFound)
    ));
    let first = s.request_transcript(r_old.id, T0).await.expect("queued");
    assert_eq!(first.status, TranscriptStatus::Queued);
    let job = first.job.expect("a job is queued");
    assert_eq!(
        s.job(job).await.ok().flatten().expect("job").spec,
        JobSpec::Transcribe {
            recording_id: r_old.id
        }
    );
    let again = s.request_transcript(r_old.id, T0).await.expect("same");
    assert_eq!(
        again,
        TranscriptRequest {
            status: TranscriptStatus::Queued,
            job: None
        }
    );
    assert_eq!(s.pending_jobs(JobKind::Transcribe).await.expect("count"), 1);

    s.transcript_running(r_old.id, 0.5, T0)
        .await
        .expect("progress");
    let running = s.transcript(r_old.id).await.expect("read").expect("exists");
    assert_eq!(running.status, TranscriptStatus::Running);
    assert!((running.progress - 0.5).abs() < 1e-9);
    s.transcript_done(
        r_old.id,
        "en",
        &[
            segment(
                0.5,
                "Maria Lopez",
                "I would like to change my delivery address.",
            ),
            segment(
                3.25,
                "Ana",
                "Of course, I can update the delivery address for you.",
            ),
        ],
        T0,
    )
    .await
    .expect("done");
    let done = s.transcript(r_old.id).await.expect("read").expect("exists");
    assert_eq!(done.status, TranscriptStatus::Done);
    assert_eq!(done.language.as_deref(), Some("en"));
    assert_eq!(done.segments.len(), 2);
    assert_eq!(done.segments[1].speaker, "Ana");
    assert!((done.segments[1].start - 3.25).abs() < 1e-9);
    // Done stays done: asking again queues nothing.
    assert_eq!(
        s.request_transcript(r_old.id, T0).await.expect("done").job,
        None
    );

    // A failure is kept with its reason; asking again queues it anew.
    s.request_transcript(r_new.id, T0).await.expect("queued");
    s.transcript_failed(r_new.id, "the model could not be loaded", T0)
        .await
        .expect("failed");
    let failed = s.transcript(r_new.id).await.expect("read").expect("exists");
    assert_eq!(failed.status, TranscriptStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("the model could not be loaded")
    );
    let again = s
        .request_transcript(r_new.id, T0)
        .await
        .expect("queued again");
    assert_eq!(again.status, TranscriptStatus::Queued);
    assert!(again.job.is_some(), "a failed transcript gets a new job");
    s.transcript_running(r_new.id, 0.3, T0)
        .await
        .expect("running");
    s.transcript_retrying(r_new.id, "the audio store did not answer", T0)
        .await
        .expect("retry");
    let retrying = s.transcript(r_new.id).await.expect("read").expect("exists");
    assert_eq!(retrying.status, TranscriptStatus::Queued);
    assert_eq!(
        retrying.error.as_deref(),
        Some("the audio store did not answer")
    );
    assert_eq!(
        s.request_transcript(r_new.id, T0)
            .await
            .expect("queued")
            .job,
        None
    );
    s.transcript_done(
        r_new.id,
        "en",
        &[segment(1.0, "Caller", "Where is my DELIVERY address form?")],
        T0,
    )
    .await
    .expect("done");

    // A transcript whose job was buried without a word (its worker kept dying) is queued
    // anew when asked for, instead of waiting forever.
    let third = s
        .report_call(
            call(
                "+1 415 555 0000",
                "+1 415 555 0303",
                T0 + Duration::hours(2),
                None,
            ),
            T0,
        )
        .await
        .expect("call")
        .record
        .call;
    let r_third = recording_for(third.id);
    s.add_recording(r_third.clone(), false, None, T0)
        .await
        .expect("recording");
    let job = s
        .request_transcript(r_third.id, T0)
        .await
        .expect("queued")
        .job
        .expect("job");
    let claimed = s
        .claim(job, "w", T0, Duration::minutes(5))
        .await
        .expect("claim");
    assert!(claimed.is_some());
    s.transcript_running(r_third.id, 0.4, T0)
        .await
        .expect("running");
    s.fail(job, "w", "the worker stopped while running it", None, T0)
        .await
        .expect("buried");
    let shown = s
        .transcript(r_third.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        shown.status,
        TranscriptStatus::Failed,
        "not left waiting forever"
    );
    assert!(shown.error.is_some_and(|e| e.contains("ask for it again")));
    assert_eq!(
        s.recording(r_third.id)
            .await
            .expect("read")
            .expect("exists")
            .transcript_status,
        Some(TranscriptStatus::Failed),
        "the recording says what its transcript says"
    );
    let revived = s
        .request_transcript(r_third.id, T0)
        .await
        .expect("queued again");
    assert_eq!(revived.status, TranscriptStatus::Queued);
    assert!(revived.job.is_some(), "a new job replaces the buried one");
    assert_eq!(
        s.request_transcript(r_third.id, T0)
            .await
            .expect("queued")
            .job,
        None
    );
    let search = |scope, text: &str| SearchQuery {
        scope,
        text: text.into(),
        limit: 20,
    };
    let hits = s
        .search_transcripts(search(ContactScope::All, "delivery address"))
        .await
        .expect("search");
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert_eq!(hits[0].recording_id, r_new.id, "newest call first");
    assert!(
        hits[0].snippet.contains("[DELIVERY address]"),
        "{}",
        hits[0].snippet
    );
    assert_eq!(hits[1].speaker, "Maria Lopez");
    assert!(hits[1].start < hits[2].start, "a call's hits in time order");
    assert_eq!(hits[1].conversation_id, older.conversation_id);
    let scoped = s
        .search_transcripts(search(ContactScope::AssignedTo(ana.id), "delivery address"))
        .await
        .expect("search");
    assert_eq!(scoped.len(), 2);
    assert!(scoped.iter().all(|h| h.recording_id == r_old.id));
    assert!(
        s.search_transcripts(search(ContactScope::All, "address delivery"))
            .await
            .expect("search")
            .is_empty()
    );
    assert!(
        s.search_transcripts(search(ContactScope::All, "\" OR *"))
            .await
            .expect("no syntax")
            .is_empty()
    );
    assert!(
        s.search_transcripts(search(ContactScope::All, "  "))
            .await
            .expect("blank")
            .is_empty()
    );

    // Deleting the conversation leaves nothing to find.
    s.delete_conversation(older.conversation_id, T0)
        .await
        .expect("deleted");
    let left = s
        .search_transcripts(search(ContactScope::All, "delivery"))
        .await
        .expect("search");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].recording_id, r_new.id);
    assert_eq!(s.transcript(r_old.id).await.expect("read"), None);
}

pub async fn failures_are_counted_forgotten_and_blocks_never_shortened(s: &dyn Store) {
    let hour = Duration::hours(1);
    let key = "account:ana@example.com";
    assert_eq!(s.blocked_until(key, T0).await.ok().flatten(), None);
    for n in 1..=3 {
        let at = T0 + Duration::seconds(n);
        assert_eq!(
            s.add_failure(key, at, hour).await.ok(),
            Some(u32::try_from(n).unwrap_or(0))
        );
    }
    s.block(key, T0 + Duration::minutes(5))
        .await
        .expect("blocked");
    s.block(key, T0 + Duration::minutes(1))
        .await
        .expect("a shorter block");
    assert_eq!(
        s.blocked_until(key, T0 + Duration::minutes(2))
            .await
            .ok()
            .flatten(),
        Some(T0 + Duration::minutes(5)),
        "a shorter block does not shorten the one in place"
    );
    assert_eq!(
        s.blocked_until(key, T0 + Duration::minutes(6))
            .await
            .ok()
            .flatten(),
        None,
        "over"
    );
    // Another key counts on its own.
    assert_eq!(
        s.add_failure("client:192.0.2.7", T0, hour).await.ok(),
        Some(1)
    );
    // An hour and more after the last failure, counting starts again and the block is gone.
    let later = T0 + Duration::hours(2);
    assert_eq!(s.add_failure(key, later, hour).await.ok(), Some(1));
    assert_eq!(s.blocked_until(key, later).await.ok().flatten(), None);
    s.block(key, later + Duration::minutes(1))
        .await
        .expect("blocked");
    s.clear_failures(key).await.expect("cleared");
    assert_eq!(s.blocked_until(key, later).await.ok().flatten(), None);
    assert_eq!(s.add_failure(key, later, hour).await.ok(), Some(1));
}

pub async fn users_are_found_by_their_extension_which_is_theirs_alone(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::All).await;
    let ben = user(s, "ben@example.com", Scope::All).await;
    let set = |extension: Option<&str>| UserPatch {
        extension: Some(extension.map(str::to_owned)),
        ..UserPatch::default()
    };
    let ana = s.update_user(ana.id, set(Some("201"))).await.expect("set");
    assert_eq!(ana.extension.as_deref(), Some("201"));
    assert_eq!(
        s.user_by_extension("201")
            .await
            .ok()
            .flatten()
            .map(|u| u.id),
        Some(ana.id)
    );
    assert!(s.user_by_extension("202").await.ok().flatten().is_none());

    // Another user cannot take it, and the refusal changes nothing.
    let taken = s.update_user(ben.id, set(Some("201"))).await;
    assert!(matches!(
        taken,
        Err(StoreError::Conflict(Conflict::ExtensionTaken))
    ));
    let created = s
        .create_user(
            NewUser {
                email: "cy@example.com".into(),
                name: "Cy".into(),
                role: Role::User,
                scope: Scope::All,
                can_download: true,
                can_delete: false,
                extension: Some("201".into()),
                password_hash: None,
            },
            T0,
        )
        .await;
    assert!(matches!(
        created,
        Err(StoreError::Conflict(Conflict::ExtensionTaken))
    ));
    assert_eq!(s.count_users().await.ok(), Some(2));

    // A patch that does not name it keeps it; clearing it frees it for someone else.
    let renamed = s
        .update_user(
            ana.id,
            UserPatch {
                name: Some("Ana B".into()),
                ..UserPatch::default()
            },
        )
        .await
        .expect("renamed");
    assert_eq!(renamed.extension.as_deref(), Some("201"));
    s.update_user(ana.id, set(None)).await.expect("cleared");
    let ben = s
        .update_user(ben.id, set(Some("201")))
        .await
        .expect("free again");
    assert_eq!(
        s.user_by_extension("201")
            .await
            .ok()
            .flatten()
            .map(|u| u.id),
        Some(ben.id)
    );
}

//! What must hold when several servers and workers write at once, told with real concurrent
//! tasks. On SQLite these hold because writes take turns; on PostgreSQL because each step is
//! written to (see the backend's `steps`). Each story runs several rounds to give races a chance.

use std::collections::HashMap;
use std::sync::Arc;

use callvault_core::user::{Role, Scope};
use callvault_core::{CallId, JobId};
use callvault_store::*;
use time::Duration;
use tokio::task::JoinSet;

use crate::suite::{T0, call, number, phone, plain_job, recording_for};

const ROUNDS: usize = 8;

/// Two reports for the same new number at once make one contact and one conversation.
pub async fn two_reports_of_a_new_number_make_one_contact(store: Arc<dyn Store>) {
    number(store.as_ref(), "+1 415 555 0000", true, T0).await;
    for round in 0..ROUNDS {
        let contact = format!("+1 415 555 1{round:03}");
        let mut tasks = JoinSet::new();
        for n in 0..2 {
            let store = store.clone();
            let call = call("+1 415 555 0000", &contact, T0 + Duration::minutes(n), None);
            tasks.spawn(async move { store.report_call(call, T0 + Duration::hours(1)).await });
        }
        let reported: Vec<ReportedCall> = tasks
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("both reports are stored"))
            .collect();
        assert_eq!(
            reported[0].record.call.contact_id, reported[1].record.call.contact_id,
            "one contact"
        );
        assert_eq!(
            reported[0].record.call.conversation_id, reported[1].record.call.conversation_id,
            "one conversation"
        );
        assert_ne!(
            reported[0].record.call.id, reported[1].record.call.id,
            "two calls"
        );
        let detail = store
            .conversation(reported[0].record.call.conversation_id)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(detail.events.len(), 2);
        assert_eq!(
            detail.last_message_at,
            Some(T0 + Duration::minutes(1)),
            "the later call is the latest, whichever was stored last"
        );
    }
}

/// A webhook retried while its first delivery is still being stored makes one call.
pub async fn a_report_retried_while_the_first_runs_makes_one_call(store: Arc<dyn Store>) {
    number(store.as_ref(), "+1 415 555 0000", true, T0).await;
    for round in 0..ROUNDS {
        let external = format!("CA{round}");
        let mut tasks = JoinSet::new();
        for _ in 0..3 {
            let store = store.clone();
            let call = call("+1 415 555 0000", "+1 415 555 0101", T0, Some(&external));
            tasks.spawn(async move { store.report_call(call, T0).await });
        }
        let reported: Vec<ReportedCall> = tasks
            .join_all()
            .await
            .into_iter()
            .map(|r| r.expect("every delivery is answered"))
            .collect();
        assert_eq!(reported.iter().filter(|r| r.created).count(), 1);
        assert!(
            reported
                .iter()
                .all(|r| r.record.call.id == reported[0].record.call.id)
        );
    }
    let contact = store
        .contact_by_phone(&phone("+1 415 555 0101"))
        .await
        .expect("read")
        .expect("one contact");
    let detail = store
        .conversation(contact.conversation_id.expect("a conversation"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(detail.events.len(), ROUNDS, "one call per delivered id");
}

/// Workers claiming from the same queue at once run every job exactly once.
pub async fn competing_workers_run_every_job_once(store: Arc<dyn Store>) {
    const JOBS: u32 = 60;
    let mut ids = Vec::new();
    for n in 0..JOBS {
        ids.push(store.enqueue(plain_job(n, T0), T0).await.expect("queued"));
    }
    let mut workers = JoinSet::new();
    for w in 0..4 {
        let store = store.clone();
        workers.spawn(async move {
            let name = format!("worker-{w}");
            let mut ran: Vec<JobId> = Vec::new();
            while let Some(job) = store
                .claim_next(&[JobKind::CollectBlob], &name, T0, Duration::minutes(5))
                .await
                .expect("claim")
            {
                store
                    .complete(job.id, &name)
                    .await
                    .expect("only the claimer completes");
                ran.push(job.id);
            }
            ran
        });
    }
    let mut runs: HashMap<JobId, usize> = HashMap::new();
    for ran in workers.join_all().await {
        for id in ran {
            *runs.entry(id).or_default() += 1;
        }
    }
    assert_eq!(runs.len(), ids.len(), "every job ran");
    assert!(runs.values().all(|n| *n == 1), "no job ran twice: {runs:?}");
    assert_eq!(store.pending_jobs(JobKind::CollectBlob).await.ok(), Some(0));
}

/// Two admins demoting each other at once leave one admin.
pub async fn admins_demoting_each_other_leave_one(store: Arc<dyn Store>) {
    let admin = |email: &str| NewUser {
        email: email.into(),
        name: email.into(),
        role: Role::Admin,
        scope: Scope::All,
        can_download: true,
        can_delete: true,
        extension: None,
        password_hash: None,
    };
    let a = store
        .create_user(admin("a@example.com"), T0)
        .await
        .expect("a");
    let b = store
        .create_user(admin("b@example.com"), T0)
        .await
        .expect("b");
    let demote = UserPatch {
        role: Some(Role::User),
        ..UserPatch::default()
    };
    let promote = UserPatch {
        role: Some(Role::Admin),
        ..UserPatch::default()
    };
    for _ in 0..ROUNDS {
        let mut tasks = JoinSet::new();
        for id in [a.id, b.id] {
            let (store, demote) = (store.clone(), demote.clone());
            tasks.spawn(async move { (id, store.update_user(id, demote).await) });
        }
        let outcomes = tasks.join_all().await;
        let refused: Vec<_> = outcomes
            .iter()
            .filter(|(_, r)| matches!(r, Err(StoreError::Conflict(Conflict::LastAdmin))))
            .collect();
        assert_eq!(refused.len(), 1, "exactly one demotion is refused");
        assert_eq!(
            outcomes.iter().filter(|(_, r)| r.is_ok()).count(),
            1,
            "and the other is done"
        );
        let admins = store
            .users()
            .await
            .expect("users")
            .into_iter()
            .filter(|u| u.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "one admin remains");
        for id in [a.id, b.id] {
            store
                .update_user(id, promote.clone())
                .await
                .expect("both admins again");
        }
    }
}

/// A conversation deleted while a recording of one of its calls is being stored leaves no
/// recording row, and its audio object is always left to a cleanup job.
pub async fn deleting_while_a_recording_is_stored_leaves_nothing(store: Arc<dyn Store>) {
    number(store.as_ref(), "+1 415 555 0000", true, T0).await;
    for round in 0..ROUNDS {
        let contact = format!("+1 415 555 2{round:03}");
        let call_id: CallId = store
            .report_call(call("+1 415 555 0000", &contact, T0, None), T0)
            .await
            .expect("call")
            .record
            .call
            .id;
        let conversation = store
            .call(call_id)
            .await
            .expect("read")
            .expect("exists")
            .call
            .conversation_id;
        let recording = recording_for(call_id);
        let key = recording.blob_key.clone();
        // As an upload does: the guard first, then the object, then the row.
        let guard = store
            .enqueue(
                JobSpec::CollectBlob { key: key.clone() }.at(T0 + Duration::hours(1)),
                T0,
            )
            .await
            .expect("guard");
        let adding = {
            let store = store.clone();
            tokio::spawn(
                async move { store.add_recording(recording, false, Some(guard), T0).await },
            )
        };
        let deleting = {
            let store = store.clone();
            tokio::spawn(async move { store.delete_conversation(conversation, T0).await })
        };
        let added = adding.await.expect("task");
        let deleted = deleting
            .await
            .expect("task")
            .expect("the deletion always succeeds");
        match &added {
            Ok(_) => assert_eq!(
                deleted.cleanup_jobs.len(),
                1,
                "stored first: deleted with it"
            ),
            Err(StoreError::NotFound) => assert!(deleted.cleanup_jobs.is_empty()),
            Err(e) => panic!("unexpected: {e}"),
        }
        assert!(
            !store.blob_in_use(&key).await.expect("asked"),
            "no recording row is left"
        );
        assert!(
            store.call(call_id).await.expect("read").is_none(),
            "the call is gone"
        );
        let collectors = [Some(guard), deleted.cleanup_jobs.first().copied()];
        let mut collected = false;
        for id in collectors.into_iter().flatten() {
            if let Some(job) = store.job(id).await.expect("read") {
                collected |= job.spec == JobSpec::CollectBlob { key: key.clone() };
            }
        }
        assert!(collected, "a job will remove the object (round {round})");
    }
}

/// A job queued by one process is heard by another at once, where the backend can tell
/// (PostgreSQL's LISTEN/NOTIFY); elsewhere workers poll.
pub async fn a_job_queued_by_one_process_is_heard_by_another(db: &crate::TestDatabase) {
    let other = crate::open(&db.url)
        .await
        .expect("a second process's store");
    let Some(mut heard) = other.jobs_queued_elsewhere() else {
        assert!(
            db.store.jobs_queued_elsewhere().is_none(),
            "a backend hears of jobs in every process or in none"
        );
        return;
    };
    // The listener says so once it listens; from then on nothing queued is missed.
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.changed())
        .await
        .expect("the listener starts")
        .expect("the listener runs");
    heard.borrow_and_update();
    db.store
        .enqueue(plain_job(1, T0), T0)
        .await
        .expect("queued");
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.changed())
        .await
        .expect("heard within seconds, not at the next poll")
        .expect("the listener runs");
}

/// A contact deleted while its calls keep arriving, renamed and reassigned at the same time:
/// nothing waits on another in a circle, every report is stored, and what remains is whole.
pub async fn a_contact_changed_and_deleted_while_calls_arrive(store: Arc<dyn Store>) {
    number(store.as_ref(), "+1 415 555 0000", true, T0).await;
    let ana = crate::suite::user(store.as_ref(), "ana@example.com", Scope::Assigned).await;
    for round in 0..ROUNDS {
        let phone_text = format!("+1 415 555 3{round:03}");
        let first = store
            .report_call(call("+1 415 555 0000", &phone_text, T0, None), T0)
            .await
            .expect("first call");
        let contact = first.record.call.contact_id;
        let mut tasks = JoinSet::new();
        for n in 1..=3 {
            let (store, phone_text) = (store.clone(), phone_text.clone());
            tasks.spawn(async move {
                let mut c = call(
                    "+1 415 555 0000",
                    &phone_text,
                    T0 + Duration::minutes(n),
                    None,
                );
                c.handled_by = Some(ana.id);
                store
                    .report_call(c, T0 + Duration::hours(1))
                    .await
                    .map(|_| ())
            });
        }
        {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .update_contact(
                        contact,
                        ContactPatch {
                            name: Some(format!("Renamed {round}")),
                            assigned: Some(vec![ana.id]),
                            ..ContactPatch::default()
                        },
                    )
                    .await
                    .map(|_| ())
                    .or_else(|e| match e {
                        StoreError::NotFound => Ok(()),
                        other => Err(other),
                    })
            });
        }
        {
            let store = store.clone();
            tasks.spawn(async move { store.delete_contact(contact, T0).await.map(|_| ()) });
        }
        for outcome in tasks.join_all().await {
            outcome.expect("every change is stored, none deadlocks");
        }
        // Calls stored after the deletion made the contact anew; its inbox entry is whole.
        if let Some(again) = store
            .contact_by_phone(&phone(&phone_text))
            .await
            .expect("read")
        {
            let conversation = again.conversation_id.expect("a conversation");
            let detail = store
                .conversation(conversation)
                .await
                .expect("read")
                .expect("exists");
            assert!(!detail.events.is_empty());
            let mine = store
                .conversations(ConversationQuery {
                    scope: callvault_core::permissions::ContactScope::AssignedTo(ana.id),
                    text: None,
                    channel: None,
                    activity: callvault_store::ActivityFilter::default(),
                    unread_by: None,
                    after: None,
                    limit: 500,
                })
                .await
                .expect("inbox");
            let entry = mine.items.iter().find(|c| c.id == conversation);
            assert_eq!(
                entry.map(|c| c.activity_at),
                Some(detail.last_message_at.unwrap_or(detail.created_at)),
                "the handler's inbox has it, at its latest activity"
            );
        }
    }
}

/// Replicas counting failed sign-ins for one account at the same moment lose none of them:
/// the throttle holds however the attempts are spread.
pub async fn failures_counted_at_once_all_count(store: Arc<dyn Store>) {
    let key = "account:target@example.com";
    let mut tasks = JoinSet::new();
    for _ in 0..40 {
        let store = store.clone();
        tasks.spawn(async move { store.add_failure(key, T0, Duration::hours(1)).await });
    }
    let mut counts: Vec<u32> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("counted"))
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u32>>(),
        "each failure got its own count"
    );
}

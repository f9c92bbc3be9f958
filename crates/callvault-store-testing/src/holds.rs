//! Legal holds: what they keep, how they are released, and that a hold placed while a deletion
//! runs never lets both through.

use std::sync::Arc;

use callvault_core::hold::HoldScope;
use callvault_core::user::Scope;
use callvault_core::{ContactId, HoldId};
use callvault_store::*;
use time::Duration;
use tokio::task::JoinSet;

use crate::suite::{T0, call, number, recording_for, user};

/// A recorded call from `contact`; its call.
async fn recorded_call(s: &dyn Store, contact: &str, minute: i64) -> callvault_core::call::Call {
    let c = s
        .report_call(
            call(
                "+1 415 555 0000",
                contact,
                T0 + Duration::minutes(minute),
                None,
            ),
            T0 + Duration::hours(2),
        )
        .await
        .expect("call")
        .record
        .call;
    s.add_recording(recording_for(c.id), false, None, T0 + Duration::hours(2))
        .await
        .expect("recording");
    c
}

fn held(result: StoreResult<impl std::fmt::Debug>) -> LegalHold {
    match result {
        Err(StoreError::Held(hold)) => *hold,
        other => panic!("expected a legal hold to refuse this, got {other:?}"),
    }
}

async fn place(
    s: &dyn Store,
    scope: HoldScope,
    by: callvault_core::UserId,
    reason: &str,
) -> LegalHold {
    s.place_hold(
        NewHold {
            scope,
            reason: reason.into(),
            placed_by: by,
        },
        T0 + Duration::hours(3),
    )
    .await
    .expect("hold is placed")
}

pub async fn a_hold_on_a_contact_keeps_everything_of_theirs_until_released(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let admin = user(s, "counsel@example.com", Scope::All).await;
    let kept = recorded_call(s, "+1 415 555 0101", 1).await;
    let other = recorded_call(s, "+1 415 555 0102", 2).await;

    let hold = place(
        s,
        HoldScope::Contact(kept.contact_id),
        admin.id,
        "Smith v. Acme",
    )
    .await;
    assert!(hold.is_active());
    assert_eq!(hold.placed_by.as_ref().map(|u| u.id), Some(admin.id));
    assert_eq!(hold.reason, "Smith v. Acme");

    // Every way of deleting it is refused, naming the hold, and nothing changes.
    let refused = held(s.delete_conversation(kept.conversation_id, T0).await);
    assert_eq!(refused.id, hold.id);
    assert_eq!(
        refused.placed_by.map(|u| u.name),
        Some("counsel".to_owned())
    );
    held(s.delete_contact(kept.contact_id, T0).await);
    held(
        s.add_recording(recording_for(kept.id), true, None, T0)
            .await,
    );
    let detail = s
        .conversation(kept.conversation_id)
        .await
        .expect("read")
        .expect("the conversation is still there");
    assert_eq!(detail.recording_count, 1, "the recording stays");
    assert_eq!(s.pending_jobs(JobKind::CollectBlob).await.expect("jobs"), 0);

    // The audit log's own retention keeps what concerns a held contact.
    for contact in [Some(kept.contact_id), None] {
        s.audit(NewAudit {
            at: T0,
            actor: Some(admin.id),
            action: AuditAction::Play,
            target_kind: "recording".into(),
            target_id: None,
            contact,
            detail: serde_json::json!({}),
        })
        .await
        .expect("audited");
    }
    assert_eq!(
        s.prune_audit(T0 + Duration::days(1)).await.expect("pruned"),
        1
    );
    let left = s
        .audit_page(&AuditFilter::default(), None, 10)
        .await
        .expect("log");
    assert_eq!(
        left.items.iter().map(|e| e.contact_id).collect::<Vec<_>>(),
        [Some(kept.contact_id)]
    );

    // What it covers, and what it does not.
    let covering = s.holds_covering(kept.contact_id).await.expect("holds");
    assert_eq!(covering.iter().map(|h| h.id).collect::<Vec<_>>(), [hold.id]);
    assert!(
        s.holds_covering(other.contact_id)
            .await
            .expect("holds")
            .is_empty()
    );
    s.delete_conversation(other.conversation_id, T0)
        .await
        .expect("a contact without a hold is deleted as before");

    // Released: kept as history, and deletion goes through.
    let released = s
        .release_hold(hold.id, admin.id, T0 + Duration::hours(4))
        .await
        .expect("released");
    assert_eq!(released.released_at, Some(T0 + Duration::hours(4)));
    assert_eq!(released.released_by.map(|u| u.id), Some(admin.id));
    assert!(matches!(
        s.release_hold(hold.id, admin.id, T0 + Duration::hours(5))
            .await,
        Err(StoreError::Conflict(Conflict::HoldReleased))
    ));
    assert!(s.legal_holds(false).await.expect("holds").is_empty());
    assert_eq!(s.legal_holds(true).await.expect("holds").len(), 1);
    s.delete_contact(kept.contact_id, T0)
        .await
        .expect("deleted once released");
    let history = s.legal_hold(hold.id).await.expect("read").expect("kept");
    assert_eq!(
        history.scope,
        HoldScope::Contact(kept.contact_id),
        "the hold still says whom it held"
    );

    // Unknown things.
    assert!(matches!(
        s.place_hold(
            NewHold {
                scope: HoldScope::Contact(ContactId::new()),
                reason: "x".into(),
                placed_by: admin.id,
            },
            T0,
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.release_hold(HoldId::new(), admin.id, T0).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_hold_on_the_installation_keeps_everyone(s: &dyn Store) {
    number(s, "+1 415 555 0000", true, T0).await;
    let admin = user(s, "counsel@example.com", Scope::All).await;
    let first = recorded_call(s, "+1 415 555 0101", 1).await;
    let contact_hold = place(
        s,
        HoldScope::Contact(first.contact_id),
        admin.id,
        "Audit 2026",
    )
    .await;
    let everything = place(s, HoldScope::Installation, admin.id, "Regulator's inquiry").await;
    // A contact that appears after the hold is held too.
    let later = recorded_call(s, "+1 415 555 0199", 9).await;
    assert_eq!(
        held(s.delete_contact(later.contact_id, T0).await).id,
        everything.id
    );
    // The oldest hold in force is the one named.
    assert_eq!(
        held(s.delete_conversation(first.conversation_id, T0).await).id,
        contact_hold.id
    );
    let listed: Vec<HoldId> = s
        .legal_holds(false)
        .await
        .expect("holds")
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(listed, [everything.id, contact_hold.id], "newest first");
    s.release_hold(everything.id, admin.id, T0 + Duration::hours(4))
        .await
        .expect("released");
    s.delete_contact(later.contact_id, T0)
        .await
        .expect("deleted once the installation's hold is released");
    held(s.delete_contact(first.contact_id, T0).await);
}

/// A hold placed on a contact while the contact is being deleted: one of them wins, never both.
pub async fn a_hold_placed_during_a_deletion_never_lets_both_through(store: Arc<dyn Store>) {
    number(store.as_ref(), "+1 415 555 0000", true, T0).await;
    let admin = user(store.as_ref(), "counsel@example.com", Scope::All).await;
    for round in 0..8 {
        let c: callvault_core::call::Call =
            recorded_call(store.as_ref(), &format!("+1 415 555 4{round:03}"), round).await;
        let contact = c.contact_id;
        let mut tasks = JoinSet::new();
        {
            let store = store.clone();
            tasks.spawn(async move {
                (
                    "delete",
                    store.delete_contact(contact, T0).await.map(|_| ()),
                )
            });
        }
        {
            let store = store.clone();
            tasks.spawn(async move {
                let placed = store
                    .place_hold(
                        NewHold {
                            scope: HoldScope::Contact(contact),
                            reason: "Race".into(),
                            placed_by: admin.id,
                        },
                        T0,
                    )
                    .await
                    .map(|_| ());
                ("hold", placed)
            });
        }
        let outcomes = tasks.join_all().await;
        let ok = |name| outcomes.iter().any(|(n, r)| *n == name && r.is_ok());
        match (ok("delete"), ok("hold")) {
            (true, false) => {
                let lost = outcomes.iter().find(|(n, _)| *n == "hold").map(|(_, r)| r);
                assert!(matches!(lost, Some(Err(StoreError::NotFound))), "{lost:?}");
                assert!(store.contact(contact).await.expect("read").is_none());
            }
            (false, true) => {
                let lost = outcomes
                    .iter()
                    .find(|(n, _)| *n == "delete")
                    .map(|(_, r)| r);
                assert!(matches!(lost, Some(Err(StoreError::Held(_)))), "{lost:?}");
                let still = store.conversation(c.conversation_id).await.expect("read");
                assert_eq!(
                    still.map(|d| d.recording_count),
                    Some(1),
                    "the held call is whole"
                );
            }
            other => panic!("round {round}: deletion and hold both {other:?}: {outcomes:?}"),
        }
    }
}

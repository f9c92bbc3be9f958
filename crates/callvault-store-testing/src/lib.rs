//! The store's story, told once and run on every backend: `suite` holds the checks, each a
//! function of a fresh store; [`store_suite!`] turns them into one test each for a backend;
//! `databases` makes the fresh stores (a SQLite file in a temporary folder, or a new database on
//! the PostgreSQL cluster `CALLVAULT_TEST_POSTGRES_URL` names).

pub mod concurrency;
mod databases;
pub mod holds;
pub mod redaction;
pub mod retention;
pub mod search;
pub mod suite;

pub use databases::{
    POSTGRES_URL_VAR, TestDatabase, create_database, fresh_postgres, fresh_sqlite, open,
};

/// One `#[tokio::test]` per story of [`suite`], each on a fresh store that `$fresh` (an async
/// expression giving `Option<TestDatabase>`; `None` skips) makes.
#[macro_export]
macro_rules! store_suite {
    ($fresh:expr) => {
        $crate::store_suite!(@each $fresh;
            users_sessions_and_tokens,
            users_are_found_by_their_extension_which_is_theirs_alone,
            contacts_get_a_conversation_and_unique_phones,
            inbox_search_scope_channel_and_pages,
            recording_permission_is_frozen_at_the_start_of_the_call,
            repeated_reports_are_idempotent_and_unknown_numbers_refused,
            timeline_keeps_order_when_reports_arrive_late,
            recordings_replace_and_guard_jobs,
            deleting_a_conversation_takes_everything_and_queues_the_audio,
            a_job_handed_back_at_shutdown_keeps_its_attempts,
            jobs_are_leased_retried_and_buried,
            audit_log_is_newest_first,
            an_expired_lease_with_no_attempts_left_is_buried,
            the_last_active_admin_cannot_be_demoted_or_disabled,
            whoever_handles_a_call_may_see_the_contact,
            contacts_list_by_name_with_scope_and_pages,
            a_new_number_may_say_since_when_its_phone_system_recorded,
            provider_updates_move_a_call_forward_only,
            text_messages_land_in_the_timeline_once,
            a_long_timeline_is_read_a_page_at_a_time,
            each_user_marks_conversations_read,
            the_inbox_filters_by_what_happened,
            jobs_with_a_key_are_queued_once_and_recordings_found_by_provider_id,
            transcripts_are_queued_once_stored_and_searched_within_scope,
            failures_are_counted_forgotten_and_blocks_never_shortened,
        );
        $crate::store_suite!(@in holds $fresh;
            a_hold_on_a_contact_keeps_everything_of_theirs_until_released,
            a_hold_on_the_installation_keeps_everyone,
        );
        $crate::store_suite!(@in redaction $fresh;
            redacted_text_and_audio_replace_the_old_in_one_step,
        );
        $crate::store_suite!(@in retention $fresh;
            policies_are_kept_per_number_and_for_the_installation,
            expired_recordings_go_and_their_calls_stay,
            idle_conversations_are_found_and_go_only_while_still_idle,
        );
        $crate::store_suite!(@in search $fresh;
            inbox_search_finds_names_and_numbers_however_typed,
        );
        $crate::store_suite!(@db search $fresh;
            a_search_that_matches_thousands_pages_like_one_that_matches_few,
            a_phrase_said_thousands_of_times_is_found_newest_call_first,
        );
        $crate::store_suite!(@db concurrency $fresh;
            a_job_queued_by_one_process_is_heard_by_another,
        );
        $crate::store_suite!(@shared $fresh;
            two_reports_of_a_new_number_make_one_contact,
            a_report_retried_while_the_first_runs_makes_one_call,
            competing_workers_run_every_job_once,
            admins_demoting_each_other_leave_one,
            deleting_while_a_recording_is_stored_leaves_nothing,
            a_contact_changed_and_deleted_while_calls_arrive,
            failures_counted_at_once_all_count,
        );
        $crate::store_suite!(@shared_in holds $fresh;
            a_hold_placed_during_a_deletion_never_lets_both_through,
        );
    };
    (@shared $fresh:expr; $($story:ident),* $(,)?) => {
        $crate::store_suite!(@shared_in concurrency $fresh; $($story),*);
    };
    (@shared_in $module:ident $fresh:expr; $($story:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $story() {
            if let Some(db) = $fresh.await {
                $crate::$module::$story(db.store.clone()).await;
            }
        }
    )*};
    (@each $fresh:expr; $($story:ident),* $(,)?) => {
        $crate::store_suite!(@in suite $fresh; $($story),*);
    };
    (@in $module:ident $fresh:expr; $($story:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $story() {
            if let Some(db) = $fresh.await {
                $crate::$module::$story(db.store.as_ref()).await;
            }
        }
    )*};
    (@db $module:ident $fresh:expr; $($story:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $story() {
            if let Some(db) = $fresh.await {
                $crate::$module::$story(&db).await;
            }
        }
    )*};
}

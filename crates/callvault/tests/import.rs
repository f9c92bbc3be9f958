//! `callvault import asterisk` on a Master.csv and a monitor folder like a real PBX leaves.

use std::path::Path;
use std::process::Command;

use callvault_core::call::{CallStatus, Direction};
use callvault_core::number::Provider;
use callvault_core::permissions::ContactScope;
use callvault_core::phone::{E164, Region};
use callvault_store::{ConversationQuery, EventKind, NewNumber};
use time::macros::datetime;

const CDR: &str = r#""","4155550100","4155550000","from-external","""Ana Souza"" <4155550100>","PJSIP/trunk-1","PJSIP/201-2","Dial","PJSIP/201","2026-03-02 14:15:00","2026-03-02 14:15:06","2026-03-02 14:15:09.2",9,3,"ANSWERED","DOCUMENTATION","1709389200.123",""
"","4155550000","4155550199","from-internal","""Sales"" <4155550000>","PJSIP/201-3","PJSIP/trunk-4","Dial","PJSIP/trunk/4155550199","2026-03-02 15:00:00","2026-03-02 15:00:04","2026-03-02 15:00:07",7,3,"ANSWERED","DOCUMENTATION","1709392800.5",""
"","4155550101","4155550000","from-external","","PJSIP/trunk-5","","Dial","","2026-03-02 15:10:00","","2026-03-02 15:10:30",30,0,"NO ANSWER","DOCUMENTATION","1709393400.6",""
"","4155550102","4155550000","from-external","","PJSIP/trunk-6","","Dial","","2026-03-02 15:20:00","","2026-03-02 15:20:02",2,0,"BUSY","DOCUMENTATION","1709394000.7",""
"","4155550103","4155550000","from-external","","PJSIP/trunk-7","","Dial","","2026-03-02 15:30:00","","2026-03-02 15:30:01",1,0,"CONGESTION","DOCUMENTATION","1709394600.8",""
"","4155550104","4155550000","from-external","","PJSIP/trunk-8","PJSIP/201-9","Dial","","2026-03-02 15:40:00","2026-03-02 15:40:02","2026-03-02 15:40:05",5,3,"ANSWERED","DOCUMENTATION","1709395200.9",""
"","201","202","from-internal","","PJSIP/201-10","PJSIP/202-11","Dial","","2026-03-02 15:50:00","2026-03-02 15:50:01","2026-03-02 15:50:09",9,8,"ANSWERED","DOCUMENTATION","1709395800.10",""
"","4155550105","4155550000","from-external","","PJSIP/trunk-12","","Dial","","March 2nd","","",0,0,"ANSWERED","DOCUMENTATION","1709396400.11",""
"","4155550106","4155550001","from-external","","PJSIP/trunk-13","PJSIP/201-14","Dial","","2026-03-02 16:00:00","2026-03-02 16:00:02","2026-03-02 16:00:05",5,3,"ANSWERED","DOCUMENTATION","1709397000.12",""
"","201","4155550198","from-internal","""Sales"" <4155550000>","PJSIP/201-15","PJSIP/trunk-16","Dial","PJSIP/trunk/4155550198","2026-03-02 16:10:00","2026-03-02 16:10:03","2026-03-02 16:10:20",20,17,"ANSWERED","DOCUMENTATION","1709397600.13",""
"","202","4155550197","from-internal","""Bob"" <202>","PJSIP/202-17","PJSIP/trunk-18","Dial","PJSIP/trunk/4155550197","2026-03-02 16:20:00","2026-03-02 16:20:03","2026-03-02 16:20:09",9,6,"ANSWERED","DOCUMENTATION","1709398200.14",""
"#;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn import(data: &Path, cdr: &Path, recordings: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callvault"))
        .env_remove("CALLVAULT_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["--data-dir"])
        .arg(data)
        .args(["import", "asterisk", "--timezone", "UTC", "--cdr"])
        .arg(cdr)
        .arg("--recordings")
        .arg(recordings)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn phone(raw: &str) -> E164 {
    E164::parse(raw, Region::us()).expect("phone")
}

#[tokio::test]
async fn calls_and_recordings_come_in_once_with_a_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let store =
        callvault_store_testing::open(&format!("sqlite://{}", data.join("callvault.db").display()))
            .await
            .expect("store");
    let number = |e164: &str, since| NewNumber {
        e164: phone(e164),
        label: "PBX".into(),
        provider: Provider::Pbx,
        call_recording: true,
        consent_announcement: None,
        forward_to: vec![],
        transcribe_automatically: false,
        redact_sensitive: false,
        recording_since: since,
    };
    // The main line recorded on the PBX since January; the second was configured only now.
    store
        .create_number(
            number("4155550000", Some(datetime!(2026-01-01 00:00 UTC))),
            datetime!(2026-11-23 12:00 UTC),
        )
        .await
        .expect("number");
    store
        .create_number(number("4155550001", None), datetime!(2026-11-23 12:00 UTC))
        .await
        .expect("number");
    // Extension 201 on the PBX is Rita.
    let rita = store
        .create_user(
            callvault_store::NewUser {
                email: "rita@example.com".into(),
                name: "Rita".into(),
                role: callvault_core::user::Role::User,
                scope: callvault_core::user::Scope::All,
                can_download: true,
                can_delete: false,
                extension: Some("201".into()),
                password_hash: None,
            },
            datetime!(2026-11-23 12:00 UTC),
        )
        .await
        .expect("user");

    let monitor = dir.path().join("monitor");
    let day = monitor.join("2026/03/02");
    std::fs::create_dir_all(&day).expect("folders");
    std::fs::copy(
        fixture("formats/ulaw-2ch-8k.wav"),
        day.join("in-4155550000-4155550100-20260302-141500-1709389200.123.wav"),
    )
    .expect("copy");
    std::fs::copy(
        fixture("formats/mp3-2ch-22k.mp3"),
        day.join("out-4155550199-201-20260302-150000-1709392800.5.mp3"),
    )
    .expect("copy");
    std::fs::write(
        day.join("in-4155550104-1709395200.9.wav"),
        b"RIFF....WAVE not really",
    )
    .expect("corrupt");
    std::fs::copy(
        fixture("formats/pcm16-2ch-8k.wav"),
        day.join("1709397000.12.wav"),
    )
    .expect("copy");
    std::fs::copy(
        fixture("formats/pcm16-2ch-8k.wav"),
        day.join("out-4155550198-201-20260302-161000-1709397600.13.wav"),
    )
    .expect("copy");
    let cdr = dir.path().join("Master.csv");
    std::fs::write(&cdr, CDR).expect("cdr");

    let (ok, out) = import(&data, &cdr, &monitor);
    assert!(!ok, "failures make the exit status non-zero");
    assert!(out.contains("imported 8 calls, 3 recordings"), "{out}");
    // Two numbers, and a caller ID that names neither: which one it went out on is unknown.
    assert!(
        out.contains("1 × an extension called out and no number can be told"),
        "{out}"
    );
    assert!(
        out.contains("1 × neither side is a configured number"),
        "{out}"
    );
    assert!(
        out.contains(
            "1 × recording left out: recording was off for the number when the call started"
        ),
        "{out}"
    );
    assert!(out.contains("failed 2"), "{out}");
    assert!(out.contains("line 8: start time \"March 2nd\""), "{out}");
    assert!(
        out.contains("line 6: recording") && out.contains("1709395200.9.wav"),
        "{out}"
    );

    let inbox = store
        .conversations(ConversationQuery {
            scope: ContactScope::All,
            text: None,
            channel: None,
            activity: callvault_store::ActivityFilter::default(),
            unread_by: None,
            after: None,
            limit: 50,
        })
        .await
        .expect("inbox");
    assert_eq!(inbox.items.len(), 8);
    let mut calls = Vec::new();
    for item in &inbox.items {
        let conversation = store
            .conversation(item.id)
            .await
            .ok()
            .flatten()
            .expect("conversation");
        for event in conversation.events {
            if let EventKind::Call(record) = event.kind {
                calls.push((conversation.contact.clone(), *record));
            }
        }
    }
    let by_phone = |p: &str| {
        calls
            .iter()
            .find(|(c, _)| c.phone.as_str() == p)
            .expect("call")
    };
    let (ana, first) = by_phone("+14155550100");
    assert_eq!(ana.name, "Ana Souza");
    assert_eq!(
        (first.call.direction, first.call.status),
        (Direction::Inbound, CallStatus::Answered)
    );
    assert_eq!(first.call.times.started_at, datetime!(2026-03-02 14:15 UTC));
    assert_eq!(
        first.call.handled_by,
        Some(rita.id),
        "answered on PJSIP/201, Rita's extension"
    );
    assert_eq!(first.call.times.talk_seconds(), 3);
    assert_eq!(
        first.recording.as_ref().map(|r| r.channels),
        Some(2),
        "both parties kept apart"
    );
    let (_, outbound) = by_phone("+14155550199");
    assert_eq!(outbound.call.direction, Direction::Outbound);
    assert!(outbound.recording.is_some());
    // Placed from extension 201 with the main line's caller ID: outbound on that number,
    // with its recording, handled by Rita.
    let (_, from_extension) = by_phone("+14155550198");
    assert_eq!(from_extension.call.direction, Direction::Outbound);
    assert_eq!(from_extension.call.handled_by, Some(rita.id));
    assert!(from_extension.recording.is_some());
    assert_eq!(by_phone("+14155550101").1.call.status, CallStatus::NoAnswer);
    assert_eq!(by_phone("+14155550102").1.call.status, CallStatus::Busy);
    assert_eq!(
        by_phone("+14155550103").1.call.status,
        CallStatus::Failed,
        "congestion counts as failed"
    );
    assert!(
        by_phone("+14155550104").1.recording.is_none(),
        "the damaged file stored nothing"
    );
    assert!(
        by_phone("+14155550106").1.recording.is_none(),
        "recording was off then"
    );
    let objects = std::fs::read_dir(data.join("recordings"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(objects, 3);

    // A second run adds nothing.
    let (_, again) = import(&data, &cdr, &monitor);
    assert!(again.contains("imported 0 calls, 0 recordings"), "{again}");
    assert!(again.contains("× already imported"), "{again}");
    assert_eq!(
        std::fs::read_dir(data.join("recordings"))
            .map(|d| d.count())
            .unwrap_or(0),
        3
    );
}

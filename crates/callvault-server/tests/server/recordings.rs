//! Recordings: upload, metadata, seeking with byte ranges, download, bad audio, replacement,
//! and deletion that leaves no audio behind, even across a crash.

use crate::common;

use common::{Options, TestServer, call_mp3, json_of};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

const NUMBER: &str = "+1 415 555 0000";

async fn recorded_call(admin: &common::Client) -> (Value, String) {
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550101", 5).await;
    let r = admin.upload(&json_of(&call, "id"), call_mp3()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    (call, json_of(&r.json(), "recording_id"))
}

#[tokio::test]
async fn an_uploaded_recording_plays_seeks_and_downloads() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (call, rec) = recorded_call(&admin).await;

    let meta = admin.get(&format!("/api/v1/recordings/{rec}")).await.json();
    assert_eq!(meta["channels"], 2);
    assert_eq!(meta["sample_rate"], 8000);
    let duration = meta["duration_s"].as_f64().unwrap_or_default();
    assert!((duration - 7.632).abs() < 0.25, "{duration}");
    assert_eq!(meta["peaks"]["channels"].as_array().map(Vec::len), Some(2));
    assert_eq!(meta["transcript_status"], "none");
    assert_eq!(meta["conversation_id"], call["conversation_id"]);

    let view = admin
        .get(&format!("/api/v1/calls/{}", json_of(&call, "id")))
        .await
        .json();
    assert_eq!(view["recording"]["id"], rec.as_str());

    let whole = admin.get(&format!("/api/v1/recordings/{rec}/audio")).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("content-type"), "audio/mpeg");
    assert_eq!(whole.header("accept-ranges"), "bytes");
    // What is stored is the MP3 the server encoded; the metadata describes exactly it.
    let mp3 = whole.body.clone();
    assert!(
        mp3.starts_with(b"\xff") && mp3[..200].windows(4).any(|w| w == b"Info"),
        "a LAME-tagged MP3"
    );
    assert_eq!(meta["bytes"], mp3.len());
    assert_eq!(meta["sha256"], hex::encode(Sha256::digest(&mp3)));

    let n = mp3.len();
    for (range, expect) in [
        ("bytes=0-99", 0..100),
        ("bytes=100-", 100..n),
        ("bytes=-50", n - 50..n),
    ] {
        let part = admin
            .send(
                Method::GET,
                &format!("/api/v1/recordings/{rec}/audio"),
                |r| r.header("range", range),
            )
            .await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            part.header("content-range"),
            format!("bytes {}-{}/{n}", expect.start, expect.end - 1)
        );
        assert_eq!(part.body, mp3[expect].to_vec(), "{range}");
    }
    let past = admin
        .send(
            Method::GET,
            &format!("/api/v1/recordings/{rec}/audio"),
            |r| r.header("range", format!("bytes={n}-")),
        )
        .await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(past.header("content-range"), format!("bytes */{n}"));

    let etag = whole.header("etag");
    assert_eq!(etag, format!("\"{}\"", hex::encode(Sha256::digest(&mp3))));
    let fresh = admin
        .send(
            Method::GET,
            &format!("/api/v1/recordings/{rec}/audio"),
            |r| r.header("if-none-match", format!("W/{etag}")),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::NOT_MODIFIED);
    assert!(fresh.body.is_empty());

    let file = admin
        .get(&format!("/api/v1/recordings/{rec}/download"))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    let disposition = file.header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"+14155550101 2026-03-02 09-05 UTC.mp3\""),
        "{disposition}"
    );
    assert_eq!(file.body, mp3);
}

#[tokio::test]
async fn bad_audio_is_refused_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = TestServer::start_in(
        dir.path(),
        Options {
            max_upload_bytes: 20_000,
            ..Options::default()
        },
    )
    .await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550101", 5).await;
    let id = json_of(&call, "id");
    let noise: Vec<u8> = (0..15_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    wav.extend_from_slice(&[0u8; 200]);
    let cases: [(&str, Vec<u8>, StatusCode, &str); 5] = [
        (
            "empty",
            Vec::new(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_audio",
        ),
        (
            "text",
            b"not audio at all".repeat(40),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_audio",
        ),
        (
            "noise",
            noise,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_audio",
        ),
        (
            "damaged wav",
            wav,
            StatusCode::UNPROCESSABLE_ENTITY,
            "corrupt_audio",
        ),
        (
            "too large",
            call_mp3(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let r = admin.upload(&id, body).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{what}: {:?}",
            r.json()
        );
        assert!(
            server.audio_files().await.is_empty(),
            "{what}: no audio object"
        );
        assert!(
            server.spooled_files().is_empty(),
            "{what}: no temporary file"
        );
        let view = admin.get(&format!("/api/v1/calls/{id}")).await.json();
        assert!(view["recording"].is_null(), "{what}: no recording row");
    }
    let unknown = admin
        .upload("0195f5a0-0000-7000-8000-000000000000", call_mp3())
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_second_upload_needs_replace_and_the_old_audio_goes() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (call, first) = recorded_call(&admin).await;
    let id = json_of(&call, "id");
    assert_eq!(server.audio_files().await.len(), 1);

    let again = admin.upload(&id, call_mp3()).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (StatusCode::CONFLICT, "recording_exists")
    );

    let replaced = admin
        .raw(
            Method::PUT,
            &format!("/api/v1/calls/{id}/recording?replace=true"),
            "audio/mpeg",
            call_mp3(),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::CREATED);
    let second = json_of(&replaced.json(), "recording_id");
    assert_ne!(second, first);
    assert_eq!(
        admin
            .get(&format!("/api/v1/recordings/{first}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let files = server.audio_files().await;
    assert_eq!(files.len(), 1, "only the new audio remains: {files:?}");
    assert!(files[0].contains(&second));
}

#[tokio::test]
async fn deleting_a_conversation_removes_its_recordings_audio_files_included() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (call, rec) = recorded_call(&admin).await;
    let conversation = json_of(&call, "conversation_id");
    let contact = admin
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .json()["contact"]["id"]
        .clone();
    assert_eq!(server.audio_files().await.len(), 1);

    let r = admin
        .delete(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        server.audio_files().await.is_empty(),
        "the MP3 is gone from disk"
    );
    for path in [
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/calls/{}", json_of(&call, "id")),
        format!("/api/v1/recordings/{rec}"),
        format!("/api/v1/recordings/{rec}/audio"),
    ] {
        assert_eq!(
            admin.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let kept = admin
        .get(&format!(
            "/api/v1/contacts/{}",
            contact.as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(kept.status, StatusCode::OK, "the contact stays");
    assert!(kept.json()["conversation_id"].is_null());
    let pending = server
        .store
        .pending_jobs(callvault_store::JobKind::CollectBlob)
        .await
        .ok();
    assert_eq!(pending, Some(0), "no cleanup left over");
}

#[tokio::test]
async fn audio_of_a_deletion_interrupted_by_a_crash_is_removed_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = TestServer::start_in(
        dir.path(),
        Options {
            workers: false,
            ..Options::default()
        },
    )
    .await;
    let admin = server.admin().await;
    let (call, _) = recorded_call(&admin).await;
    let conversation: callvault_core::ConversationId =
        json_of(&call, "conversation_id").parse().expect("id");
    // The rows are deleted and the cleanup queued, then the process dies before removing the file.
    let deleted = server
        .store
        .delete_conversation(conversation, common::START)
        .await
        .expect("deleted");
    assert_eq!(deleted.cleanup_jobs.len(), 1);
    assert_eq!(
        server.audio_files().await.len(),
        1,
        "the file outlived the crash"
    );
    server.stop().await;

    // The crash also cut an upload short: its spooled file was left behind.
    let spool = dir.path().join("tmp");
    std::fs::create_dir_all(&spool).expect("spool folder");
    std::fs::write(spool.join(".tmpINTERRUPTED"), b"half an upload").expect("leftover");

    let restarted = TestServer::start_in(dir.path(), Options::default()).await;
    assert!(
        restarted.spooled_files().is_empty(),
        "interrupted uploads are swept at start"
    );
    // The worker removes the file, then marks its job done: wait for both.
    let mut pending = None;
    for _ in 0..500 {
        pending = restarted
            .store
            .pending_jobs(callvault_store::JobKind::CollectBlob)
            .await
            .ok();
        if restarted.audio_files().await.is_empty() && pending == Some(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        restarted.audio_files().await.is_empty(),
        "the queued cleanup ran after the restart"
    );
    assert_eq!(pending, Some(0), "and was marked done");
}

#[tokio::test]
async fn any_common_format_is_stored_as_mp3_with_its_channels() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let formats = common::fixtures_dir().join("formats");
    for (i, (file, channels, codec)) in [
        ("ulaw-2ch-8k.wav", 2, "pcm_mulaw"),
        ("opus-mono-48k.webm", 1, "opus"),
        ("aac-2ch-44k.m4a", 2, "aac"),
    ]
    .iter()
    .enumerate()
    {
        let call = admin
            .answered_call(
                NUMBER,
                &format!("+1415555{:04}", 400 + i),
                10 + i64::try_from(i).unwrap_or(0),
            )
            .await;
        let audio = std::fs::read(formats.join(file)).expect("fixture");
        let r = admin
            .raw(
                Method::PUT,
                &format!("/api/v1/calls/{}/recording", json_of(&call, "id")),
                "application/octet-stream",
                audio,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{file}: {:?}", r.json());
        assert_eq!(r.json()["channels"], *channels, "{file}");
        assert_eq!(r.json()["source_codec"], *codec, "{file}");
        let seconds = r.json()["duration_s"].as_f64().unwrap_or_default();
        assert!((seconds - 3.2).abs() < 0.25, "{file}: {seconds}");
        let played = admin
            .get(&format!(
                "/api/v1/recordings/{}/audio",
                json_of(&r.json(), "recording_id")
            ))
            .await;
        assert_eq!(played.header("content-type"), "audio/mpeg");
    }
    assert_eq!(server.audio_files().await.len(), 3);
    assert!(
        server.spooled_files().is_empty(),
        "no temporary files remain"
    );
}

/// Who heard what: a listen is one `play` entry however many ranges the player fetched, again
/// after half an hour; each download is an entry; opening the conversation by its link is one.
#[tokio::test]
async fn plays_downloads_and_link_openings_are_audited_once_each() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user(
            "ana@example.com",
            callvault_core::user::Role::User,
            callvault_core::user::Scope::All,
            true,
            false,
        )
        .await;
    let (call, recording) = recorded_call(&admin).await;
    let conversation = json_of(&call, "conversation_id");
    let audio = format!("/api/v1/recordings/{recording}/audio");
    for start in [0, 1000, 2000, 3000, 4000] {
        let range = format!("bytes={start}-{}", start + 999);
        let part = ana
            .send(Method::GET, &audio, move |r| r.header("range", range))
            .await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    }
    let plays = admin.audit_entries("play").await;
    assert_eq!(plays.len(), 1, "{plays:?}");
    assert_eq!(plays[0]["target_id"], Value::from(recording.clone()));
    assert_eq!(
        plays[0]["detail"]["conversation_id"],
        Value::from(conversation.clone())
    );
    assert!(
        !plays[0].to_string().contains("+1415555"),
        "no phone number in the entry"
    );
    server.clock.advance(time::Duration::minutes(31));
    ana.get(&audio).await;
    assert_eq!(
        admin.audit_entries("play").await.len(),
        2,
        "a new listen half an hour later"
    );

    for _ in 0..2 {
        let saved = ana
            .get(&format!("/api/v1/recordings/{recording}/download"))
            .await;
        assert_eq!(saved.status, StatusCode::OK);
    }
    assert_eq!(admin.audit_entries("download").await.len(), 2);

    let page = format!("/conversations/{conversation}");
    for _ in 0..2 {
        assert_eq!(ana.get(&page).await.status, StatusCode::OK);
    }
    let opened = admin.audit_entries("share_link_open").await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["target_id"], Value::from(conversation));
}

/// A file with damage the reader skipped is refused saying how much was lost, and leaves
/// nothing; one merely cut short is kept, and the answer says so.
#[tokio::test]
async fn damaged_uploads_are_refused_and_cut_ones_kept_and_said() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let mp3 =
        std::fs::read(common::fixtures_dir().join("formats/mp3-2ch-22k.mp3")).expect("fixture");
    let mut damaged = mp3[..mp3.len() / 2].to_vec();
    damaged.extend(
        (0..mp3.len() - mp3.len() / 2)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8),
    );
    let call = admin.answered_call(NUMBER, "+14155550150", 10).await;
    let call_id = json_of(&call, "id");
    let refused = admin.upload(&call_id, damaged).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "corrupt_audio")
    );
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("could not be decoded") && message.contains('%'),
        "{message}"
    );
    assert!(server.audio_files().await.is_empty());
    assert!(admin.get(&format!("/api/v1/calls/{call_id}")).await.json()["recording"].is_null());

    let kept = admin.upload(&call_id, mp3[..5000].to_vec()).await;
    assert_eq!(kept.status, StatusCode::CREATED, "{:?}", kept.json());
    assert_eq!(kept.json()["truncated"], true);
    let whole = admin.answered_call(NUMBER, "+14155550151", 10).await;
    let stored = admin.upload(&json_of(&whole, "id"), mp3).await;
    assert_eq!(stored.json()["truncated"], false);
}

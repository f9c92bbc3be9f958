//! The answers every operation can give that its own annotation leaves out, added to the
//! document from what the operation reads: 401 where a credential is needed, 403 on every
//! change made with one (a session cookie sent from another site is refused), 400 where query
//! parameters or a JSON body are read, 413/415/422 for a JSON body. Derived, so they stay true
//! as operations change.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Operations anyone may call.
const PUBLIC: &[&str] = &["/api/v1/auth/login", "/api/v1/auth/logout"];

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error(description));
}

fn reads_json(body: Option<&RefOr<RequestBody>>) -> bool {
    matches!(body, Some(RefOr::T(body)) if body.content.keys().any(|c| c.contains("json")))
}

/// Adds the common answers to every operation of `doc`.
pub fn document(doc: &mut OpenApi) {
    for (path, item) in &mut doc.paths.paths {
        let public = PUBLIC.contains(&path.as_str());
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ];
        for (operation, changes) in operations {
            let Some(operation) = operation else { continue };
            if !public {
                add(operation, "401", "Not signed in: no valid token or session");
            }
            if !public && changes {
                add(
                    operation,
                    "403",
                    "Not allowed to you, or sent with the session cookie from another site",
                );
            }
            let has_query = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            let json = reads_json(operation.request_body.as_ref());
            if has_query || json {
                add(operation, "400", "A malformed query parameter or body");
            }
            if json {
                add(operation, "413", "The body is larger than the limit");
                add(operation, "415", "The body is not sent as JSON");
                add(operation, "422", "The body's values are not acceptable");
            }
        }
    }
}

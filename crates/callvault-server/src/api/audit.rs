//! The audit log (admins): who signed in, heard, read, downloaded, deleted or changed what,
//! filtered by person, action, contact and time, in pages or as one CSV of any size. Entries
//! are never changed or deleted through callvault; only their own retention setting removes
//! them.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use callvault_core::{ContactId, UserId};
use callvault_store::{AuditAction, AuditEntry, AuditFilter};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(csv))
}

pub use callvault_app::audit::{record, record_about};

/// The names `action` takes.
fn action_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(AuditAction::ALL.iter().map(|a| a.as_str())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this kind of entry (`play`, `download`, `transcript_view`, `share_link_open`,
    /// `delete`, `retention_delete`, `hold_placed`, `hold_released`, …).
    #[param(schema_with = action_schema)]
    pub action: Option<String>,
    /// Only what this team member did.
    pub actor: Option<UserId>,
    /// Only what concerns this contact (their conversation, calls and recordings).
    pub contact_id: Option<ContactId>,
    /// From this moment on (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Before this moment (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditExportQuery {
    /// As for the list.
    #[param(schema_with = action_schema)]
    pub action: Option<String>,
    pub actor: Option<UserId>,
    pub contact_id: Option<ContactId>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn filter(
    action: Option<&str>,
    actor: Option<UserId>,
    contact: Option<ContactId>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
) -> ApiResult<AuditFilter> {
    let action = action
        .map(|a| {
            AuditAction::parse(a).ok_or_else(|| {
                ApiError::bad_request("invalid_query", format!("no audit action is named {a:?}"))
            })
        })
        .transpose()?;
    Ok(AuditFilter {
        actor,
        action,
        contact,
        since,
        until,
    })
}

/// The audit log, newest first, filtered (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditList>> {
    let filter = filter(q.action.as_deref(), q.actor, q.contact_id, q.since, q.until)?;
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "limit must be 1 to 1000",
            ));
        }
    };
    let before = paging::decode_audit_cursor(q.cursor.as_deref())?;
    let page = callvault_app::audit::page(&state, &user, &filter, before, limit).await?;
    Ok(Json(AuditList {
        items: page.items,
        next_cursor: page.next.map(paging::encode_audit_cursor),
    }))
}

/// The whole audit log as CSV, newest first, filtered as the list is (admins): streamed, so
/// any size; the export is itself an entry. Columns: at, actor_id, actor, action,
/// target_kind, target_id, contact_id, detail (JSON).
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "admin", params(AuditExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<AuditExportQuery>,
) -> ApiResult<Response> {
    let filter = filter(q.action.as_deref(), q.actor, q.contact_id, q.since, q.until)?;
    let pages = callvault_app::audit::export(&state, &user, filter).await?;
    let header_row = futures::stream::once(async { Ok::<_, std::io::Error>(csv_rows(&[], true)) });
    let rows = pages.map(|page| match page {
        Ok(entries) => Ok(csv_rows(&entries, false)),
        // The status line is gone by now: the body ends early, which clients see as an error.
        Err(e) => {
            tracing::error!(error = %e, "the audit export stopped");
            Err(std::io::Error::other("the audit export stopped"))
        }
    });
    let name = format!(
        "callvault-audit-{}.csv",
        state.now().date().to_string().replace('-', "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(header_row.chain(rows)),
    )
        .into_response())
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
/// written with a `'` before it.
fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Entries as CSV lines (with the header line first when `header`).
fn csv_rows(entries: &[AuditEntry], header: bool) -> bytes::Bytes {
    let mut out = csv::Writer::from_writer(Vec::new());
    if header {
        let _ = out.write_record([
            "at",
            "actor_id",
            "actor",
            "action",
            "target_kind",
            "target_id",
            "contact_id",
            "detail",
        ]);
    }
    for e in entries {
        let at =
            e.at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        let _ = out.write_record([
            at.as_str(),
            &e.actor
                .as_ref()
                .map(|a| a.id.to_string())
                .unwrap_or_default(),
            &cell(e.actor.as_ref().map_or("", |a| a.name.as_str())),
            e.action.as_str(),
            e.target_kind.as_str(),
            e.target_id.as_deref().unwrap_or_default(),
            &e.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            &e.detail.to_string(),
        ]);
    }
    bytes::Bytes::from(out.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("Dana Agent"), "Dana Agent");
    }
}

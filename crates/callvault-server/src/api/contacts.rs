//! Contacts: the people the team talks to, and who each is assigned to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::contact::{Contact, clean_name};
use callvault_core::permissions::{ContactAction, OrgAction, contact_scope, default_assignees};
use callvault_core::phone::E164;
use callvault_core::user::normalise_email;
use callvault_core::{ContactId, UserId};
use callvault_store::{ContactCursor, ContactPatch, ContactQuery, NewContact};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit, paging};
use crate::auth::{CurrentUser, require, require_org};
use crate::error::{ApiError, ApiResult, ErrorBody, NotFoundAs};
use crate::extract::{ApiJson, ApiPath, ApiQuery, nullable};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(hold, release_hold))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    #[schema(schema_with = super::fields::hold_reason)]
    pub reason: String,
}

/// Places a legal hold on the contact (admins): nothing of theirs can be deleted, by anyone or
/// by the retention policy, until it is released. A contact already held keeps their hold
/// (200); a new one answers 201.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/hold", tag = "contacts", params(("id" = ContactId, Path)),
    request_body = HoldRequest,
    responses((status = 200, body = super::views::HoldView), (status = 201, body = super::views::HoldView),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hold(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<HoldRequest>,
) -> ApiResult<(StatusCode, Json<super::views::HoldView>)> {
    let (hold, created) =
        callvault_app::holds::hold_contact(&state, &user, id, &req.reason).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(hold.into())))
}

/// Releases the contact's legal hold (admins); audited. A hold on everything stays.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}/hold", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn release_hold(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<StatusCode> {
    callvault_app::holds::release_contact(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactListQuery {
    /// Part of a name, or a phone number in any format ("(415) 555-0100", "5550100").
    #[param(schema_with = super::fields::filter_text)]
    pub q: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactList {
    pub items: Vec<Contact>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    #[schema(schema_with = super::fields::name)]
    pub name: String,
    #[schema(schema_with = super::fields::phone)]
    pub phone: String,
    #[schema(schema_with = super::fields::optional_email)]
    pub email: Option<String>,
    /// Admins only. Without it, a user who sees only assigned contacts is assigned the new one.
    pub assigned_user_ids: Option<Vec<UserId>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    #[schema(schema_with = super::fields::optional_name)]
    pub name: Option<String>,
    #[schema(schema_with = super::fields::optional_phone)]
    pub phone: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = super::fields::optional_email)]
    pub email: Option<Option<String>>,
    /// Admins only.
    pub assigned_user_ids: Option<Vec<UserId>>,
}

pub fn parse_phone(raw: &str, state: &AppState) -> ApiResult<E164> {
    E164::parse(raw, state.settings.default_region)
        .map_err(|e| ApiError::invalid("invalid_phone", e.to_string()))
}

fn parse_name(raw: &str) -> ApiResult<String> {
    clean_name(raw)
        .ok_or_else(|| ApiError::invalid("invalid_name", "a name must be 1 to 200 characters"))
}

fn parse_email(raw: &str) -> ApiResult<String> {
    normalise_email(raw)
        .ok_or_else(|| ApiError::invalid("invalid_email", "that is not an email address"))
}

/// Contacts by name, as far as you may see them.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactListQuery),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<ContactListQuery>,
) -> ApiResult<Json<ContactList>> {
    let text = paging::text_filter(q.q.as_deref(), state.settings.default_region)?;
    let after = paging::decode_cursor::<(String, ContactId)>(q.cursor.as_deref())?
        .map(|(name_folded, id)| ContactCursor { name_folded, id });
    let page = state
        .store
        .contacts(ContactQuery {
            scope: contact_scope(&user),
            text,
            after,
            limit: paging::limit(q.limit)?,
        })
        .await?;
    Ok(Json(ContactList {
        items: page.items,
        next_cursor: page
            .next
            .map(|c| paging::encode_cursor(&(c.name_folded, c.id))),
    }))
}

/// Adds a contact, with an empty conversation.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = CreateContact,
    responses((status = 201, body = Contact), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<CreateContact>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    require_org(&user, OrgAction::CreateContact)?;
    let assigned = match req.assigned_user_ids {
        Some(ids) => {
            require_org(&user, OrgAction::AssignContacts)?;
            ids
        }
        None => default_assignees(&user),
    };
    let contact = state
        .store
        .create_contact(
            NewContact {
                name: parse_name(&req.name)?,
                phone: parse_phone(&req.phone, &state)?,
                phone_raw: req.phone.trim().to_owned(),
                email: req.email.as_deref().map(parse_email).transpose()?,
                assigned,
            },
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn visible_contact(
    state: &AppState,
    user: &callvault_core::user::User,
    id: ContactId,
    action: ContactAction,
) -> ApiResult<Contact> {
    let contact = state
        .store
        .contact(id)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    require(user, action, &contact.assigned_user_ids, "contact")?;
    Ok(contact)
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<Json<Contact>> {
    Ok(Json(
        visible_contact(&state, &user, id, ContactAction::View).await?,
    ))
}

/// Changes a contact's name, phone, email or (admins) assignees.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)), request_body = UpdateContact,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<UpdateContact>,
) -> ApiResult<Json<Contact>> {
    let contact = visible_contact(&state, &user, id, ContactAction::Edit).await?;
    if req.assigned_user_ids.is_some() {
        require(
            &user,
            ContactAction::Assign,
            &contact.assigned_user_ids,
            "contact",
        )?;
    }
    let patch = ContactPatch {
        name: req.name.as_deref().map(parse_name).transpose()?,
        phone: match req.phone.as_deref() {
            Some(raw) => Some((parse_phone(raw, &state)?, raw.trim().to_owned())),
            None => None,
        },
        email: match req.email {
            Some(Some(raw)) => Some(Some(parse_email(&raw)?)),
            Some(None) => Some(None),
            None => None,
        },
        assigned: req.assigned_user_ids,
    };
    let assigned = patch.assigned.clone();
    let updated = state.store.update_contact(id, patch).await?;
    // Who may see a contact is a permission: its changes are audited (ids only).
    if let Some(assigned) = assigned.filter(|a| *a != contact.assigned_user_ids) {
        audit::record_about(
            &state,
            Some(&user),
            callvault_store::AuditAction::ContactAssign,
            "contact",
            Some(id.to_string()),
            id,
            serde_json::json!({"before": contact.assigned_user_ids, "after": assigned}),
        )
        .await;
    }
    Ok(Json(updated))
}

/// Deletes a contact with its conversation, calls, recordings (audio included) and transcripts.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`legal_hold`: a legal hold keeps it; the error's `hold` says who placed it and why", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<StatusCode> {
    let contact = visible_contact(&state, &user, id, ContactAction::Delete).await?;
    let deleted = state
        .store
        .delete_contact(id, state.now())
        .await
        .or_not_found("contact")?;
    state.jobs.run_now(&state, &deleted.cleanup_jobs).await;
    if let Some(conversation) = contact.conversation_id {
        callvault_app::webhooks::recordings_deleted(
            &state,
            &deleted.recordings,
            conversation,
            id,
            "contact_deleted",
        )
        .await;
    }
    // Ids and counts only: the person's details go with the contact.
    audit::record_about(
        &state,
        Some(&user),
        callvault_store::AuditAction::Delete,
        "contact",
        Some(id.to_string()),
        id,
        serde_json::json!({"recordings": deleted.cleanup_jobs.len()}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

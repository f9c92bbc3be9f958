//! Settings → Users (admins): each team member's role, scope, permissions and the contacts
//! assigned to them.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::permissions::ContactScope;
use callvault_core::user::{Role, Scope};
use callvault_store::ContactQuery;

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets};
use crate::state::AppState;

/// At most this many assigned contacts are named in the table; the dialog lists them all.
const NAMED_CONTACTS: u32 = 5;

struct UserRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    scope: &'static str,
    can_download: bool,
    can_delete: bool,
    disabled: bool,
    extension: Option<String>,
    is_me: bool,
    assigned: Vec<String>,
    more_assigned: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    assets: &'static str,
    chrome: Chrome,
    rows: Vec<UserRow>,
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let mut rows = Vec::new();
    for u in callvault_app::users::list(&state, &user).await? {
        let assigned = state
            .store
            .contacts(ContactQuery {
                scope: ContactScope::AssignedTo(u.id),
                text: None,
                after: None,
                limit: NAMED_CONTACTS,
            })
            .await?;
        rows.push(UserRow {
            id: u.id.to_string(),
            is_me: u.id == user.id,
            name: u.name,
            email: u.email,
            role: match u.role {
                Role::Admin => "Admin",
                Role::User => "User",
            },
            scope: match u.scope {
                Scope::All => "All contacts",
                Scope::Assigned => "Assigned contacts",
            },
            can_download: u.can_download,
            can_delete: u.can_delete,
            disabled: u.disabled,
            extension: u.extension,
            more_assigned: assigned.next.is_some(),
            assigned: assigned.items.into_iter().map(|c| c.name).collect(),
        });
    }
    chrome::render(&UsersPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Users),
        rows,
    })
}

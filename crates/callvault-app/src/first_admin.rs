//! The very first start: with no users at all, an admin is created so someone can sign in.

use callvault_core::user::{Role, Scope};
use callvault_store::{NewUser, StoreResult};

use crate::{App, passwords, secrets};

pub const FIRST_ADMIN_EMAIL: &str = "admin@localhost";

/// The account made on first start; its password exists only here, to be shown once.
pub struct FirstAdmin {
    pub email: String,
    pub password: String,
}

/// Creates the first admin if there are no users yet.
pub async fn ensure_first_admin(state: &App) -> StoreResult<Option<FirstAdmin>> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let pw = secrets::new_password();
    let hash = passwords::hash_blocking(&pw)
        .map_err(|e| callvault_store::StoreError::Backend(e.into()))?;
    let user = state
        .store
        .create_user(
            NewUser {
                email: FIRST_ADMIN_EMAIL.into(),
                name: "Admin".into(),
                role: Role::Admin,
                scope: Scope::All,
                can_download: true,
                can_delete: true,
                extension: None,
                password_hash: Some(hash),
            },
            state.now(),
        )
        .await?;
    Ok(Some(FirstAdmin {
        email: user.email,
        password: pw,
    }))
}

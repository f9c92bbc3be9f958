//! Users, sessions and API tokens.

use async_trait::async_trait;
use callvault_core::user::{Role, Scope, User};
use callvault_core::{TokenId, UserId};
use callvault_store::{
    Conflict, Missing, NewSession, NewUser, StoreError, StoreResult, TokenInfo, UserPatch,
    UserStore,
};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::PostgresStore;
use crate::codec::{Db, RowExt, conflict_on_unique, enum_col, missing_on_fk};
use crate::steps::lock;

/// The columns `user_from_row` reads, from `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.name, u.role, u.scope, u.can_download, u.can_delete, u.disabled, u.extension, u.created_at"
    };
}

/// Held while a change may take away an active admin, so such changes happen one at a time.
const ADMINS_LOCK: &str = "callvault:active-admins";

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: row.id("id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        role: enum_col(row, "role", Role::parse)?,
        scope: enum_col(row, "scope", Scope::parse)?,
        can_download: row.flag("can_download")?,
        can_delete: row.flag("can_delete")?,
        disabled: row.flag("disabled")?,
        extension: row.opt_text("extension")?,
        created_at: row.time("created_at")?,
    })
}

fn token_from_row(row: &PgRow) -> StoreResult<TokenInfo> {
    Ok(TokenInfo {
        id: row.id("id")?,
        user_id: row.id("user_id")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
    })
}

/// A unique index refused the user: the extension's, or else the email's.
fn user_conflict(e: sqlx::Error) -> StoreError {
    let on_extension =
        matches!(&e, sqlx::Error::Database(db) if db.message().contains("extension"));
    conflict_on_unique(
        e,
        if on_extension {
            Conflict::ExtensionTaken
        } else {
            Conflict::EmailTaken
        },
    )
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User> {
        let id = UserId::new();
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, role, scope, can_download, can_delete, extension, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.0)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.scope.as_str())
        .bind(user.can_download)
        .bind(user.can_delete)
        .bind(&user.extension)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(user_conflict)?;
        self.user(id).await?.ok_or(StoreError::NotFound)
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_extension(&self, extension: &str) -> StoreResult<Option<User>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.extension = $1"
        );
        let row = sqlx::query(sql)
            .bind(extension)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        Ok(self.credentials(email).await?.map(|(user, _)| user))
    }

    async fn credentials(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(|row| Ok((user_from_row(&row)?, row.opt_text("password_hash")?)))
            .transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u ORDER BY lower(u.name COLLATE \"C\"), u.email"
        ))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(user_from_row).collect()
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .db()?;
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative count"))
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let may_drop_admin = patch.role.is_some() || patch.disabled.is_some();
        if may_drop_admin {
            // Two admins demoting each other at once: the second waits, then counts what the
            // first left.
            lock(&mut tx, ADMINS_LOCK).await?;
        }
        let was_active_admin: Option<bool> = sqlx::query_scalar(
            "SELECT role = 'admin' AND NOT disabled FROM users WHERE id = $1 FOR UPDATE",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let was_active_admin = was_active_admin.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE users SET
                name = COALESCE($1, name),
                role = COALESCE($2, role),
                scope = COALESCE($3, scope),
                can_download = COALESCE($4, can_download),
                can_delete = COALESCE($5, can_delete),
                disabled = COALESCE($6, disabled),
                password_hash = COALESCE($7, password_hash),
                extension = CASE WHEN $9 THEN $10 ELSE extension END
             WHERE id = $8",
        )
        .bind(&patch.name)
        .bind(patch.role.map(Role::as_str))
        .bind(patch.scope.map(Scope::as_str))
        .bind(patch.can_download)
        .bind(patch.can_delete)
        .bind(patch.disabled)
        .bind(&patch.password_hash)
        .bind(id.0)
        .bind(patch.extension.is_some())
        .bind(patch.extension.clone().flatten())
        .execute(&mut *tx)
        .await
        .map_err(user_conflict)?;
        if patch.password_hash.is_some() || patch.disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        if patch.disabled == Some(true) {
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        if was_active_admin && may_drop_admin {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled",
            )
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if admins == 0 {
                return Err(Conflict::LastAdmin.into());
            }
        }
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
        let row = sqlx::query(sql).bind(id.0).fetch_one(&mut *tx).await.db()?;
        let user = user_from_row(&row)?;
        tx.commit().await.db()?;
        Ok(user)
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(session.created_at)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.0)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn create_token(
        &self,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TokenInfo> {
        let id = TokenId::new();
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(user_id.0)
        .bind(name)
        .bind(token_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        Ok(TokenInfo {
            id,
            user_id,
            name: name.to_owned(),
            created_at: now,
        })
    }

    async fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id
                  WHERE t.token_hash = $1 AND NOT u.disabled"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn tokens(&self, user_id: UserId) -> StoreResult<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_tokens(&self, user_id: UserId) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user_id.0)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected())
    }

    async fn delete_token(&self, user_id: UserId, id: TokenId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user_id.0)
            .execute(&self.pool)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

//! Users, sessions and API tokens.

use async_trait::async_trait;
use callvault_core::user::{Role, Scope, User};
use callvault_core::{TokenId, UserId};
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use callvault_store::{
    Conflict, Missing, NewSession, NewUser, StoreError, StoreResult, TokenInfo, UserPatch,
    UserStore,
};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, conflict_on_unique, enum_col, flag, missing_on_fk, ms};

/// The columns `user_from_row` reads, from `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.name, u.role, u.scope, u.can_download, u.can_delete, u.disabled, u.extension, u.created_at"
    };
}

pub(crate) fn user_from_row(row: &impl RowExt) -> StoreResult<User> {
    Ok(User {
        id: row.parsed("id")?,
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

fn token_from_row(row: &SqliteRow) -> StoreResult<TokenInfo> {
    Ok(TokenInfo {
        id: row.parsed("id")?,
        user_id: row.parsed("user_id")?,
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
impl UserStore for SqliteStore {
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User> {
        let id = UserId::new();
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, role, scope, can_download, can_delete, extension, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.scope.as_str())
        .bind(flag(user.can_download))
        .bind(flag(user.can_delete))
        .bind(&user.extension)
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(user_conflict)?;
        self.user(id).await?.ok_or(StoreError::NotFound)
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_extension(&self, extension: &str) -> StoreResult<Option<User>> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.extension = ?"
        );
        let row = sqlx::query(sql)
            .bind(extension)
            .fetch_optional(&self.reader)
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
            ", u.password_hash FROM users u WHERE u.email = ?"
        ))
        .bind(email)
        .fetch_optional(&self.reader)
        .await
        .db()?;
        row.map(|row| Ok((user_from_row(&row)?, row.opt_text("password_hash")?)))
            .transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u ORDER BY u.name COLLATE NOCASE, u.email"
        ))
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter().map(user_from_row).collect()
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.reader)
            .await
            .db()?;
        row.unsigned("n")
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let was_active_admin: Option<i64> =
            sqlx::query_scalar("SELECT role = 'admin' AND disabled = 0 FROM users WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let was_active_admin = was_active_admin.ok_or(StoreError::NotFound)? != 0;
        let done = sqlx::query(
            "UPDATE users SET
                name = COALESCE(?, name),
                role = COALESCE(?, role),
                scope = COALESCE(?, scope),
                can_download = COALESCE(?, can_download),
                can_delete = COALESCE(?, can_delete),
                disabled = COALESCE(?, disabled),
                password_hash = COALESCE(?, password_hash),
                extension = CASE WHEN ? THEN ? ELSE extension END
             WHERE id = ?",
        )
        .bind(&patch.name)
        .bind(patch.role.map(Role::as_str))
        .bind(patch.scope.map(Scope::as_str))
        .bind(patch.can_download.map(flag))
        .bind(patch.can_delete.map(flag))
        .bind(patch.disabled.map(flag))
        .bind(&patch.password_hash)
        .bind(patch.extension.is_some())
        .bind(patch.extension.clone().flatten())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(user_conflict)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if patch.password_hash.is_some() || patch.disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .db()?;
        }
        if patch.disabled == Some(true) {
            sqlx::query("DELETE FROM api_tokens WHERE user_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .db()?;
        }
        if was_active_admin && (patch.role.is_some() || patch.disabled.is_some()) {
            // Checked inside the transaction, so two admins demoting each other cannot both win.
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
            )
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if admins == 0 {
                return Err(Conflict::LastAdmin.into());
            }
        }
        let sql = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await
            .db()?;
        let user = user_from_row(&row)?;
        tx.commit().await.db()?;
        Ok(user)
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // Sweep expired sessions while holding the write lock anyway.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(ms(session.created_at))
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.to_string())
        .bind(ms(session.created_at))
        .bind(ms(session.expires_at))
        .execute(&mut *tx)
        .await.db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>> {
        self.point.row(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
            ),
            (token_hash, ms(now)),
            |row| user_from_row(row),
        )
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
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
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(name)
        .bind(token_hash)
        .bind(ms(now))
        .execute(&self.writer)
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
        self.point.row(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM api_tokens t JOIN users u ON u.id = t.user_id
                  WHERE t.token_hash = ?1 AND u.disabled = 0"
            ),
            [token_hash],
            |row| user_from_row(row),
        )
    }

    async fn tokens(&self, user_id: UserId) -> StoreResult<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at FROM api_tokens WHERE user_id = ? ORDER BY created_at",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.reader)
        .await.db()?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_tokens(&self, user_id: UserId) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&self.writer)
            .await
            .db()?;
        Ok(done.rows_affected())
    }

    async fn delete_token(&self, user_id: UserId, id: TokenId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(&self.writer)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

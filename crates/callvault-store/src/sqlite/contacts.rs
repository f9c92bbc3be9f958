//! Contacts and their assignments.

use async_trait::async_trait;
use callvault_core::contact::{Contact, fold_for_search};
use callvault_core::phone::E164;
use callvault_core::{ContactId, ConversationId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;

use super::codec::{RowExt, missing_on_fk, ms, scope_user, text_patterns};
use super::{SqliteStore, conversations};
use crate::{
    Access, ContactCursor, ContactPage, ContactPatch, ContactQuery, ContactStore,
    ConversationDetail, ConversationPage, ConversationQuery, Deleted, NewContact, NewSms,
    StoreError, StoreResult, TimelineEvent,
};

/// The columns `contact_from_row` reads, from `contacts c`.
macro_rules! contact_columns {
    () => {
        "c.id, c.name, c.phone_e164, c.phone_raw, c.email, c.created_at,
         (SELECT v.id FROM conversations v WHERE v.contact_id = c.id) AS conversation_id,
         (SELECT json_group_array(a.user_id) FROM contact_assignments a WHERE a.contact_id = c.id) AS assigned"
    };
}

pub(super) fn contact_from_row(row: &SqliteRow) -> StoreResult<Contact> {
    let phone: String = row.text("phone_e164")?;
    Ok(Contact {
        id: row.parsed("id")?,
        name: row.text("name")?,
        phone: E164::try_from(phone).map_err(|e| StoreError::corrupt(e.to_string()))?,
        phone_raw: row.text("phone_raw")?,
        email: row.opt_text("email")?,
        assigned_user_ids: assigned_from_row(row)?,
        conversation_id: row.opt_parsed::<ConversationId>("conversation_id")?,
        created_at: row.time("created_at")?,
    })
}

/// Reads the `assigned` column: a JSON array of user ids.
pub(super) fn assigned_from_row(row: &SqliteRow) -> StoreResult<Vec<UserId>> {
    let raw = row.text("assigned")?;
    let mut ids: Vec<UserId> =
        serde_json::from_str(&raw).map_err(|e| StoreError::corrupt(e.to_string()))?;
    ids.sort();
    Ok(ids)
}

pub(super) async fn contact_in(
    conn: &mut SqliteConnection,
    id: ContactId,
) -> StoreResult<Option<Contact>> {
    let sql = concat!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts c WHERE c.id = ?"
    );
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(contact_from_row).transpose()
}

/// Inserts a contact (without a conversation) inside a transaction.
pub(super) async fn insert_contact(
    tx: &mut Transaction<'static, Sqlite>,
    contact: &NewContact,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    let id = ContactId::new();
    sqlx::query(
        "INSERT INTO contacts (id, name, name_folded, phone_e164, phone_digits, phone_raw, email, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(&contact.name)
    .bind(fold_for_search(&contact.name))
    .bind(contact.phone.as_str())
    .bind(contact.phone.digits())
    .bind(&contact.phone_raw)
    .bind(&contact.email)
    .bind(ms(now))
    .execute(&mut **tx)
    .await
    .map_err(|e| super::conflict_on_unique(e, "phone_taken"))?;
    assign(tx, id, &contact.assigned).await?;
    Ok(id)
}

/// The contact with this number, created (named `name`, or after the number) if there is none.
pub(super) async fn contact_for_phone(
    tx: &mut Transaction<'static, Sqlite>,
    phone: &E164,
    phone_raw: &str,
    name: Option<&str>,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM contacts WHERE phone_e164 = ?")
            .bind(phone.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return id
            .parse()
            .map_err(|_| StoreError::corrupt("bad contact id"));
    }
    let contact = NewContact {
        name: name.map_or_else(|| phone.to_string(), str::to_owned),
        phone: phone.clone(),
        phone_raw: phone_raw.to_owned(),
        email: None,
        assigned: Vec::new(),
    };
    insert_contact(tx, &contact, now).await
}

/// Whoever handled a call may see its contact: a team member who sees only their own
/// contacts sees the caller they just spoke to.
pub(super) async fn let_handler_see(
    tx: &mut Transaction<'static, Sqlite>,
    contact: ContactId,
    handler: UserId,
) -> StoreResult<()> {
    sqlx::query("INSERT OR IGNORE INTO contact_assignments (contact_id, user_id) VALUES (?, ?)")
        .bind(contact.to_string())
        .bind(handler.to_string())
        .execute(&mut **tx)
        .await
        .map_err(|e| missing_on_fk(e, "user"))?;
    Ok(())
}

async fn assign(
    tx: &mut Transaction<'static, Sqlite>,
    contact: ContactId,
    users: &[UserId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM contact_assignments WHERE contact_id = ?")
        .bind(contact.to_string())
        .execute(&mut **tx)
        .await?;
    for user in users {
        sqlx::query(
            "INSERT OR IGNORE INTO contact_assignments (contact_id, user_id) VALUES (?, ?)",
        )
        .bind(contact.to_string())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await
        .map_err(|e| missing_on_fk(e, "user"))?;
    }
    Ok(())
}

#[async_trait]
impl ContactStore for SqliteStore {
    async fn create_contact(
        &self,
        contact: NewContact,
        now: OffsetDateTime,
    ) -> StoreResult<Contact> {
        let mut tx = self.write().await?;
        let id = insert_contact(&mut tx, &contact, now).await?;
        conversations::ensure_conversation(&mut tx, id, now).await?;
        let created = contact_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        let mut conn = self.reader.acquire().await?;
        contact_in(&mut conn, id).await
    }

    async fn contacts(&self, query: ContactQuery) -> StoreResult<ContactPage> {
        let limit = query.limit.clamp(1, 500);
        let (name, digits) = text_patterns(query.name.as_deref(), query.digits.as_deref());
        let sql = concat!(
            "SELECT ",
            contact_columns!(),
            r", c.name_folded FROM contacts c
              WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM contact_assignments a
                                           WHERE a.contact_id = c.id AND a.user_id = ?1))
                AND ((?2 IS NULL AND ?3 IS NULL)
                     OR c.name_folded LIKE ?2 ESCAPE '\'
                     OR c.phone_digits LIKE ?3)
                AND (?4 IS NULL OR c.name_folded > ?4 OR (c.name_folded = ?4 AND c.id > ?5))
              ORDER BY c.name_folded, c.id
              LIMIT ?6"
        );
        let rows = sqlx::query(sql)
            .bind(scope_user(query.scope))
            .bind(name)
            .bind(digits)
            .bind(query.after.as_ref().map(|c| c.name_folded.clone()))
            .bind(query.after.as_ref().map(|c| c.id.to_string()))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.reader)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_folded = String::new();
        for row in rows.iter().take(limit as usize) {
            items.push(contact_from_row(row)?);
            last_folded = row.text("name_folded")?;
        }
        let next = (rows.len() > limit as usize)
            .then(|| {
                items.last().map(|c| ContactCursor {
                    name_folded: last_folded,
                    id: c.id,
                })
            })
            .flatten();
        Ok(ContactPage { items, next })
    }

    async fn contact_by_phone(&self, phone: &E164) -> StoreResult<Option<Contact>> {
        let sql = concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts c WHERE c.phone_e164 = ?"
        );
        let row = sqlx::query(sql)
            .bind(phone.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(contact_from_row).transpose()
    }

    async fn update_contact(&self, id: ContactId, patch: ContactPatch) -> StoreResult<Contact> {
        let mut tx = self.write().await?;
        let (phone, phone_digits, phone_raw) = match &patch.phone {
            Some((e164, raw)) => (Some(e164.as_str()), Some(e164.digits()), Some(raw.as_str())),
            None => (None, None, None),
        };
        let done = sqlx::query(
            "UPDATE contacts SET
                name = COALESCE(?1, name),
                name_folded = COALESCE(?2, name_folded),
                phone_e164 = COALESCE(?3, phone_e164),
                phone_digits = COALESCE(?4, phone_digits),
                phone_raw = COALESCE(?5, phone_raw),
                email = CASE WHEN ?6 THEN ?7 ELSE email END
             WHERE id = ?8",
        )
        .bind(&patch.name)
        .bind(patch.name.as_deref().map(fold_for_search))
        .bind(phone)
        .bind(phone_digits)
        .bind(phone_raw)
        .bind(patch.email.is_some())
        .bind(patch.email.clone().flatten())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| super::conflict_on_unique(e, "phone_taken"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(users) = &patch.assigned {
            assign(&mut tx, id, users).await?;
        }
        let updated = contact_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_contact(&self, id: ContactId, now: OffsetDateTime) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let conversation: Option<String> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let cleanup_jobs = match conversation {
            Some(conversation) => {
                let conversation = conversation
                    .parse()
                    .map_err(|_| StoreError::corrupt("bad conversation id"))?;
                conversations::purge_conversation(&mut tx, conversation, now).await?
            }
            None => Vec::new(),
        };
        let done = sqlx::query("DELETE FROM contacts WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(Deleted { cleanup_jobs })
    }

    async fn conversations(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        conversations::list(&self.reader, query).await
    }

    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Access>> {
        conversations::access(&self.reader, id).await
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationDetail>> {
        let mut conn = self.reader.acquire().await?;
        conversations::detail(&mut conn, id).await
    }

    async fn add_note(
        &self,
        conversation: ConversationId,
        author: UserId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TimelineEvent> {
        let mut tx = self.write().await?;
        let event = conversations::add_note(&mut tx, conversation, author, body, now).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn record_sms(&self, sms: NewSms, now: OffsetDateTime) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let created = conversations::record_sms(&mut tx, &sms, now).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn delete_conversation(
        &self,
        id: ConversationId,
        now: OffsetDateTime,
    ) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let cleanup_jobs = conversations::purge_conversation(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Deleted { cleanup_jobs })
    }
}

//! Contacts and their assignments.

use async_trait::async_trait;
use callvault_core::ContactId;
use callvault_core::contact::{Contact, fold_for_search};
use callvault_core::permissions::ContactScope;
use callvault_core::phone::E164;
use callvault_store::{
    Conflict, ContactCursor, ContactPage, ContactPatch, ContactQuery, ContactStore, Deleted,
    MAX_PAGE, SearchPlan, StoreError, StoreResult,
};
use sqlx::{QueryBuilder, Sqlite};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, RowExt, conflict_on_unique};
use crate::inbox::{plan, push_indexed_match, push_text_test};
use crate::rows::{contact_columns, contact_from_row, contact_in, parse_id};
use crate::steps::{
    assign, ensure_conversation, insert_contact, purge_conversation, refuse_if_held,
};

#[async_trait]
impl ContactStore for SqliteStore {
    async fn create_contact(
        &self,
        contact: callvault_store::NewContact,
        now: OffsetDateTime,
    ) -> StoreResult<Contact> {
        let mut tx = self.write().await?;
        let id = insert_contact(&mut tx, &contact, now).await?;
        ensure_conversation(&mut tx, id, now).await?;
        let created = contact_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        let mut conn = self.reader.acquire().await.db()?;
        contact_in(&mut conn, id).await
    }

    async fn contacts(&self, query: ContactQuery) -> StoreResult<ContactPage> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        if query.text.as_ref().is_some_and(|t| t.matches_nothing()) {
            return Ok(ContactPage {
                items: Vec::new(),
                next: None,
            });
        }
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            contact_columns!(),
            ", c.name_folded FROM contacts c WHERE 1 = 1"
        ));
        if let ContactScope::AssignedTo(user) = query.scope {
            sql.push(
                " AND EXISTS (SELECT 1 FROM contact_assignments a WHERE a.contact_id = c.id AND a.user_id = ",
            )
            .push_bind(user.to_string())
            .push(")");
        }
        if let Some(text) = &query.text {
            sql.push(" AND ");
            match plan(&self.reader, text, query.scope).await? {
                SearchPlan::FromIndexes => push_indexed_match(&mut sql, text),
                SearchPlan::Walk => {
                    push_text_test(&mut sql, text, "c.name_folded", "c.phone_digits");
                }
            }
        }
        if let Some(after) = &query.after {
            sql.push(" AND (c.name_folded > ")
                .push_bind(after.name_folded.clone())
                .push(" OR (c.name_folded = ")
                .push_bind(after.name_folded.clone())
                .push(" AND c.id > ")
                .push_bind(after.id.to_string())
                .push("))");
        }
        sql.push(" ORDER BY c.name_folded, c.id LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql.build().fetch_all(&self.reader).await.db()?;
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
            .await
            .db()?;
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
        .map_err(|e| conflict_on_unique(e, Conflict::PhoneTaken))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(users) = &patch.assigned {
            assign(&mut tx, id, users).await?;
        }
        let updated = contact_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(updated)
    }

    async fn delete_contact(&self, id: ContactId, now: OffsetDateTime) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let conversation: Option<String> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let deleted = match parse_id(conversation, "conversation")? {
            Some(conversation) => purge_conversation(&mut tx, conversation, now).await?,
            None => {
                refuse_if_held(&mut tx, id).await?;
                Deleted::default()
            }
        };
        let done = sqlx::query("DELETE FROM contacts WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.db()?;
        Ok(deleted)
    }
}

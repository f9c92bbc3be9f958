-- The audit trail, read by person, action, contact and time. Entries name the contact whose
-- things they concern (an id, no foreign key: the entry outlives the contact).
ALTER TABLE audit_log ADD COLUMN contact_id TEXT;
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC, id DESC);
CREATE INDEX audit_log_contact ON audit_log (contact_id, at DESC, id DESC);

-- Deletions of conversations and contacts are one action, as the API names it.
UPDATE audit_log SET action = 'delete' WHERE action IN ('conversation.delete', 'contact.delete');

-- How long audit entries are kept (NULL: forever), a setting of its own.
ALTER TABLE installation_settings ADD COLUMN audit_retention_days INTEGER;

-- Entries written before name their contact in their detail, or through their conversation.
UPDATE audit_log SET contact_id = target_id WHERE action = 'delete' AND target_kind = 'contact';
UPDATE audit_log SET contact_id = json_extract(detail, '$.contact_id')
    WHERE action = 'delete' AND target_kind = 'conversation';
UPDATE audit_log SET contact_id = (
        SELECT v.contact_id FROM conversations v
        WHERE v.id = json_extract(audit_log.detail, '$.conversation_id'))
    WHERE action IN ('play', 'download', 'transcript_view', 'share_link_open');

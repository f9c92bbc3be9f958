-- A restricted user's inbox filtered by channel, from their own index: contact_assignments
-- also copies the conversation's last message channel (kept by the same triggers as
-- activity_at), so the filter no longer joins every one of their conversations.
ALTER TABLE contact_assignments ADD COLUMN last_message_channel text;

UPDATE contact_assignments a SET last_message_channel = v.last_message_channel
FROM conversations v WHERE v.id = a.conversation_id;

CREATE INDEX contact_assignments_channel
    ON contact_assignments (user_id, last_message_channel, activity_at DESC, conversation_id DESC)
    WHERE conversation_id IS NOT NULL;

CREATE OR REPLACE FUNCTION assignments_follow_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE contact_assignments
        SET conversation_id = NULL, activity_at = NULL, last_message_channel = NULL
        WHERE contact_id = OLD.contact_id;
        RETURN OLD;
    END IF;
    UPDATE contact_assignments
    SET conversation_id = NEW.id, activity_at = NEW.activity_at,
        last_message_channel = NEW.last_message_channel
    WHERE contact_id = NEW.contact_id
      AND (conversation_id IS DISTINCT FROM NEW.id
           OR activity_at IS DISTINCT FROM NEW.activity_at
           OR last_message_channel IS DISTINCT FROM NEW.last_message_channel);
    RETURN NEW;
END $$;

DROP TRIGGER conversations_to_assignments ON conversations;
CREATE TRIGGER conversations_to_assignments
    AFTER INSERT OR DELETE OR UPDATE OF activity_at, last_message_channel ON conversations
    FOR EACH ROW EXECUTE FUNCTION assignments_follow_conversation();

CREATE OR REPLACE FUNCTION assignment_takes_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT v.id, v.activity_at, v.last_message_channel
    INTO NEW.conversation_id, NEW.activity_at, NEW.last_message_channel
    FROM conversations v WHERE v.contact_id = NEW.contact_id;
    SELECT c.name_folded, c.phone_digits INTO NEW.search_name, NEW.phone_digits
    FROM contacts c WHERE c.id = NEW.contact_id;
    RETURN NEW;
END $$;

-- The inbox at a million contacts: indexes for every way it is searched and filtered.

-- A stable integer key per contact for the search indexes (an implicit rowid may change on
-- VACUUM). New contacts get one from the insert trigger below.
ALTER TABLE contacts ADD COLUMN search_key INTEGER;
UPDATE contacts SET search_key = rowid;
CREATE UNIQUE INDEX contacts_search_key ON contacts (search_key);
-- The contacts list is ordered by name.
CREATE INDEX contacts_by_name ON contacts (name_folded, id);

-- Names by the start of each word (name_folded is already lower case, accents removed, words
-- split by single spaces); numbers by any three digits or more. Contentless: the words live in
-- contacts, and the triggers below hand the index the exact values it must forget.
CREATE VIRTUAL TABLE contact_words USING fts5(
    name_folded, content = '', detail = 'none', prefix = '1 2 3',
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE contact_digits USING fts5(
    phone_digits, content = '', tokenize = 'trigram'
);
INSERT INTO contact_words (rowid, name_folded) SELECT search_key, name_folded FROM contacts;
INSERT INTO contact_digits (rowid, phone_digits) SELECT search_key, phone_digits FROM contacts;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    UPDATE contacts SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM contacts)
    WHERE rowid = new.rowid AND search_key IS NULL;
    INSERT INTO contact_words (rowid, name_folded)
        SELECT search_key, name_folded FROM contacts WHERE rowid = new.rowid;
    INSERT INTO contact_digits (rowid, phone_digits)
        SELECT search_key, phone_digits FROM contacts WHERE rowid = new.rowid;
END;

CREATE TRIGGER contacts_search_update AFTER UPDATE OF name_folded, phone_digits ON contacts BEGIN
    INSERT INTO contact_words (contact_words, rowid, name_folded)
        VALUES ('delete', old.search_key, old.name_folded);
    INSERT INTO contact_words (rowid, name_folded) VALUES (new.search_key, new.name_folded);
    INSERT INTO contact_digits (contact_digits, rowid, phone_digits)
        VALUES ('delete', old.search_key, old.phone_digits);
    INSERT INTO contact_digits (rowid, phone_digits) VALUES (new.search_key, new.phone_digits);
    UPDATE conversations SET search_name = new.name_folded, phone_digits = new.phone_digits
    WHERE contact_id = new.id;
    UPDATE contact_assignments SET search_name = new.name_folded, phone_digits = new.phone_digits
    WHERE contact_id = new.id;
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contact_words (contact_words, rowid, name_folded)
        VALUES ('delete', old.search_key, old.name_folded);
    INSERT INTO contact_digits (contact_digits, rowid, phone_digits)
        VALUES ('delete', old.search_key, old.phone_digits);
END;

-- The inbox keeps a copy of its contact's searchable words, so a walk down the inbox in order
-- tests each entry without visiting the contact.
ALTER TABLE conversations ADD COLUMN search_name TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN phone_digits TEXT NOT NULL DEFAULT '';
UPDATE conversations SET (search_name, phone_digits) =
    (SELECT c.name_folded, c.phone_digits FROM contacts c WHERE c.id = conversations.contact_id);

-- The walk down the inbox tests these copies from the index alone, visiting only the rows it
-- keeps.
DROP INDEX conversations_activity;
CREATE INDEX conversations_activity
    ON conversations (activity_at DESC, id DESC, last_message_channel, search_name, phone_digits);

CREATE TRIGGER conversations_copy_contact AFTER INSERT ON conversations BEGIN
    UPDATE conversations SET (search_name, phone_digits) =
        (SELECT c.name_folded, c.phone_digits FROM contacts c WHERE c.id = new.contact_id)
    WHERE id = new.id;
END;

-- Who may see a contact, with a copy of its conversation's place in the inbox and of the
-- contact's searchable words, so a user who sees only their contacts gets (and searches) their
-- inbox from one index instead of filtering everyone's.
ALTER TABLE contact_assignments ADD COLUMN conversation_id TEXT;
ALTER TABLE contact_assignments ADD COLUMN activity_at INTEGER;
ALTER TABLE contact_assignments ADD COLUMN search_name TEXT NOT NULL DEFAULT '';
ALTER TABLE contact_assignments ADD COLUMN phone_digits TEXT NOT NULL DEFAULT '';
UPDATE contact_assignments SET (conversation_id, activity_at) =
    (SELECT v.id, v.activity_at FROM conversations v WHERE v.contact_id = contact_assignments.contact_id);
UPDATE contact_assignments SET (search_name, phone_digits) =
    (SELECT c.name_folded, c.phone_digits FROM contacts c WHERE c.id = contact_assignments.contact_id);
CREATE INDEX contact_assignments_inbox
    ON contact_assignments (user_id, activity_at DESC, conversation_id DESC, search_name, phone_digits)
    WHERE conversation_id IS NOT NULL;

CREATE TRIGGER assignments_take_conversation AFTER INSERT ON contact_assignments BEGIN
    UPDATE contact_assignments SET (conversation_id, activity_at) =
        (SELECT v.id, v.activity_at FROM conversations v WHERE v.contact_id = new.contact_id)
    WHERE contact_id = new.contact_id AND user_id = new.user_id;
    UPDATE contact_assignments SET (search_name, phone_digits) =
        (SELECT c.name_folded, c.phone_digits FROM contacts c WHERE c.id = new.contact_id)
    WHERE contact_id = new.contact_id AND user_id = new.user_id;
END;

CREATE TRIGGER conversations_to_assignments_insert AFTER INSERT ON conversations BEGIN
    UPDATE contact_assignments SET conversation_id = new.id, activity_at = new.activity_at
    WHERE contact_id = new.contact_id;
END;

CREATE TRIGGER conversations_to_assignments_update AFTER UPDATE OF activity_at ON conversations BEGIN
    UPDATE contact_assignments SET activity_at = new.activity_at WHERE contact_id = new.contact_id;
END;

CREATE TRIGGER conversations_to_assignments_delete AFTER DELETE ON conversations BEGIN
    UPDATE contact_assignments SET conversation_id = NULL, activity_at = NULL
    WHERE contact_id = old.contact_id;
END;

-- Transcript search orders hits by when their call started: each segment carries that time
-- and its contact (for a restricted user's search), so ordering needs no joins.
ALTER TABLE transcript_segments ADD COLUMN call_started_at INTEGER;
ALTER TABLE transcript_segments ADD COLUMN contact_id TEXT;
UPDATE transcript_segments SET (call_started_at, contact_id) =
    (SELECT k.started_at, k.contact_id FROM transcripts t
     JOIN recordings r ON r.id = t.recording_id JOIN calls k ON k.id = r.call_id
     WHERE t.id = transcript_segments.transcript_id);
CREATE INDEX transcript_segments_newest
    ON transcript_segments (call_started_at DESC, start_ms, transcript_id, idx);
CREATE INDEX transcript_segments_contact ON transcript_segments (contact_id, call_started_at DESC);

CREATE TRIGGER transcript_segments_take_call AFTER INSERT ON transcript_segments
WHEN new.call_started_at IS NULL BEGIN
    UPDATE transcript_segments SET (call_started_at, contact_id) =
        (SELECT k.started_at, k.contact_id FROM transcripts t
         JOIN recordings r ON r.id = t.recording_id JOIN calls k ON k.id = r.call_id
         WHERE t.id = new.transcript_id)
    WHERE id = new.id;
END;

-- The whole domain on PostgreSQL 13 or newer: ids are uuid, times timestamptz (truncated to
-- milliseconds by the application's clock), flags boolean.

-- Trusted extensions: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text,
    role          text NOT NULL CHECK (role IN ('admin', 'user')),
    scope         text NOT NULL CHECK (scope IN ('all', 'assigned')),
    can_download  boolean NOT NULL,
    can_delete    boolean NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- name_folded: the name's words as callvault folds them for search (lower case, no accents).
CREATE TABLE contacts (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    name_folded  text COLLATE "C" NOT NULL,
    phone_e164   text NOT NULL UNIQUE,
    phone_digits text NOT NULL,
    phone_raw    text NOT NULL,
    email        text,
    created_at   timestamptz NOT NULL
);
CREATE INDEX contacts_by_name ON contacts (name_folded, id);
-- Numbers by any three digits or more.
CREATE INDEX contacts_digits ON contacts USING gin (phone_digits gin_trgm_ops);

-- Names by the start of each word: every word of every folded name, so a prefix is a range of
-- this B-tree, and how many contacts it matches can be counted (up to a cap) cheaply before
-- choosing a plan. Kept by the trigger below.
CREATE TABLE contact_words (
    word       text COLLATE "C" NOT NULL,
    contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (word, contact_id)
);
CREATE INDEX contact_words_contact ON contact_words (contact_id);

CREATE FUNCTION contact_words_follow_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contact_words WHERE contact_id = NEW.id;
    END IF;
    INSERT INTO contact_words (word, contact_id)
        SELECT DISTINCT w, NEW.id FROM unnest(string_to_array(NEW.name_folded, ' ')) AS w
        WHERE w <> ''
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER contacts_words
    AFTER INSERT OR UPDATE OF name_folded ON contacts
    FOR EACH ROW EXECUTE FUNCTION contact_words_follow_name();

-- At most one conversation per contact. activity_at orders the inbox: the last message's time,
-- or the creation time while the conversation is empty.
-- search_name and phone_digits copy the contact's (kept by triggers below), so the inbox is
-- searched and ordered in one table.
CREATE TABLE conversations (
    id                   uuid PRIMARY KEY,
    contact_id           uuid NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    last_message_channel text CHECK (last_message_channel IN ('call', 'sms', 'note')),
    last_message_at      timestamptz,
    activity_at          timestamptz NOT NULL,
    created_at           timestamptz NOT NULL,
    search_name          text COLLATE "C" NOT NULL DEFAULT '',
    phone_digits         text NOT NULL DEFAULT ''
);
-- The walk down the inbox tests the copies of the contact's words from the index alone.
CREATE INDEX conversations_activity ON conversations (activity_at DESC, id DESC)
    INCLUDE (last_message_channel, search_name, phone_digits);
CREATE INDEX conversations_channel ON conversations (last_message_channel, activity_at DESC, id DESC);
CREATE INDEX conversations_digits ON conversations USING gin (phone_digits gin_trgm_ops);

CREATE FUNCTION conversation_copies_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.name_folded, c.phone_digits INTO NEW.search_name, NEW.phone_digits
    FROM contacts c WHERE c.id = NEW.contact_id;
    RETURN NEW;
END $$;
CREATE TRIGGER conversations_from_contact
    BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_copies_contact();

CREATE FUNCTION contact_to_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET search_name = NEW.name_folded, phone_digits = NEW.phone_digits
    WHERE contact_id = NEW.id;
    UPDATE contact_assignments SET search_name = NEW.name_folded, phone_digits = NEW.phone_digits
    WHERE contact_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER contacts_to_conversation
    AFTER UPDATE OF name_folded, phone_digits ON contacts
    FOR EACH ROW EXECUTE FUNCTION contact_to_conversation();

-- Who may see a contact. conversation_id and activity_at copy the contact's conversation,
-- search_name and phone_digits the contact's (kept by triggers), so a user who sees only their
-- contacts gets and searches their inbox from one index.
CREATE TABLE contact_assignments (
    contact_id      uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid,
    activity_at     timestamptz,
    search_name     text COLLATE "C" NOT NULL DEFAULT '',
    phone_digits    text NOT NULL DEFAULT '',
    PRIMARY KEY (contact_id, user_id)
);
CREATE INDEX contact_assignments_user ON contact_assignments (user_id, contact_id);
CREATE INDEX contact_assignments_inbox ON contact_assignments (user_id, activity_at DESC, conversation_id DESC)
    INCLUDE (search_name, phone_digits)
    WHERE conversation_id IS NOT NULL;

CREATE FUNCTION assignments_follow_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE contact_assignments SET conversation_id = NULL, activity_at = NULL
        WHERE contact_id = OLD.contact_id;
        RETURN OLD;
    END IF;
    UPDATE contact_assignments SET conversation_id = NEW.id, activity_at = NEW.activity_at
    WHERE contact_id = NEW.contact_id
      AND (conversation_id IS DISTINCT FROM NEW.id OR activity_at IS DISTINCT FROM NEW.activity_at);
    RETURN NEW;
END $$;
CREATE TRIGGER conversations_to_assignments
    AFTER INSERT OR DELETE OR UPDATE OF activity_at ON conversations
    FOR EACH ROW EXECUTE FUNCTION assignments_follow_conversation();

CREATE FUNCTION assignment_takes_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT v.id, v.activity_at INTO NEW.conversation_id, NEW.activity_at
    FROM conversations v WHERE v.contact_id = NEW.contact_id;
    SELECT c.name_folded, c.phone_digits INTO NEW.search_name, NEW.phone_digits
    FROM contacts c WHERE c.id = NEW.contact_id;
    RETURN NEW;
END $$;
CREATE TRIGGER assignments_from_conversation
    BEFORE INSERT ON contact_assignments
    FOR EACH ROW EXECUTE FUNCTION assignment_takes_conversation();

CREATE TABLE phone_numbers (
    id                       uuid PRIMARY KEY,
    e164                     text NOT NULL UNIQUE,
    label                    text NOT NULL,
    provider                 text NOT NULL CHECK (provider IN ('twilio', 'pbx')),
    call_recording           boolean NOT NULL,
    consent_announcement     text,
    transcribe_automatically boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL
);

-- Every value call_recording has had, so a call is judged by the setting at its start.
CREATE TABLE number_recording_changes (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    number_id      uuid NOT NULL REFERENCES phone_numbers (id) ON DELETE CASCADE,
    call_recording boolean NOT NULL,
    effective_at   timestamptz NOT NULL
);
CREATE INDEX number_recording_changes_number ON number_recording_changes (number_id, effective_at, id);

CREATE TABLE forward_targets (
    number_id  uuid NOT NULL REFERENCES phone_numbers (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    phone_e164 text NOT NULL,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (number_id, position)
);

CREATE TABLE calls (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    contact_id        uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    number_id         uuid NOT NULL REFERENCES phone_numbers (id),
    source            text NOT NULL,
    external_id       text,
    direction         text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status            text NOT NULL CHECK (status IN ('ringing', 'answered', 'no-answer', 'busy', 'failed')),
    from_addr         text NOT NULL,
    to_addr           text NOT NULL,
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    handled_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    recording_allowed boolean NOT NULL,
    recording_note    text,
    created_at        timestamptz NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX calls_conversation ON calls (conversation_id);
CREATE INDEX calls_contact ON calls (contact_id);
CREATE INDEX calls_number ON calls (number_id);
CREATE INDEX calls_handled_by ON calls (handled_by);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('call', 'sms', 'note')),
    occurred_at     timestamptz NOT NULL,
    call_id         uuid UNIQUE REFERENCES calls (id) ON DELETE CASCADE,
    direction       text CHECK (direction IN ('inbound', 'outbound')),
    body            text,
    author_user_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    external_id     text
);
CREATE INDEX events_conversation ON events (conversation_id, occurred_at, id);
CREATE UNIQUE INDEX events_external_id ON events (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE recordings (
    id          uuid PRIMARY KEY,
    call_id     uuid NOT NULL UNIQUE REFERENCES calls (id) ON DELETE CASCADE,
    blob_key    text NOT NULL UNIQUE,
    duration_ms bigint NOT NULL,
    channels    integer NOT NULL,
    sample_rate integer NOT NULL,
    bytes       bigint NOT NULL,
    sha256      text NOT NULL,
    peaks       text NOT NULL,
    created_at  timestamptz NOT NULL,
    source_ref  text
);
CREATE UNIQUE INDEX recordings_source_ref ON recordings (source_ref) WHERE source_ref IS NOT NULL;

CREATE TABLE transcripts (
    id           uuid PRIMARY KEY,
    recording_id uuid NOT NULL UNIQUE REFERENCES recordings (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    language     text,
    progress     double precision NOT NULL DEFAULT 0,
    error        text,
    job_id       uuid,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- search: the text's words without accents, stored so the GIN index needs no function at query
-- time (unaccent is not immutable, so it cannot sit in an index expression).
CREATE TABLE transcript_segments (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    transcript_id uuid NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    idx           integer NOT NULL,
    start_ms      bigint NOT NULL,
    end_ms        bigint NOT NULL,
    speaker       text NOT NULL,
    text          text NOT NULL,
    search        tsvector NOT NULL,
    -- When the call started, and its contact (kept by the trigger below): hits are ordered
    -- newest call first, and a restricted user's scope is checked, without joins.
    call_started_at timestamptz NOT NULL,
    contact_id      uuid NOT NULL,
    UNIQUE (transcript_id, idx)
);
CREATE INDEX transcript_segments_search ON transcript_segments USING gin (search);
CREATE INDEX transcript_segments_newest
    ON transcript_segments (call_started_at DESC, start_ms, transcript_id, idx);
CREATE INDEX transcript_segments_contact ON transcript_segments (contact_id, call_started_at DESC);

CREATE FUNCTION segment_takes_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT k.started_at, k.contact_id INTO NEW.call_started_at, NEW.contact_id
    FROM transcripts t JOIN recordings r ON r.id = t.recording_id JOIN calls k ON k.id = r.call_id
    WHERE t.id = NEW.transcript_id;
    RETURN NEW;
END $$;
CREATE TRIGGER transcript_segments_from_call
    BEFORE INSERT ON transcript_segments
    FOR EACH ROW EXECUTE FUNCTION segment_takes_call();

-- The durable queue. A finished job is deleted; a job out of attempts stays as 'dead' with its error.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    run_at       timestamptz NOT NULL,
    lease_until  timestamptz,
    worker       text,
    last_error   text,
    dedupe_key   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX jobs_ready ON jobs (kind, state, run_at);
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;

CREATE TABLE audit_log (
    id            uuid PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action        text NOT NULL,
    target_kind   text NOT NULL,
    target_id     text,
    detail        jsonb NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

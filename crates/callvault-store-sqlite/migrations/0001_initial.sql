-- The whole domain. Ids are UUID text, times are Unix milliseconds (UTC), booleans 0/1.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    scope         TEXT NOT NULL CHECK (scope IN ('all', 'assigned')),
    can_download  INTEGER NOT NULL,
    can_delete    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    phone_e164  TEXT NOT NULL UNIQUE,
    phone_digits TEXT NOT NULL,
    phone_raw   TEXT NOT NULL,
    email       TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE contact_assignments (
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX contact_assignments_user ON contact_assignments (user_id, contact_id);

-- At most one conversation per contact. activity_at orders the inbox: the last message's time,
-- or the creation time while the conversation is empty.
CREATE TABLE conversations (
    id                   TEXT PRIMARY KEY,
    contact_id           TEXT NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    last_message_channel TEXT CHECK (last_message_channel IN ('call', 'sms', 'note')),
    last_message_at      INTEGER,
    activity_at          INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX conversations_activity ON conversations (activity_at DESC, id DESC);
CREATE INDEX conversations_channel ON conversations (last_message_channel, activity_at DESC, id DESC);

CREATE TABLE phone_numbers (
    id                   TEXT PRIMARY KEY,
    e164                 TEXT NOT NULL UNIQUE,
    label                TEXT NOT NULL,
    provider             TEXT NOT NULL CHECK (provider IN ('twilio', 'pbx')),
    call_recording       INTEGER NOT NULL,
    consent_announcement TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

-- Every value call_recording has had, so a call is judged by the setting at its start.
CREATE TABLE number_recording_changes (
    id             INTEGER PRIMARY KEY,
    number_id      TEXT NOT NULL REFERENCES phone_numbers (id) ON DELETE CASCADE,
    call_recording INTEGER NOT NULL,
    effective_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX number_recording_changes_number ON number_recording_changes (number_id, effective_at, id);

CREATE TABLE forward_targets (
    number_id  TEXT NOT NULL REFERENCES phone_numbers (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    phone_e164 TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (number_id, position)
) STRICT;

CREATE TABLE calls (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    contact_id        TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    number_id         TEXT NOT NULL REFERENCES phone_numbers (id),
    source            TEXT NOT NULL,
    external_id       TEXT,
    direction         TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status            TEXT NOT NULL CHECK (status IN ('ringing', 'answered', 'no-answer', 'busy', 'failed')),
    from_addr         TEXT NOT NULL,
    to_addr           TEXT NOT NULL,
    started_at        INTEGER NOT NULL,
    answered_at       INTEGER,
    ended_at          INTEGER,
    handled_by        TEXT REFERENCES users (id) ON DELETE SET NULL,
    recording_allowed INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (source, external_id)
) STRICT;
CREATE INDEX calls_conversation ON calls (conversation_id);
CREATE INDEX calls_number ON calls (number_id);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('call', 'sms', 'note')),
    occurred_at     INTEGER NOT NULL,
    call_id         TEXT UNIQUE REFERENCES calls (id) ON DELETE CASCADE,
    direction       TEXT CHECK (direction IN ('inbound', 'outbound')),
    body            TEXT,
    author_user_id  TEXT REFERENCES users (id) ON DELETE SET NULL
) STRICT;
CREATE INDEX events_conversation ON events (conversation_id, occurred_at, id);

CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL UNIQUE REFERENCES calls (id) ON DELETE CASCADE,
    blob_key    TEXT NOT NULL UNIQUE,
    duration_ms INTEGER NOT NULL,
    channels    INTEGER NOT NULL,
    sample_rate INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    peaks       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE transcripts (
    id           TEXT PRIMARY KEY,
    recording_id TEXT NOT NULL UNIQUE REFERENCES recordings (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    language     TEXT,
    progress     REAL NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE transcript_segments (
    transcript_id TEXT NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    speaker       TEXT NOT NULL,
    text          TEXT NOT NULL,
    PRIMARY KEY (transcript_id, idx)
) STRICT;

-- The durable queue. A finished job is deleted; a job out of attempts stays as 'dead' with its error.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    worker       TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_ready ON jobs (state, run_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    at            INTEGER NOT NULL,
    actor_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    action        TEXT NOT NULL,
    target_kind   TEXT NOT NULL,
    target_id     TEXT,
    detail        TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

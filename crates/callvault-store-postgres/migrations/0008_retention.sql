-- Retention: a policy per number (NULL: the installation's default), the default itself, and
-- on each call when the policy deleted its recording (the call stays in the timeline).
ALTER TABLE phone_numbers ADD COLUMN retention_action text
    CHECK (retention_action IN ('keep_forever', 'delete_recordings', 'delete_conversations'));
ALTER TABLE phone_numbers ADD COLUMN retention_days integer;
ALTER TABLE calls ADD COLUMN recording_expired_at timestamptz;

-- Settings of the installation that every process must agree on: one row once set (none means
-- the defaults).
CREATE TABLE installation_settings (
    id               integer PRIMARY KEY CHECK (id = 1),
    retention_action text NOT NULL DEFAULT 'keep_forever'
        CHECK (retention_action IN ('keep_forever', 'delete_recordings', 'delete_conversations')),
    retention_days   integer,
    updated_at       timestamptz NOT NULL
);

-- The retention run walks each number's calls oldest first.
CREATE INDEX calls_number_started ON calls (number_id, started_at, id);
DROP INDEX calls_number;

-- What telephony providers need: why a call has no recording, provider ids that make repeated
-- callbacks harmless, and jobs that must not be queued twice.

ALTER TABLE calls ADD COLUMN recording_note TEXT;

ALTER TABLE recordings ADD COLUMN source_ref TEXT;
CREATE UNIQUE INDEX recordings_source_ref ON recordings (source_ref) WHERE source_ref IS NOT NULL;

ALTER TABLE events ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX events_external_id ON events (external_id) WHERE external_id IS NOT NULL;

ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;

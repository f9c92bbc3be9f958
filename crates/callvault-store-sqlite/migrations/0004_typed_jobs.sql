-- A transcript points at the job making it, so whether that job still lives is one lookup
-- rather than a search through job payloads.
ALTER TABLE transcripts ADD COLUMN job_id TEXT;
UPDATE transcripts SET job_id = (
    SELECT j.id FROM jobs j
    WHERE j.kind = 'transcribe' AND j.state IN ('queued', 'running')
      AND json_extract(j.payload, '$.recording_id') = transcripts.recording_id
    LIMIT 1)
WHERE status IN ('queued', 'running');

-- Data migrations that need Rust (folding names needs Unicode tables SQLite lacks), by the
-- version each reached.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

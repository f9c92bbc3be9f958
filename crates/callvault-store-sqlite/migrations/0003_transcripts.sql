-- Transcription: full-text search over segments, and numbers whose recordings are transcribed
-- as soon as they are stored.

ALTER TABLE phone_numbers ADD COLUMN transcribe_automatically INTEGER NOT NULL DEFAULT 0;

-- Segments get an explicit integer key: the search index refers to rows by it, and an implicit
-- rowid may be renumbered by VACUUM. (No segments existed before this migration.)
DROP TABLE transcript_segments;
CREATE TABLE transcript_segments (
    id            INTEGER PRIMARY KEY,
    transcript_id TEXT NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    speaker       TEXT NOT NULL,
    text          TEXT NOT NULL,
    UNIQUE (transcript_id, idx)
) STRICT;

CREATE VIRTUAL TABLE transcript_segments_fts USING fts5(
    text,
    content = 'transcript_segments',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER transcript_segments_fts_insert AFTER INSERT ON transcript_segments BEGIN
    INSERT INTO transcript_segments_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER transcript_segments_fts_delete AFTER DELETE ON transcript_segments BEGIN
    INSERT INTO transcript_segments_fts (transcript_segments_fts, rowid, text)
    VALUES ('delete', old.id, old.text);
END;

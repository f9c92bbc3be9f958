-- Transcription: full-text search over segments, and numbers whose recordings are transcribed
-- as soon as they are stored.

ALTER TABLE phone_numbers ADD COLUMN transcribe_automatically INTEGER NOT NULL DEFAULT 0;

CREATE VIRTUAL TABLE transcript_segments_fts USING fts5(
    text,
    content = 'transcript_segments',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER transcript_segments_fts_insert AFTER INSERT ON transcript_segments BEGIN
    INSERT INTO transcript_segments_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER transcript_segments_fts_delete AFTER DELETE ON transcript_segments BEGIN
    INSERT INTO transcript_segments_fts (transcript_segments_fts, rowid, text)
    VALUES ('delete', old.rowid, old.text);
END;

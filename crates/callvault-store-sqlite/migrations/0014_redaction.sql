-- Redaction: a number may have card and ID details hidden from its recordings; a recording
-- keeps the spans that were covered, and is held back from listeners until it was checked.
ALTER TABLE phone_numbers ADD COLUMN redact_sensitive INTEGER NOT NULL DEFAULT 0
    CHECK (redact_sensitive IN (0, 1));
ALTER TABLE recordings ADD COLUMN redactions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE recordings ADD COLUMN redaction_pending INTEGER NOT NULL DEFAULT 0
    CHECK (redaction_pending IN (0, 1));

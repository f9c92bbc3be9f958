-- Redaction: a number may have card and ID details hidden from its recordings; a recording
-- keeps the spans that were covered, and is held back from listeners until it was checked.
ALTER TABLE phone_numbers ADD COLUMN redact_sensitive boolean NOT NULL DEFAULT false;
ALTER TABLE recordings ADD COLUMN redactions text NOT NULL DEFAULT '[]';
ALTER TABLE recordings ADD COLUMN redaction_pending boolean NOT NULL DEFAULT false;

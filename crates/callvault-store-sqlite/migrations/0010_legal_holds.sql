-- Legal holds: while one is in force over a contact (or the whole installation, contact_id
-- NULL with scope 'installation'), nothing of theirs may be deleted. Released holds are kept
-- as history, so contact_id has no foreign key: a contact may be deleted once released, and the
-- hold still says whom it held.
CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL CHECK (scope IN ('installation', 'contact')),
    contact_id  TEXT,
    reason      TEXT NOT NULL,
    placed_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    placed_at   INTEGER NOT NULL,
    released_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    released_at INTEGER,
    CHECK ((scope = 'contact') = (contact_id IS NOT NULL))
) STRICT;
CREATE INDEX legal_holds_in_force ON legal_holds (contact_id) WHERE released_at IS NULL;

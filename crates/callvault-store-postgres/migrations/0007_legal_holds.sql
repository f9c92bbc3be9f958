-- Legal holds: while one is in force over a contact (or the whole installation, contact_id
-- NULL with scope 'installation'), nothing of theirs may be deleted. Released holds are kept
-- as history, so contact_id has no foreign key: a contact may be deleted once released, and the
-- hold still says whom it held.
CREATE TABLE legal_holds (
    id          uuid PRIMARY KEY,
    scope       text NOT NULL CHECK (scope IN ('installation', 'contact')),
    contact_id  uuid,
    reason      text NOT NULL,
    placed_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    placed_at   timestamptz NOT NULL,
    released_by uuid REFERENCES users (id) ON DELETE SET NULL,
    released_at timestamptz,
    CHECK ((scope = 'contact') = (contact_id IS NOT NULL))
);
CREATE INDEX legal_holds_in_force ON legal_holds (contact_id) WHERE released_at IS NULL;

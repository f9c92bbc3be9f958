-- Failed sign-ins (and other throttled actions) counted per key, an account or a client
-- address, in the database so that every replica counts together.
CREATE TABLE throttles (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until INTEGER
);
CREATE INDEX throttles_last_failure ON throttles (last_failure_at);

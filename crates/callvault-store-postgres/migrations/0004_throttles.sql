-- Failed sign-ins (and other throttled actions) counted per key, an account or a client
-- address, in the database so that every replica counts together.
CREATE TABLE throttles (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until timestamptz
);
CREATE INDEX throttles_last_failure ON throttles (last_failure_at);

-- A user's PBX extension or SIP user part, by which phone systems name who handled a call.
ALTER TABLE users ADD COLUMN extension TEXT;
CREATE UNIQUE INDEX users_extension ON users (extension) WHERE extension IS NOT NULL;

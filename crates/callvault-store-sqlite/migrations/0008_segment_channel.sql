-- Which channel of the recording each segment was heard on (0 the contact, 1 the team member),
-- so speakers keep their colour in every call; NULL for transcripts made before it was kept.
ALTER TABLE transcript_segments ADD COLUMN channel INTEGER;

-- The inbox finds conversations whose contact's name has every typed word, when each word is
-- common but together they are rare ("jose garcia"), from a trigram index on the inbox's own
-- copy of the words: its posting lists intersect in a few milliseconds where intersecting each
-- word's range of contact_words reads every contact of each (33,000 for "jose"), and each hit
-- carries its place in the inbox without a lookup of its contact's conversation. The leading
-- space lets a pattern say where a word starts ('% jo%'), which the index takes as a word start.
CREATE INDEX conversations_words ON conversations USING gin ((' ' || search_name) gin_trgm_ops);

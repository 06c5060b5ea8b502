-- Smart playlists (README, "Collections: decisions"): a playlist may hold rules instead of
-- items, evaluated on every read. The rules are checked and compiled by the application
-- (`hound_domain::listener::smart`); here they are only stored.
ALTER TABLE playlists
    ADD COLUMN rules jsonb CHECK (rules IS NULL OR jsonb_typeof(rules) = 'object');

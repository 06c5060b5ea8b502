-- Playlists (README, "Collections: decisions"). A listener's live playlists are counted in
-- `playlist_quotas`, whose row every create, delete and restore locks: two requests that each
-- see 49 cannot both make the 50th. Items are counted on their playlist's row, locked the same
-- way by every add, remove and reorder.

CREATE TABLE playlists (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    is_public  boolean NOT NULL DEFAULT false,
    item_count integer NOT NULL DEFAULT 0 CHECK (item_count BETWEEN 0 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Soft delete: hidden with its items, restorable for 30 days.
    deleted_at timestamptz
);
-- Names are unique per owner, ignoring case, among live playlists only.
CREATE UNIQUE INDEX playlists_live_name_key ON playlists (owner_id, lower(name))
    WHERE deleted_at IS NULL;
CREATE INDEX playlists_owner_newest_idx ON playlists (owner_id, created_at DESC, id DESC);

CREATE TABLE playlist_quotas (
    owner_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    live     integer NOT NULL DEFAULT 0 CHECK (live >= 0)
);

-- A track at most once per playlist; positions 1..n with no gaps. Removing an item deletes it
-- (only playlists are soft-deleted), so no removed item holds a position; the position key is
-- checked at commit, so a reorder may pass through duplicates on its way.
CREATE TABLE playlist_items (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    track_id    uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 1),
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (playlist_id, track_id),
    CONSTRAINT playlist_items_position_key UNIQUE (playlist_id, position)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX playlist_items_track_idx ON playlist_items (track_id);

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE playlists ENABLE ROW LEVEL SECURITY;
ALTER TABLE playlists FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON playlists TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE playlist_quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE playlist_quotas FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON playlist_quotas TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE playlist_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE playlist_items FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON playlist_items TO hound_owner USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE ON playlists TO hound_listener;
-- Anyone reads a live public playlist; its owner reads and writes all of theirs.
CREATE POLICY listener_read ON playlists FOR SELECT TO hound_listener
    USING (owner_id = (SELECT app_user_id()) OR (is_public AND deleted_at IS NULL));
CREATE POLICY listener_insert ON playlists FOR INSERT TO hound_listener
    WITH CHECK (owner_id = (SELECT app_user_id()));
CREATE POLICY listener_update ON playlists FOR UPDATE TO hound_listener
    USING (owner_id = (SELECT app_user_id())) WITH CHECK (owner_id = (SELECT app_user_id()));

GRANT SELECT, INSERT, UPDATE ON playlist_quotas TO hound_listener;
CREATE POLICY listener_own ON playlist_quotas TO hound_listener
    USING (owner_id = (SELECT app_user_id())) WITH CHECK (owner_id = (SELECT app_user_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON playlist_items TO hound_listener;
-- Items are read with their playlist (the policy above decides) and written by its owner.
CREATE POLICY listener_read ON playlist_items FOR SELECT TO hound_listener
    USING (EXISTS (SELECT 1 FROM playlists p WHERE p.id = playlist_id));
CREATE POLICY listener_write ON playlist_items FOR INSERT TO hound_listener
    WITH CHECK (EXISTS (SELECT 1 FROM playlists p
                         WHERE p.id = playlist_id AND p.owner_id = (SELECT app_user_id())));
CREATE POLICY listener_change ON playlist_items FOR UPDATE TO hound_listener
    USING (EXISTS (SELECT 1 FROM playlists p
                    WHERE p.id = playlist_id AND p.owner_id = (SELECT app_user_id())))
    WITH CHECK (EXISTS (SELECT 1 FROM playlists p
                         WHERE p.id = playlist_id AND p.owner_id = (SELECT app_user_id())));
CREATE POLICY listener_remove ON playlist_items FOR DELETE TO hound_listener
    USING (EXISTS (SELECT 1 FROM playlists p
                    WHERE p.id = playlist_id AND p.owner_id = (SELECT app_user_id())));

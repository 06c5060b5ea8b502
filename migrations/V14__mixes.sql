-- Mixes (README, "Collections: decisions"): up to 16 layers of tracks played together, each with
-- its volume, loop flag and start delay. The creator is required (seed 004 left it nullable).

CREATE TABLE mixes (
    id         uuid PRIMARY KEY,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    is_public  boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mixes_public_newest_idx ON mixes (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX mixes_creator_newest_idx ON mixes (creator_id, created_at DESC, id DESC);

CREATE TABLE mix_layers (
    mix_id   uuid NOT NULL REFERENCES mixes (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position BETWEEN 1 AND 16),
    track_id uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    volume   real NOT NULL CHECK (volume BETWEEN 0 AND 1),
    loop     boolean NOT NULL DEFAULT false,
    delay_ms integer NOT NULL DEFAULT 0 CHECK (delay_ms BETWEEN 0 AND 3600000),
    PRIMARY KEY (mix_id, position)
);
CREATE INDEX mix_layers_track_idx ON mix_layers (track_id);

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE mixes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mixes FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON mixes TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE mix_layers ENABLE ROW LEVEL SECURITY;
ALTER TABLE mix_layers FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON mix_layers TO hound_owner USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON mixes, mix_layers TO hound_listener;
-- Anyone reads a public mix; its creator reads and writes theirs.
CREATE POLICY listener_read ON mixes FOR SELECT TO hound_listener
    USING (is_public OR creator_id = (SELECT app_user_id()));
CREATE POLICY listener_insert ON mixes FOR INSERT TO hound_listener
    WITH CHECK (creator_id = (SELECT app_user_id()));
CREATE POLICY listener_update ON mixes FOR UPDATE TO hound_listener
    USING (creator_id = (SELECT app_user_id())) WITH CHECK (creator_id = (SELECT app_user_id()));
CREATE POLICY listener_delete ON mixes FOR DELETE TO hound_listener
    USING (creator_id = (SELECT app_user_id()));
CREATE POLICY listener_read ON mix_layers FOR SELECT TO hound_listener
    USING (EXISTS (SELECT 1 FROM mixes m WHERE m.id = mix_id));
CREATE POLICY listener_write ON mix_layers TO hound_listener
    USING (EXISTS (SELECT 1 FROM mixes m
                    WHERE m.id = mix_id AND m.creator_id = (SELECT app_user_id())))
    WITH CHECK (EXISTS (SELECT 1 FROM mixes m
                         WHERE m.id = mix_id AND m.creator_id = (SELECT app_user_id())));

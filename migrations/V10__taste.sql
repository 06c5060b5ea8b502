-- Taste (README, "Taste: the model"): each analysed track as a point on the unit sphere, indexed
-- for exact nearest-neighbour search; listeners' votes and the private preference vector they
-- move; listening sessions for the collective. The `cube` extension is created by the migrating
-- user before the migrations run (db/migrate.rs): an extension is the database's, not the app's.

-- A vector as a point on the unit sphere: NULL for a (near) zero vector. On unit vectors the
-- Euclidean distance d and the cosine similarity s are tied by s = 1 - d²/2, so GiST's exact
-- KNN order (`<->`) is cosine order.
CREATE FUNCTION unit_point(v float8[]) RETURNS cube
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN norm > 1e-9 THEN
               cube(ARRAY(SELECT x / norm FROM unnest(v) WITH ORDINALITY AS u(x, i) ORDER BY i))
           END
      FROM (SELECT sqrt(sum(x * x)) AS norm FROM unnest(v) AS x) n
$$;

-- A track's embedding (five features, each 0..1, docs/audio-analysis.md) centred on 0.5, the
-- middle of every feature, then put on the sphere: without centring every track would sit in one
-- corner of the space and all cosines would be close to 1.
CREATE FUNCTION taste_point(embedding real[]) RETURNS cube
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT unit_point(ARRAY(SELECT x::float8 - 0.5
                              FROM unnest(embedding) WITH ORDINALITY AS u(x, i) ORDER BY i))
$$;

-- The point's coordinates, for arithmetic outside SQL.
CREATE FUNCTION point_coords(p cube) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT cube_ll_coord(p, i) FROM generate_series(1, cube_dim(p)) AS i)
$$;

ALTER TABLE tracks
    ADD COLUMN taste_point cube GENERATED ALWAYS AS (taste_point(embedding)) STORED;
CREATE INDEX tracks_taste_point_idx ON tracks USING gist (taste_point);

-- One vote per listener per track. `point` is what the vote added to the preference vector
-- (the track's point when cast, NULL if it was not analysed yet), so that replacing or
-- withdrawing it takes back exactly that, even if the track was re-analysed since.
CREATE TABLE track_votes (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    value    smallint NOT NULL CHECK (value IN (-1, 1)),
    point    float8[] CHECK (point IS NULL OR array_length(point, 1) = 5),
    voted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX track_votes_track_idx ON track_votes (track_id);

-- The private preference vector: the sum of learning_rate * value * point over the listener's
-- votes (one gradient step of the linear loss per vote). Never readable by anyone else.
CREATE TABLE taste_vectors (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    vector     float8[] NOT NULL CHECK (array_length(vector, 1) = 5),
    votes      integer NOT NULL DEFAULT 0 CHECK (votes >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A listener is active for an hour after their last heartbeat; the expiry is computed at read
-- (timestamptz + interval is not immutable, so it cannot be a generated column).
CREATE TABLE listening_sessions (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_beat_at timestamptz NOT NULL
);
CREATE INDEX listening_sessions_recent_idx ON listening_sessions (last_beat_at);

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE track_votes ENABLE ROW LEVEL SECURITY;
ALTER TABLE track_votes FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON track_votes TO hound_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON track_votes TO hound_listener;
CREATE POLICY listener_own ON track_votes TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
ALTER TABLE taste_vectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE taste_vectors FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON taste_vectors TO hound_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON taste_vectors TO hound_listener;
CREATE POLICY listener_own ON taste_vectors TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
ALTER TABLE listening_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE listening_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON listening_sessions TO hound_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON listening_sessions TO hound_listener;
CREATE POLICY listener_own ON listening_sessions TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- The collective: how many listeners are active and the mean of their preference vectors (each
-- first held to the norm bound, as suggestions use it), nothing per listener. It reads rows the
-- caller's own policies hide, so it runs as the owner; below `min_listeners` it answers the count
-- and no vector, so that no one's taste can be read off a collective of one.
CREATE FUNCTION collective_taste(active_for interval, min_listeners integer, bound float8)
RETURNS TABLE (active_listeners bigint, mean float8[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH active AS (
        SELECT v.vector,
               sqrt(v.vector[1]^2 + v.vector[2]^2 + v.vector[3]^2 + v.vector[4]^2
                    + v.vector[5]^2) AS norm
          FROM listening_sessions s LEFT JOIN taste_vectors v ON v.user_id = s.user_id
         WHERE s.last_beat_at > now() - active_for
    ), held AS (
        SELECT vector, CASE WHEN norm > 0 THEN least(1.0, bound / norm) END AS f FROM active
    ), summed AS (
        SELECT count(*) AS n, count(f) AS with_taste,
               ARRAY[sum(vector[1] * f), sum(vector[2] * f), sum(vector[3] * f),
                     sum(vector[4] * f), sum(vector[5] * f)] AS total
          FROM held
    )
    SELECT n, CASE WHEN n >= min_listeners AND with_taste > 0 THEN
                       ARRAY(SELECT x / n FROM unnest(total) WITH ORDINALITY AS u(x, i) ORDER BY i)
              END
      FROM summed
$$;
REVOKE ALL ON FUNCTION collective_taste(interval, integer, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION collective_taste(interval, integer, float8) TO hound_listener;

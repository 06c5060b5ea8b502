-- Co-listening (README, "Taste: the model"): which track listeners play next. The maintenance
-- schedule reads plays received since its last run and records, per listener, each ordered pair
-- of consecutive counted plays (a, then b within 30 minutes of a's end) of tracks by different
-- artists; a pair's weight is the number of listeners who played it, so one listener adds at
-- most one to a pair however often they repeat it.

-- Per listener (user data): who contributed which pair, so a listener counts once per pair.
CREATE TABLE co_listens (
    track_a  uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    track_b  uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_at timestamptz NOT NULL,
    PRIMARY KEY (track_a, track_b, user_id),
    CHECK (track_a <> track_b)
);
CREATE INDEX co_listens_user_idx ON co_listens (user_id);
ALTER TABLE co_listens ENABLE ROW LEVEL SECURITY;
ALTER TABLE co_listens FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON co_listens TO hound_owner USING (true) WITH CHECK (true);

-- The counts. No row-level security: this table holds no user data (how many listeners played
-- b after a, never who; who is in co_listens above). Suggestions read the top pairs of a track
-- through the index.
CREATE TABLE co_listen_pairs (
    track_a   uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    track_b   uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    listeners integer NOT NULL CHECK (listeners > 0),
    PRIMARY KEY (track_a, track_b)
);
CREATE INDEX co_listen_pairs_top_idx ON co_listen_pairs (track_a, listeners DESC, track_b);

-- How far the schedule has read plays (by `received_at`, so late-arriving plays are read too).
-- No row-level security: it holds no user data (one timestamp of the schedule's).
CREATE TABLE co_listen_progress (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    received_until timestamptz NOT NULL
);
INSERT INTO co_listen_progress (received_until) VALUES ('-infinity');

CREATE INDEX plays_received_idx ON plays (received_at);

-- The maintenance role reads every listener's plays and the catalogue, in a service context
-- only, and writes the co-listening tables; the listener reads the counts.
GRANT SELECT ON plays, tracks, releases TO hound_maintenance;
CREATE POLICY maintenance_service ON plays FOR SELECT TO hound_maintenance
    USING ((SELECT app_is_service()));
CREATE POLICY maintenance_service ON tracks FOR SELECT TO hound_maintenance
    USING ((SELECT app_is_service()));
CREATE POLICY maintenance_service ON releases FOR SELECT TO hound_maintenance
    USING ((SELECT app_is_service()));
GRANT SELECT, INSERT ON co_listens TO hound_maintenance;
CREATE POLICY maintenance_service ON co_listens TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, INSERT, UPDATE ON co_listen_pairs, co_listen_progress TO hound_maintenance;
GRANT SELECT ON co_listen_pairs TO hound_listener;

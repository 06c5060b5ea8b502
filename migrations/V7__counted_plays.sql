-- Which plays count (issue 12): a play counts toward popularity and stats only when it lasted at
-- least 30 s (or the whole track, for shorter ones), and one listener counts at most three times
-- per track per UTC day. Raw plays are still stored as they came; this table keeps, per listener,
-- track and day, how many qualifying plays arrived, so the telemetry insert can add to the
-- per-release rollup only what is still under the cap, race-free (one atomic upsert per row).
CREATE TABLE play_counts (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id  uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    day       date NOT NULL,
    -- Qualifying plays received (uncapped); the rollup counts least(plays, 3).
    plays     integer NOT NULL CHECK (plays > 0),
    PRIMARY KEY (user_id, track_id, day)
);
CREATE INDEX play_counts_track_day_idx ON play_counts (track_id, day);

-- A listener's own listening: row-level security like plays.
ALTER TABLE play_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE play_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON play_counts TO hound_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON play_counts TO hound_listener;
CREATE POLICY listener_own ON play_counts TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- The maintenance schedule removes login failures that have left the throttle's window (rows of
-- emails never tried again were kept for ever). Only in a service context.
GRANT SELECT, DELETE ON login_failures TO hound_maintenance;
CREATE POLICY maintenance_service ON login_failures FOR ALL TO hound_maintenance
    USING ((SELECT app_is_service()));
CREATE INDEX login_failures_attempted_idx ON login_failures (attempted_at);

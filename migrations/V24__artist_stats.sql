-- Artist stats (issue 17; README, "Studio: stats"): per track and per release per UTC day,
-- rolled up by the maintenance schedule (`{"task": "stats"}`) from what ingest already keeps,
-- so a stats read sums at most a year of small rows and never scans plays.
--
-- From each batch of plays received since the last run the schedule adds every play and every
-- completed play (each play is received once: ingest refuses a resent id), and recomputes, for
-- each release and day the batch touched, the counted plays and unique listeners from
-- play_counts (the per listener, track and day count of qualifying plays ingest keeps: counted
-- = at most three a listener a track a day). Saves are recounted for the days new saves touched.

CREATE TABLE track_stat_days (
    track_id   uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    day        date NOT NULL,
    -- Plays that count (popularity's rule).
    counted    bigint NOT NULL DEFAULT 0 CHECK (counted >= 0),
    -- Every play received, and those played to the end.
    plays      bigint NOT NULL DEFAULT 0 CHECK (plays >= 0),
    completed  bigint NOT NULL DEFAULT 0 CHECK (completed BETWEEN 0 AND plays),
    PRIMARY KEY (track_id, day)
);
CREATE INDEX track_stat_days_release_idx ON track_stat_days (release_id, day);

CREATE TABLE release_stat_days (
    release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    day        date NOT NULL,
    counted    bigint NOT NULL DEFAULT 0 CHECK (counted >= 0),
    -- Listeners with at least one counted play of the release that day.
    listeners  bigint NOT NULL DEFAULT 0 CHECK (listeners >= 0),
    plays      bigint NOT NULL DEFAULT 0 CHECK (plays >= 0),
    completed  bigint NOT NULL DEFAULT 0 CHECK (completed BETWEEN 0 AND plays),
    -- Saves of the release's tracks made that day (and not since taken back).
    saves      bigint NOT NULL DEFAULT 0 CHECK (saves >= 0),
    PRIMARY KEY (release_id, day)
);

-- How far the schedule has read plays and saves.
-- stats_progress holds no user data (two timestamps of the schedule's), so it has no row-level
-- security, like co_listen_progress.
CREATE TABLE stats_progress (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    plays_until    timestamptz NOT NULL,
    saves_until    timestamptz NOT NULL
);
INSERT INTO stats_progress (plays_until, saves_until) VALUES ('-infinity', '-infinity');

-- Saves of one track by day: the recount of a touched day.
CREATE INDEX saves_track_saved_idx ON saves (track_id, saved_at);
CREATE INDEX saves_saved_idx ON saves (saved_at);

-- An artist's stats are their own: row-level security, the studio reading through its releases.
ALTER TABLE track_stat_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE track_stat_days FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON track_stat_days TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE release_stat_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE release_stat_days FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON release_stat_days TO hound_owner USING (true) WITH CHECK (true);

GRANT SELECT ON track_stat_days, release_stat_days TO hound_studio;
CREATE POLICY studio_own ON track_stat_days FOR SELECT TO hound_studio
    USING (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id));
CREATE POLICY studio_own ON release_stat_days FOR SELECT TO hound_studio
    USING (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id));

-- maintenance: reads play_counts and saves (service context) and writes the rollups.
GRANT SELECT ON play_counts, saves TO hound_maintenance;
CREATE POLICY maintenance_service ON play_counts FOR SELECT TO hound_maintenance
    USING ((SELECT app_is_service()));
CREATE POLICY maintenance_service ON saves FOR SELECT TO hound_maintenance
    USING ((SELECT app_is_service()));
GRANT SELECT, INSERT, UPDATE ON track_stat_days, release_stat_days TO hound_maintenance;
CREATE POLICY maintenance_service ON track_stat_days TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY maintenance_service ON release_stat_days TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, UPDATE ON stats_progress TO hound_maintenance;
GRANT SELECT ON stats_progress TO hound_studio;

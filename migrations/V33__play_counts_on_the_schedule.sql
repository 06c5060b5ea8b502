-- Telemetry ingest stores plays and nothing else (issue 17: ingest at half the rate of COPY).
-- The per listener, track and day counts (`play_counts`) and the per release and day popularity
-- rollup (`release_play_days`) are now kept by the maintenance schedule's stats run, from the
-- plays received since its last run (the same watermark and transaction as the artists' stats),
-- instead of by every batch's statement: a batch no longer upserts up to 500 count rows and the
-- rollup rows after them.
--
-- What changes for users: popularity, the artists' stats and a listener's own play counts
-- (smart playlists' `play_count` and `last_played`) follow plays by at most one schedule period
-- plus the run's lag (5 minutes + 60 s), as the artists' stats already did.

-- The listener reads its own counts (smart playlists) and the popularity rollup; it writes
-- neither any more.
REVOKE INSERT, UPDATE ON play_counts, release_play_days FROM hound_listener;
DROP POLICY listener_own ON play_counts;
CREATE POLICY listener_own ON play_counts FOR SELECT TO hound_listener
    USING (user_id = (SELECT app_user_id()));

-- The schedule (service context only) writes both.
GRANT INSERT, UPDATE ON play_counts TO hound_maintenance;
DROP POLICY maintenance_service ON play_counts;
CREATE POLICY maintenance_service ON play_counts TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, INSERT, UPDATE ON release_play_days TO hound_maintenance;

-- Plays received before this migration were counted by the ingest that stored them: the schedule
-- counts only those received after `counts_from` (and after its own watermark), so nothing is
-- counted twice. During a deploy, a listener function still running the old code is refused the
-- writes revoked above: its batch fails whole (nothing is stored) and the client resends it, as
-- telemetry clients resend any failed batch; the new code then stores it once.
ALTER TABLE stats_progress ADD COLUMN counts_from timestamptz NOT NULL DEFAULT '-infinity';
UPDATE stats_progress SET counts_from = now();

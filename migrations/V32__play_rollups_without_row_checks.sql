-- Telemetry ingest writes up to 500 rows of `play_counts` and a few hundred of
-- `release_play_days` a batch, and each row's foreign keys ran a trigger that looked its user,
-- track or release up again (with a share lock), for rows the same statement had just validated
-- against the tracks it read: a third of the statement's time under EXPLAIN ANALYZE (which
-- inflates per-row work; the ingest bench moved by 10-30 %). These rollups now keep no
-- foreign keys, as `plays` never did (V4: a fact table should not pin tracks or users); what the
-- keys did on delete, statement triggers do: a user, track or release deleted takes its rollup
-- rows with it.
--
-- What is given up: a batch whose track is deleted between the batch's read of it and its
-- commit leaves that track's count rows behind (the delete's trigger did not see them). They
-- name nothing, every reader joins them to tracks or releases, and they are counted nowhere.

ALTER TABLE play_counts DROP CONSTRAINT play_counts_user_id_fkey,
                        DROP CONSTRAINT play_counts_track_id_fkey;
ALTER TABLE release_play_days DROP CONSTRAINT release_play_days_release_id_fkey;

CREATE FUNCTION users_rollups_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM play_counts c USING before b WHERE c.user_id = b.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_rollups_delete AFTER DELETE ON users REFERENCING OLD TABLE AS before
    FOR EACH STATEMENT EXECUTE FUNCTION users_rollups_deleted();

CREATE FUNCTION tracks_rollups_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM play_counts c USING before b WHERE c.track_id = b.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tracks_rollups_delete AFTER DELETE ON tracks REFERENCING OLD TABLE AS before
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_rollups_deleted();

CREATE FUNCTION releases_rollups_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM release_play_days d USING before b WHERE d.release_id = b.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER releases_rollups_delete AFTER DELETE ON releases REFERENCING OLD TABLE AS before
    FOR EACH STATEMENT EXECUTE FUNCTION releases_rollups_deleted();

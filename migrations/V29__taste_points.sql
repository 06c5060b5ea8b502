-- Issue 13, suggested-next at 1 M tracks. `EXPLAIN (ANALYZE, BUFFERS)` of the suggestion
-- statement on the bench catalogue (README "Taste: the model") put most of its time in the exact
-- KNN scan of `tracks_taste_point_idx`: ~1 000 pages for 100 neighbours. The cube GiST is built
-- by inserting one point after another, and points inserted in random order (as tracks arrive)
-- make leaves whose boxes overlap across the whole sphere. The same million points inserted in
-- spatial order make a tree whose KNN scan reads ~100 pages (2.7 → 0.8 ms for 100 neighbours,
-- measured with pgbench on copies of the table; a Z-order key did no better than the plain
-- order of coarse cells used below, and a buffered build only a little).
--
-- So suggestions search a copy of the points, `taste_points`, written in the order of
-- `taste_cell` and indexed after: the tracks triggers below keep it exact between rebuilds (a
-- new point goes into the tree where GiST puts it), and the maintenance schedule rebuilds it in
-- spatial order daily (`rebuild_taste_points`, `{"task": "taste_index"}`). `tracks.taste_point`
-- and its index stay for the smart playlists' `sounds_like` rule (a range, not a KNN).
--
-- Nobody's role reads or writes `taste_points`: `nearest_tracks` reads it (SECURITY DEFINER,
-- ids only; the caller's own statement then reads those tracks through their policies) and
-- owner-run triggers and the rebuild write it.

-- Coarse cells of the sphere, 8 a coordinate; their order is the order of the rebuilt table.
CREATE FUNCTION taste_cell(p cube) RETURNS int[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY[floor((cube_ll_coord(p, 1) + 1) * 4)::int, floor((cube_ll_coord(p, 2) + 1) * 4)::int,
                 floor((cube_ll_coord(p, 3) + 1) * 4)::int, floor((cube_ll_coord(p, 4) + 1) * 4)::int,
                 floor((cube_ll_coord(p, 5) + 1) * 4)::int]
$$;

-- Holds no one's identity: a track's point and release, readable only as the owner.
CREATE TABLE taste_points (
    track_id   uuid NOT NULL,
    release_id uuid NOT NULL,
    point      cube NOT NULL
);
INSERT INTO taste_points (track_id, release_id, point)
SELECT id, release_id, taste_point FROM tracks WHERE taste_point IS NOT NULL
 ORDER BY taste_cell(taste_point);
ALTER TABLE taste_points ADD CONSTRAINT taste_points_pkey PRIMARY KEY (track_id);
CREATE INDEX taste_points_point_idx ON taste_points USING gist (point);
ALTER TABLE taste_points ENABLE ROW LEVEL SECURITY;
ALTER TABLE taste_points FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON taste_points TO hound_owner USING (true) WITH CHECK (true);

-- Tracks written: their points follow (statement triggers, as V28's; a statement that changes
-- no point does not touch taste_points, so a rebuild holding it never blocks such a write).
CREATE FUNCTION tracks_points_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM after WHERE taste_point IS NOT NULL) THEN
        INSERT INTO taste_points (track_id, release_id, point)
        SELECT id, release_id, taste_point FROM after WHERE taste_point IS NOT NULL
        ON CONFLICT (track_id) DO UPDATE SET release_id = EXCLUDED.release_id,
                                             point = EXCLUDED.point;
    END IF;
    RETURN NULL;
END
$$;

-- Changed points are found with set operations, not a join of the transition tables: a join
-- in EXISTS is planned as a nested loop (the first match is expected early), and an UPDATE of
-- 100 000 tracks none of which has a point (a bulk load) then compared every pair.
CREATE FUNCTION tracks_points_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT id, release_id, taste_point FROM after WHERE taste_point IS NOT NULL
               EXCEPT
               SELECT id, release_id, taste_point FROM before WHERE taste_point IS NOT NULL) THEN
        INSERT INTO taste_points (track_id, release_id, point)
        SELECT id, release_id, taste_point FROM after WHERE taste_point IS NOT NULL
        EXCEPT
        SELECT id, release_id, taste_point FROM before WHERE taste_point IS NOT NULL
        ON CONFLICT (track_id) DO UPDATE SET release_id = EXCLUDED.release_id,
                                             point = EXCLUDED.point;
    END IF;
    IF EXISTS (SELECT id FROM before WHERE taste_point IS NOT NULL
               EXCEPT
               SELECT id FROM after WHERE taste_point IS NOT NULL) THEN
        DELETE FROM taste_points p
         WHERE p.track_id IN (SELECT id FROM before WHERE taste_point IS NOT NULL
                              EXCEPT
                              SELECT id FROM after WHERE taste_point IS NOT NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION tracks_points_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM before WHERE taste_point IS NOT NULL) THEN
        DELETE FROM taste_points p USING before b WHERE p.track_id = b.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tracks_points_insert AFTER INSERT ON tracks REFERENCING NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_points_inserted();
CREATE TRIGGER tracks_points_update AFTER UPDATE ON tracks
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_points_updated();
CREATE TRIGGER tracks_points_delete AFTER DELETE ON tracks REFERENCING OLD TABLE AS before
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_points_deleted();

-- The analysed tracks nearest to `q` (a unit vector), 100 of them (the Rust side's
-- `CANDIDATES`; a literal, so that the cached generic plan is the KNN scan: with `LIMIT $n` it
-- is planned for a tenth of the table and sorts all of it, 1 → 50 ms), nearest first, with their
-- release and point. Only tracks of releases published to everyone's view (public or paid: rows
-- every listener's policies show anyone; the caller's statement still decides each one's
-- reach), none of release `exclude`. Exact: the KNN scan goes on until 100 rows pass.
CREATE FUNCTION nearest_tracks(q float8[], exclude uuid)
RETURNS TABLE (track_id uuid, release_id uuid, point cube)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF q IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT p.track_id, p.release_id, p.point FROM taste_points p
     WHERE p.release_id IS DISTINCT FROM exclude
       -- A probe per row, in KNN order (a join is planned on the filter's estimate, which is
       -- far off: a hash join of both tables).
       AND (SELECT r.access <> 'unlisted'
                   AND release_effective_status(r.status, r.publish_at) = 'published'
              FROM releases r WHERE r.id = p.release_id)
     ORDER BY p.point <-> cube(q)
     LIMIT 100;
END
$$;
REVOKE ALL ON FUNCTION nearest_tracks(float8[], uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nearest_tracks(float8[], uuid) TO hound_listener;

-- Write the points again in spatial order and index them after (the maintenance schedule,
-- daily). Writers of points wait for it (SHARE lock; readers go on); the old table is dropped and
-- the new one takes its name in the same transaction, so a reader sees one or the other, whole.
-- Gives up (an error; the next run tries again) rather than wait over 5 s for readers to let go.
-- Two runs at once (a schedule delivers at least once) take turns: the second waits for the
-- first, then rebuilds the table the first left. Returns the number of points.
CREATE FUNCTION rebuild_taste_points() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('rebuild_taste_points'));
    PERFORM set_config('lock_timeout', '5s', true);
    LOCK TABLE taste_points IN SHARE MODE;
    CREATE TABLE taste_points_next (
        track_id   uuid NOT NULL,
        release_id uuid NOT NULL,
        point      cube NOT NULL
    );
    INSERT INTO taste_points_next (track_id, release_id, point)
    SELECT track_id, release_id, point FROM taste_points ORDER BY taste_cell(point);
    GET DIAGNOSTICS n = ROW_COUNT;
    ALTER TABLE taste_points_next ADD CONSTRAINT taste_points_next_pkey PRIMARY KEY (track_id);
    CREATE INDEX taste_points_next_point_idx ON taste_points_next USING gist (point);
    ALTER TABLE taste_points_next ENABLE ROW LEVEL SECURITY;
    ALTER TABLE taste_points_next FORCE ROW LEVEL SECURITY;
    CREATE POLICY owner_migrations ON taste_points_next TO hound_owner
        USING (true) WITH CHECK (true);
    DROP TABLE taste_points;
    ALTER TABLE taste_points_next RENAME TO taste_points;
    ALTER INDEX taste_points_next_pkey RENAME TO taste_points_pkey;
    ALTER INDEX taste_points_next_point_idx RENAME TO taste_points_point_idx;
    ANALYZE taste_points;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION rebuild_taste_points() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rebuild_taste_points() TO hound_maintenance;

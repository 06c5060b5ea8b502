-- Each point carries what suggestions asked of its release, so that neither the KNN scan nor the
-- scoring probes `releases` once a candidate (wide rows since V28: at 1 M tracks the 100 probes
-- of the KNN's filter and the 100 of the scoring were over half the statement): when the
-- release opens to everyone's view (`open_from`), its artist, and whether it is public.
--
-- "Open to everyone's view" is V29's filter, unchanged: not unlisted, and published (or
-- scheduled with `publish_at` passed, `release_effective_status`). A scheduled release's points
-- hold its `publish_at`, so it opens at that instant with no write; the others hold -infinity
-- (open) or NULL (closed). Kept by the tracks triggers (a track's point takes its release's
-- values, read under a share lock so that a release changing meanwhile is waited for) and by a
-- trigger on releases (a change that moves any of the three rewrites that release's points,
-- found by a new index on release_id). A public release open to everyone is streamable by
-- anyone (`release_open_to_all`, V5), so its candidates need no reach test; the others are
-- still tested under the caller's own policies.

CREATE FUNCTION release_open_from(status release_status, access release_access,
                                  publish_at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN access = 'unlisted' THEN NULL
                WHEN status = 'published' THEN '-infinity'::timestamptz
                WHEN status = 'scheduled' THEN publish_at
           END
$$;

ALTER TABLE taste_points ADD COLUMN open_from timestamptz,
                         ADD COLUMN artist_id uuid,
                         ADD COLUMN public boolean NOT NULL DEFAULT false;
UPDATE taste_points p SET open_from = release_open_from(r.status, r.access, r.publish_at),
                          artist_id = r.artist_id, public = r.access = 'public'
  FROM releases r WHERE r.id = p.release_id;
ALTER TABLE taste_points ALTER COLUMN artist_id SET NOT NULL;
CREATE INDEX taste_points_release_idx ON taste_points (release_id);

CREATE OR REPLACE FUNCTION tracks_points_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM after WHERE taste_point IS NOT NULL) THEN
        INSERT INTO taste_points (track_id, release_id, point, open_from, artist_id, public)
        SELECT a.id, a.release_id, a.taste_point, o.open_from, o.artist_id, o.public
          FROM after a
          JOIN LATERAL (SELECT release_open_from(r.status, r.access, r.publish_at) AS open_from,
                               r.artist_id, r.access = 'public' AS public
                          FROM releases r WHERE r.id = a.release_id FOR SHARE) o ON true
         WHERE a.taste_point IS NOT NULL
        ON CONFLICT (track_id) DO UPDATE SET release_id = EXCLUDED.release_id,
                                             point = EXCLUDED.point,
                                             open_from = EXCLUDED.open_from,
                                             artist_id = EXCLUDED.artist_id,
                                             public = EXCLUDED.public;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tracks_points_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT id, release_id, taste_point FROM after WHERE taste_point IS NOT NULL
               EXCEPT
               SELECT id, release_id, taste_point FROM before WHERE taste_point IS NOT NULL) THEN
        INSERT INTO taste_points (track_id, release_id, point, open_from, artist_id, public)
        SELECT c.id, c.release_id, c.taste_point, o.open_from, o.artist_id, o.public
          FROM (SELECT id, release_id, taste_point FROM after WHERE taste_point IS NOT NULL
                EXCEPT
                SELECT id, release_id, taste_point FROM before WHERE taste_point IS NOT NULL) c
          JOIN LATERAL (SELECT release_open_from(r.status, r.access, r.publish_at) AS open_from,
                               r.artist_id, r.access = 'public' AS public
                          FROM releases r WHERE r.id = c.release_id FOR SHARE) o ON true
        ON CONFLICT (track_id) DO UPDATE SET release_id = EXCLUDED.release_id,
                                             point = EXCLUDED.point,
                                             open_from = EXCLUDED.open_from,
                                             artist_id = EXCLUDED.artist_id,
                                             public = EXCLUDED.public;
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

-- A release opening, closing, changing access or artist: its points follow. Only when a value
-- moves (the WHEN clause), so the frequent rewrites of a release's other columns (V28's track
-- list) never touch taste_points.
CREATE FUNCTION releases_points_opened() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE taste_points p
       SET open_from = release_open_from(NEW.status, NEW.access, NEW.publish_at),
           artist_id = NEW.artist_id, public = NEW.access = 'public'
     WHERE p.release_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER releases_points_open AFTER UPDATE OF status, access, publish_at, artist_id
    ON releases FOR EACH ROW
    WHEN ((release_open_from(OLD.status, OLD.access, OLD.publish_at), OLD.artist_id,
           OLD.access = 'public')
          IS DISTINCT FROM (release_open_from(NEW.status, NEW.access, NEW.publish_at),
                            NEW.artist_id, NEW.access = 'public'))
    EXECUTE FUNCTION releases_points_opened();

-- V29's function, filtering on the point's own column (same rows, same literal LIMIT), and
-- returning each one's artist and whether anyone may stream it (public, and open: it is).
DROP FUNCTION nearest_tracks(float8[], uuid);
CREATE FUNCTION nearest_tracks(q float8[], exclude uuid)
RETURNS TABLE (track_id uuid, release_id uuid, point cube, artist_id uuid, open_to_all boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF q IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT p.track_id, p.release_id, p.point, p.artist_id, p.public FROM taste_points p
     WHERE p.release_id IS DISTINCT FROM exclude AND p.open_from <= now()
     ORDER BY p.point <-> cube(q)
     LIMIT 100;
END
$$;
REVOKE ALL ON FUNCTION nearest_tracks(float8[], uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nearest_tracks(float8[], uuid) TO hound_listener;

-- V29's rebuild, carrying the new columns and index.
CREATE OR REPLACE FUNCTION rebuild_taste_points() RETURNS bigint
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
        point      cube NOT NULL,
        open_from  timestamptz,
        artist_id  uuid NOT NULL,
        public     boolean NOT NULL DEFAULT false
    );
    INSERT INTO taste_points_next (track_id, release_id, point, open_from, artist_id, public)
    SELECT track_id, release_id, point, open_from, artist_id, public FROM taste_points
     ORDER BY taste_cell(point);
    GET DIAGNOSTICS n = ROW_COUNT;
    ALTER TABLE taste_points_next ADD CONSTRAINT taste_points_next_pkey PRIMARY KEY (track_id);
    CREATE INDEX taste_points_next_point_idx ON taste_points_next USING gist (point);
    CREATE INDEX taste_points_next_release_idx ON taste_points_next (release_id);
    ALTER TABLE taste_points_next ENABLE ROW LEVEL SECURITY;
    ALTER TABLE taste_points_next FORCE ROW LEVEL SECURITY;
    CREATE POLICY owner_migrations ON taste_points_next TO hound_owner
        USING (true) WITH CHECK (true);
    DROP TABLE taste_points;
    ALTER TABLE taste_points_next RENAME TO taste_points;
    ALTER INDEX taste_points_next_pkey RENAME TO taste_points_pkey;
    ALTER INDEX taste_points_next_point_idx RENAME TO taste_points_point_idx;
    ALTER INDEX taste_points_next_release_idx RENAME TO taste_points_release_idx;
    ANALYZE taste_points;
    RETURN n;
END
$$;

-- The UPDATE above left the heap and the tree in arrival order again: write them in spatial order.
SELECT rebuild_taste_points();

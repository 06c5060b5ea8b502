-- Issue 17, listener targets, second round. `EXPLAIN ANALYZE` and pgbench of the album and
-- stream statements as hound_listener on the bench catalogue (README "Benchmarks") put their
-- time in three places, none of them the rows read:
--
-- 1. Non-inlinable SQL functions are planned again in every statement that calls them (Postgres
--    caches a SQL function's plan only for the one query): `app_artist_id()`, which every
--    listener policy on releases runs once per statement, and `release_reach`, whose EXISTS
--    sub-selects keep it from being inlined. As PL/pgSQL they keep their plans for the life of
--    the connection. `app_artist_id()` also no longer queries anything for an anonymous caller.
-- 2. The album's track list: ten rows, each passing the tracks policy (a probe of releases and
--    its policy) and each built into JSON on every read. It is now kept on the release
--    (`releases.track_list`), rebuilt when a track is added, removed or changes a listed field.
-- 3. The stream's renditions: transcode jobs and variants read through their own policies,
--    each checking a track or a release above it. The complete renditions and previews of a
--    track's current master are now kept on the track (`tracks.renditions`, `tracks.previews`),
--    beside `playable` (V26), which is now "has renditions".
--
-- Like V26's columns, these are written only by the triggers below (SECURITY DEFINER, as the
-- owner, who sees every row), whoever writes the rows underneath; a writer's own value is
-- replaced. Each refresh locks the rows it derives into before reading (V27).

CREATE OR REPLACE FUNCTION app_artist_id() RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    caller uuid := app_user_id();
    artist uuid;
BEGIN
    IF caller IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT ap.id INTO artist FROM artist_profiles ap WHERE ap.user_id = caller;
    RETURN artist;
END
$$;

-- The same rules as V21's, in the same order.
CREATE OR REPLACE FUNCTION release_reach(r releases, viewer uuid, presented_token text)
RETURNS release_reach LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF viewer IS NOT NULL AND EXISTS (
            SELECT 1 FROM artist_profiles ap WHERE ap.id = r.artist_id AND ap.user_id = viewer) THEN
        RETURN 'stream';
    END IF;
    RETURN CASE
        WHEN release_effective_status(r.status, r.publish_at) = 'scheduled' AND r.access = 'paid'
            THEN 'page'
        WHEN release_effective_status(r.status, r.publish_at) <> 'published' THEN 'hidden'
        WHEN r.access = 'public' THEN 'stream'
        WHEN r.access = 'unlisted' THEN
            CASE WHEN presented_token = r.share_token THEN 'stream' ELSE 'hidden' END
        WHEN viewer IS NOT NULL AND EXISTS (
                SELECT 1 FROM entitlements e WHERE e.user_id = viewer AND e.release_id = r.id)
            THEN 'stream'
        ELSE 'page'
    END::release_reach;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Renditions and previews of a track's current master.

-- The renditions a listener may be given, best first, and the 30-second previews a caller
-- without a gated release's entitlement may be given instead (never among the renditions).
-- The worker names its variants so (shared/media).
CREATE FUNCTION rendition_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['aac_256', 'aac_128', 'opus_96']
$$;
CREATE FUNCTION preview_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['preview_aac_128', 'preview_opus_96']
$$;

-- The complete variants named in `names` of the current job of `master`, in that order; NULL
-- when there are none. What the stream presigns (shared/domain/src/listener/stream.rs).
CREATE FUNCTION master_variants(master uuid, names text[]) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_agg(jsonb_build_object('name', v.name, 'codec', v.codec,
                                        'bitrate_kbps', v.bitrate_kbps, 'mime', v.mime,
                                        'bucket', v.bucket, 'key', v.key)
                     ORDER BY array_position(names, v.name))
      FROM transcode_jobs j JOIN variants v ON v.job_id = j.id
     WHERE master IS NOT NULL AND j.asset_id = master AND j.superseded_at IS NULL
       AND v.status = 'complete' AND v.name = ANY (names)
$$;
REVOKE ALL ON FUNCTION master_variants(uuid, text[]) FROM PUBLIC;

ALTER TABLE tracks ADD COLUMN renditions jsonb, ADD COLUMN previews jsonb;

-- Every write of a track recomputes them (V26's rule for `playable`).
CREATE OR REPLACE FUNCTION tracks_playable() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.master_asset_id IS NULL THEN
        NEW.renditions := NULL;
        NEW.previews := NULL;
    ELSE
        NEW.renditions := master_variants(NEW.master_asset_id, rendition_names());
        NEW.previews := master_variants(NEW.master_asset_id, preview_names());
    END IF;
    NEW.playable := NEW.renditions IS NOT NULL;
    RETURN NEW;
END
$$;

-- A job or variant changed under these masters: their tracks are written again, and the
-- trigger above recomputes them.
CREATE OR REPLACE FUNCTION refresh_playable(masters uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM tracks t WHERE t.master_asset_id = ANY (masters) ORDER BY t.id FOR UPDATE;
    UPDATE tracks t SET playable = t.playable
      FROM (SELECT DISTINCT m FROM unnest(masters) AS m) AS m
     WHERE t.master_asset_id = m.m
       AND (t.renditions, t.previews) IS DISTINCT FROM
           (master_variants(t.master_asset_id, rendition_names()),
            master_variants(t.master_asset_id, preview_names()))
$$;

DROP FUNCTION master_playable(uuid);

-- ---------------------------------------------------------------------------------------------
-- The album's track list, and its loudness (V26), from the release's tracks.

ALTER TABLE releases ADD COLUMN track_list jsonb;

-- One statement for both: the release rows locked first, then read in a new snapshot.
CREATE FUNCTION refresh_release_tracks(ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM releases r WHERE r.id = ANY (ids) ORDER BY r.id FOR UPDATE;
    UPDATE releases r
       SET album_lufs = a.lufs, album_max_peak = a.max_peak, track_list = a.list
      FROM (SELECT x.id,
                   10 * log(sum(t.duration_ms * power(10::float8, t.integrated_lufs / 10.0))
                                FILTER (WHERE t.analysed)
                            / nullif(sum(t.duration_ms) FILTER (WHERE t.analysed), 0)) AS lufs,
                   (max(t.true_peak_dbtp) FILTER (WHERE t.analysed))::float8 AS max_peak,
                   jsonb_agg(jsonb_build_object(
                                 'id', t.id, 'position', t.position, 'title', t.title,
                                 'duration_ms', t.duration_ms, 'explicit', t.explicit,
                                 'loudness', CASE WHEN t.integrated_lufs IS NOT NULL
                                                   AND t.true_peak_dbtp IS NOT NULL
                                                   AND t.gain_db IS NOT NULL
                                             THEN jsonb_build_object(
                                                 'integrated_lufs', t.integrated_lufs,
                                                 'true_peak_dbtp', t.true_peak_dbtp,
                                                 'gain_db', t.gain_db) END,
                                 'playable', t.playable)
                             ORDER BY t.position) FILTER (WHERE t.id IS NOT NULL) AS list
              FROM (SELECT DISTINCT id FROM unnest(ids) AS id) AS x(id)
              LEFT JOIN (SELECT t.*, t.integrated_lufs IS NOT NULL
                                     AND t.true_peak_dbtp IS NOT NULL
                                     AND t.duration_ms IS NOT NULL AS analysed
                           FROM tracks t) AS t ON t.release_id = x.id
             GROUP BY x.id) AS a
     WHERE r.id = a.id
       AND (r.album_lufs, r.album_max_peak, r.track_list)
           IS DISTINCT FROM (a.lufs, a.max_peak, a.list)
$$;
REVOKE ALL ON FUNCTION refresh_release_tracks(uuid[]) FROM PUBLIC;

DROP TRIGGER tracks_loudness_insert ON tracks;
DROP TRIGGER tracks_loudness_update ON tracks;
DROP TRIGGER tracks_loudness_delete ON tracks;
DROP FUNCTION tracks_loudness_changed();
DROP FUNCTION refresh_album_loudness(uuid[]);

-- The releases whose tracks were inserted, deleted, or changed in a listed column.
CREATE FUNCTION tracks_listed_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_release_tracks(ARRAY(SELECT DISTINCT release_id FROM after));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_release_tracks(ARRAY(SELECT DISTINCT release_id FROM before));
    ELSE
        -- Old and new versions of the rows that changed: set operations, which hash or sort
        -- (transition tables have no index a join of the two could use).
        PERFORM refresh_release_tracks(ARRAY(
            SELECT DISTINCT release_id FROM (
                (SELECT id, release_id, position, title, duration_ms, explicit, integrated_lufs,
                        true_peak_dbtp, gain_db, playable FROM before
                 EXCEPT
                 SELECT id, release_id, position, title, duration_ms, explicit, integrated_lufs,
                        true_peak_dbtp, gain_db, playable FROM after)
                UNION ALL
                (SELECT id, release_id, position, title, duration_ms, explicit, integrated_lufs,
                        true_peak_dbtp, gain_db, playable FROM after
                 EXCEPT
                 SELECT id, release_id, position, title, duration_ms, explicit, integrated_lufs,
                        true_peak_dbtp, gain_db, playable FROM before)
            ) AS changed));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tracks_listed_insert AFTER INSERT ON tracks
    REFERENCING NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION tracks_listed_changed();
CREATE TRIGGER tracks_listed_update AFTER UPDATE ON tracks
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_listed_changed();
CREATE TRIGGER tracks_listed_delete AFTER DELETE ON tracks
    REFERENCING OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION tracks_listed_changed();

-- V26's guard on the release's derived columns, with the track list: a new release has none,
-- and only the owner's refresh writes it.
CREATE OR REPLACE FUNCTION releases_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.album_lufs := NULL;
        NEW.album_max_peak := NULL;
        NEW.track_list := NULL;
        NEW.cover_variants := cover_variants_of(NEW.cover_asset_id);
    ELSE
        IF current_user <> 'hound_owner' THEN
            NEW.album_lufs := OLD.album_lufs;
            NEW.album_max_peak := OLD.album_max_peak;
            NEW.track_list := OLD.track_list;
            NEW.cover_variants := OLD.cover_variants;
        END IF;
        IF NEW.cover_asset_id IS DISTINCT FROM OLD.cover_asset_id THEN
            NEW.cover_variants := cover_variants_of(NEW.cover_asset_id);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- What is there already.
UPDATE tracks SET playable = playable WHERE master_asset_id IS NOT NULL;
SELECT refresh_release_tracks(ARRAY(SELECT id FROM releases));

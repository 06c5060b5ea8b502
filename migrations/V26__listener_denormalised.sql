-- Issue 17, listener targets: two facts the album page and the stream read on every request
-- were recomputed each time through three layers of row-level security (tracks → transcode
-- jobs → variants, each policy checking the one above it): whether a track can be played, its
-- release's loudness, and the release's cover variants. They are now kept on the rows they describe, by triggers, whoever
-- writes the rows underneath (worker, dead-letter, studio, maintenance). The functions run as
-- the owner, who sees every row (`owner_migrations` policies), so the flags are the same for
-- every writer whatever its own policies show it.

-- A track is playable when its current master has a complete listener rendition (the names of
-- `rendition_names_sql!` in shared/domain/src/listener/media.rs). Whether this caller may
-- stream it is still the release's reach, checked by each read.
ALTER TABLE tracks ADD COLUMN playable boolean NOT NULL DEFAULT false;

-- The duration-weighted energy mean loudness of the release's analysed tracks and their
-- loudest true peak (shared/domain/src/listener/stream.rs `album_gain_db` reads them); NULL
-- while no track is analysed.
ALTER TABLE releases ADD COLUMN album_lufs float8, ADD COLUMN album_max_peak float8;

-- The complete cover variants of the release's current cover (`cover_variants_sql!` in
-- shared/domain/src/listener/media.rs reads them); NULL while there are none.
ALTER TABLE releases ADD COLUMN cover_variants jsonb;

CREATE FUNCTION cover_variants_of(cover uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_agg(jsonb_build_object('width_px', v.width_px, 'mime', v.mime,
                                        'bucket', v.bucket, 'key', v.key)
                     ORDER BY v.name)
      FROM transcode_jobs j JOIN variants v ON v.job_id = j.id
     WHERE j.asset_id = cover AND j.superseded_at IS NULL
       AND v.status = 'complete' AND v.name LIKE 'cover\_%' AND v.width_px IS NOT NULL
$$;
REVOKE ALL ON FUNCTION cover_variants_of(uuid) FROM PUBLIC;

CREATE FUNCTION refresh_covers(covers uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE releases r SET cover_variants = cover_variants_of(r.cover_asset_id)
      FROM (SELECT DISTINCT c FROM unnest(covers) AS c) AS c
     WHERE r.cover_asset_id = c.c
       AND r.cover_variants IS DISTINCT FROM cover_variants_of(r.cover_asset_id)
$$;
REVOKE ALL ON FUNCTION refresh_covers(uuid[]) FROM PUBLIC;

CREATE FUNCTION master_playable(master uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT master IS NOT NULL AND EXISTS (
        SELECT 1 FROM transcode_jobs j JOIN variants v ON v.job_id = j.id
         WHERE j.asset_id = master AND j.superseded_at IS NULL AND v.status = 'complete'
           AND v.name IN ('aac_256', 'aac_128', 'opus_96'))
$$;
REVOKE ALL ON FUNCTION master_playable(uuid) FROM PUBLIC;

-- Every write of a track recomputes its flag: whatever a writer puts in `playable` is replaced.
CREATE FUNCTION tracks_playable() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.playable := master_playable(NEW.master_asset_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER tracks_playable BEFORE INSERT OR UPDATE ON tracks
    FOR EACH ROW EXECUTE FUNCTION tracks_playable();

CREATE FUNCTION refresh_playable(masters uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE tracks t SET playable = master_playable(t.master_asset_id)
      FROM (SELECT DISTINCT m FROM unnest(masters) AS m) AS m
     WHERE t.master_asset_id = m.m
       AND t.playable IS DISTINCT FROM master_playable(t.master_asset_id)
$$;
REVOKE ALL ON FUNCTION refresh_playable(uuid[]) FROM PUBLIC;

-- Variants and jobs change a flag (or a cover) only through the asset they belong to: at most
-- one UPDATE of each table per statement, for the assets it touched.
CREATE FUNCTION refresh_derived(assets uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT refresh_playable(assets);
    SELECT refresh_covers(assets);
$$;
REVOKE ALL ON FUNCTION refresh_derived(uuid[]) FROM PUBLIC;

CREATE FUNCTION variants_playable() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM refresh_derived(ARRAY(
        SELECT DISTINCT j.asset_id FROM changed c JOIN transcode_jobs j ON j.id = c.job_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER variants_playable_insert AFTER INSERT ON variants
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION variants_playable();
CREATE TRIGGER variants_playable_update AFTER UPDATE ON variants
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION variants_playable();
CREATE TRIGGER variants_playable_delete AFTER DELETE ON variants
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION variants_playable();

CREATE FUNCTION jobs_playable() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM refresh_derived(ARRAY(SELECT DISTINCT asset_id FROM changed));
    RETURN NULL;
END
$$;
CREATE TRIGGER transcode_jobs_playable_insert AFTER INSERT ON transcode_jobs
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jobs_playable();
CREATE TRIGGER transcode_jobs_playable_update AFTER UPDATE ON transcode_jobs
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jobs_playable();
CREATE TRIGGER transcode_jobs_playable_delete AFTER DELETE ON transcode_jobs
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jobs_playable();

-- Album loudness: recomputed for the releases whose tracks were inserted, deleted or changed in
-- a column it depends on.
CREATE FUNCTION refresh_album_loudness(ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE releases r SET album_lufs = a.lufs, album_max_peak = a.max_peak
      FROM (SELECT x.id,
                   10 * log(sum(t.duration_ms * power(10::float8, t.integrated_lufs / 10.0))
                            / nullif(sum(t.duration_ms), 0)) AS lufs,
                   max(t.true_peak_dbtp)::float8 AS max_peak
              FROM (SELECT DISTINCT id FROM unnest(ids) AS id) AS x(id)
              LEFT JOIN tracks t ON t.release_id = x.id AND t.integrated_lufs IS NOT NULL
                   AND t.true_peak_dbtp IS NOT NULL AND t.duration_ms IS NOT NULL
             GROUP BY x.id) AS a
     WHERE r.id = a.id
       AND (r.album_lufs, r.album_max_peak) IS DISTINCT FROM (a.lufs, a.max_peak)
$$;
REVOKE ALL ON FUNCTION refresh_album_loudness(uuid[]) FROM PUBLIC;

CREATE FUNCTION tracks_loudness_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_album_loudness(ARRAY(SELECT DISTINCT release_id FROM after));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_album_loudness(ARRAY(SELECT DISTINCT release_id FROM before));
    ELSE
        -- The rows whose loudness inputs changed, old and new versions: set operations, which
        -- hash or sort (transition tables have no index a join of the two could use).
        PERFORM refresh_album_loudness(ARRAY(
            SELECT DISTINCT release_id FROM (
                (SELECT id, release_id, duration_ms, integrated_lufs, true_peak_dbtp FROM before
                 EXCEPT
                 SELECT id, release_id, duration_ms, integrated_lufs, true_peak_dbtp FROM after)
                UNION ALL
                (SELECT id, release_id, duration_ms, integrated_lufs, true_peak_dbtp FROM after
                 EXCEPT
                 SELECT id, release_id, duration_ms, integrated_lufs, true_peak_dbtp FROM before)
            ) AS changed));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tracks_loudness_insert AFTER INSERT ON tracks
    REFERENCING NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION tracks_loudness_changed();
CREATE TRIGGER tracks_loudness_update AFTER UPDATE ON tracks
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_loudness_changed();
CREATE TRIGGER tracks_loudness_delete AFTER DELETE ON tracks
    REFERENCING OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION tracks_loudness_changed();

-- Only the functions above write album loudness and cover variants: the studio may insert and
-- update its own releases, but not these columns (a BEFORE trigger puts back what was there);
-- a new or changed cover reads its variants.
CREATE FUNCTION releases_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.album_lufs := NULL;
        NEW.album_max_peak := NULL;
        NEW.cover_variants := cover_variants_of(NEW.cover_asset_id);
    ELSE
        IF current_user <> 'hound_owner' THEN
            NEW.album_lufs := OLD.album_lufs;
            NEW.album_max_peak := OLD.album_max_peak;
            NEW.cover_variants := OLD.cover_variants;
        END IF;
        IF NEW.cover_asset_id IS DISTINCT FROM OLD.cover_asset_id THEN
            NEW.cover_variants := cover_variants_of(NEW.cover_asset_id);
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER releases_derived BEFORE INSERT OR UPDATE ON releases
    FOR EACH ROW EXECUTE FUNCTION releases_derived();
-- The trigger runs as whoever writes the release (it must, to tell the owner's refresh from
-- them): those roles call cover_variants_of. It shows the complete cover variants of an asset
-- whose id they name, which become public with the release anyway.
GRANT EXECUTE ON FUNCTION cover_variants_of(uuid) TO hound_studio, hound_worker;

-- What is there already.
UPDATE tracks SET playable = master_playable(master_asset_id) WHERE master_asset_id IS NOT NULL;
SELECT refresh_album_loudness(ARRAY(SELECT id FROM releases));
SELECT refresh_covers(ARRAY(SELECT cover_asset_id FROM releases WHERE cover_asset_id IS NOT NULL));

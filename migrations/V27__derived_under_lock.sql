-- V26's derived columns (tracks.playable, releases.cover_variants, releases.album_lufs and
-- album_max_peak) under concurrent writers. Each refresh read the rows underneath with its own
-- statement's snapshot, which does not show a concurrent transaction's uncommitted change: a
-- worker completing a rendition of a job that the studio was superseding at the same moment
-- each saw only their own change, and the last to commit left the flag as if the other had not
-- happened (playable, on a superseded job).
--
-- Now each refresh first locks the rows it derives into (in id order, so that two refreshes
-- cannot deadlock on each other), then recomputes in a statement of its own. These functions
-- are VOLATILE SQL functions, so that second statement takes a new snapshot: whoever takes the
-- lock second waits for the first to commit and then sees its change. The lock is taken even
-- when nothing will change, for the same reason.

CREATE OR REPLACE FUNCTION refresh_playable(masters uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM tracks t WHERE t.master_asset_id = ANY (masters) ORDER BY t.id FOR UPDATE;
    UPDATE tracks t SET playable = master_playable(t.master_asset_id)
      FROM (SELECT DISTINCT m FROM unnest(masters) AS m) AS m
     WHERE t.master_asset_id = m.m
       AND t.playable IS DISTINCT FROM master_playable(t.master_asset_id)
$$;

CREATE OR REPLACE FUNCTION refresh_covers(covers uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM releases r WHERE r.cover_asset_id = ANY (covers) ORDER BY r.id FOR UPDATE;
    UPDATE releases r SET cover_variants = cover_variants_of(r.cover_asset_id)
      FROM (SELECT DISTINCT c FROM unnest(covers) AS c) AS c
     WHERE r.cover_asset_id = c.c
       AND r.cover_variants IS DISTINCT FROM cover_variants_of(r.cover_asset_id)
$$;

CREATE OR REPLACE FUNCTION refresh_album_loudness(ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM releases r WHERE r.id = ANY (ids) ORDER BY r.id FOR UPDATE;
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

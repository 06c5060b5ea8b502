-- The listener's policies on tracks, transcode jobs and variants, rewritten as correlated
-- scalar subqueries (EXPLAIN ANALYZE of the album read, README "Benchmarks"). Written as EXISTS
-- (V6), the planner may turn the tracks policy into a hashed scan of every release the listener
-- can see — a cost that grows with the catalogue; a scalar subquery is one index probe per row.
-- Jobs and variants are checked through their own asset directly (a visible track's master or
-- a visible release's cover) instead of through each other.
ALTER POLICY listener_reach ON tracks
    USING ((SELECT true FROM releases r WHERE r.id = release_id));
ALTER POLICY listener_reach ON transcode_jobs
    USING (coalesce((SELECT true FROM tracks t WHERE t.master_asset_id = asset_id LIMIT 1),
                    (SELECT true FROM releases r WHERE r.cover_asset_id = asset_id LIMIT 1),
                    false));
ALTER POLICY listener_reach ON variants
    USING (coalesce((SELECT true FROM tracks t WHERE t.master_asset_id = asset_id LIMIT 1),
                    (SELECT true FROM releases r WHERE r.cover_asset_id = asset_id LIMIT 1),
                    false));

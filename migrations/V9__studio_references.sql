-- A studio's rows may only point at the same artist's rows. Foreign keys skip row-level
-- security, so V6's checks (the row's own artist) let an artist attach an upload to another
-- artist's release or track, or set another artist's asset as their own track's master or
-- release's cover, which the listener policies would then publish. Each reference is now
-- checked against what the studio itself can see, which its policies limit to its own artist.

ALTER POLICY studio_own ON assets
    USING (artist_id = (SELECT app_artist_id()))
    WITH CHECK (artist_id = (SELECT app_artist_id())
                AND EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id)
                AND (track_id IS NULL
                     OR EXISTS (SELECT 1 FROM tracks t
                                 WHERE t.id = track_id AND t.release_id = assets.release_id)));

ALTER POLICY studio_own ON tracks
    USING (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id))
    WITH CHECK (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id)
                AND (master_asset_id IS NULL
                     OR EXISTS (SELECT 1 FROM assets a WHERE a.id = master_asset_id)));

ALTER POLICY studio_own ON releases
    USING (artist_id = (SELECT app_artist_id()))
    WITH CHECK (artist_id = (SELECT app_artist_id())
                AND (cover_asset_id IS NULL
                     OR EXISTS (SELECT 1 FROM assets a WHERE a.id = cover_asset_id)));

-- Suggestions consider the 50 nearest tracks, not 100 (the Rust `CANDIDATES`; a test checks the
-- two agree). The exact KNN over the cube GiST reads index pages in proportion to the neighbours
-- it returns (at 1 M points about 2 per neighbour: the leaves' boxes overlap on the sphere), and
-- that scan was most of a suggestion's time. 50 still fill the list of 20 at 2 per artist
-- unless the seed's neighbourhood is held by a few artists; the list is then shorter.
CREATE OR REPLACE FUNCTION nearest_tracks(q float8[], exclude uuid)
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
     LIMIT 50;
END
$$;

-- Review fixes to V10–V15 (README, "Taste: the model" and "Collections: decisions").

-- The taste functions behind a stored generated column must not depend on the caller's
-- search_path (pg_restore runs with an empty one).
ALTER FUNCTION unit_point(float8[]) SET search_path = public, pg_catalog;
ALTER FUNCTION taste_point(real[]) SET search_path = public, pg_catalog;
ALTER FUNCTION point_coords(cube) SET search_path = public, pg_catalog;

-- A vote outlives its track: the vote keeps the point it added, so it can still be withdrawn
-- (and its step taken back) after the studio deletes the track.
ALTER TABLE track_votes DROP CONSTRAINT track_votes_track_id_fkey;

-- Co-listening reads plays, which name users without a foreign key; a contribution of an
-- account deleted before the schedule read its plays must not stop every later run.
ALTER TABLE co_listens DROP CONSTRAINT co_listens_user_id_fkey;

-- The collective's safeguards are its own, not its caller's: an hour of activity, at least 3
-- active listeners *with a taste* (a vector of norm above 1e-9), each held to norm 1; the mean
-- is over those listeners only.
DROP FUNCTION collective_taste(interval, integer, float8);
CREATE FUNCTION collective_taste()
RETURNS TABLE (active_listeners bigint, mean float8[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH active AS (
        SELECT v.vector,
               sqrt(v.vector[1]^2 + v.vector[2]^2 + v.vector[3]^2 + v.vector[4]^2
                    + v.vector[5]^2) AS norm
          FROM listening_sessions s LEFT JOIN taste_vectors v ON v.user_id = s.user_id
         WHERE s.last_beat_at > now() - interval '1 hour'
    ), held AS (
        SELECT vector, CASE WHEN norm > 1e-9 THEN least(1.0, 1.0 / norm) END AS f FROM active
    ), summed AS (
        SELECT count(*) AS n, count(f) AS with_taste,
               ARRAY[sum(vector[1] * f), sum(vector[2] * f), sum(vector[3] * f),
                     sum(vector[4] * f), sum(vector[5] * f)] AS total
          FROM held
    )
    SELECT n, CASE WHEN with_taste >= 3 THEN
                       ARRAY(SELECT x / with_taste FROM unnest(total) WITH ORDINALITY AS u(x, i)
                              ORDER BY i)
              END
      FROM summed
$$;
REVOKE ALL ON FUNCTION collective_taste() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION collective_taste() TO hound_listener;

-- Removing playlist items, however they go (the owner, or tracks deleted by the studio, several
-- at once), renumbers what is left 1..n and recounts, so positions have no gap and the count is
-- true. It runs as the owner: a cascade from the studio's delete acts for no listener.
CREATE FUNCTION playlist_items_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE playlist_items i SET position = k.n
      FROM (SELECT x.playlist_id, x.track_id,
                   row_number() OVER (PARTITION BY x.playlist_id ORDER BY x.position) AS n
              FROM playlist_items x
             WHERE x.playlist_id IN (SELECT DISTINCT g.playlist_id FROM gone g)) k
     WHERE i.playlist_id = k.playlist_id AND i.track_id = k.track_id AND i.position <> k.n;
    UPDATE playlists p
       SET item_count = (SELECT count(*) FROM playlist_items i WHERE i.playlist_id = p.id)
     WHERE p.id IN (SELECT DISTINCT g.playlist_id FROM gone g);
    RETURN NULL;
END;
$$;
CREATE TRIGGER playlist_items_removed AFTER DELETE ON playlist_items
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION playlist_items_removed();

-- Drafts: the limits are the function's own; the claim is for the transaction's account
-- (`hound.user_id`, which signup and login set), never one the caller names; drafts are locked
-- as they are claimed; a mix none of whose tracks the account reaches is not created; track ids
-- (checked when the draft was saved) are compared as uuids.
DROP FUNCTION save_draft(bytea, text, jsonb, integer, interval);
CREATE FUNCTION save_draft(hash bytea, draft_kind text, draft_body jsonb)
RETURNS TABLE (id uuid, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO draft_tokens (token_hash) VALUES (hash) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM draft_tokens t WHERE t.token_hash = hash FOR UPDATE;
    IF (SELECT count(*) FROM drafts d WHERE d.token_hash = hash AND d.expires_at > now())
       >= 20 THEN
        RETURN;
    END IF;
    RETURN QUERY
        INSERT INTO drafts AS d (id, token_hash, kind, body, expires_at)
        VALUES (gen_random_uuid(), hash, draft_kind, draft_body, now() + interval '7 days')
        RETURNING d.id, d.expires_at;
END;
$$;
REVOKE ALL ON FUNCTION save_draft(bytea, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION save_draft(bytea, text, jsonb) TO hound_listener;

DROP FUNCTION claim_drafts(bytea, uuid, integer, integer, integer);
CREATE FUNCTION claim_drafts(hash bytea)
RETURNS TABLE (claimed_playlists integer, claimed_mixes integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    account uuid := app_user_id();
    d record;
    new_id uuid;
    live_count integer;
    base_name text;
    candidate text;
    n integer;
    layers integer;
    made_playlists integer := 0;
    made_mixes integer := 0;
BEGIN
    IF account IS NULL THEN
        RAISE EXCEPTION 'claim_drafts needs the transaction''s account (hound.user_id)';
    END IF;
    PERFORM 1 FROM draft_tokens t WHERE t.token_hash = hash FOR UPDATE;
    INSERT INTO playlist_quotas (owner_id) VALUES (account) ON CONFLICT DO NOTHING;
    SELECT q.live INTO live_count FROM playlist_quotas q WHERE q.owner_id = account FOR UPDATE;
    FOR d IN SELECT * FROM drafts x WHERE x.token_hash = hash AND x.expires_at > now()
              ORDER BY x.created_at, x.id FOR UPDATE
    LOOP
        IF d.kind = 'playlist' THEN
            CONTINUE WHEN live_count >= 50;
            base_name := left(btrim(coalesce(d.body ->> 'name', 'Draft')), 90);
            IF base_name = '' THEN base_name := 'Draft'; END IF;
            candidate := base_name;
            n := 1;
            WHILE EXISTS (SELECT 1 FROM playlists p WHERE p.owner_id = account
                            AND p.deleted_at IS NULL AND lower(p.name) = lower(candidate)) LOOP
                n := n + 1;
                candidate := base_name || ' (' || n || ')';
            END LOOP;
            new_id := gen_random_uuid();
            INSERT INTO playlists (id, owner_id, name, is_public)
            VALUES (new_id, account, candidate, coalesce((d.body ->> 'is_public')::boolean, false));
            INSERT INTO playlist_items (playlist_id, track_id, position)
            SELECT new_id, k.track_id, row_number() OVER (ORDER BY k.first)
              FROM (SELECT t.id AS track_id, min(e.i) AS first
                      FROM jsonb_array_elements_text(coalesce(d.body -> 'track_ids', '[]'))
                           WITH ORDINALITY AS e(track_id, i)
                      JOIN tracks t ON t.id = e.track_id::uuid
                      JOIN releases r ON r.id = t.release_id
                     WHERE release_reach(r, account, NULL) <> 'hidden'
                     GROUP BY t.id) k
             ORDER BY k.first
             LIMIT 100;
            UPDATE playlists SET item_count = (SELECT count(*) FROM playlist_items i
                                                WHERE i.playlist_id = new_id)
             WHERE id = new_id;
            live_count := live_count + 1;
            made_playlists := made_playlists + 1;
        ELSE
            new_id := gen_random_uuid();
            INSERT INTO mixes (id, creator_id, name, is_public)
            VALUES (new_id, account,
                    left(coalesce(nullif(btrim(d.body ->> 'name'), ''), 'Draft'), 100),
                    coalesce((d.body ->> 'is_public')::boolean, false));
            INSERT INTO mix_layers (mix_id, position, track_id, volume, loop, delay_ms)
            SELECT new_id, row_number() OVER (ORDER BY l.i), t.id,
                   (l.layer ->> 'volume')::real,
                   coalesce((l.layer ->> 'loop')::boolean, false),
                   coalesce((l.layer ->> 'delay_ms')::integer, 0)
              FROM jsonb_array_elements(coalesce(d.body -> 'layers', '[]'))
                   WITH ORDINALITY AS l(layer, i)
              JOIN tracks t ON t.id = (l.layer ->> 'track_id')::uuid
              JOIN releases r ON r.id = t.release_id
             WHERE release_reach(r, account, NULL) <> 'hidden'
             ORDER BY l.i
             LIMIT 16;
            GET DIAGNOSTICS layers = ROW_COUNT;
            IF layers = 0 THEN
                DELETE FROM mixes WHERE id = new_id;
            ELSE
                made_mixes := made_mixes + 1;
            END IF;
        END IF;
        DELETE FROM drafts x WHERE x.id = d.id;
    END LOOP;
    UPDATE playlist_quotas q SET live = live_count WHERE q.owner_id = account;
    RETURN QUERY SELECT made_playlists, made_mixes;
END;
$$;
REVOKE ALL ON FUNCTION claim_drafts(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_drafts(bytea) TO hound_auth;

-- Token rows are removed only when no save holds them.
CREATE OR REPLACE FUNCTION purge_drafts(max_rows integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    removed integer;
BEGIN
    WITH gone AS (
        DELETE FROM drafts d WHERE d.id IN (
            SELECT x.id FROM drafts x WHERE x.expires_at <= now() LIMIT max_rows)
        RETURNING 1
    )
    SELECT count(*) INTO removed FROM gone;
    DELETE FROM draft_tokens t
     WHERE t.token_hash IN (SELECT k.token_hash FROM draft_tokens k FOR UPDATE SKIP LOCKED)
       AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.token_hash = t.token_hash);
    RETURN removed;
END;
$$;

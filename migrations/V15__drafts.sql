-- Drafts (README, "Collections: decisions"): before signing up, a client keeps draft playlists
-- and mixes under a random token of its own; signup or login with that token claims them into
-- the account, once, in the same transaction. The token is stored only as its SHA-256 (seed 003
-- kept it in clear). Drafts belong to no account yet, so no role reads the tables: everything
-- goes through the functions below, which see only the drafts of the token they are given.

CREATE TABLE drafts (
    id         uuid PRIMARY KEY,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    kind       text NOT NULL CHECK (kind IN ('playlist', 'mix')),
    body       jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX drafts_token_idx ON drafts (token_hash, expires_at);
CREATE INDEX drafts_expiry_idx ON drafts (expires_at);

-- One row per token that every save locks, so that 20 concurrent saves cannot make a 21st.
CREATE TABLE draft_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32)
);

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE drafts ENABLE ROW LEVEL SECURITY;
ALTER TABLE drafts FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON drafts TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE draft_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE draft_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON draft_tokens TO hound_owner USING (true) WITH CHECK (true);

-- Keep a draft: its id and expiry, or NULL when the token already holds `max_drafts` live ones.
CREATE FUNCTION save_draft(hash bytea, draft_kind text, draft_body jsonb, max_drafts integer,
                           keep_for interval)
RETURNS TABLE (id uuid, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO draft_tokens (token_hash) VALUES (hash) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM draft_tokens t WHERE t.token_hash = hash FOR UPDATE;
    IF (SELECT count(*) FROM drafts d WHERE d.token_hash = hash AND d.expires_at > now())
       >= max_drafts THEN
        RETURN;
    END IF;
    RETURN QUERY
        INSERT INTO drafts AS d (id, token_hash, kind, body, expires_at)
        VALUES (gen_random_uuid(), hash, draft_kind, draft_body, now() + keep_for)
        RETURNING d.id, d.expires_at;
END;
$$;
REVOKE ALL ON FUNCTION save_draft(bytea, text, jsonb, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION save_draft(bytea, text, jsonb, integer, interval) TO hound_listener;

-- Claim every live draft of a token for `account`: each becomes a playlist or a mix of the
-- account's (tracks it does not reach are left out; a taken playlist name gets a suffix), and
-- is deleted, so a token's drafts are claimed once. Playlist drafts beyond the account's limit
-- stay, unclaimed, until they expire. Answers what was created.
CREATE FUNCTION claim_drafts(hash bytea, account uuid, max_playlists integer,
                             max_tracks integer, max_layers integer)
RETURNS TABLE (claimed_playlists integer, claimed_mixes integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d record;
    new_id uuid;
    live_count integer;
    base_name text;
    candidate text;
    n integer;
    made_playlists integer := 0;
    made_mixes integer := 0;
BEGIN
    PERFORM 1 FROM draft_tokens t WHERE t.token_hash = hash FOR UPDATE;
    INSERT INTO playlist_quotas (owner_id) VALUES (account) ON CONFLICT DO NOTHING;
    SELECT q.live INTO live_count FROM playlist_quotas q WHERE q.owner_id = account FOR UPDATE;
    FOR d IN SELECT * FROM drafts x WHERE x.token_hash = hash AND x.expires_at > now()
              ORDER BY x.created_at, x.id
    LOOP
        IF d.kind = 'playlist' THEN
            CONTINUE WHEN live_count >= max_playlists;
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
            SELECT new_id, k.track_id::uuid, row_number() OVER (ORDER BY k.first)
              FROM (SELECT e.track_id, min(e.i) AS first
                      FROM jsonb_array_elements_text(coalesce(d.body -> 'track_ids', '[]'))
                           WITH ORDINALITY AS e(track_id, i)
                      JOIN tracks t ON t.id::text = e.track_id
                      JOIN releases r ON r.id = t.release_id
                     WHERE release_reach(r, account, NULL) <> 'hidden'
                     GROUP BY e.track_id) k
             ORDER BY k.first
             LIMIT max_tracks;
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
                   least(1, greatest(0, coalesce((l.layer ->> 'volume')::real, 1))),
                   coalesce((l.layer ->> 'loop')::boolean, false),
                   least(3600000, greatest(0, coalesce((l.layer ->> 'delay_ms')::integer, 0)))
              FROM jsonb_array_elements(coalesce(d.body -> 'layers', '[]'))
                   WITH ORDINALITY AS l(layer, i)
              JOIN tracks t ON t.id::text = l.layer ->> 'track_id'
              JOIN releases r ON r.id = t.release_id
             WHERE release_reach(r, account, NULL) <> 'hidden'
             ORDER BY l.i
             LIMIT max_layers;
            made_mixes := made_mixes + 1;
        END IF;
        DELETE FROM drafts x WHERE x.id = d.id;
    END LOOP;
    UPDATE playlist_quotas q SET live = live_count WHERE q.owner_id = account;
    RETURN QUERY SELECT made_playlists, made_mixes;
END;
$$;
REVOKE ALL ON FUNCTION claim_drafts(bytea, uuid, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_drafts(bytea, uuid, integer, integer, integer) TO hound_auth;

-- The schedule removes expired drafts (and tokens left with none).
CREATE FUNCTION purge_drafts(max_rows integer) RETURNS integer
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
     WHERE NOT EXISTS (SELECT 1 FROM drafts d WHERE d.token_hash = t.token_hash);
    RETURN removed;
END;
$$;
REVOKE ALL ON FUNCTION purge_drafts(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_drafts(integer) TO hound_maintenance;

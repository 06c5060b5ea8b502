-- Least privilege (issue 11). Every function connects as a login role of its own that owns
-- nothing, cannot bypass row-level security and is granted only what it uses; every table that
-- holds user data has row-level security enabled and forced, with policies that read the caller
-- from transaction-local settings (`hound_domain::db::settings`). `hound migrate` runs as the
-- owner role `hound_owner` (it switches to it before applying migrations), so everything below
-- and after is owned by it.
--
-- Settings a transaction may carry (all optional, unset = NULL):
--   hound.user_id      the caller's user id (auth, studio, listener)
--   hound.roles        the caller's roles, comma-separated (informational)
--   hound.share_token  the share token the client presented (listener)
--   hound.login_email  the normalised email of a login attempt (auth)
--   hound.session_id   the session being refreshed or opened (auth)
--   hound.refresh_hash the SHA-256 of a presented refresh token, base64 (auth)
-- A transaction with no hound.user_id is a *service* context: the worker, the dead-letter
-- recorder and the maintenance schedule act only there, through policies of their own. With a
-- user's context set they see nothing, so no role reads another user's rows under a user's name.

-- Roles are cluster-wide: create them once, whichever database migrates first.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['hound_auth', 'hound_studio', 'hound_listener', 'hound_worker',
                                'hound_dead_letter', 'hound_maintenance']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
                           'NOINHERIT', name);
        END IF;
    END LOOP;
END
$$;

-- Nothing by default: what PUBLIC may do in this schema is taken away, then each role gets its
-- own grants. (Functions keep PUBLIC EXECUTE except the definer functions below.)
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hound_auth, hound_studio, hound_listener, hound_worker,
    hound_dead_letter, hound_maintenance;

-- ---------------------------------------------------------------------------------------------
-- Who is asking. STABLE SQL functions: policies call them as `(SELECT app_user_id())` so each is
-- evaluated once per statement.

CREATE FUNCTION app_setting(name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting(name, true), '') $$;

CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.user_id')::uuid $$;

CREATE FUNCTION app_share_token() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.share_token') $$;

CREATE FUNCTION app_login_email() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.login_email') $$;

CREATE FUNCTION app_session_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.session_id')::uuid $$;

CREATE FUNCTION app_refresh_hash() RETURNS bytea
LANGUAGE sql STABLE AS $$ SELECT decode(app_setting('hound.refresh_hash'), 'base64') $$;

-- A service context: no user in the settings.
CREATE FUNCTION app_is_service() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.user_id') IS NULL $$;

-- The caller's artist profile (NULL for listeners and services). artist_profiles is readable by
-- every role that calls this.
CREATE FUNCTION app_artist_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT id FROM artist_profiles WHERE user_id = app_user_id() $$;

-- ---------------------------------------------------------------------------------------------
-- Indexes for every column a policy filters on (the others already lead an index).
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX assets_artist_idx ON assets (artist_id);
CREATE INDEX tracks_master_asset_idx ON tracks (master_asset_id);
CREATE INDEX releases_cover_asset_idx ON releases (cover_asset_id);
CREATE INDEX plays_user_idx ON plays (user_id, started_at);
CREATE INDEX listen_events_user_idx ON listen_events (user_id, at);

-- ---------------------------------------------------------------------------------------------
-- Row-level security: enabled and forced on every table that holds user data. Holding no user
-- data, and so left without: release_play_days (per-release daily play counts) and refinery's
-- schema history. A guard test lists the tables without it.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'listener_profiles', 'artist_profiles', 'auth_sessions',
                             'refresh_tokens', 'login_failures', 'releases', 'tracks', 'assets',
                             'transcode_jobs', 'job_steps', 'variants', 'failed_jobs',
                             'entitlements', 'saves', 'plays', 'listen_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        -- FORCE applies to the owner too: migrations that change data act through this.
        EXECUTE format('CREATE POLICY owner_migrations ON %I TO hound_owner '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- Existing monthly partitions are reached only through their parents, which carry the policies;
-- they get RLS too, so that no table of user data is left without it.
DO $$
DECLARE
    p text;
BEGIN
    FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_class parent ON parent.oid = i.inhparent
             WHERE parent.relname IN ('plays', 'listen_events')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', p);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- auth: accounts, sessions, refresh tokens, login throttle. A login finds its user by the email
-- in the settings; a refresh finds its token by the hash in the settings, then its session.

GRANT SELECT, INSERT ON users TO hound_auth;
CREATE POLICY auth_read ON users FOR SELECT TO hound_auth
    USING (id = (SELECT app_user_id()) OR lower(email) = (SELECT app_login_email()));
CREATE POLICY auth_signup ON users FOR INSERT TO hound_auth
    WITH CHECK (id = (SELECT app_user_id()));

GRANT SELECT, INSERT ON listener_profiles TO hound_auth;
CREATE POLICY auth_own ON listener_profiles TO hound_auth
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- Artist profiles are every artist's public face: readable by all, written by their owner.
GRANT SELECT ON artist_profiles TO hound_auth, hound_studio, hound_listener;
GRANT INSERT ON artist_profiles TO hound_auth;
GRANT UPDATE (name, bio, links) ON artist_profiles TO hound_studio;
CREATE POLICY public_face ON artist_profiles FOR SELECT
    TO hound_auth, hound_studio, hound_listener USING (true);
CREATE POLICY auth_signup ON artist_profiles FOR INSERT TO hound_auth
    WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY studio_own ON artist_profiles FOR UPDATE TO hound_studio
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

GRANT SELECT, INSERT, UPDATE ON auth_sessions TO hound_auth;
CREATE POLICY auth_own ON auth_sessions TO hound_auth
    USING (user_id = (SELECT app_user_id()) OR id = (SELECT app_session_id()))
    WITH CHECK (user_id = (SELECT app_user_id()));
-- Every protected request checks its session is live, inside its own transaction.
GRANT SELECT (id, user_id, revoked_at) ON auth_sessions TO hound_studio, hound_listener;
CREATE POLICY caller_own ON auth_sessions FOR SELECT TO hound_studio, hound_listener
    USING (user_id = (SELECT app_user_id()));

GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO hound_auth;
CREATE POLICY auth_presented ON refresh_tokens TO hound_auth
    USING (token_hash = (SELECT app_refresh_hash()) OR session_id = (SELECT app_session_id()))
    WITH CHECK (session_id = (SELECT app_session_id()));

GRANT SELECT, INSERT, DELETE ON login_failures TO hound_auth;
GRANT USAGE ON SEQUENCE login_failures_id_seq TO hound_auth;
CREATE POLICY auth_attempted ON login_failures TO hound_auth
    USING (email = (SELECT app_login_email())) WITH CHECK (email = (SELECT app_login_email()));

-- ---------------------------------------------------------------------------------------------
-- studio: an artist's own catalogue, uploads and jobs.

GRANT SELECT, INSERT, UPDATE, DELETE ON releases, tracks TO hound_studio;
GRANT SELECT, INSERT, UPDATE ON assets, transcode_jobs, job_steps TO hound_studio;
CREATE POLICY studio_own ON releases TO hound_studio
    USING (artist_id = (SELECT app_artist_id())) WITH CHECK (artist_id = (SELECT app_artist_id()));
CREATE POLICY studio_own ON tracks TO hound_studio
    USING (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id))
    WITH CHECK (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id));
CREATE POLICY studio_own ON assets TO hound_studio
    USING (artist_id = (SELECT app_artist_id())) WITH CHECK (artist_id = (SELECT app_artist_id()));
CREATE POLICY studio_own ON transcode_jobs TO hound_studio
    USING (EXISTS (SELECT 1 FROM assets a WHERE a.id = asset_id))
    WITH CHECK (EXISTS (SELECT 1 FROM assets a WHERE a.id = asset_id));
CREATE POLICY studio_own ON job_steps TO hound_studio
    USING (EXISTS (SELECT 1 FROM transcode_jobs j WHERE j.id = job_id))
    WITH CHECK (EXISTS (SELECT 1 FROM transcode_jobs j WHERE j.id = job_id));

-- ---------------------------------------------------------------------------------------------
-- listener: the public catalogue as release_reach() draws it, with the presented share token;
-- a listener's own saves, entitlements, plays and events. A release is visible (not `hidden`)
-- to its artist, or once published unless it is unlisted and the token presented is not its
-- own: release_reach's rule for `hidden`, written inline so the planner can use it.

GRANT SELECT ON releases, tracks, transcode_jobs, variants, entitlements TO hound_listener;
CREATE POLICY listener_reach ON releases FOR SELECT TO hound_listener
    USING (artist_id = (SELECT app_artist_id())
           OR (release_effective_status(status, publish_at) = 'published'
               AND (access <> 'unlisted' OR share_token = (SELECT app_share_token()))));
CREATE POLICY listener_reach ON tracks FOR SELECT TO hound_listener
    USING (EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id));
-- A job's outputs are visible when its asset is a visible track's master or release's cover.
CREATE POLICY listener_reach ON transcode_jobs FOR SELECT TO hound_listener
    USING (EXISTS (SELECT 1 FROM tracks t WHERE t.master_asset_id = asset_id)
           OR EXISTS (SELECT 1 FROM releases r WHERE r.cover_asset_id = asset_id));
CREATE POLICY listener_reach ON variants FOR SELECT TO hound_listener
    USING (EXISTS (SELECT 1 FROM transcode_jobs j WHERE j.id = job_id));
CREATE POLICY listener_own ON entitlements FOR SELECT TO hound_listener
    USING (user_id = (SELECT app_user_id()));

GRANT SELECT, INSERT, DELETE ON saves TO hound_listener;
CREATE POLICY listener_own ON saves TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

GRANT SELECT, INSERT ON plays, listen_events TO hound_listener;
CREATE POLICY listener_own ON plays TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
CREATE POLICY listener_own ON listen_events TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- The per-release daily rollup the telemetry insert maintains (no user data: counts only).
GRANT SELECT, INSERT, UPDATE ON release_play_days TO hound_listener;

-- ---------------------------------------------------------------------------------------------
-- worker: completes uploads it is notified of, claims jobs, writes progress, outputs and the
-- track's analysis. Only in a service context.

GRANT SELECT, UPDATE ON assets TO hound_worker;
GRANT SELECT, INSERT, UPDATE ON transcode_jobs, job_steps, variants TO hound_worker;
GRANT SELECT ON releases TO hound_worker;
GRANT UPDATE (cover_asset_id) ON releases TO hound_worker;
GRANT SELECT ON tracks TO hound_worker;
GRANT UPDATE (master_asset_id, duration_ms, sample_rate_hz, channels, integrated_lufs,
              loudness_range_lu, true_peak_dbtp, gain_db, embedding, analysed_at)
    ON tracks TO hound_worker;
CREATE POLICY worker_service ON assets TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY worker_service ON transcode_jobs TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY worker_service ON job_steps TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY worker_service ON variants TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY worker_service ON releases TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY worker_service ON tracks TO hound_worker
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- ---------------------------------------------------------------------------------------------
-- dead-letter: records dead-lettered messages and fails their jobs (`hound dlq` runs as an
-- operator, not as this role). Only in a service context.

GRANT SELECT, INSERT, UPDATE ON failed_jobs TO hound_dead_letter;
GRANT SELECT, UPDATE ON transcode_jobs, job_steps, variants, assets TO hound_dead_letter;
CREATE POLICY dead_letter_service ON failed_jobs TO hound_dead_letter
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY dead_letter_service ON transcode_jobs TO hound_dead_letter
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY dead_letter_service ON job_steps TO hound_dead_letter
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY dead_letter_service ON variants TO hound_dead_letter
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
CREATE POLICY dead_letter_service ON assets TO hound_dead_letter
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- ---------------------------------------------------------------------------------------------
-- Partitions: no function role runs DDL. Creating and dropping months goes through two
-- functions owned by hound_owner (SECURITY DEFINER, fixed search_path): the schedule keeps
-- months ahead, and a telemetry batch that meets a missing month (nobody ran the schedule) asks
-- for it through the same function rather than creating it itself.

CREATE OR REPLACE FUNCTION ensure_month_partitions(parent text, from_at timestamptz, months integer)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    lower_utc timestamp := date_trunc('month', from_at AT TIME ZONE 'UTC');
    upper_utc timestamp;
    partition_name text;
BEGIN
    IF parent NOT IN ('plays', 'listen_events') THEN
        RAISE EXCEPTION 'not a partitioned telemetry table: %', parent;
    END IF;
    IF months NOT BETWEEN 0 AND 36 THEN
        RAISE EXCEPTION 'months must be 0..36, not %', months;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ensure_month_partitions'));
    FOR i IN 1 .. months LOOP
        upper_utc := lower_utc + interval '1 month';
        partition_name := format('%s_p%s', parent, to_char(lower_utc, 'YYYYMM'));
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           partition_name, parent,
                           lower_utc AT TIME ZONE 'UTC', upper_utc AT TIME ZONE 'UTC');
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', partition_name);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', partition_name);
            RETURN NEXT partition_name;
        END IF;
        lower_utc := upper_utc;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION ensure_month_partitions(text, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_month_partitions(text, timestamptz, integer)
    TO hound_maintenance, hound_listener;

-- Detach and drop one monthly partition of plays or listen_events.
CREATE FUNCTION drop_month_partition(parent text, partition_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF parent NOT IN ('plays', 'listen_events') THEN
        RAISE EXCEPTION 'not a partitioned telemetry table: %', parent;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits i
                     JOIN pg_class c ON c.oid = i.inhrelid
                     JOIN pg_class p ON p.oid = i.inhparent
                    WHERE p.relname = parent AND c.relname = partition_name) THEN
        RAISE EXCEPTION '% is not a partition of %', partition_name, parent;
    END IF;
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, partition_name);
    EXECUTE format('DROP TABLE %I', partition_name);
END;
$$;
REVOKE ALL ON FUNCTION drop_month_partition(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION drop_month_partition(text, text) TO hound_maintenance;

-- Gates (issue 15; README, "Gates: decisions"): access codes an artist hands out, events a
-- listener checks in at, and the two functions that turn either into an entitlement. Each
-- function is a login role of its own, like the others (V6).
--
-- Codes are never stored in clear: only an HMAC-SHA256 of the normalised code under a server
-- key (CODE_KEYS), with the key's id beside it so the key can rotate. The redeem role finds a
-- code only by the hashes the request presented (setting hound.code_hashes), so it can never
-- list codes. Event secrets are AES-256-GCM ciphertext under an application key (EVENT_KEYS),
-- sealed and opened in the functions: the key never passes through SQL.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['hound_redeem', 'hound_checkin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
                           'NOINHERIT', name);
        END IF;
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA public TO hound_redeem, hound_checkin;

-- The hashes a redeem presented (base64, comma-separated: one per live code key).
CREATE FUNCTION app_code_hashes() RETURNS bytea[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(decode(h, 'base64'))
      FROM unnest(string_to_array(app_setting('hound.code_hashes'), ',')) AS h
$$;

-- The event a check-in names.
CREATE FUNCTION app_event_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT app_setting('hound.event_id')::uuid $$;

-- ---------------------------------------------------------------------------------------------
-- Codes. What a code grants is its batch's: today a release; credits arrive with the ledger
-- (issue 16 adds the enum value and its column).
CREATE TYPE code_grant AS ENUM ('release');

CREATE TABLE code_batches (
    id         uuid PRIMARY KEY,
    artist_id  uuid NOT NULL REFERENCES artist_profiles (id) ON DELETE CASCADE,
    release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    grants     code_grant NOT NULL DEFAULT 'release',
    issued     integer NOT NULL CHECK (issued BETWEEN 1 AND 1000),
    max_uses   integer NOT NULL CHECK (max_uses BETWEEN 1 AND 1000000),
    expires_at timestamptz,
    note       text CHECK (char_length(note) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX code_batches_release_idx ON code_batches (release_id, created_at DESC, id DESC);
CREATE INDEX code_batches_artist_idx ON code_batches (artist_id);

-- `uses` is raised by one conditional UPDATE per redeem (uses < max_uses), which takes the
-- row's lock: racing redeems of one code are decided one at a time, and the last use is won
-- once.
CREATE TABLE access_codes (
    id        uuid PRIMARY KEY,
    batch_id  uuid NOT NULL REFERENCES code_batches (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL UNIQUE CHECK (octet_length(code_hash) = 32),
    key_id    text NOT NULL,
    max_uses  integer NOT NULL CHECK (max_uses >= 1),
    uses      integer NOT NULL DEFAULT 0,
    CHECK (uses BETWEEN 0 AND max_uses)
);
CREATE INDEX access_codes_batch_idx ON access_codes (batch_id);

-- Who redeemed what: one listener redeems a code once.
CREATE TABLE redemptions (
    code_id     uuid NOT NULL REFERENCES access_codes (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redeemed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code_id, user_id)
);
CREATE INDEX redemptions_user_idx ON redemptions (user_id);

-- ---------------------------------------------------------------------------------------------
-- Events. A place is all three of lat, lon, radius or none of them.
CREATE TABLE events (
    id            uuid PRIMARY KEY,
    artist_id     uuid NOT NULL REFERENCES artist_profiles (id) ON DELETE CASCADE,
    release_id    uuid REFERENCES releases (id) ON DELETE SET NULL,
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    lat           double precision CHECK (lat BETWEEN -90 AND 90),
    lon           double precision CHECK (lon BETWEEN -180 AND 180),
    radius_m      integer CHECK (radius_m BETWEEN 10 AND 100000),
    secret_sealed bytea NOT NULL,
    secret_nonce  bytea NOT NULL CHECK (octet_length(secret_nonce) = 12),
    secret_key_id text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((lat IS NULL) = (lon IS NULL) AND (lat IS NULL) = (radius_m IS NULL))
);
CREATE INDEX events_artist_idx ON events (artist_id, starts_at DESC);
CREATE INDEX events_release_idx ON events (release_id);

-- One check-in per listener per event. Where they stood is not kept.
CREATE TABLE checkins (
    event_id      uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checked_in_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX checkins_user_idx ON checkins (user_id);

-- ---------------------------------------------------------------------------------------------
-- Failed attempts at a gate, per listener: ten in an hour close that gate to them until the
-- oldest ages out (429 with Retry-After). Attempts of one listener at one gate are serialised by
-- an advisory lock (gates/throttle.rs), as logins are.
CREATE TYPE gate_kind AS ENUM ('redeem', 'checkin');

CREATE TABLE gate_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    gate      gate_kind NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_failures_user_idx ON gate_failures (user_id, gate, failed_at);
CREATE INDEX gate_failures_age_idx ON gate_failures (failed_at);

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE code_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE code_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON code_batches TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE access_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON access_codes TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE redemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON redemptions TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON events TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE checkins ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkins FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON checkins TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE gate_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE gate_failures FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON gate_failures TO hound_owner USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------------------------------------
-- studio: an artist's own batches (for their own releases), codes and events (pointing at
-- their own release, if any). Codes are written once and counted, never read back in clear:
-- there is no clear to read.
GRANT SELECT, INSERT ON code_batches TO hound_studio;
GRANT UPDATE (revoked_at) ON code_batches TO hound_studio;
CREATE POLICY studio_own ON code_batches TO hound_studio
    USING (artist_id = (SELECT app_artist_id()))
    WITH CHECK (artist_id = (SELECT app_artist_id())
                AND EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id));
-- code_hash is readable because INSERT … ON CONFLICT (code_hash) needs it; the policy limits
-- it to the artist's own codes, which they were shown in clear when issued.
GRANT SELECT (id, batch_id, code_hash, uses, max_uses), INSERT ON access_codes TO hound_studio;
CREATE POLICY studio_own ON access_codes TO hound_studio
    USING (EXISTS (SELECT 1 FROM code_batches b WHERE b.id = batch_id))
    WITH CHECK (EXISTS (SELECT 1 FROM code_batches b WHERE b.id = batch_id));
GRANT SELECT, INSERT ON events TO hound_studio;
CREATE POLICY studio_own ON events TO hound_studio
    USING (artist_id = (SELECT app_artist_id()))
    WITH CHECK (artist_id = (SELECT app_artist_id())
                AND (release_id IS NULL
                     OR EXISTS (SELECT 1 FROM releases r WHERE r.id = release_id)));
-- The studio counts its events' check-ins, never who checked in (no user id reaches it).
GRANT SELECT (event_id) ON checkins TO hound_studio;
CREATE POLICY studio_own ON checkins FOR SELECT TO hound_studio
    USING (EXISTS (SELECT 1 FROM events e WHERE e.id = event_id));

-- ---------------------------------------------------------------------------------------------
-- redeem: the codes whose hashes the caller presented, with their batches; the caller's own
-- redemptions, failures and entitlements.
GRANT SELECT ON code_batches TO hound_redeem;
CREATE POLICY redeem_presented ON code_batches FOR SELECT TO hound_redeem
    USING (EXISTS (SELECT 1 FROM access_codes c WHERE c.batch_id = code_batches.id));
GRANT SELECT, UPDATE (uses) ON access_codes TO hound_redeem;
CREATE POLICY redeem_presented ON access_codes TO hound_redeem
    USING (code_hash = ANY (app_code_hashes()))
    WITH CHECK (code_hash = ANY (app_code_hashes()));
GRANT SELECT, INSERT ON redemptions TO hound_redeem;
CREATE POLICY redeem_own ON redemptions TO hound_redeem
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- ---------------------------------------------------------------------------------------------
-- checkin: the one event the request names (never a list), the caller's own check-ins.
GRANT SELECT ON events TO hound_checkin;
CREATE POLICY checkin_named ON events FOR SELECT TO hound_checkin
    USING (id = (SELECT app_event_id()));
GRANT SELECT, INSERT ON checkins TO hound_checkin;
CREATE POLICY checkin_own ON checkins TO hound_checkin
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- ---------------------------------------------------------------------------------------------
-- Both gates: their caller's failures and entitlements. An entitlement is only ever added.
GRANT SELECT, INSERT, DELETE ON gate_failures TO hound_redeem, hound_checkin;
CREATE POLICY gate_own ON gate_failures TO hound_redeem, hound_checkin
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
GRANT SELECT, INSERT ON entitlements TO hound_redeem, hound_checkin;
CREATE POLICY gate_own ON entitlements TO hound_redeem, hound_checkin
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- maintenance: failures out of the window are removed by the janitors.
GRANT SELECT, DELETE ON gate_failures TO hound_maintenance;
CREATE POLICY maintenance_service ON gate_failures TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- Both gates check, inside each request's transaction, that the caller's session is live.
GRANT SELECT (id, user_id, revoked_at) ON auth_sessions TO hound_redeem, hound_checkin;
CREATE POLICY gate_caller ON auth_sessions FOR SELECT TO hound_redeem, hound_checkin
    USING (user_id = (SELECT app_user_id()));

-- Listening: the one visibility rule, entitlements to gated releases, saved tracks, and the
-- telemetry tables (plays, listen_events), range-partitioned by month on the event time.

-- How far a caller reaches into a release:
--   hidden  no such release as far as they know (404),
--   page    the album page shows, but streams answer 403 `gated` (code/event/paid without an
--           entitlement),
--   stream  everything.
-- The owner (the user behind the release's artist profile) reaches everything, whatever the
-- status. Everyone else needs the release to be effectively published; then `public` opens,
-- `unlisted` opens only with the release's share token, and code/event/paid show the page and
-- stream only with an entitlement row. This is the only place the rule is written: album, stream,
-- save, library and telemetry all call it.
CREATE TYPE release_reach AS ENUM ('hidden', 'page', 'stream');

CREATE TYPE entitlement_source AS ENUM ('code', 'event', 'paid', 'grant');

-- Who may stream a gated release. The gates issue (redeem, check-in, payments) only inserts here.
CREATE TABLE entitlements (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    source     entitlement_source NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, release_id)
);
CREATE INDEX entitlements_release_idx ON entitlements (release_id);

CREATE FUNCTION release_reach(r releases, viewer uuid, presented_token text)
RETURNS release_reach LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN viewer IS NOT NULL AND EXISTS (
                SELECT 1 FROM artist_profiles ap WHERE ap.id = r.artist_id AND ap.user_id = viewer)
            THEN 'stream'
        WHEN release_effective_status(r.status, r.publish_at) <> 'published' THEN 'hidden'
        WHEN r.access = 'public' THEN 'stream'
        WHEN r.access = 'unlisted' THEN
            CASE WHEN presented_token = r.share_token THEN 'stream' ELSE 'hidden' END
        WHEN viewer IS NOT NULL AND EXISTS (
                SELECT 1 FROM entitlements e WHERE e.user_id = viewer AND e.release_id = r.id)
            THEN 'stream'
        ELSE 'page'
    END::release_reach
$$;

-- Home's "new releases": newest public releases that are (or will be) published.
CREATE INDEX releases_public_newest_idx
    ON releases ((coalesce(published_at, publish_at)) DESC, id DESC)
    WHERE access = 'public' AND status IN ('scheduled', 'published');

CREATE TABLE saves (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, track_id)
);
-- The library, newest first, paged by (saved_at, track_id).
CREATE INDEX saves_user_newest_idx ON saves (user_id, saved_at DESC, track_id DESC);

CREATE TYPE play_source AS ENUM
    ('album', 'playlist', 'library', 'home', 'search', 'mix', 'radio', 'share', 'other');

-- One row per play a client reports. The id is the client's UUID, so a resent batch is counted
-- once; the primary key must include the partition key, so it is (id, started_at): a client
-- resends the same item (same started_at), which is what retries do. No foreign keys: a
-- partitioned fact table should not pin tracks or users, and rows are validated on the way in.
CREATE TABLE plays (
    id          uuid NOT NULL,
    started_at  timestamptz NOT NULL,
    user_id     uuid NOT NULL,
    track_id    uuid NOT NULL,
    ms_played   integer NOT NULL CHECK (ms_played >= 0),
    completed   boolean NOT NULL,
    source      play_source NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);

-- Player events (pause, seek, skip, …): the type is a client-defined snake_case word, props a
-- small JSON object. Same idempotency and partitioning as plays.
CREATE TABLE listen_events (
    id          uuid NOT NULL,
    at          timestamptz NOT NULL,
    user_id     uuid NOT NULL,
    type        text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,39}$'),
    track_id    uuid,
    props       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(props) = 'object'),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);

-- Plays per release per UTC day, kept by the same statement that inserts plays (only rows that
-- were really inserted count). Home's "popular" sums at most releases × 7 small rows instead of
-- scanning a week of plays.
CREATE TABLE release_play_days (
    release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    day        date NOT NULL,
    plays      bigint NOT NULL CHECK (plays >= 0),
    PRIMARY KEY (release_id, day)
);
CREATE INDEX release_play_days_day_idx ON release_play_days (day);

-- Create the monthly (UTC) partitions of `parent` covering `months` months from the one holding
-- `from_at`, skipping those that exist; returns the names created. Partitions are named
-- `{parent}_pYYYYMM`. Serialised by an advisory lock so concurrent callers do not collide.
CREATE FUNCTION ensure_month_partitions(parent text, from_at timestamptz, months integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    lower_utc timestamp := date_trunc('month', from_at AT TIME ZONE 'UTC');
    upper_utc timestamp;
    partition_name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ensure_month_partitions'));
    FOR i IN 1 .. months LOOP
        upper_utc := lower_utc + interval '1 month';
        partition_name := format('%s_p%s', parent, to_char(lower_utc, 'YYYYMM'));
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           partition_name, parent,
                           lower_utc AT TIME ZONE 'UTC', upper_utc AT TIME ZONE 'UTC');
            RETURN NEXT partition_name;
        END IF;
        lower_utc := upper_utc;
    END LOOP;
END;
$$;

-- The previous month too: telemetry accepts items up to 30 days old, which early in a month
-- falls in the month before. `hound partitions ensure` keeps creating ahead.
SELECT ensure_month_partitions('plays', now() - interval '1 month', 3);
SELECT ensure_month_partitions('listen_events', now() - interval '1 month', 3);

-- The studio's catalogue: releases with ordered tracks, uploaded assets, and the transcode jobs
-- (with per-step rows) and variants that the worker fills in. Storage holds bucket + key, never
-- URLs: URLs are signed on demand.

CREATE TYPE release_kind AS ENUM ('album', 'ep', 'single');
-- 'scheduled' turns into 'published' by itself once publish_at has passed: readers use
-- release_effective_status() rather than waiting for a job to flip the column.
CREATE TYPE release_status AS ENUM ('draft', 'submitted', 'scheduled', 'published');
CREATE TYPE release_access AS ENUM ('public', 'unlisted', 'code', 'event', 'paid');

CREATE TABLE releases (
    id             uuid PRIMARY KEY,
    artist_id      uuid NOT NULL REFERENCES artist_profiles (id) ON DELETE CASCADE,
    title          text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    kind           release_kind NOT NULL,
    status         release_status NOT NULL DEFAULT 'draft',
    access         release_access NOT NULL DEFAULT 'public',
    -- Opens an 'unlisted' release to whoever holds it; random, unguessable.
    share_token    text NOT NULL UNIQUE,
    price_credits  integer CHECK (price_credits > 0),
    genre          text CHECK (char_length(genre) BETWEEN 1 AND 50),
    release_date   date,
    upc            text CHECK (upc ~ '^[0-9]{12,13}$'),
    explicit       boolean NOT NULL DEFAULT false,
    cover_asset_id uuid,
    publish_at     timestamptz,
    submitted_at   timestamptz,
    published_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((access = 'paid') = (price_credits IS NOT NULL)),
    CHECK (status <> 'scheduled' OR publish_at IS NOT NULL)
);
CREATE INDEX releases_artist_newest_idx ON releases (artist_id, created_at DESC, id DESC);
CREATE TRIGGER releases_updated_at BEFORE UPDATE ON releases
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION release_effective_status(status release_status, publish_at timestamptz)
RETURNS release_status LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN status = 'scheduled' AND publish_at <= now() THEN 'published'::release_status
                ELSE status END
$$;

CREATE TABLE tracks (
    id              uuid PRIMARY KEY,
    release_id      uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    position        integer NOT NULL CHECK (position >= 1),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    isrc            text CHECK (isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    explicit        boolean NOT NULL DEFAULT false,
    master_asset_id uuid,
    duration_ms     integer CHECK (duration_ms > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Deferred so a reorder can permute positions in one statement.
    CONSTRAINT tracks_release_position_key UNIQUE (release_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE TRIGGER tracks_updated_at BEFORE UPDATE ON tracks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TYPE asset_kind AS ENUM ('master', 'cover');
-- pending_upload: URL handed out; uploaded: object checked; ready / failed: after processing;
-- superseded: replaced by a newer upload for the same track or release.
CREATE TYPE asset_state AS ENUM ('pending_upload', 'uploaded', 'ready', 'failed', 'superseded');

CREATE TABLE assets (
    id           uuid PRIMARY KEY,
    artist_id    uuid NOT NULL REFERENCES artist_profiles (id) ON DELETE CASCADE,
    release_id   uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    track_id     uuid REFERENCES tracks (id) ON DELETE CASCADE,
    kind         asset_kind NOT NULL,
    state        asset_state NOT NULL DEFAULT 'pending_upload',
    bucket       text NOT NULL,
    key          text NOT NULL,
    filename     text NOT NULL CHECK (char_length(filename) BETWEEN 1 AND 255),
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    etag         text,
    uploaded_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assets_bucket_key_key UNIQUE (bucket, key),
    CHECK ((kind = 'master') = (track_id IS NOT NULL))
);
CREATE INDEX assets_release_idx ON assets (release_id);
CREATE TRIGGER assets_updated_at BEFORE UPDATE ON assets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE releases ADD CONSTRAINT releases_cover_asset_fkey
    FOREIGN KEY (cover_asset_id) REFERENCES assets (id) ON DELETE SET NULL;
ALTER TABLE tracks ADD CONSTRAINT tracks_master_asset_fkey
    FOREIGN KEY (master_asset_id) REFERENCES assets (id) ON DELETE SET NULL;

CREATE TYPE job_status AS ENUM
    ('queued', 'probing', 'transcoding', 'analysing', 'uploading', 'ready', 'failed');

-- One job per asset (the unique asset_id is what makes `complete` create exactly one).
CREATE TABLE transcode_jobs (
    id               uuid PRIMARY KEY,
    asset_id         uuid NOT NULL UNIQUE REFERENCES assets (id) ON DELETE CASCADE,
    status           job_status NOT NULL DEFAULT 'queued',
    progress         smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    -- Set once SQS has accepted the job's message; NULL means a later `complete` sends it.
    enqueued_at      timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    superseded_at    timestamptz,
    error_code       text,
    error_message    text,
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'failed') = (error_code IS NOT NULL))
);
CREATE TRIGGER transcode_jobs_updated_at BEFORE UPDATE ON transcode_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TYPE step_state AS ENUM ('pending', 'running', 'done', 'failed', 'skipped');

CREATE TABLE job_steps (
    job_id       uuid NOT NULL REFERENCES transcode_jobs (id) ON DELETE CASCADE,
    position     smallint NOT NULL,
    name         text NOT NULL,
    state        step_state NOT NULL DEFAULT 'pending',
    progress_pct smallint NOT NULL DEFAULT 0 CHECK (progress_pct BETWEEN 0 AND 100),
    message      text,
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (job_id, name),
    UNIQUE (job_id, position)
);

CREATE TYPE variant_status AS ENUM ('pending', 'generating', 'complete', 'failed');

-- What the worker makes from an asset: audio renditions (aac_256, aac_128, opus_96), the
-- waveform, and cover sizes. Each has its own status so a listener only ever sees complete ones.
CREATE TABLE variants (
    id           uuid PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES transcode_jobs (id) ON DELETE CASCADE,
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    name         text NOT NULL,
    codec        text,
    bitrate_kbps integer,
    width_px     integer,
    mime         text NOT NULL,
    status       variant_status NOT NULL DEFAULT 'pending',
    bucket       text,
    key          text,
    size_bytes   bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, name),
    CHECK (status <> 'complete' OR (bucket IS NOT NULL AND key IS NOT NULL))
);
CREATE TRIGGER variants_updated_at BEFORE UPDATE ON variants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

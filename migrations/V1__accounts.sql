-- Accounts, profiles and sessions.
--
-- Emails are stored trimmed and lower-cased by the application; the unique index on lower(email)
-- still arbitrates so that a row written by hand or a future bug cannot create a twin account.

CREATE TYPE app_role AS ENUM ('listener', 'artist');

-- Shared trigger: keeps updated_at honest on every UPDATE, whoever issues it.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    display_name  text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    -- Every account can listen; 'artist' adds the studio. Kept as an array so the roles travel
    -- with the user row in one read (they go into every access token).
    roles         app_role[] NOT NULL DEFAULT '{listener}'
                  CHECK ('listener' = ANY (roles) AND cardinality(roles) BETWEEN 1 AND 2),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE listener_profiles (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- Listeners may hide explicit tracks; on by default like every major store.
    allow_explicit  boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER listener_profiles_updated_at BEFORE UPDATE ON listener_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE artist_profiles (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- URL-safe handle, unique across artists.
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 120),
    bio         text NOT NULL DEFAULT '' CHECK (char_length(bio) <= 2000),
    links       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(links) <= 10),
    -- A storage key in the covers bucket, never a URL: URLs are made on demand.
    avatar_key  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX artist_profiles_slug_key ON artist_profiles (slug);
CREATE TRIGGER artist_profiles_updated_at BEFORE UPDATE ON artist_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TYPE session_end AS ENUM ('logout', 'logout_global', 'refresh_token_reused');

-- One row per login: the refresh-token family. Its id is the `sid` claim of every access token
-- issued within it, so ending a session refuses those tokens at once (one primary-key lookup).
CREATE TABLE auth_sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    revoked_why   session_end,
    CHECK ((revoked_at IS NULL) = (revoked_why IS NULL))
);
CREATE INDEX auth_sessions_user_live_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque random strings; only their SHA-256 is stored. A token is used once:
-- `rotated_at` marks it spent, and presenting a spent token revokes its whole family.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed (and in-flight) password checks per email, for login throttling. A row is written
-- before the password is checked and removed when it succeeds, so concurrent guesses cannot
-- slip past the limit. Rows older than the window are useless and are pruned as we go.
CREATE TABLE login_failures (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, attempted_at);

-- Payments (issue 16; README, "Payments: Stripe"): orders a listener places, Stripe events the
-- stripe-webhook function has applied, and that function's own role. An order keeps its
-- history: deleting its user anonymises it (user_id NULL), never erases it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hound_stripe_webhook') THEN
        CREATE ROLE hound_stripe_webhook LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOINHERIT;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO hound_stripe_webhook;

CREATE TYPE order_kind AS ENUM ('credits', 'release');
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'refunded');

CREATE TABLE orders (
    id             uuid PRIMARY KEY,
    user_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    kind           order_kind NOT NULL,
    -- What was bought: a credit pack (its id and credits) or a release. The release is kept by
    -- id only, so an order outlives it.
    pack           text,
    credits        integer CHECK (credits > 0),
    release_id     uuid,
    amount         integer NOT NULL CHECK (amount > 0),
    currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status         order_status NOT NULL DEFAULT 'pending',
    payment_intent text UNIQUE,
    -- The day the purchase was made (001's occasion date), in UTC.
    occasion_on    date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    created_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz,
    refunded_at    timestamptz,
    CHECK ((kind = 'credits') = (pack IS NOT NULL AND credits IS NOT NULL)),
    CHECK ((kind = 'release') = (release_id IS NOT NULL)),
    CHECK ((status = 'pending') = (paid_at IS NULL)),
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
);
CREATE INDEX orders_user_newest_idx ON orders (user_id, created_at DESC);

-- Each Stripe event takes effect once: its id is recorded in the transaction of its effect.
CREATE TABLE stripe_events (
    id          text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 255),
    type        text NOT NULL,
    created     timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON orders TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON stripe_events TO hound_owner USING (true) WITH CHECK (true);

-- listener: places its own orders and reads them.
GRANT SELECT, INSERT ON orders TO hound_listener;
GRANT UPDATE (payment_intent) ON orders TO hound_listener;
CREATE POLICY listener_own ON orders TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- stripe-webhook: a service context only (no user in the settings). It records events, marks
-- orders paid, and books what they bought: credits in the ledger, or the release.
GRANT SELECT, INSERT ON stripe_events TO hound_stripe_webhook;
CREATE POLICY webhook_service ON stripe_events TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT ON orders TO hound_stripe_webhook;
GRANT UPDATE (status, paid_at, refunded_at) ON orders TO hound_stripe_webhook;
CREATE POLICY webhook_service ON orders TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, INSERT ON credit_accounts TO hound_stripe_webhook;
GRANT UPDATE (available, held, debt) ON credit_accounts TO hound_stripe_webhook;
CREATE POLICY webhook_service ON credit_accounts TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, INSERT ON credit_entries TO hound_stripe_webhook;
CREATE POLICY webhook_service ON credit_entries TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
-- A refunded release purchase takes its entitlement back (only a `paid` one: DELETE below).
GRANT SELECT, INSERT, DELETE ON entitlements TO hound_stripe_webhook;
CREATE POLICY webhook_service ON entitlements TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- Plans, pre-orders and settling debts (issue 16; README, "Payments: Stripe" and "Credits: the
-- ledger").

-- ---------------------------------------------------------------------------------------------
-- Plans. One row per listener who ever started a subscription: their Stripe customer, their
-- current Stripe subscription and its state as Stripe's events last reported it. The plan is
-- derived from that state, never written: `pro` while the subscription is `active` or
-- `trialing`, `free` otherwise (and for everyone without a row).
--
-- Stripe may deliver a subscription's events out of order: `state_at` is the `created` time of
-- the event that set the state, and an event older than it changes nothing (on a tie, the state
-- further along the lifecycle wins: `state_rank`).
CREATE TABLE subscriptions (
    user_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id          text UNIQUE CHECK (char_length(customer_id) BETWEEN 1 AND 255),
    subscription_id      text UNIQUE CHECK (char_length(subscription_id) BETWEEN 1 AND 255),
    status               text NOT NULL DEFAULT 'none' CHECK (status IN
        ('none', 'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid',
         'canceled', 'paused')),
    plan                 text NOT NULL GENERATED ALWAYS AS
        (CASE WHEN status IN ('active', 'trialing') THEN 'pro' ELSE 'free' END) STORED,
    current_period_end   timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    state_at             timestamptz,
    state_rank           smallint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER subscriptions_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON subscriptions TO hound_owner USING (true) WITH CHECK (true);

-- listener: reads its own plan (playlist limits), opens its row with its Stripe customer and
-- records the subscription it started. It cannot write a state: only Stripe's events do.
GRANT SELECT ON subscriptions TO hound_listener;
GRANT INSERT (user_id, customer_id) ON subscriptions TO hound_listener;
GRANT UPDATE (customer_id, subscription_id) ON subscriptions TO hound_listener;
CREATE POLICY listener_own ON subscriptions TO hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));

-- stripe-webhook: applies subscription states (service context).
GRANT SELECT ON subscriptions TO hound_stripe_webhook;
GRANT UPDATE (subscription_id, status, current_period_end, cancel_at_period_end, state_at,
              state_rank) ON subscriptions TO hound_stripe_webhook;
CREATE POLICY webhook_service ON subscriptions TO hound_stripe_webhook
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- ---------------------------------------------------------------------------------------------
-- Settling debts: a `debt` entry either records a shortfall (debt grows, nothing available
-- moves) or settles one from credits that arrived later (both shrink by the same amount).
ALTER TABLE credit_entries DROP CONSTRAINT credit_entries_check;
ALTER TABLE credit_entries ADD CONSTRAINT credit_entries_kind_moves CHECK (CASE kind
    WHEN 'purchase'     THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'grant'        THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'subscription' THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'usage'        THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'refund'       THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'expire'       THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
    WHEN 'reserve'      THEN amount < 0 AND held_delta = -amount AND debt_delta = 0
    WHEN 'release'      THEN amount > 0 AND held_delta = -amount AND debt_delta = 0
    WHEN 'capture'      THEN amount = 0 AND held_delta < 0 AND debt_delta = 0
    WHEN 'debt'         THEN held_delta = 0 AND ((amount = 0 AND debt_delta > 0)
                                                 OR (amount < 0 AND debt_delta = amount))
END);

-- ---------------------------------------------------------------------------------------------
-- Pre-orders. A `paid` release that is scheduled shows its page to listeners (not its audio),
-- so it can be pre-ordered: the price is held now (a `reserve` entry), captured once the release
-- is published, released back if the artist withdraws it (or it is gone). The maintenance
-- schedule settles them. The release is kept by id only, so a pre-order outlives it.
CREATE TYPE preorder_status AS ENUM ('held', 'captured', 'released');

CREATE TABLE preorders (
    id         uuid PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    account_id uuid NOT NULL REFERENCES credit_accounts (id),
    release_id uuid NOT NULL,
    price      bigint NOT NULL CHECK (price > 0),
    status     preorder_status NOT NULL DEFAULT 'held',
    created_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz,
    CHECK ((status = 'held') = (settled_at IS NULL))
);
CREATE UNIQUE INDEX preorders_one_held_idx ON preorders (account_id, release_id)
    WHERE status = 'held';
CREATE INDEX preorders_held_idx ON preorders (created_at) WHERE status = 'held';
CREATE INDEX preorders_user_idx ON preorders (user_id);

ALTER TABLE preorders ENABLE ROW LEVEL SECURITY;
ALTER TABLE preorders FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON preorders TO hound_owner USING (true) WITH CHECK (true);

GRANT SELECT, INSERT ON preorders TO hound_listener;
CREATE POLICY listener_own ON preorders TO hound_listener
    USING (user_id = (SELECT app_user_id()))
    WITH CHECK (user_id = (SELECT app_user_id()) AND status = 'held');

-- maintenance: settles held pre-orders in a service context: reads the releases they name,
-- moves the held credits, and takes back the entitlement of a withdrawn one.
GRANT SELECT ON preorders TO hound_maintenance;
GRANT UPDATE (status, settled_at) ON preorders TO hound_maintenance;
CREATE POLICY maintenance_service ON preorders TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
-- (It reads releases already, since V11.)
GRANT SELECT ON credit_accounts TO hound_maintenance;
GRANT UPDATE (available, held, debt) ON credit_accounts TO hound_maintenance;
CREATE POLICY maintenance_service ON credit_accounts TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, INSERT ON credit_entries TO hound_maintenance;
CREATE POLICY maintenance_service ON credit_entries TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));
GRANT SELECT, DELETE ON entitlements TO hound_maintenance;
CREATE POLICY maintenance_service ON entitlements TO hound_maintenance
    USING ((SELECT app_is_service()) AND source = 'paid');

-- A scheduled `paid` release shows its page (so it can be pre-ordered); its audio waits for the
-- publication, also for those who pre-ordered it. Everything else is as V4 wrote it.
CREATE OR REPLACE FUNCTION release_reach(r releases, viewer uuid, presented_token text)
RETURNS release_reach LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN viewer IS NOT NULL AND EXISTS (
                SELECT 1 FROM artist_profiles ap WHERE ap.id = r.artist_id AND ap.user_id = viewer)
            THEN 'stream'
        WHEN release_effective_status(r.status, r.publish_at) = 'scheduled' AND r.access = 'paid'
            THEN 'page'
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

-- The listener's policy on releases (V6) says the same: a scheduled `paid` release is visible.
ALTER POLICY listener_reach ON releases
    USING (artist_id = (SELECT app_artist_id())
           OR (release_effective_status(status, publish_at) = 'published'
               AND (access <> 'unlisted' OR share_token = (SELECT app_share_token())))
           OR (access = 'paid' AND release_effective_status(status, publish_at) = 'scheduled'));

-- The listener writes a `paid` entitlement only for a release it has paid for with credits in
-- the ledger (a usage entry, or a reserve entry of a pre-order): a bug in the listener cannot
-- hand out paid releases for nothing.
ALTER POLICY listener_buys ON entitlements
    WITH CHECK (user_id = (SELECT app_user_id()) AND source = 'paid'
                AND EXISTS (SELECT 1 FROM credit_entries e
                              JOIN credit_accounts a ON a.id = e.account_id
                             WHERE a.user_id = (SELECT app_user_id())
                               AND e.release_id = entitlements.release_id
                               AND e.kind IN ('usage', 'reserve')));

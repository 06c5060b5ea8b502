-- The credit ledger (issue 16; README, "Credits: the ledger"). Append-only entries, each with
-- the balances it leaves behind; one balance row per account, locked by every change, so
-- concurrent spends are decided one at a time and a balance never goes below zero.
--
-- An account is the ledger's, not the user's: deleting a user keeps their account and entries
-- (user_id becomes NULL: anonymised), because money history outlives the person.

CREATE TABLE credit_accounts (
    id         uuid PRIMARY KEY,
    user_id    uuid UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    available  bigint NOT NULL DEFAULT 0 CHECK (available >= 0),
    held       bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    debt       bigint NOT NULL DEFAULT 0 CHECK (debt >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE credit_entry_kind AS ENUM
    ('purchase', 'usage', 'refund', 'grant', 'expire', 'reserve', 'release', 'capture',
     'subscription', 'debt');

-- `amount` moves available credits, `held_delta` held ones, `debt_delta` the recorded shortfall;
-- the *_after columns are the account's balances once the entry applied. What each kind may
-- move is checked here, not only in the code.
CREATE TABLE credit_entries (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES credit_accounts (id),
    kind          credit_entry_kind NOT NULL,
    amount        bigint NOT NULL,
    held_delta    bigint NOT NULL DEFAULT 0,
    debt_delta    bigint NOT NULL DEFAULT 0,
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    held_after    bigint NOT NULL CHECK (held_after >= 0),
    debt_after    bigint NOT NULL CHECK (debt_after >= 0),
    -- What caused it, unique per kind: a Stripe event, an order, a release unlocked, a signup.
    -- A second entry for the same cause is refused, so no effect can be booked twice.
    external_id   text NOT NULL CHECK (char_length(external_id) BETWEEN 1 AND 200),
    release_id    uuid,
    -- The moment of posting (not of the transaction's start): entries of one account are
    -- posted one at a time under its lock, so this orders them as they applied.
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, external_id),
    CHECK (CASE kind
        WHEN 'purchase'     THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'grant'        THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'subscription' THEN amount > 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'usage'        THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'refund'       THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'expire'       THEN amount < 0 AND held_delta = 0 AND debt_delta = 0
        WHEN 'reserve'      THEN amount < 0 AND held_delta = -amount AND debt_delta = 0
        WHEN 'release'      THEN amount > 0 AND held_delta = -amount AND debt_delta = 0
        WHEN 'capture'      THEN amount = 0 AND held_delta < 0 AND debt_delta = 0
        WHEN 'debt'         THEN amount = 0 AND held_delta = 0 AND debt_delta > 0
    END)
);
CREATE INDEX credit_entries_account_newest_idx
    ON credit_entries (account_id, created_at DESC, id DESC);

-- Append-only, whoever asks: no role is granted UPDATE or DELETE, and this refuses them (and
-- TRUNCATE) for the owner too.
CREATE FUNCTION credit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_append_only();
CREATE TRIGGER credit_entries_no_truncate BEFORE TRUNCATE ON credit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_append_only();

CREATE TRIGGER credit_accounts_updated_at BEFORE UPDATE ON credit_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Row-level security, enabled and forced (the owner too: migrations act through its policy).
ALTER TABLE credit_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON credit_accounts TO hound_owner USING (true) WITH CHECK (true);
ALTER TABLE credit_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON credit_entries TO hound_owner USING (true) WITH CHECK (true);

-- auth: the welcome grant, in the signup transaction.
-- listener: the caller's own balances and entries; spending them (unlock).
GRANT SELECT, INSERT ON credit_accounts TO hound_auth, hound_listener;
GRANT UPDATE (available, held, debt) ON credit_accounts TO hound_auth, hound_listener;
CREATE POLICY caller_own ON credit_accounts TO hound_auth, hound_listener
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
GRANT SELECT, INSERT ON credit_entries TO hound_auth, hound_listener;
CREATE POLICY caller_own ON credit_entries TO hound_auth, hound_listener
    USING (EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = account_id))
    WITH CHECK (EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = account_id));

-- listener: a release bought with credits is an entitlement it writes (source `paid`).
GRANT INSERT ON entitlements TO hound_listener;
CREATE POLICY listener_buys ON entitlements FOR INSERT TO hound_listener
    WITH CHECK (user_id = (SELECT app_user_id()) AND source = 'paid');

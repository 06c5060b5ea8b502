-- Credits as a code grant (issue 16; README, "Gates: decisions" and "Credits: the ledger").
-- A batch grants either a release (issued by its artist in the studio) or credits (issued by
-- the platform's operators with `hound credit-codes`: credits are Hound's currency, so no artist
-- mints them). A credits batch names no artist and no release, so no studio policy ever shows it.
--
-- The new enum value cannot be used as a literal in the transaction that adds it: the shape
-- check compares its text.
ALTER TYPE code_grant ADD VALUE IF NOT EXISTS 'credits';

ALTER TABLE code_batches
    ALTER COLUMN artist_id DROP NOT NULL,
    ALTER COLUMN release_id DROP NOT NULL,
    ADD COLUMN credits integer CHECK (credits BETWEEN 1 AND 1000),
    ADD CONSTRAINT code_batches_grant_shape CHECK (
        (grants::text = 'release' AND artist_id IS NOT NULL AND release_id IS NOT NULL
             AND credits IS NULL)
        OR (grants::text = 'credits' AND artist_id IS NULL AND release_id IS NULL
             AND credits IS NOT NULL));

-- redeem: a credits code books a `grant` entry in its caller's own ledger.
GRANT SELECT, INSERT ON credit_accounts TO hound_redeem;
GRANT UPDATE (available, held, debt) ON credit_accounts TO hound_redeem;
CREATE POLICY redeem_own ON credit_accounts TO hound_redeem
    USING (user_id = (SELECT app_user_id())) WITH CHECK (user_id = (SELECT app_user_id()));
GRANT SELECT, INSERT ON credit_entries TO hound_redeem;
CREATE POLICY redeem_own ON credit_entries TO hound_redeem
    USING (EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = account_id))
    WITH CHECK (EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = account_id));

-- Issue 17 (album) and 13 (suggestions). Most releases anyone reads are public and published,
-- and for those `release_reach` is 'stream' whoever asks: V28's PL/pgSQL function was still
-- called for each one, with the release's whole row built as its argument (its track list and
-- cover variants too). `release_reach` is now a SQL expression Postgres inlines into every
-- statement that calls it: 'stream' for a release open to all (`release_open_to_all`, V5),
-- else V28's rules, unchanged, now `release_reach_rules` (called only then).

ALTER FUNCTION release_reach(releases, uuid, text) RENAME TO release_reach_rules;

CREATE FUNCTION release_reach(r releases, viewer uuid, presented_token text)
RETURNS release_reach LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN release_open_to_all(r) THEN 'stream'::release_reach
                ELSE release_reach_rules(r, viewer, presented_token) END
$$;

-- What every caller may stream, without a viewer or a token: published (scheduled ones once
-- their time has come) and public. The same answer as release_reach(r, NULL, NULL) = 'stream'
-- (the listener's visibility test checks both agree on every status and access), but a plain
-- SQL expression that the planner inlines: home filters thousands of candidate releases with
-- it, where a per-row call of release_reach (which has sub-selects, so it is never inlined)
-- cost more than the rest of the query.
CREATE FUNCTION release_open_to_all(r releases)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT r.access = 'public'
       AND release_effective_status(r.status, r.publish_at) = 'published'
$$;

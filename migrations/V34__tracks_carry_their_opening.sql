-- Each track carries when its release opens to everyone's view (`open_from`, V31's
-- `release_open_from`: -infinity once published, `publish_at` while scheduled, NULL while closed
-- or unlisted) and whether that release is public, as taste_points already do (V31). Issue 17:
-- telemetry ingest read 500 tracks a batch with their releases, and the listener's policy on
-- tracks probed each track's release once more (V8); for a track open to everyone neither
-- probe is needed now. The tracks policy answers from the track's own row first and probes the
-- release only for the others (drafts, scheduled, unlisted: the same rows as before, since a
-- release open to everyone is visible to every listener under V21's releases policy).
--
-- Kept by triggers, never by a function role:
-- * a track inserted, moved to another release, or given other values by anyone but the owner
--   takes its release's values, read with the release's row lock (FOR NO KEY UPDATE): a release
--   changing meanwhile is waited for, and track inserts into one release queue up there instead
--   of deadlocking later on the release's track list (V28's refresh updates that row anyway);
-- * a release whose opening or access changes rewrites its tracks' values (only then: the WHEN
--   clause, so V28's frequent track-list rewrites of a release touch no track).
-- Left: a transaction that updates a track's listed columns (the worker) while another changes
-- that track's release's opening can deadlock (one locks the track then the release through
-- V28's refresh, the other the release then its tracks); Postgres breaks it, the loser is
-- answered as unavailable and retried (worker: SQS; studio: 503, the client retries).

ALTER TABLE tracks ADD COLUMN open_from timestamptz,
                   ADD COLUMN public boolean NOT NULL DEFAULT false;
UPDATE tracks t SET open_from = release_open_from(r.status, r.access, r.publish_at),
                    public = r.access = 'public'
  FROM releases r WHERE r.id = t.release_id;

-- A release's opening, read as the owner with the release's row lock. Only for the studio (the
-- one function role that inserts tracks) and the owner: it would show any release's schedule.
CREATE FUNCTION release_opening(release uuid, OUT open_from timestamptz, OUT public boolean)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT release_open_from(r.status, r.access, r.publish_at), r.access = 'public'
      FROM releases r WHERE r.id = release FOR NO KEY UPDATE
$$;
REVOKE ALL ON FUNCTION release_opening(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION release_opening(uuid) TO hound_studio;

-- Not SECURITY DEFINER: `current_user` is whoever writes the track (inside the owner's
-- functions below, the owner, whose values are taken as they are).
CREATE FUNCTION tracks_opening() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.release_id IS DISTINCT FROM OLD.release_id
       OR (current_user <> 'hound_owner'
           AND (NEW.open_from, NEW.public) IS DISTINCT FROM (OLD.open_from, OLD.public)) THEN
        SELECT o.open_from, coalesce(o.public, false) INTO NEW.open_from, NEW.public
          FROM release_opening(NEW.release_id) o;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tracks_opening BEFORE INSERT OR UPDATE ON tracks
    FOR EACH ROW EXECUTE FUNCTION tracks_opening();

CREATE FUNCTION releases_tracks_opened() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE tracks t
       SET open_from = release_open_from(NEW.status, NEW.access, NEW.publish_at),
           public = NEW.access = 'public'
     WHERE t.release_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER releases_tracks_open AFTER UPDATE OF status, access, publish_at ON releases
    FOR EACH ROW
    WHEN ((release_open_from(OLD.status, OLD.access, OLD.publish_at), OLD.access = 'public')
          IS DISTINCT FROM (release_open_from(NEW.status, NEW.access, NEW.publish_at),
                            NEW.access = 'public'))
    EXECUTE FUNCTION releases_tracks_opened();

-- V8's policy, the track's own opening first (OR stops at its first true).
ALTER POLICY listener_reach ON tracks
    USING (open_from <= now() OR (SELECT true FROM releases r WHERE r.id = release_id));

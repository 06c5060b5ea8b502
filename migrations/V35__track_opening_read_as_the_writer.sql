-- V34's `release_opening` was SECURITY DEFINER and executable by the studio: called directly, it
-- would lock any artist's release row and tell whether that release is public and when it opens.
-- The tracks trigger now reads the release itself, as whoever writes the track, under that
-- role's own policies and grants (the studio sees and may lock only its own releases; the owner,
-- the worker in its service context and superusers as before). A release the writer cannot see
-- leaves the track closed (`open_from` NULL, not public) — the studio's policies refuse such a
-- track anyway.
CREATE OR REPLACE FUNCTION tracks_opening() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.release_id IS DISTINCT FROM OLD.release_id
       OR (current_user <> 'hound_owner'
           AND (NEW.open_from, NEW.public) IS DISTINCT FROM (OLD.open_from, OLD.public)) THEN
        SELECT release_open_from(r.status, r.access, r.publish_at), r.access = 'public'
          INTO NEW.open_from, NEW.public
          FROM releases r WHERE r.id = NEW.release_id FOR NO KEY UPDATE;
        NEW.public := coalesce(NEW.public, false);
    END IF;
    RETURN NEW;
END
$$;
DROP FUNCTION release_opening(uuid);

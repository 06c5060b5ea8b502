-- Notifications by email (issue 17; README, "Operations: notifications"). What to send is
-- written in the transaction of what caused it (a job's end, a pre-order captured), once per
-- cause, as an outbox row; it is sent after the commit (the worker at once, the maintenance
-- schedule for whatever is still pending), so sending never blocks or fails the job, and a
-- failed send is retried with backoff.

-- Artists choose which job endings mail them (both, by default). Two booleans on the profile,
-- readable where the profile is (nothing private); only the artist (the studio) changes them.
ALTER TABLE artist_profiles
    ADD COLUMN notification_prefs jsonb NOT NULL
        DEFAULT '{"job_ready": true, "job_failed": true}'
        CHECK (jsonb_typeof(notification_prefs) = 'object');
GRANT UPDATE (notification_prefs) ON artist_profiles TO hound_studio;

CREATE TYPE notification_status AS ENUM ('pending', 'sent', 'failed');

CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_email        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('job_ready', 'job_failed', 'preorder_published')),
    -- What caused it (`job_ready:{job}`, `preorder_published:{preorder}`): one mail per cause.
    cause           text NOT NULL UNIQUE,
    subject         text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    status          notification_status NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_user_idx ON notifications (user_id);

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_migrations ON notifications TO hound_owner USING (true) WITH CHECK (true);

-- The senders (worker, maintenance; service context): read what is due and record the outcome.
GRANT SELECT ON notifications TO hound_worker, hound_maintenance;
GRANT UPDATE (status, attempts, last_error, next_attempt_at, sent_at) ON notifications
    TO hound_worker, hound_maintenance;
CREATE POLICY sender_service ON notifications TO hound_worker, hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- Enqueuing reads the recipient's address and preferences, which the job's roles may not read
-- otherwise: a function that writes the one row, as the owner.
CREATE FUNCTION enqueue_job_notification(job uuid, ended text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO notifications (id, user_id, to_email, kind, cause, subject, body)
    SELECT gen_random_uuid(), u.id, u.email, ended, ended || ':' || j.id,
           CASE ended WHEN 'job_ready' THEN 'Ready: ' ELSE 'Not processed: ' END
               || left(coalesce(t.title, 'the cover of ' || r.title), 150),
           CASE ended
               WHEN 'job_ready' THEN
                   format('Your upload %s of "%s" is processed and ready.',
                          coalesce('"' || a.filename || '"', ''), r.title)
               ELSE
                   format('Your upload %s of "%s" could not be processed: %s',
                          coalesce('"' || a.filename || '"', ''), r.title,
                          coalesce(j.error_message, 'unknown error'))
           END
      FROM transcode_jobs j
      JOIN assets a ON a.id = j.asset_id
      JOIN releases r ON r.id = a.release_id
      LEFT JOIN tracks t ON t.id = a.track_id
      JOIN artist_profiles ap ON ap.id = a.artist_id
      JOIN users u ON u.id = ap.user_id
     WHERE j.id = job AND ended IN ('job_ready', 'job_failed')
       AND coalesce((ap.notification_prefs ->> ended)::boolean, true)
    ON CONFLICT (cause) DO NOTHING
$$;
REVOKE ALL ON FUNCTION enqueue_job_notification(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enqueue_job_notification(uuid, text) TO hound_worker, hound_dead_letter;

CREATE FUNCTION enqueue_preorder_notification(preorder uuid) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO notifications (id, user_id, to_email, kind, cause, subject, body)
    SELECT gen_random_uuid(), u.id, u.email, 'preorder_published',
           'preorder_published:' || p.id,
           left('Out now: ' || r.title, 200),
           format('"%s" is out, and yours: your pre-order of %s credits is complete.',
                  r.title, p.price)
      FROM preorders p
      JOIN users u ON u.id = p.user_id
      JOIN releases r ON r.id = p.release_id
     WHERE p.id = preorder AND p.status = 'captured'
    ON CONFLICT (cause) DO NOTHING
$$;
REVOKE ALL ON FUNCTION enqueue_preorder_notification(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enqueue_preorder_notification(uuid) TO hound_maintenance;

-- The janitors (issue 17; README, "Operations"): the maintenance schedule removes idle
-- listening sessions and gives up upload intents that were never completed, deleting whatever
-- was uploaded to them. Each is bounded per run and idempotent.

-- An upload intent never completed within a day: its object is deleted and it is marked so.
ALTER TYPE asset_state ADD VALUE IF NOT EXISTS 'abandoned';
CREATE INDEX assets_pending_upload_idx ON assets (created_at) WHERE state = 'pending_upload';

GRANT SELECT ON assets TO hound_maintenance;
GRANT UPDATE (state) ON assets TO hound_maintenance;
CREATE POLICY maintenance_service ON assets TO hound_maintenance
    USING ((SELECT app_is_service())) WITH CHECK ((SELECT app_is_service()));

-- A listening session is active for an hour after its last beat; later it is only a row.
GRANT SELECT, DELETE ON listening_sessions TO hound_maintenance;
CREATE POLICY maintenance_service ON listening_sessions TO hound_maintenance
    USING ((SELECT app_is_service()));

-- Previews (issue 15): the transcoder also makes a 30-second preview of every master, Opus 96
-- and AAC 128 (variants `preview_opus_96`, `preview_aac_128`), which a gated track's stream
-- answer lists for callers without an entitlement. The artist picks where the preview starts;
-- the default is the beginning, as on Audius.
--
-- The worker reads this when it claims a master's job, so a change takes effect at the next
-- transcode of the master (docs/transcoder.md, "Previews"). The studio's PATCH bounds it below a
-- master's longest duration (30 minutes); the database keeps it non-negative.
ALTER TABLE tracks
    ADD COLUMN preview_start_ms integer NOT NULL DEFAULT 0
        CONSTRAINT tracks_preview_start_ms_check CHECK (preview_start_ms >= 0);

-- No grants: the roles' privileges on tracks are table-wide for what they need here (V6):
-- hound_studio selects, inserts and updates its own tracks; hound_worker and hound_listener
-- select. The worker's column-level UPDATE stays without this column: it never writes it.

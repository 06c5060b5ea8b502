-- What the transcoder learns about a master, kept on its track (the track's current master only:
-- a superseded job never writes here), the last transient error of a job that is being retried,
-- and the dead-letter record of messages SQS gave up on.

ALTER TABLE tracks
    ADD COLUMN sample_rate_hz    integer CHECK (sample_rate_hz > 0),
    ADD COLUMN channels          smallint CHECK (channels > 0),
    -- EBU R128 / ITU-R BS.1770, measured by ffmpeg's ebur128 filter.
    ADD COLUMN integrated_lufs   real,
    ADD COLUMN loudness_range_lu real CHECK (loudness_range_lu >= 0),
    ADD COLUMN true_peak_dbtp    real,
    -- Brings the track to -14 LUFS without lifting the true peak above -1 dBTP.
    ADD COLUMN gain_db           real,
    -- energy, brightness, rhythm density, dynamics, tonality: each 0..1 (docs/audio-analysis.md).
    ADD COLUMN embedding         real[] CHECK (
        embedding IS NULL
        OR (array_length(embedding, 1) = 5 AND 0 <= ALL (embedding) AND 1 >= ALL (embedding))),
    ADD COLUMN analysed_at       timestamptz;

-- A transient failure (S3 down, a worker crash) leaves the job where it was and the message on
-- the queue; the error is kept here so the dead-letter recorder can report it.
ALTER TABLE transcode_jobs
    ADD COLUMN last_error text;

-- Every message a dead-letter queue received, recorded once per (queue, message id).
CREATE TABLE failed_jobs (
    id            uuid PRIMARY KEY,
    queue         text NOT NULL,
    message_id    text NOT NULL,
    -- The message body as JSON (a body that is not JSON is kept as a JSON string).
    body          jsonb NOT NULL,
    job_id        uuid REFERENCES transcode_jobs (id) ON DELETE SET NULL,
    error         text NOT NULL,
    receive_count integer NOT NULL CHECK (receive_count >= 0),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    redriven_at   timestamptz,
    CONSTRAINT failed_jobs_queue_message_key UNIQUE (queue, message_id)
);
CREATE INDEX failed_jobs_newest_idx ON failed_jobs (first_seen_at DESC, id DESC);

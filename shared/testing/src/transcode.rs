//! The worker's fixture (feature `worker`): a draft release of a fresh artist in a database of
//! its own, with buckets and queues of its own on moto; uploads go the real way (intent →
//! presigned PUT → complete → SQS message) and messages reach a function as Lambda hands them
//! over: an SQS event, failures reported per message, successes deleted.

use std::path::{Path, PathBuf};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use hound_domain::assets::AssetKind;
use hound_domain::db::{self, roles};
use hound_domain::ids::{ArtistId, AssetId, JobId, ReleaseId, TrackId};
use hound_domain::uploads::{self, UploadIntent};
use hound_worker::Worker;
use serde_json::Value;
use uuid::Uuid;

use crate::aws::TestAws;
use crate::database::TestDb;

pub struct Fixture {
    pub db: TestDb,
    pub aws: TestAws,
    pub worker: Worker,
    pub artist: ArtistId,
    /// The artist's address (notifications go there; moto keeps them).
    pub artist_email: String,
    pub release_id: ReleaseId,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let aws = TestAws::new().await;
        let client = db.pool.get().await.unwrap();
        let user = Uuid::now_v7();
        let artist = Uuid::now_v7();
        let release_id = Uuid::now_v7();
        client
            .batch_execute(&format!(
                "INSERT INTO users (id, email, password_hash, display_name, roles)
                 VALUES ('{user}', 'artist-{user}@example.com', 'x', 'Artist',
                         '{{listener,artist}}');
                 INSERT INTO artist_profiles (id, user_id, name, slug)
                 VALUES ('{artist}', '{user}', 'Artist', 'artist-{}');
                 INSERT INTO releases (id, artist_id, title, kind, share_token)
                 VALUES ('{release_id}', '{artist}', 'Record', 'album', '{}');",
                user.simple(),
                Uuid::new_v4().simple()
            ))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scratch")).unwrap();
        let worker = Worker::new(db.pool_as(roles::WORKER), aws.storage.clone())
            .with_scratch(dir.path().join("scratch"))
            .with_mailer(aws.mailer.clone());
        Self {
            db,
            aws,
            worker,
            artist: ArtistId::from_uuid(artist),
            artist_email: format!("artist-{user}@example.com"),
            release_id: ReleaseId::from_uuid(release_id),
            dir,
        }
    }

    /// What the fixture's worker left in its scratch directory (nothing, once jobs end).
    pub fn scratch_left(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("scratch"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Another worker process on the same database and buckets.
    pub fn another_worker(&self) -> Worker {
        Worker::new(self.db.pool_as(roles::WORKER), self.aws.storage.clone())
    }

    pub async fn track(&self, title: &str) -> TrackId {
        let id = TrackId::generate();
        self.db
            .pool
            .get()
            .await
            .unwrap()
            .execute(
                "INSERT INTO tracks (id, release_id, position, title)
                 SELECT $1, $2, coalesce(max(position), 0) + 1, $3 FROM tracks
                 WHERE release_id = $2",
                &[&id, &self.release_id, &title],
            )
            .await
            .unwrap();
        id
    }

    /// A file made by ffmpeg in the fixture's scratch directory.
    pub fn ffmpeg(&self, name: &str, args: &[&str]) -> PathBuf {
        crate::media::ffmpeg(self.dir.path(), name, args)
    }

    /// Music-like test audio in the fixture's scratch directory.
    pub fn music(&self, name: &str, seconds: u32, codec_args: &[&str]) -> PathBuf {
        crate::media::music(self.dir.path(), name, seconds, codec_args)
    }

    /// Upload through the studio's intent, a real PUT to the presigned URL, then `complete`
    /// (which sends the job message). Returns the asset and its job.
    pub async fn upload(
        &self,
        kind: AssetKind,
        track_id: Option<TrackId>,
        path: &Path,
        content_type: &str,
    ) -> (AssetId, JobId) {
        let asset_id = self.put(kind, track_id, path, content_type).await;
        let mut client = db::connect(&self.db.pool).await.unwrap();
        let tx = db::begin(&mut client).await.unwrap();
        let (done, message) = uploads::complete(&tx, &self.aws.storage, self.artist, asset_id)
            .await
            .expect("complete");
        tx.commit().await.unwrap();
        let message = message.expect("a first complete enqueues");
        uploads::enqueue(&client, &self.aws.queue, &message)
            .await
            .expect("enqueue");
        (asset_id, done.job.id)
    }

    /// Intent and PUT only (no `complete`).
    pub async fn put(
        &self,
        kind: AssetKind,
        track_id: Option<TrackId>,
        path: &Path,
        content_type: &str,
    ) -> AssetId {
        let bytes = std::fs::read(path).unwrap();
        let mut client = db::connect(&self.db.pool).await.unwrap();
        let tx = db::begin(&mut client).await.unwrap();
        let intent = uploads::create_intent(
            &tx,
            &self.aws.storage,
            self.artist,
            self.release_id,
            kind,
            UploadIntent {
                track_id,
                filename: path.file_name().unwrap().to_string_lossy().into_owned(),
                content_type: content_type.to_owned(),
                size_bytes: bytes.len() as i64,
            },
        )
        .await
        .expect("intent");
        tx.commit().await.unwrap();
        let json = serde_json::to_value(&intent).unwrap();
        let mut put = reqwest::Client::new().put(json["upload"]["url"].as_str().unwrap());
        for (name, value) in json["upload"]["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let response = put.body(bytes).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        json["asset_id"].as_str().unwrap().parse().unwrap()
    }

    pub fn queue_url(&self) -> &str {
        &self.aws.queue.transcode_queue_url
    }

    /// Receive what is visible on a queue now (waiting up to a second for the first message).
    pub async fn receive(&self, queue_url: &str) -> Vec<Message> {
        let mut all = Vec::new();
        loop {
            let out = self
                .aws
                .queue
                .client()
                .await
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(if all.is_empty() { 1 } else { 0 })
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            all.extend(messages);
        }
    }

    pub async fn queue_arn(&self, queue_url: &str) -> String {
        self.aws.queue.arn_of(queue_url).await.unwrap()
    }

    /// Hand messages to a handler the way Lambda's SQS integration does: one event; the
    /// messages it does not report as failed are deleted.
    pub async fn lambda<F, Fut>(
        &self,
        queue_url: &str,
        messages: Vec<Message>,
        handler: F,
    ) -> SqsBatchResponse
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: std::future::Future<Output = SqsBatchResponse>,
    {
        let arn = self.queue_arn(queue_url).await;
        let response = handler(sqs_event(&messages, &arn)).await;
        for message in &messages {
            let id = message.message_id().unwrap_or_default();
            if !response
                .batch_item_failures
                .iter()
                .any(|f| f.item_identifier == id)
            {
                self.aws
                    .queue
                    .client()
                    .await
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
        response
    }

    /// Deliver everything on the transcode queue to `handler` (the transcoder function's),
    /// with the fixture's worker, once.
    pub async fn deliver<'a, F, Fut>(&'a self, handler: F) -> (usize, SqsBatchResponse)
    where
        F: FnOnce(&'a Worker, SqsEvent) -> Fut,
        Fut: std::future::Future<Output = SqsBatchResponse>,
    {
        let messages = self.receive(self.queue_url()).await;
        let n = messages.len();
        let worker = &self.worker;
        let response = self
            .lambda(self.queue_url(), messages, |event| handler(worker, event))
            .await;
        (n, response)
    }

    pub async fn job(&self, job_id: JobId) -> Value {
        let row = self
            .db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT json_build_object(
                     'status', j.status, 'progress', j.progress, 'attempts', j.attempts,
                     'error_code', j.error_code, 'error_message', j.error_message,
                     'lease_owner', j.lease_owner, 'asset_state', a.state,
                     'steps', (SELECT json_agg(json_build_object('name', s.name,
                                 'state', s.state, 'message', s.message) ORDER BY s.position)
                               FROM job_steps s WHERE s.job_id = j.id),
                     'variants', (SELECT coalesce(json_object_agg(v.name, json_build_object(
                                 'status', v.status, 'bucket', v.bucket, 'key', v.key,
                                 'size_bytes', v.size_bytes, 'codec', v.codec,
                                 'bitrate_kbps', v.bitrate_kbps, 'width_px', v.width_px,
                                 'mime', v.mime)), '{}')
                               FROM variants v WHERE v.job_id = j.id))
                 FROM transcode_jobs j JOIN assets a ON a.id = j.asset_id WHERE j.id = $1",
                &[&job_id],
            )
            .await
            .unwrap();
        row.get(0)
    }

    pub async fn track_row(&self, track_id: TrackId) -> Value {
        self.db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT to_jsonb(t) FROM tracks t WHERE id = $1",
                &[&track_id],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Download an object from the streams bucket into the scratch directory.
    pub async fn download(&self, key: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(format!("dl-{}", key.replace('/', "_")));
        self.aws
            .storage
            .download(&self.aws.storage.streams_bucket, key, &path)
            .await
            .expect("download");
        path
    }

    pub async fn stream_keys(&self) -> Vec<String> {
        let out = self
            .aws
            .storage
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.aws.storage.streams_bucket)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }
}

/// An SQS event as Lambda builds it from received messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    serde_json::from_value(hound_domain::aws::lambda_sqs_event(messages, queue_arn))
        .expect("an SQS event")
}

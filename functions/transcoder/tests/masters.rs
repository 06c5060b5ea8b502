//! Masters through the real handler: real ffmpeg, real Postgres, moto S3/SQS.

#[path = "masters/previews.rs"]
mod previews;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hound_domain::assets::AssetKind;
use hound_testing::{Fixture, ffprobe};
use hound_worker::Outcome;
use hound_worker::Worker;
use serde_json::Value;

/// The transcoder function's handler, as Lambda calls it (no backoff in tests).
fn transcode(worker: &Worker, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + '_ {
    transcoder::handle(worker, None, event)
}

fn bitrate(probe: &Value) -> f64 {
    probe["format"]["bit_rate"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .expect("a bitrate")
}

/// Every rendition is in the streams bucket, decodable, with the codec and bitrate it claims.
async fn assert_renditions(fx: &Fixture, job: &Value, seconds: f64) {
    for (name, codec, kbps) in [
        ("aac_256", "aac", 256.0),
        ("aac_128", "aac", 128.0),
        ("opus_96", "opus", 96.0),
    ] {
        let v = &job["variants"][name];
        assert_eq!(v["status"], "complete", "{name}: {v}");
        assert_eq!(v["bucket"], fx.aws.storage.streams_bucket.as_str());
        let file = fx.download(v["key"].as_str().unwrap()).await;
        assert_eq!(
            std::fs::metadata(&file).unwrap().len() as i64,
            v["size_bytes"].as_i64().unwrap()
        );
        let probe = ffprobe(&file);
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_type"], "audio", "{name}");
        assert_eq!(stream["codec_name"], codec, "{name}");
        if codec == "aac" {
            assert_eq!(stream["profile"], "LC", "{name}");
            assert!(
                probe["format"]["format_name"]
                    .as_str()
                    .unwrap()
                    .contains("mp4")
            );
        } else {
            assert_eq!(probe["format"]["format_name"], "ogg");
        }
        let duration: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((duration - seconds).abs() < 0.2, "{name} lasts {duration}");
        let rate = bitrate(&probe) / 1000.0;
        assert!((rate - kbps).abs() / kbps < 0.2, "{name} is {rate} kb/s");
    }
    // The waveform: audiowaveform v2, ~1000 min/max pairs.
    let v = &job["variants"]["waveform"];
    assert_eq!(v["status"], "complete");
    let doc: Value = serde_json::from_slice(
        &std::fs::read(fx.download(v["key"].as_str().unwrap()).await).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["channels"], 1);
    let length = doc["length"].as_u64().unwrap();
    assert_eq!(length, 1000);
    assert_eq!(doc["data"].as_array().unwrap().len() as u64, 2 * length);
}

#[tokio::test]
async fn a_wav_master_becomes_streamable_measured_renditions() {
    let fx = Fixture::new().await;
    let track = fx.track("One").await;
    let wav = fx.music("one.wav", 30, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;

    let (delivered, response) = fx.deliver(transcode).await;
    assert_eq!(delivered, 1);
    assert!(response.batch_item_failures.is_empty());

    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["progress"], 100);
    assert_eq!(job["asset_state"], "ready");
    assert!(
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "done")
    );
    assert_renditions(&fx, &job, 30.0).await;

    let t = fx.track_row(track).await;
    assert_eq!(t["duration_ms"], 30_000);
    assert_eq!(t["sample_rate_hz"], 44_100);
    assert_eq!(t["channels"], 2);
    let lufs = t["integrated_lufs"].as_f64().unwrap();
    let peak = t["true_peak_dbtp"].as_f64().unwrap();
    let gain = t["gain_db"].as_f64().unwrap();
    assert!((-40.0..0.0).contains(&lufs), "{lufs}");
    assert!(
        peak + gain <= -1.0 + 0.011,
        "gain {gain} lifts peak {peak} over -1 dBTP"
    );
    let embedding: Vec<f64> = serde_json::from_value(t["embedding"].clone()).unwrap();
    assert_eq!(embedding.len(), 5);
    assert!(
        embedding.iter().all(|x| (0.0..=1.0).contains(x)),
        "{embedding:?}"
    );
    // Three renditions, two previews and the waveform; nothing of the master.
    let keys = fx.stream_keys().await;
    assert_eq!(keys.len(), 6, "{keys:?}");

    // The artist is mailed that it is ready, once.
    let mail = hound_testing::mail_to(&fx.artist_email).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].from, hound_testing::TEST_SENDER);
    assert_eq!(mail[0].subject, "Ready: One");
    assert!(mail[0].body.contains("\"Record\""), "{}", mail[0].body);
}

#[tokio::test]
async fn a_flac_master_becomes_streamable_renditions() {
    let fx = Fixture::new().await;
    // This artist chose not to be mailed when a job is ready (the studio's profile does this).
    fx.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE artist_profiles SET notification_prefs = '{\"job_ready\": false}' WHERE id = $1",
            &[&fx.artist],
        )
        .await
        .unwrap();
    let track = fx.track("Two").await;
    let flac = fx.music("two.flac", 20, &["-c:a", "flac", "-ar", "48000"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &flac, "audio/flac")
        .await;
    let (_, response) = fx.deliver(transcode).await;
    assert!(response.batch_item_failures.is_empty());
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert!(
        hound_testing::mail_to(&fx.artist_email).await.is_empty(),
        "not mailed"
    );
    assert_renditions(&fx, &job, 20.0).await;
    assert_eq!(fx.track_row(track).await["sample_rate_hz"], 48_000);
}

#[tokio::test]
async fn loudness_of_a_minus_20_dbfs_sine_matches_ffmpeg_ebur128() {
    let fx = Fixture::new().await;
    let track = fx.track("Sine").await;
    // -20 dBFS peak: amplitude 0.1.
    let wav = fx.ffmpeg(
        "sine.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.1*sin(2*PI*997*t)|0.1*sin(2*PI*997*t):s=48000:d=20",
            "-c:a",
            "pcm_s24le",
        ],
    );
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    fx.deliver(transcode).await;
    assert_eq!(fx.job(job_id).await["status"], "ready");

    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-nostats", "-i"])
        .arg(&wav)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .unwrap();
    let reference =
        hound_media::loudness::parse_summary(&String::from_utf8_lossy(&out.stderr)).unwrap();
    let t = fx.track_row(track).await;
    let lufs = t["integrated_lufs"].as_f64().unwrap();
    assert!(
        (lufs - reference.integrated_lufs).abs() <= 0.5,
        "{lufs} vs {reference:?}"
    );
    // A stereo full-band sine at -20 dBFS reads about -20 LUFS (+3 dB for two channels, -3 dB for the sine's RMS).
    assert!((lufs - -20.0).abs() < 1.0, "{lufs}");
    let peak = t["true_peak_dbtp"].as_f64().unwrap();
    assert!((peak - -20.0).abs() < 0.5, "{peak}");
    // Quiet with lots of headroom: the gain reaches -14 LUFS.
    assert!((t["gain_db"].as_f64().unwrap() - (-14.0 - lufs)).abs() < 0.02);
}

async fn refused(fx: &Fixture, name: &str, path: &std::path::Path, content_type: &str) -> Value {
    let track = fx.track(name).await;
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), path, content_type)
        .await;
    let (_, response) = fx.deliver(transcode).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a refusal is final, not retried"
    );
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["asset_state"], "failed");
    assert!(fx.track_row(track).await["analysed_at"].is_null());
    job
}

#[tokio::test]
async fn bad_masters_fail_with_their_codes() {
    let fx = Fixture::new().await;

    let junk = fx.dir.path().join("junk.wav");
    std::fs::write(
        &junk,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let job = refused(&fx, "junk", &junk, "audio/wav").await;
    assert_eq!(job["error_code"], "corrupt");
    let probe = &job["steps"][0];
    assert_eq!(
        (probe["name"].as_str(), probe["state"].as_str()),
        (Some("probe"), Some("failed"))
    );
    assert!(probe["message"].as_str().unwrap().len() > 10);
    assert_eq!(job["steps"][1]["state"], "skipped");

    let jpeg = fx.ffmpeg(
        "photo.jpg",
        &["-f", "lavfi", "-i", "testsrc=s=640x480", "-frames:v", "1"],
    );
    let job = refused(&fx, "photo", &jpeg, "audio/mpeg").await;
    assert_eq!(job["error_code"], "not_audio");

    let silence = fx.ffmpeg(
        "silence.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=stereo",
            "-t",
            "10",
        ],
    );
    let job = refused(&fx, "silence", &silence, "audio/wav").await;
    assert_eq!(job["error_code"], "silent");
    assert!(
        fx.stream_keys().await.is_empty(),
        "nothing of a refused master is streamable"
    );

    let long = fx.ffmpeg(
        "long.flac",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=8000",
            "-t",
            "1860",
            "-c:a",
            "flac",
        ],
    );
    let job = refused(&fx, "long", &long, "audio/flac").await;
    assert_eq!(job["error_code"], "too_long");
}

#[tokio::test]
async fn an_empty_object_is_corrupt() {
    // `complete` refuses an object whose size differs from the intent (and intents are never
    // empty), so an empty master only reaches the worker if S3 and the row disagree; the worker
    // still refuses it cleanly. The job is made the way `complete` makes it, then emptied.
    let fx = Fixture::new().await;
    let track = fx.track("empty").await;
    let wav = fx.music("e.wav", 2, &["-c:a", "pcm_s16le"]);
    let (asset, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let client = fx.db.pool.get().await.unwrap();
    let key: String = client
        .query_one("SELECT key FROM assets WHERE id = $1", &[&asset])
        .await
        .unwrap()
        .get(0);
    fx.aws
        .storage
        .upload_bytes(
            &fx.aws.storage.masters_bucket,
            &key,
            Vec::new(),
            "audio/wav",
        )
        .await
        .unwrap();
    // The row agrees with the empty object (else the worker refuses it as upload_changed).
    let etag = fx
        .aws
        .storage
        .head(&fx.aws.storage.masters_bucket, &key)
        .await
        .unwrap()
        .unwrap()
        .etag;
    client
        .execute(
            "UPDATE assets SET etag = $2 WHERE id = $1",
            &[&asset, &etag],
        )
        .await
        .unwrap();
    fx.deliver(transcode).await;
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error_code"], "corrupt");
    let mail = hound_testing::mail_to(&fx.artist_email).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].subject, "Not processed: empty");
    assert!(
        mail[0].body.contains("could not be processed"),
        "{}",
        mail[0].body
    );
}

#[tokio::test]
async fn duplicate_delivery_is_a_no_op() {
    let fx = Fixture::new().await;
    let track = fx.track("dup").await;
    let wav = fx.music("dup.wav", 5, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let messages = fx.receive(fx.queue_url()).await;
    assert_eq!(messages.len(), 1);
    let body = messages[0].body().unwrap().to_owned();

    assert_eq!(
        fx.worker.handle(&body).await.unwrap(),
        vec![Outcome::Ready(job_id)]
    );
    let first = fx.job(job_id).await;
    let keys = fx.stream_keys().await;
    // SQS delivers the same message again, to this worker and to another.
    assert_eq!(
        fx.worker.handle(&body).await.unwrap(),
        vec![Outcome::AlreadyDone(job_id)]
    );
    assert_eq!(
        fx.another_worker().handle(&body).await.unwrap(),
        vec![Outcome::AlreadyDone(job_id)]
    );
    let again = fx.job(job_id).await;
    assert_eq!(again["attempts"], 1);
    assert_eq!(again["variants"], first["variants"]);
    assert_eq!(fx.stream_keys().await, keys);
}

#[tokio::test]
async fn two_workers_racing_on_one_job_run_it_once() {
    let fx = Fixture::new().await;
    let track = fx.track("race").await;
    let wav = fx.music("race.wav", 10, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let body = fx.receive(fx.queue_url()).await[0]
        .body()
        .unwrap()
        .to_owned();

    let (a, b) = (fx.worker.clone(), fx.another_worker());
    let (ra, rb) = tokio::join!(a.handle(&body), b.handle(&body));
    let mut outcomes = vec![ra.unwrap().remove(0), rb.unwrap().remove(0)];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        vec![Outcome::HeldElsewhere(job_id), Outcome::Ready(job_id)]
    );
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready");
    assert_eq!(job["attempts"], 1, "only one worker claimed the job");
}

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_after_its_lease_expires() {
    let fx = Fixture::new().await;
    let track = fx.track("crash").await;
    let wav = fx.music("crash.wav", 5, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let body = fx.receive(fx.queue_url()).await[0]
        .body()
        .unwrap()
        .to_owned();
    let client = fx.db.pool.get().await.unwrap();
    // A worker claimed it, wrote half its outputs, and died; its lease is still running.
    client
        .execute(
            "UPDATE transcode_jobs SET status = 'transcoding', progress = 40, attempts = 1,
                    lease_owner = 'worker-dead', lease_expires_at = now() + interval '1 minute'
             WHERE id = $1",
            &[&job_id],
        )
        .await
        .unwrap();
    assert_eq!(
        fx.worker.handle(&body).await.unwrap(),
        vec![Outcome::HeldElsewhere(job_id)]
    );
    assert_eq!(fx.job(job_id).await["status"], "transcoding");
    // The lease runs out; the redelivered message takes the job over.
    client
        .execute(
            "UPDATE transcode_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
            &[&job_id],
        )
        .await
        .unwrap();
    assert_eq!(
        fx.worker.handle(&body).await.unwrap(),
        vec![Outcome::Ready(job_id)]
    );
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready");
    assert_eq!(job["attempts"], 2);
    assert!(job["lease_owner"].is_null());
}

#[tokio::test]
async fn a_newer_upload_supersedes_the_old_job() {
    let fx = Fixture::new().await;
    let track = fx.track("twice").await;
    let first = fx.music("first.wav", 3, &["-c:a", "pcm_s16le"]);
    let second = fx.music("second.wav", 4, &["-c:a", "pcm_s16le"]);
    let (_, old_job) = fx
        .upload(AssetKind::Master, Some(track), &first, "audio/wav")
        .await;
    let (_, new_job) = fx
        .upload(AssetKind::Master, Some(track), &second, "audio/wav")
        .await;
    let messages = fx.receive(fx.queue_url()).await;
    let mut outcomes = Vec::new();
    for m in &messages {
        outcomes.extend(fx.worker.handle(m.body().unwrap()).await.unwrap());
    }
    assert!(
        outcomes.contains(&Outcome::Superseded(old_job)),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Outcome::Ready(new_job)), "{outcomes:?}");
    assert_eq!(fx.track_row(track).await["duration_ms"], 4000);
}

#[tokio::test]
async fn an_s3_notification_alone_completes_and_processes_the_upload() {
    let fx = Fixture::new().await;
    // The masters bucket notifies the queue, as in AWS (infra/template.yaml) and `make dev`.
    let arn = fx.queue_arn(fx.queue_url()).await;
    fx.aws
        .storage
        .notify_on_create(&fx.aws.storage.masters_bucket, &arn)
        .await
        .unwrap();
    let track = fx.track("notified").await;
    let wav = fx.music("my take 1.wav", 4, &["-c:a", "pcm_s16le"]);
    let asset = fx
        .put(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    // No `complete` call: the notification is the only message about the upload (moto, like
    // S3, also sends an s3:TestEvent when the configuration is set; the worker ignores it).
    let (delivered, response) = fx.deliver(transcode).await;
    assert!((1..=2).contains(&delivered), "{delivered} messages");
    assert!(response.batch_item_failures.is_empty());
    let client = fx.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT j.id, j.status::text, t.master_asset_id FROM transcode_jobs j
             JOIN tracks t ON t.id = $2 WHERE j.asset_id = $1",
            &[&asset, &track],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(1), "ready");
    assert_eq!(row.get::<_, hound_domain::ids::AssetId>(2), asset);
}

#[tokio::test]
async fn a_bad_message_fails_alone_in_its_batch() {
    let fx = Fixture::new().await;
    let track = fx.track("good").await;
    let wav = fx.music("good.wav", 3, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let sqs = fx.aws.queue.client().await;
    let bad = sqs
        .send_message()
        .queue_url(fx.queue_url())
        .message_body("{not json")
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();
    let (delivered, response) = fx.deliver(transcode).await;
    assert_eq!(delivered, 2);
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec![bad.as_str()]);
    assert_eq!(fx.job(job_id).await["status"], "ready");
}

#[tokio::test]
async fn a_failed_message_comes_back_after_the_backoff_not_the_queue_timeout() {
    let fx = Fixture::new().await;
    // moto's default visibility timeout is 30 s; the backoff brings the message back in 2.
    let worker = fx
        .worker
        .clone()
        .with_lease(std::time::Duration::from_secs(1));
    let backoff = transcoder::Backoff::new(
        &fx.aws.config,
        fx.queue_url().to_owned(),
        std::time::Duration::from_secs(2),
        worker.lease(),
    );
    assert_eq!(backoff.delay(1).as_secs(), 2);
    assert_eq!(backoff.delay(3).as_secs(), 8);
    assert_eq!(backoff.delay(40), transcoder::MAX_RETRY_DELAY);
    // Never sooner than the lease runs out (plus a second).
    let long_lease = transcoder::Backoff::new(
        &fx.aws.config,
        fx.queue_url().to_owned(),
        std::time::Duration::from_secs(2),
        hound_worker::DEFAULT_LEASE,
    );
    assert_eq!(
        long_lease.delay(1),
        hound_worker::DEFAULT_LEASE + std::time::Duration::from_secs(1)
    );
    fx.aws
        .storage
        .client()
        .await
        .delete_bucket()
        .bucket(&fx.aws.storage.streams_bucket)
        .send()
        .await
        .unwrap();
    let track = fx.track("later").await;
    let wav = fx.music("later.wav", 2, &["-c:a", "pcm_s16le"]);
    let (_, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    let messages = fx.receive(fx.queue_url()).await;
    assert_eq!(messages.len(), 1);
    let worker = &worker;
    let response = fx
        .lambda(fx.queue_url(), messages, |event| {
            transcoder::handle(worker, Some(&backoff), event)
        })
        .await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let job = fx.job(job_id).await;
    assert!(
        job["lease_owner"].is_null(),
        "the lease is released for the retry"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    let again = fx.receive(fx.queue_url()).await;
    assert_eq!(again.len(), 1, "back after the 2 s backoff");
}

#[tokio::test]
async fn manifests_and_playlists_are_refused_without_any_connection() {
    let fx = Fixture::new().await;
    // Something to connect to, which must never hear from the worker.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let manifests = [
        (
            "playlist.m3u8",
            format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{url}/a.ts\n#EXT-X-ENDLIST\n"
            ),
        ),
        (
            "stream.mpd",
            format!(
                "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
                 mediaPresentationDuration=\"PT10S\" minBufferTime=\"PT2S\" \
                 profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><BaseURL>{url}/</BaseURL>\
                 <Period><AdaptationSet mimeType=\"audio/mp4\"><Representation id=\"a\" \
                 bandwidth=\"128000\"><BaseURL>a.m4a</BaseURL></Representation></AdaptationSet>\
                 </Period></MPD>\n"
            ),
        ),
        (
            "list.ffconcat",
            format!("ffconcat version 1.0\nfile '{url}/a.wav'\nfile '/etc/passwd'\n"),
        ),
    ];
    for (name, text) in manifests {
        let path = fx.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let track = fx.track(name).await;
        let (_, job_id) = fx
            .upload(AssetKind::Master, Some(track), &path, "audio/mpeg")
            .await;
        let (_, response) = fx.deliver(transcode).await;
        assert!(response.batch_item_failures.is_empty());
        let job = fx.job(job_id).await;
        assert_eq!(job["status"], "failed", "{name}: {job}");
        assert_eq!(job["error_code"], "not_audio", "{name}: {job}");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the worker connected somewhere"
    );
}

#[tokio::test]
async fn an_upload_swapped_after_complete_fails_instead_of_diverging() {
    let fx = Fixture::new().await;
    let track = fx.track("Swapped").await;
    let wav = fx.music("first.wav", 3, &["-c:a", "pcm_s16le"]);
    let (asset, job_id) = fx
        .upload(AssetKind::Master, Some(track), &wav, "audio/wav")
        .await;
    // The presigned PUT is still valid: another object lands at the same key.
    let row = fx
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT bucket, key FROM assets WHERE id = $1", &[&asset])
        .await
        .unwrap();
    let (bucket, key): (String, String) = (row.get(0), row.get(1));
    let other = std::fs::read(fx.music("other.wav", 4, &["-c:a", "pcm_s16le"])).unwrap();
    fx.aws
        .storage
        .upload_bytes(&bucket, &key, other, "audio/wav")
        .await
        .unwrap();

    let (_, response) = fx.deliver(transcode).await;
    assert!(response.batch_item_failures.is_empty());
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error_code"], "upload_changed", "{job}");
    assert!(
        fx.stream_keys().await.is_empty(),
        "nothing of it was published"
    );
}

/// A FLAC whose STREAMINFO says `declared` seconds but whose frames hold `actual`: the header
/// (and every metadata block) of one file, the frames of another.
fn lying_flac(fx: &Fixture, declared: u32, actual: u32) -> std::path::PathBuf {
    let encode = |name: &str, seconds: u32| {
        std::fs::read(fx.ffmpeg(
            name,
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=f=330:r=44100",
                "-t",
                &seconds.to_string(),
                "-ac",
                "2",
                "-c:a",
                "flac",
            ],
        ))
        .unwrap()
    };
    let header_of = |bytes: &[u8]| {
        assert_eq!(&bytes[..4], b"fLaC");
        let mut at = 4;
        loop {
            let last = bytes[at] & 0x80 != 0;
            let len = u32::from_be_bytes([0, bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            at += 4 + len;
            if last {
                return at;
            }
        }
    };
    let short = encode("declared.flac", declared);
    let long = encode("actual.flac", actual);
    let mut lie = short[..header_of(&short)].to_vec();
    lie.extend_from_slice(&long[header_of(&long)..]);
    let path = fx.dir.path().join("lying.flac");
    std::fs::write(&path, lie).unwrap();
    path
}

#[tokio::test]
async fn a_flac_that_lies_about_its_duration_is_refused_within_the_cap() {
    let fx = Fixture::new().await;
    let lie = lying_flac(&fx, 20, 600);
    // ffprobe believes the header.
    let probed = ffprobe(&lie);
    let declared: f64 = probed["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((declared - 20.0).abs() < 1.0, "{declared}");

    let started = std::time::Instant::now();
    let job = refused(&fx, "lie", &lie, "audio/flac").await;
    assert_eq!(job["error_code"], "corrupt", "{job}");
    assert!(
        job["error_message"].as_str().unwrap().contains("header"),
        "{job}"
    );
    // Decoding stopped at the declared length plus slack, not ten minutes in.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(fx.stream_keys().await.is_empty());
}

#[tokio::test]
async fn scratch_space_of_killed_attempts_is_removed_and_live_jobs_keep_theirs() {
    let scratch = tempfile::tempdir().unwrap();
    let stale = scratch.path().join("hound-job-killed");
    let live = scratch.path().join("hound-job-running");
    let other = scratch.path().join("not-ours");
    for dir in [&stale, &live, &other] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("input"), b"x").unwrap();
    }
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for dir in [&stale, &other] {
        std::fs::File::open(dir)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    let removed = hound_worker::clean_scratch(scratch.path(), hound_worker::STALE_SCRATCH);
    assert_eq!(removed, 1);
    assert!(!stale.exists());
    assert!(live.exists() && other.exists());
}

/// What became of one upload: its job's final code (`ready` or the refusal's code).
async fn outcome(fx: &Fixture, kind: AssetKind, path: &std::path::Path, mime: &str) -> String {
    let track = match kind {
        AssetKind::Master => Some(fx.track("corpus").await),
        AssetKind::Cover => None,
    };
    let (_, job_id) = fx.upload(kind, track, path, mime).await;
    let (_, response) = fx.deliver(transcode).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{}",
        path.display()
    );
    let job = fx.job(job_id).await;
    match job["status"].as_str() {
        Some("ready") => "ready".to_owned(),
        Some("failed") => job["error_code"].as_str().unwrap().to_owned(),
        other => panic!("{}: {other:?} {job}", path.display()),
    }
}

#[tokio::test]
async fn a_hostile_media_corpus_ends_named_and_bounded_leaving_no_scratch() {
    let fx = Fixture::new().await;
    let started = std::time::Instant::now();
    let dir = fx.dir.path();

    // A PNG with a WAV appended: a picture first, so never audio.
    let png = fx.ffmpeg(
        "poly.png",
        &["-f", "lavfi", "-i", "testsrc=s=64x64", "-frames:v", "1"],
    );
    let wav = fx.music("poly.wav", 2, &["-c:a", "pcm_s16le"]);
    let mut polyglot = std::fs::read(&png).unwrap();
    polyglot.extend(std::fs::read(&wav).unwrap());
    std::fs::write(dir.join("polyglot.wav"), &polyglot).unwrap();
    // A WAV with a header and no samples.
    let empty = fx.ffmpeg(
        "zero.wav",
        &["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "0"],
    );
    // A WAV whose header declares no channels, followed by a second of bytes.
    let mut silent_header = b"RIFF".to_vec();
    silent_header.extend_from_slice(&(36u32 + 88_200).to_le_bytes());
    silent_header.extend_from_slice(b"WAVEfmt ");
    for field in [
        16u32.to_le_bytes().as_slice(),
        &1u16.to_le_bytes(),
        &0u16.to_le_bytes(),
    ] {
        silent_header.extend_from_slice(field);
    }
    for field in [44_100u32, 0] {
        silent_header.extend_from_slice(&field.to_le_bytes());
    }
    for field in [0u16, 16] {
        silent_header.extend_from_slice(&field.to_le_bytes());
    }
    silent_header.extend_from_slice(b"data");
    silent_header.extend_from_slice(&88_200u32.to_le_bytes());
    silent_header.extend(std::iter::repeat_n(0x55u8, 88_200));
    std::fs::write(dir.join("no_channels.wav"), &silent_header).unwrap();
    // 192 kHz, 8 channels: read, downmixed to stereo, resampled.
    let wide = fx.ffmpeg(
        "wide.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=192000",
            "-t",
            "3",
            "-af",
            "pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0",
            "-c:a",
            "pcm_s24le",
        ],
    );
    // A JPEG cut short (CMYK and Exif-rotated covers are in covers.rs).
    let jpeg = std::fs::read(fx.ffmpeg(
        "whole.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1200x1200",
            "-frames:v",
            "1",
        ],
    ))
    .unwrap();
    std::fs::write(dir.join("truncated.jpg"), &jpeg[..jpeg.len() / 3]).unwrap();

    let cases: Vec<(AssetKind, std::path::PathBuf, &str, &[&str])> = vec![
        (
            AssetKind::Master,
            dir.join("polyglot.wav"),
            "audio/wav",
            &["not_audio"],
        ),
        (
            AssetKind::Master,
            empty,
            "audio/wav",
            &["corrupt", "not_audio", "silent"],
        ),
        (
            AssetKind::Master,
            dir.join("no_channels.wav"),
            "audio/wav",
            &["corrupt", "not_audio"],
        ),
        (AssetKind::Master, wide, "audio/wav", &["ready"]),
        (
            AssetKind::Cover,
            dir.join("truncated.jpg"),
            "image/jpeg",
            &["corrupt"],
        ),
    ];
    for (kind, path, mime, allowed) in cases {
        let code = outcome(&fx, kind, &path, mime).await;
        assert!(
            allowed.contains(&code.as_str()),
            "{}: {code}",
            path.display()
        );
        assert!(fx.scratch_left().is_empty(), "{}", path.display());
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
}

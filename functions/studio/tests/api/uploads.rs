use hound_testing::Call;
use serde_json::{Value, json};

use crate::*;

async fn release_with_track(app: &App, artist: &str) -> (String, String) {
    let release = id(&app.create_release(artist, "Album").await);
    let track = id(&app.add_track(artist, &release, "Song").await);
    (release, track)
}

async fn master_intent(
    app: &App,
    artist: &str,
    release: &str,
    track: &str,
    size: usize,
) -> hound_testing::TestResponse {
    app.call(
        Call::post(&format!("/v1/studio/releases/{release}/uploads/master-intent")).json(&json!({
            "track_id": track, "filename": "My Song (final).wav", "content_type": "audio/wav", "size_bytes": size
        })),
        artist,
    )
    .await
}

async fn complete(app: &App, artist: &str, asset: &str) -> hound_testing::TestResponse {
    app.call(
        Call::post(&format!("/v1/studio/uploads/{asset}/complete")),
        artist,
    )
    .await
}

/// Intent, real PUT of a generated WAV, and the asset id.
async fn uploaded_master(app: &App, artist: &str, release: &str, track: &str) -> String {
    let audio = wav(1);
    let intent = master_intent(app, artist, release, track, audio.len()).await;
    assert_eq!(intent.status, 201, "{}", intent.body);
    assert_eq!(put(&intent.body["upload"], audio).await, 200);
    intent.body["asset_id"].as_str().unwrap().to_owned()
}

fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
}

#[tokio::test]
async fn a_master_intent_signs_type_length_and_a_15_minute_expiry() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;

    let r = master_intent(&app, &artist, &release, &track, 1234).await;

    assert_eq!(r.status, 201, "{}", r.body);
    let upload = &r.body["upload"];
    assert_eq!(upload["method"], "PUT");
    assert_eq!(upload["headers"]["content-type"], "audio/wav");
    assert_eq!(upload["headers"]["content-length"], "1234");
    let url = upload["url"].as_str().unwrap();
    assert_eq!(query_param(url, "X-Amz-Expires"), Some("900"));
    let signed = query_param(url, "X-Amz-SignedHeaders").unwrap();
    assert!(
        signed.contains("content-length") && signed.contains("content-type"),
        "{signed}"
    );
    let asset = r.body["asset_id"].as_str().unwrap();
    // Keys are namespaced by artist and asset, with a sanitised filename.
    assert!(
        url.contains(&format!("/{asset}/My_Song_final_.wav?")),
        "{url}"
    );
    assert!(url.contains(app.aws.storage.masters_bucket.as_str()));
}

#[tokio::test]
async fn refused_types_and_sizes_get_400_and_no_url() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let path = format!("/v1/studio/releases/{release}/uploads/master-intent");
    for (content_type, size) in [
        ("video/mp4", 100_i64),
        ("audio/wav", 0),
        ("audio/wav", 1024 * 1024 * 1024 + 1),
    ] {
        let r = app
            .call(Call::post(&path).json(&json!({"track_id": track, "filename": "a.wav", "content_type": content_type, "size_bytes": size})), &artist)
            .await;
        assert_error(&r, 400, "invalid_request");
        assert!(r.body.get("upload").is_none());
    }
    let cover = format!("/v1/studio/releases/{release}/uploads/cover-intent");
    let r = app
        .call(
            Call::post(&cover)
                .json(&json!({"filename": "c.gif", "content_type": "image/gif", "size_bytes": 10})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    let r = app.call(Call::post(&cover).json(&json!({"filename": "c.jpg", "content_type": "image/jpeg", "size_bytes": 21 * 1024 * 1024})), &artist).await;
    assert_error(&r, 400, "invalid_request");
    let count = app.count("SELECT count(*) FROM assets").await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_uploaded_master_completes_into_one_queued_job_and_one_message() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let asset = uploaded_master(&app, &artist, &release, &track).await;

    let first = complete(&app, &artist, &asset).await;

    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["asset"]["state"], "uploaded");
    let job = &first.body["job"];
    assert_eq!(job["status"], "queued");
    let steps: Vec<_> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(
        steps,
        vec![
            json!("probe"),
            json!("transcode"),
            json!("analyse"),
            json!("upload")
        ]
    );

    let again = complete(&app, &artist, &asset).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["job"]["id"], job["id"]);

    let messages = app.aws.drain_queue().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["job_id"], job["id"]);
    assert_eq!(m["asset_id"].as_str(), Some(asset.as_str()));
    assert_eq!(m["kind"], "master");
    assert_eq!(
        m["bucket"].as_str(),
        Some(app.aws.storage.masters_bucket.as_str())
    );
    assert!(m["key"].as_str().unwrap().ends_with("/My_Song_final_.wav"));

    let shown = app
        .call(
            Call::get(&format!("/v1/studio/jobs/{}", job["id"].as_str().unwrap())),
            &artist,
        )
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["progress"], 0);
    let track_view = app
        .call(
            Call::get(&format!("/v1/studio/releases/{release}")),
            &artist,
        )
        .await;
    assert_eq!(
        track_view.body["tracks"][0]["master"]["asset_id"].as_str(),
        Some(asset.as_str())
    );
}

#[tokio::test]
async fn racing_completes_make_one_job_and_one_message() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let asset = uploaded_master(&app, &artist, &release, &track).await;

    let calls = (0..8).map(|_| complete(&app, &artist, &asset));
    let responses: Vec<_> = futures::future::join_all(calls).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        7,
        "{statuses:?}"
    );
    let job_ids: std::collections::HashSet<_> = responses
        .iter()
        .map(|r| r.body["job"]["id"].clone())
        .collect();
    assert_eq!(job_ids.len(), 1);
    assert_eq!(app.aws.drain_queue().await.len(), 1);
    let jobs = app.count("SELECT count(*) FROM transcode_jobs").await;
    assert_eq!(jobs, 1);
}

#[tokio::test]
async fn a_job_left_unclaimed_after_its_message_is_sent_again_by_a_later_complete() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let asset = uploaded_master(&app, &artist, &release, &track).await;
    assert_eq!(complete(&app, &artist, &asset).await.status, 202);
    assert_eq!(app.aws.drain_queue().await.len(), 1);
    // At once, a repeat sends nothing.
    assert_eq!(complete(&app, &artist, &asset).await.status, 200);
    assert!(app.aws.drain_queue().await.is_empty());

    // The message went out two minutes ago and no worker ever claimed the job: it was lost
    // (the process died after the commit, say). The next complete sends it again.
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE transcode_jobs SET enqueued_at = now() - interval '2 minutes'",
            &[],
        )
        .await
        .unwrap();
    let again = complete(&app, &artist, &asset).await;
    assert_eq!(again.status, 202, "{}", again.body);
    let messages = app.aws.drain_queue().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["asset_id"].as_str(), Some(asset.as_str()));
    assert_eq!(app.count("SELECT count(*) FROM transcode_jobs").await, 1);
}

#[tokio::test]
async fn complete_refuses_a_missing_or_wrongly_sized_object() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;

    let missing = master_intent(&app, &artist, &release, &track, 1000).await;
    let r = complete(&app, &artist, missing.body["asset_id"].as_str().unwrap()).await;
    assert_error(&r, 409, "upload_missing");

    let audio = wav(1);
    let wrong = master_intent(&app, &artist, &release, &track, audio.len() + 10).await;
    // moto does not check signatures, so the mismatched PUT lands; `complete` must catch it.
    assert_eq!(put(&wrong.body["upload"], audio).await, 200);
    let r = complete(&app, &artist, wrong.body["asset_id"].as_str().unwrap()).await;
    assert_error(&r, 409, "upload_size_mismatch");
    assert!(app.aws.drain_queue().await.is_empty());
}

#[tokio::test]
async fn another_artists_asset_cannot_be_completed_or_its_job_read() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let thief = app.account("artist", "thief@example.com").await;
    let (release, track) = release_with_track(&app, &owner).await;
    let asset = uploaded_master(&app, &owner, &release, &track).await;

    assert_error(&complete(&app, &thief, &asset).await, 404, "not_found");
    let done = complete(&app, &owner, &asset).await;
    let job = done.body["job"]["id"].as_str().unwrap();
    assert_error(
        &app.call(Call::get(&format!("/v1/studio/jobs/{job}")), &thief)
            .await,
        404,
        "not_found",
    );
    // Nor can the thief ask for an upload URL on the owner's release.
    let r = master_intent(&app, &thief, &release, &track, 10).await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn a_queue_outage_is_a_503_and_a_later_complete_retries() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let asset = uploaded_master(&app, &artist, &release, &track).await;
    let broken = studio::router(studio::AppState {
        backend: hound_http::Backend::new(
            app.db.pool_as(hound_domain::db::roles::STUDIO),
            hound_testing::test_keys(),
        ),
        storage: app.aws.storage.clone(),
        queue: hound_domain::aws::Queue::new(
            &app.aws.config,
            format!("{}-gone", app.aws.queue.transcode_queue_url),
        ),
        code_keys: hound_testing::test_gate_keys().0,
        event_keys: hound_testing::test_gate_keys().1,
    });

    let r = Call::post(&format!("/v1/studio/uploads/{asset}/complete"))
        .bearer(&artist)
        .send(&broken)
        .await;
    assert_error(&r, 503, "unavailable");
    // The job is saved (its message follows the commit, never precedes it), but not enqueued.
    let jobs = app.count("SELECT count(*) FROM transcode_jobs").await;
    assert_eq!(jobs, 1, "the job was committed before any send was tried");
    let enqueued = app
        .count("SELECT count(*) FROM transcode_jobs WHERE enqueued_at IS NOT NULL")
        .await;
    assert_eq!(enqueued, 0, "no job claims a message that was never sent");

    let r = complete(&app, &artist, &asset).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(app.aws.drain_queue().await.len(), 1);
}

#[tokio::test]
async fn a_new_master_supersedes_the_old_one() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let old = uploaded_master(&app, &artist, &release, &track).await;
    complete(&app, &artist, &old).await;
    let new = uploaded_master(&app, &artist, &release, &track).await;
    let r = complete(&app, &artist, &new).await;
    assert_eq!(r.status, 202);

    let shown = app
        .call(
            Call::get(&format!("/v1/studio/releases/{release}")),
            &artist,
        )
        .await;
    assert_eq!(
        shown.body["tracks"][0]["master"]["asset_id"].as_str(),
        Some(new.as_str())
    );
    let state: String = app
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT state::text FROM assets WHERE id = $1",
            &[&old.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "superseded");
    assert_error(
        &complete(&app, &artist, &old).await,
        409,
        "asset_superseded",
    );
}

#[tokio::test]
async fn a_cover_upload_completes_into_a_cover_job() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Album").await);
    let bytes: Vec<u8> = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0xFF, 0xD9];
    let intent = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/uploads/cover-intent"))
                .json(&json!({"filename": "cover.jpg", "content_type": "image/jpeg", "size_bytes": bytes.len()})),
            &artist,
        )
        .await;
    assert_eq!(intent.status, 201, "{}", intent.body);
    assert_eq!(put(&intent.body["upload"], bytes).await, 200);
    let r = complete(&app, &artist, intent.body["asset_id"].as_str().unwrap()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let steps: Vec<Value> = r.body["job"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(
        steps,
        vec![json!("probe"), json!("resize"), json!("upload")]
    );
    let m = app.aws.drain_queue().await;
    assert_eq!(m[0]["kind"], "cover");
    assert_eq!(
        m[0]["bucket"].as_str(),
        Some(app.aws.storage.covers_bucket.as_str())
    );
}

#[tokio::test]
async fn an_upload_given_up_by_the_janitors_cannot_be_completed() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = release_with_track(&app, &artist).await;
    let asset = uploaded_master(&app, &artist, &release, &track).await;
    // A day later, the maintenance schedule gave it up (its object deleted, its row marked).
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE assets SET state = 'abandoned' WHERE id = $1::text::uuid",
            &[&asset],
        )
        .await
        .unwrap();
    let r = complete(&app, &artist, &asset).await;
    assert_error(&r, 409, "upload_expired");
    assert!(app.aws.drain_queue().await.is_empty());
}

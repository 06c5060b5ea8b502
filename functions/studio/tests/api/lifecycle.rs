use hound_testing::Call;
use serde_json::json;
use uuid::Uuid;

use crate::*;

/// Stand in for the transcoder (a later issue): mark every job of the release's assets ready.
async fn finish_jobs(app: &App) {
    app.db
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute("UPDATE transcode_jobs SET status = 'ready', progress = 100; UPDATE assets SET state = 'ready' WHERE state = 'uploaded'")
        .await
        .unwrap();
}

async fn upload(
    app: &App,
    artist: &str,
    release: &str,
    body: serde_json::Value,
    kind: &str,
    bytes: Vec<u8>,
) {
    let mut body = body;
    body["size_bytes"] = json!(bytes.len());
    let intent = app
        .call(
            Call::post(&format!(
                "/v1/studio/releases/{release}/uploads/{kind}-intent"
            ))
            .json(&body),
            artist,
        )
        .await;
    assert_eq!(intent.status, 201, "{}", intent.body);
    assert_eq!(put(&intent.body["upload"], bytes).await, 200);
    let asset = intent.body["asset_id"].as_str().unwrap();
    let done = app
        .call(
            Call::post(&format!("/v1/studio/uploads/{asset}/complete")),
            artist,
        )
        .await;
    assert_eq!(done.status, 202, "{}", done.body);
}

/// A release with a processed cover and one track with a processed master.
async fn ready_release(app: &App, artist: &str) -> (String, String) {
    let release = id(&app.create_release(artist, "Ready").await);
    let track = id(&app.add_track(artist, &release, "One").await);
    upload(
        app,
        artist,
        &release,
        json!({"filename": "c.png", "content_type": "image/png"}),
        "cover",
        vec![1; 64],
    )
    .await;
    upload(
        app,
        artist,
        &release,
        json!({"track_id": track, "filename": "m.wav", "content_type": "audio/wav"}),
        "master",
        wav(1),
    )
    .await;
    finish_jobs(app).await;
    (release, track)
}

#[tokio::test]
async fn submit_lists_every_problem_at_once() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Unready").await);
    let submit = format!("/v1/studio/releases/{release}/submit");

    let r = app.call(Call::post(&submit), &artist).await;
    assert_error(&r, 422, "release_not_ready");
    assert_eq!(
        r.body["error"]["details"]["problems"],
        json!([{"code": "cover_missing"}, {"code": "no_tracks"}])
    );

    let bare = id(&app.add_track(&artist, &release, "No master").await);
    let pending = id(&app.add_track(&artist, &release, "Processing").await);
    upload(
        &app,
        &artist,
        &release,
        json!({"track_id": pending, "filename": "m.wav", "content_type": "audio/wav"}),
        "master",
        wav(1),
    )
    .await;
    upload(
        &app,
        &artist,
        &release,
        json!({"filename": "c.png", "content_type": "image/png"}),
        "cover",
        vec![1; 64],
    )
    .await;

    let r = app.call(Call::post(&submit), &artist).await;
    assert_error(&r, 422, "release_not_ready");
    let problems = &r.body["error"]["details"]["problems"];
    assert_eq!(problems.as_array().unwrap().len(), 3, "{problems}");
    assert!(
        problems
            .as_array()
            .unwrap()
            .contains(&json!({"code": "cover_not_processed"}))
    );
    assert!(
        problems
            .as_array()
            .unwrap()
            .contains(&json!({"code": "track_master_missing", "track_id": bare}))
    );
    assert!(
        problems
            .as_array()
            .unwrap()
            .contains(&json!({"code": "track_master_not_ready", "track_id": pending}))
    );
}

#[tokio::test]
async fn a_submitted_release_refuses_track_and_upload_changes() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, track) = ready_release(&app, &artist).await;

    let r = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/submit")),
            &artist,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "submitted");

    let base = format!("/v1/studio/releases/{release}");
    assert_error(
        &app.call(
            Call::post(&format!("{base}/tracks")).json(&json!({"title": "late"})),
            &artist,
        )
        .await,
        409,
        "release_locked",
    );
    assert_error(
        &app.call(
            Call::new("PATCH", &format!("{base}/tracks/{track}")).json(&json!({"title": "x"})),
            &artist,
        )
        .await,
        409,
        "release_locked",
    );
    assert_error(
        &app.call(
            Call::new("DELETE", &format!("{base}/tracks/{track}")),
            &artist,
        )
        .await,
        409,
        "release_locked",
    );
    let intent = json!({"track_id": track, "filename": "m.wav", "content_type": "audio/wav", "size_bytes": 10});
    assert_error(
        &app.call(
            Call::post(&format!("{base}/uploads/master-intent")).json(&intent),
            &artist,
        )
        .await,
        409,
        "release_locked",
    );
    assert_error(
        &app.call(Call::new("DELETE", &base), &artist).await,
        409,
        "release_locked",
    );
    assert_error(
        &app.call(Call::post(&format!("{base}/submit")), &artist)
            .await,
        409,
        "already_submitted",
    );
}

#[tokio::test]
async fn publish_makes_a_submitted_release_published_now() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, _) = ready_release(&app, &artist).await;
    let publish = format!("/v1/studio/releases/{release}/publish");
    assert_error(
        &app.call(Call::post(&publish), &artist).await,
        409,
        "not_submitted",
    );
    app.call(
        Call::post(&format!("/v1/studio/releases/{release}/submit")),
        &artist,
    )
    .await;

    let r = app.call(Call::post(&publish), &artist).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "published");
    assert!(r.body["published_at"].is_string());
    assert_error(
        &app.call(Call::post(&publish), &artist).await,
        409,
        "already_published",
    );
}

#[tokio::test]
async fn a_scheduled_release_turns_published_by_itself_when_its_time_comes() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (release, _) = ready_release(&app, &artist).await;
    app.call(
        Call::post(&format!("/v1/studio/releases/{release}/submit")),
        &artist,
    )
    .await;

    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/publish"))
                .json(&json!({"publish_at": at})),
            &artist,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "scheduled");
    assert_eq!(r.body["publish_at"].as_str(), Some(at.as_str()));
    assert!(r.body["published_at"].is_null());

    // Time passes (no cron involved): every read sees it published.
    app.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE releases SET publish_at = now() - interval '1 minute' WHERE id = $1",
            &[&release.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap();
    let shown = app
        .call(
            Call::get(&format!("/v1/studio/releases/{release}")),
            &artist,
        )
        .await;
    assert_eq!(shown.body["status"], "published");
    assert!(shown.body["published_at"].is_string());
    let too_far = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/publish"))
                .json(&json!({"publish_at": "2099-01-01T00:00:00Z"})),
            &artist,
        )
        .await;
    assert_error(&too_far, 400, "invalid_request");
    let again = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/publish")),
            &artist,
        )
        .await;
    assert_error(&again, 409, "already_published");
    let listed = app.call(Call::get("/v1/studio/releases"), &artist).await;
    assert_eq!(listed.body["items"][0]["status"], "published");
}

#[tokio::test]
async fn a_scheduled_release_can_be_withdrawn_before_its_time_and_only_then() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let (release, _) = ready_release(&app, &artist).await;
    let withdraw = format!("/v1/studio/releases/{release}/withdraw");
    app.call(
        Call::post(&format!("/v1/studio/releases/{release}/submit")),
        &artist,
    )
    .await;
    assert_error(
        &app.call(Call::post(&withdraw), &artist).await,
        409,
        "not_scheduled",
    );
    let r = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/publish"))
                .json(&json!({"publish_at": "2027-06-01T00:00:00Z"})),
            &artist,
        )
        .await;
    assert_eq!(r.body["status"], "scheduled", "{}", r.body);
    assert_error(
        &app.call(Call::post(&withdraw), &other).await,
        404,
        "not_found",
    );

    let r = app.call(Call::post(&withdraw), &artist).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "submitted");
    assert!(r.body["publish_at"].is_null());
    // Scheduled anew, then published: no longer withdrawable.
    let r = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/publish")),
            &artist,
        )
        .await;
    assert_eq!(r.body["status"], "published", "{}", r.body);
    assert_error(
        &app.call(Call::post(&withdraw), &artist).await,
        409,
        "not_scheduled",
    );
}

#[tokio::test]
async fn a_draft_can_be_deleted_with_everything_in_it() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Gone").await);
    app.add_track(&artist, &release, "T").await;
    let path = format!("/v1/studio/releases/{release}");
    assert_eq!(
        app.call(Call::new("DELETE", &path), &artist).await.status,
        204
    );
    assert_error(&app.call(Call::get(&path), &artist).await, 404, "not_found");
}

#[tokio::test]
async fn complete_and_submit_racing_never_both_win() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    for round in 0..8 {
        let (release, track) = ready_release(&app, &artist).await;
        // A new master for the track, uploaded but not completed yet.
        let bytes = wav(1);
        let intent = app
            .call(
                Call::post(&format!(
                    "/v1/studio/releases/{release}/uploads/master-intent"
                ))
                .json(&json!({"track_id": track, "filename": "take2.wav",
                              "content_type": "audio/wav", "size_bytes": bytes.len()})),
                &artist,
            )
            .await;
        assert_eq!(intent.status, 201, "{}", intent.body);
        assert_eq!(put(&intent.body["upload"], bytes).await, 200);
        let asset = intent.body["asset_id"].as_str().unwrap().to_owned();

        let (completed, submitted) = futures::join!(
            app.call(
                Call::post(&format!("/v1/studio/uploads/{asset}/complete")),
                &artist
            ),
            app.call(
                Call::post(&format!("/v1/studio/releases/{release}/submit")),
                &artist
            ),
        );
        let outcome = (completed.status, submitted.status);
        assert!(
            outcome == (202, 422) || outcome == (409, 200),
            "round {round}: complete {} {} / submit {} {}",
            completed.status,
            completed.body,
            submitted.status,
            submitted.body
        );
        // A submitted release's master never changes under it.
        let master = app
            .count(&format!(
                "SELECT count(*) FROM tracks t JOIN releases r ON r.id = t.release_id
                  WHERE t.id = '{track}' AND r.status = 'submitted'
                    AND t.master_asset_id = '{asset}'"
            ))
            .await;
        assert_eq!(master, 0, "round {round}");
    }
}

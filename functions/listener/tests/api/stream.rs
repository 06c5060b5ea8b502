//! Streams: real downloads from presigned URLs, loudness, and tracks that are not ready.

use crate::*;

#[tokio::test]
async fn a_presigned_rendition_url_downloads_the_rendition_bytes() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -9.0, -0.5).await;
    let bytes = b"not really aac, but these exact bytes".to_vec();
    app.aws
        .storage
        .client()
        .await
        .put_object()
        .bucket(&app.aws.storage.streams_bucket)
        .key(format!("{track}/aac_256.m4a"))
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();

    let r = app
        .get(&format!("/v1/listener/tracks/{track}/stream"), None)
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    let renditions = r.body["renditions"].as_array().unwrap();
    let names: Vec<&str> = renditions
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["aac_256", "aac_128", "opus_96"]);
    assert_eq!(renditions[0]["codec"], "aac");
    assert_eq!(renditions[0]["bitrate_kbps"], 256);
    assert_eq!(renditions[0]["mime"], "audio/mp4");
    assert_eq!(renditions[2]["mime"], "audio/ogg");
    let url = renditions[0]["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert!(!url.contains("m.wav"), "never the master: {url}");
    let downloaded = reqwest::get(url).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(r.body["track_id"], track.to_string());
    assert!(r.body["expires_at"].is_string());
}

#[tokio::test]
async fn album_gain_is_the_duration_weighted_mean_capped_by_the_loudest_peak() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    // 3 minutes at -10 LUFS and 1 minute at -20: album loudness -11.1 LUFS, so -2.89 dB brings it to
    // -14; peaks are low enough not to bind.
    let loud = app.playable_track(release, 1, 180_000, -10.0, -6.0).await;
    app.playable_track(release, 2, 60_000, -20.0, -12.0).await;

    let r = app
        .get(&format!("/v1/listener/tracks/{loud}/stream"), None)
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    let loudness = &r.body["loudness"];
    assert_eq!(loudness["integrated_lufs"], -10.0);
    assert_eq!(loudness["true_peak_dbtp"], -6.0);
    assert_eq!(loudness["gain_db"], -4.0);
    assert_eq!(loudness["album_gain_db"], -2.89);

    // A hot peak caps it: with a -0.5 dBTP peak the album may gain at most -0.5 dB.
    let (quiet, _) = app.release(&owner, "published", "public", None).await;
    let t = app.playable_track(quiet, 1, 60_000, -20.0, -0.5).await;
    let r = app
        .get(&format!("/v1/listener/tracks/{t}/stream"), None)
        .await;
    assert_eq!(r.body["loudness"]["album_gain_db"], -0.5);
    assert_eq!(r.body["loudness"]["gain_db"], -0.5);
}

#[tokio::test]
async fn a_track_without_complete_renditions_is_409_not_ready_and_not_playable() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let bare = app.track(release, 1, 60_000).await;
    let pending = app.playable_track(release, 2, 60_000, -14.0, -3.0).await;
    app.execute(
        "UPDATE variants SET status = 'generating' WHERE key LIKE $1",
        &[&format!("{pending}/%")],
    )
    .await;

    for track in [bare, pending] {
        let r = app
            .get(&format!("/v1/listener/tracks/{track}/stream"), None)
            .await;
        assert_error(&r, 409, "not_ready");
    }
    let album = app
        .get(&format!("/v1/listener/albums/{release}"), None)
        .await;
    assert_eq!(album.status, 200, "{}", album.body);
    let tracks = album.body["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    assert!(tracks.iter().all(|t| t["playable"] == false));
    assert!(tracks[0]["loudness"].is_null());
    assert_eq!(tracks[1]["loudness"]["integrated_lufs"], -14.0);
}

#[tokio::test]
async fn album_pages_list_tracks_in_order_with_cover_urls_for_each_size() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let second = app.playable_track(release, 2, 90_000, -12.0, -2.0).await;
    let first = app.playable_track(release, 1, 60_000, -12.0, -2.0).await;
    app.execute(
        "UPDATE tracks SET explicit = true WHERE id = $1",
        &[&second],
    )
    .await;
    app.cover(release).await;
    let jpeg = b"jpeg bytes".to_vec();
    let cover_key: String = {
        let client = app.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT v.key FROM variants v WHERE v.name = 'cover_600_jpeg'",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    app.aws
        .storage
        .client()
        .await
        .put_object()
        .bucket(&app.aws.storage.covers_bucket)
        .key(&cover_key)
        .body(jpeg.clone().into())
        .send()
        .await
        .unwrap();

    let r = app
        .get(&format!("/v1/listener/albums/{release}"), None)
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    let tracks = r.body["tracks"].as_array().unwrap();
    assert_eq!(tracks[0]["id"], first.to_string());
    assert_eq!(tracks[1]["id"], second.to_string());
    assert_eq!(tracks[1]["explicit"], true);
    assert_eq!(tracks[1]["duration_ms"], 90_000);
    assert_eq!(tracks[0]["playable"], true);
    assert!(!r.body["artist"]["slug"].as_str().unwrap().is_empty());
    let cover = r.body["cover"].as_object().unwrap();
    assert_eq!(cover.keys().collect::<Vec<_>>(), ["1200", "300", "600"]);
    let url = cover["600"]["jpeg"].as_str().unwrap();
    assert!(cover["600"]["webp"].is_string());
    let downloaded = reqwest::get(url).await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), jpeg);
    // Every reader gets the same cover URL for a few minutes (so a browser keeps the image
    // across pages), and it is valid at least the 15 minutes every signed URL is.
    let reader = app.account("listener", "reader@example.com").await;
    let again = app
        .get(
            &format!("/v1/listener/albums/{release}"),
            Some(&reader.token),
        )
        .await;
    assert_eq!(again.body["cover"]["600"]["jpeg"], url);
    let parsed = url::Url::parse(url).unwrap();
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let signed_at = time::PrimitiveDateTime::parse(
        &param("X-Amz-Date"),
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    assert!(
        signed_at.second() == 0 && signed_at.minute().is_multiple_of(5),
        "signed as of the start of its five minutes: {url}"
    );
    let valid_for: i64 = param("X-Amz-Expires").parse().unwrap();
    let valid_until = signed_at + time::Duration::seconds(valid_for);
    assert!(
        valid_until >= time::OffsetDateTime::now_utc() + time::Duration::seconds(899),
        "{url}"
    );

    // With a CDN, covers are CDN base + key.
    let cdn = router_with(
        &app.aws,
        app.db.pool_as(hound_domain::db::roles::LISTENER),
        Some("https://cdn.example.com/"),
    );
    let r = Call::get(&format!("/v1/listener/albums/{release}"))
        .send(&cdn)
        .await;
    assert_eq!(
        r.body["cover"]["600"]["jpeg"],
        format!("https://cdn.example.com/{cover_key}")
    );
}

/// The names of the renditions (or previews) in a JSON list.
fn names(list: &serde_json::Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_gated_track_offers_its_presigned_previews_and_never_its_renditions() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (release, _) = app.release(&owner, "published", "code", None).await;
    let track = app.playable_track(release, 1, 180_000, -9.0, -0.5).await;
    app.previews(track).await;
    let bytes = b"thirty seconds of it".to_vec();
    app.aws
        .storage
        .client()
        .await
        .put_object()
        .bucket(&app.aws.storage.streams_bucket)
        .key(format!("{track}/preview_aac_128.m4a"))
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    let path = format!("/v1/listener/tracks/{track}/stream");

    for token in [None, Some(fan.token.as_str())] {
        let r = app.get(&path, token).await;

        assert_error(&r, 403, "gated");
        let details = &r.body["error"]["details"];
        assert_eq!(details["gate"], "code");
        assert!(details["expires_at"].is_string(), "{details}");
        let preview = &details["preview"];
        assert_eq!(names(preview), ["preview_aac_128", "preview_opus_96"]);
        assert_eq!(preview[0]["codec"], "aac");
        assert_eq!(preview[0]["bitrate_kbps"], 128);
        assert_eq!(preview[0]["mime"], "audio/mp4");
        assert_eq!(preview[1]["codec"], "opus");
        assert_eq!(preview[1]["mime"], "audio/ogg");
        for (p, key) in preview.as_array().unwrap().iter().zip([
            format!("{track}/preview_aac_128.m4a"),
            format!("{track}/preview_opus_96.ogg"),
        ]) {
            let url = url::Url::parse(p["url"].as_str().unwrap()).unwrap();
            assert!(url.path().ends_with(&key), "{url}");
            assert!(url.query().unwrap().contains("X-Amz-Expires=900"), "{url}");
        }
        // Nothing of the full renditions reaches a caller without the entitlement.
        let text = r.body.to_string();
        for full in ["aac_256.m4a", "/aac_128.m4a", "/opus_96.ogg"] {
            assert!(!text.contains(full), "{full} in {text}");
        }
        assert!(r.body.get("renditions").is_none());
    }
    let r = app.get(&path, None).await;
    let url = r.body["error"]["details"]["preview"][0]["url"]
        .as_str()
        .unwrap();
    let downloaded = reqwest::get(url).await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    // Entitled, the fan streams the full renditions, and no preview is among them.
    app.entitle(&fan, release).await;
    let r = app.get(&path, Some(&fan.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        names(&r.body["renditions"]),
        ["aac_256", "aac_128", "opus_96"]
    );
    assert!(!r.body.to_string().contains("preview"), "{}", r.body);
}

#[tokio::test]
async fn a_public_track_streams_without_its_previews_among_the_renditions() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    app.previews(track).await;

    let r = app
        .get(&format!("/v1/listener/tracks/{track}/stream"), None)
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        names(&r.body["renditions"]),
        ["aac_256", "aac_128", "opus_96"]
    );
    assert!(!r.body.to_string().contains("preview"), "{}", r.body);
}

#[tokio::test]
async fn a_gated_track_transcoded_before_previews_offers_an_empty_preview_list() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "paid", None).await;
    let track = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    // Previews that are not complete (a job still running) are not offered either.
    app.previews(track).await;
    app.execute(
        "UPDATE variants SET status = 'generating'
          WHERE name = 'preview_opus_96' AND key LIKE $1",
        &[&format!("{track}/%")],
    )
    .await;
    app.execute(
        "DELETE FROM variants WHERE name = 'preview_aac_128' AND key LIKE $1",
        &[&format!("{track}/%")],
    )
    .await;

    let r = app
        .get(&format!("/v1/listener/tracks/{track}/stream"), None)
        .await;

    assert_error(&r, 403, "gated");
    assert_eq!(r.body["error"]["details"]["gate"], "paid");
    assert_eq!(r.body["error"]["details"]["preview"], serde_json::json!([]));
}

#[tokio::test]
async fn a_track_is_playable_only_while_its_current_master_has_complete_renditions() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -14.0, -1.0).await;
    let playable = async || {
        let album = app
            .get(&format!("/v1/listener/albums/{release}"), None)
            .await;
        assert_eq!(album.status, 200, "{}", album.body);
        album.body["tracks"][0]["playable"].clone()
    };
    assert_eq!(playable().await, true);

    // Its transcode is superseded (a new master is on its way): no longer playable.
    app.execute(
        "UPDATE transcode_jobs SET superseded_at = now()
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1)",
        &[&track],
    )
    .await;
    assert_eq!(playable().await, false);
    // The flag is the database's to keep: a writer setting it changes nothing.
    app.execute("UPDATE tracks SET playable = true WHERE id = $1", &[&track])
        .await;
    assert_eq!(playable().await, false);

    // The job current again: so are its renditions.
    app.execute(
        "UPDATE transcode_jobs SET superseded_at = NULL
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1)",
        &[&track],
    )
    .await;
    assert_eq!(playable().await, true, "the renditions are there again");
    // None complete (failed), then one complete again: playable with the first.
    app.execute(
        "UPDATE variants SET status = 'failed'
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1)",
        &[&track],
    )
    .await;
    assert_eq!(playable().await, false);
    app.execute(
        "UPDATE variants SET status = 'complete'
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1) AND name = 'opus_96'",
        &[&track],
    )
    .await;
    assert_eq!(playable().await, true);
}

#[tokio::test]
async fn album_gain_follows_a_track_analysed_again_and_a_track_removed() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let first = app.playable_track(release, 1, 60_000, -14.0, -6.0).await;
    let second = app.playable_track(release, 2, 60_000, -14.0, -6.0).await;
    let gain = async || {
        let r = app
            .get(&format!("/v1/listener/tracks/{first}/stream"), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["loudness"]["album_gain_db"].clone()
    };
    assert_eq!(gain().await, 0.0);

    // Both tracks analysed louder: the album needs -6 dB.
    app.execute(
        "UPDATE tracks SET integrated_lufs = -8 WHERE release_id = $1",
        &[&release],
    )
    .await;
    assert_eq!(gain().await, -6.0);
    // The second track gone, with a peak that now binds on the first: -1 - (-3) = 2 dB at most.
    app.execute("DELETE FROM tracks WHERE id = $1", &[&second])
        .await;
    app.execute(
        "UPDATE tracks SET integrated_lufs = -20, true_peak_dbtp = -3 WHERE id = $1",
        &[&first],
    )
    .await;
    assert_eq!(gain().await, 2.0);
    // Nobody but the database writes the release's loudness.
    app.execute(
        "UPDATE releases SET album_lufs = 0, album_max_peak = 0 WHERE id = $1",
        &[&release],
    )
    .await;
    assert_eq!(gain().await, 2.0);
}

/// Two writers at once on the rows a derived column comes from, each in its own transaction:
/// `first` runs and stays open; `second` is sent while it is, and runs until it has either
/// finished or is waiting for a lock `first` holds (Postgres says which); then `first` commits.
async fn interleaved(app: &App, first: &str, second: &'static str, args: Uuid) {
    let one = app.db.pool.get().await.unwrap();
    let two = app.db.pool.get().await.unwrap();
    let watch = app.db.pool.get().await.unwrap();
    let second_pid: i32 = two
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    one.batch_execute("BEGIN").await.unwrap();
    one.execute(first, &[&args]).await.unwrap();
    let racing = tokio::spawn(async move {
        two.batch_execute("BEGIN").await.unwrap();
        two.execute(second, &[&args]).await.unwrap();
        two.batch_execute("COMMIT").await.unwrap();
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: bool = watch
            .query_one(
                "SELECT coalesce(bool_or(wait_event_type = 'Lock'), false)
                   FROM pg_stat_activity WHERE pid = $1",
                &[&second_pid],
            )
            .await
            .unwrap()
            .get(0);
        if waiting || racing.is_finished() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second writer neither finished nor waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    one.batch_execute("COMMIT").await.unwrap();
    racing.await.unwrap();
}

#[tokio::test]
async fn a_rendition_completing_while_its_job_is_superseded_leaves_the_track_unplayable() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let track = app.playable_track(release, 1, 180_000, -14.0, -1.0).await;
    // Its renditions still to finish.
    app.execute(
        "UPDATE variants SET status = 'failed'
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1)",
        &[&track],
    )
    .await;

    // The studio supersedes the job while the worker completes one of its renditions.
    interleaved(
        &app,
        "UPDATE transcode_jobs SET superseded_at = now()
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1)",
        "UPDATE variants SET status = 'complete'
          WHERE asset_id = (SELECT master_asset_id FROM tracks WHERE id = $1) AND name = 'aac_256'",
        track,
    )
    .await;

    let album = app
        .get(&format!("/v1/listener/albums/{release}"), None)
        .await;
    assert_eq!(album.status, 200, "{}", album.body);
    assert_eq!(
        album.body["tracks"][0]["playable"], false,
        "the only complete rendition belongs to a superseded job"
    );
}

#[tokio::test]
async fn two_tracks_analysed_at_once_both_count_in_the_album_gain() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let first = app.playable_track(release, 1, 60_000, -14.0, -12.0).await;
    app.playable_track(release, 2, 60_000, -14.0, -12.0).await;

    // Each track analysed again, louder, by two workers at once.
    interleaved(
        &app,
        "UPDATE tracks SET integrated_lufs = -8 WHERE release_id = $1 AND position = 1",
        "UPDATE tracks SET integrated_lufs = -8 WHERE release_id = $1 AND position = 2",
        release,
    )
    .await;

    let r = app
        .get(&format!("/v1/listener/tracks/{first}/stream"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Both at -8 LUFS: the album is at -8 and needs -6 dB (seeing one change only, it would be
    // at about -10 LUFS and need about -4).
    assert_eq!(r.body["loudness"]["album_gain_db"], -6.0);
}

#[tokio::test]
async fn the_album_page_follows_its_tracks_renamed_reordered_added_and_removed() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let first = app.playable_track(release, 1, 60_000, -14.0, -3.0).await;
    let second = app.playable_track(release, 2, 60_000, -14.0, -3.0).await;
    let listed = async || {
        let album = app
            .get(&format!("/v1/listener/albums/{release}"), None)
            .await;
        assert_eq!(album.status, 200, "{}", album.body);
        album.body["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["title"].as_str().unwrap().to_owned(), t["id"].clone()))
            .collect::<Vec<_>>()
    };
    let id = |t: Uuid| serde_json::json!(t.to_string());
    assert_eq!(
        listed().await,
        [
            ("Track 1".into(), id(first)),
            ("Track 2".into(), id(second))
        ]
    );

    // The first renamed, and the order reversed, in one statement.
    app.execute(
        "UPDATE tracks SET position = 10 - position,
                           title = CASE WHEN id = $2 THEN 'Closer' ELSE title END
          WHERE release_id = $1",
        &[&release, &first],
    )
    .await;
    assert_eq!(
        listed().await,
        [("Track 2".into(), id(second)), ("Closer".into(), id(first))]
    );
    // One more, and one gone.
    let third = app.track(release, 12, 30_000).await;
    app.execute("DELETE FROM tracks WHERE id = $1", &[&second])
        .await;
    assert_eq!(
        listed().await,
        [("Closer".into(), id(first)), ("Track 12".into(), id(third))]
    );

    // Only the database writes the list: a writer's own is put back.
    app.execute(
        "UPDATE releases SET track_list = '[]' WHERE id = $1",
        &[&release],
    )
    .await;
    assert_eq!(listed().await.len(), 2);
}

use hound_testing::Call;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn listeners_and_anonymous_callers_are_refused() {
    let app = App::new().await;
    let listener = app.account("listener", "fan@example.com").await;
    assert_error(
        &app.call(Call::get("/v1/studio/releases"), &listener).await,
        403,
        "role_required",
    );
    assert_error(
        &Call::get("/v1/studio/profile").send(&app.router).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn an_artist_edits_their_profile() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let body = json!({"name": "  Sigur Rós ", "bio": "From Reykjavík.", "links": ["https://sigur-ros.example/"]});
    let r = app
        .call(Call::new("PUT", "/v1/studio/profile").json(&body), &artist)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Sigur Rós");
    assert_eq!(r.body["links"], json!(["https://sigur-ros.example/"]));
    let shown = app.call(Call::get("/v1/studio/profile"), &artist).await;
    assert_eq!(shown.body["bio"], "From Reykjavík.");
    assert_eq!(
        shown.body["notification_prefs"],
        json!({"job_ready": true, "job_failed": true}),
        "both mails by default"
    );

    // One preference changed; the other kept, and kept again by a PUT that names none.
    let quiet = json!({"name": "Sigur Rós", "notification_prefs": {"job_ready": false}});
    let r = app
        .call(Call::new("PUT", "/v1/studio/profile").json(&quiet), &artist)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["notification_prefs"],
        json!({"job_ready": false, "job_failed": true})
    );
    let r = app
        .call(Call::new("PUT", "/v1/studio/profile").json(&body), &artist)
        .await;
    assert_eq!(r.body["notification_prefs"]["job_ready"], false);
    let unknown = json!({"name": "Sigur Rós", "notification_prefs": {"newsletter": true}});
    let r = app
        .call(
            Call::new("PUT", "/v1/studio/profile").json(&unknown),
            &artist,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let bad = json!({"name": "", "bio": "x".repeat(2001), "links": ["http://insecure.example/"]});
    let r = app
        .call(Call::new("PUT", "/v1/studio/profile").json(&bad), &artist)
        .await;
    assert_error(&r, 400, "invalid_request");
    for field in ["name", "bio", "links"] {
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn releases_are_created_as_drafts_and_listed_newest_first_by_cursor() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let first = app.create_release(&artist, "First").await;
    assert_eq!(first["status"], "draft");
    assert_eq!(first["access"], "public");
    assert_eq!(first["tracks"], json!([]));
    app.create_release(&artist, "Second").await;
    app.create_release(&artist, "Third").await;

    let page = app
        .call(Call::get("/v1/studio/releases?limit=2"), &artist)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let titles: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].clone())
        .collect();
    assert_eq!(titles, vec![json!("Third"), json!("Second")]);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .call(
            Call::get(&format!("/v1/studio/releases?limit=2&cursor={cursor}")),
            &artist,
        )
        .await;
    assert_eq!(rest.body["items"][0]["title"], "First");
    assert!(rest.body["next_cursor"].is_null());

    assert_error(
        &app.call(Call::get("/v1/studio/releases?cursor=garbage"), &artist)
            .await,
        400,
        "invalid_request",
    );
    assert_error(
        &app.call(Call::get("/v1/studio/releases?limit=0"), &artist)
            .await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn release_fields_are_validated() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let r = app
        .call(
            Call::post("/v1/studio/releases")
                .json(&json!({"title": "", "kind": "album", "upc": "12", "access": "paid"})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    for field in ["title", "upc", "price_credits"] {
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.body
        );
    }
    let r = app
        .call(
            Call::post("/v1/studio/releases").json(&json!({"title": "X", "kind": "mixtape"})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    // A date the calendar type holds but the database does not (before 4713 BC).
    let r = app
        .call(
            Call::post("/v1/studio/releases")
                .json(&json!({"title": "X", "kind": "ep", "release_date": "-9999-01-01"})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    let paid = app
        .call(
            Call::post("/v1/studio/releases")
                .json(&json!({"title": "X", "kind": "ep", "access": "paid", "price_credits": 300, "release_date": "2026-12-01"})),
            &artist,
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["price_credits"], 300);
    assert_eq!(paid.body["release_date"], "2026-12-01");
}

#[tokio::test]
async fn patch_changes_only_what_is_sent_and_null_clears() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app
        .call(
            Call::post("/v1/studio/releases")
                .json(&json!({"title": "A", "kind": "album", "genre": "Ambient"})),
            &artist,
        )
        .await
        .body;
    let path = format!("/v1/studio/releases/{}", id(&release));
    let r = app
        .call(
            Call::new("PATCH", &path).json(&json!({"title": "B"})),
            &artist,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["title"].clone(), r.body["genre"].clone()),
        (json!("B"), json!("Ambient"))
    );
    let r = app
        .call(
            Call::new("PATCH", &path).json(&json!({"genre": null})),
            &artist,
        )
        .await;
    assert!(r.body["genre"].is_null());
}

#[tokio::test]
async fn another_artists_release_is_not_found() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let release = app.create_release(&owner, "Mine").await;
    let path = format!("/v1/studio/releases/{}", id(&release));
    assert_error(&app.call(Call::get(&path), &other).await, 404, "not_found");
    assert_error(
        &app.call(Call::new("DELETE", &path), &other).await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(
            Call::post(&format!("{path}/tracks")).json(&json!({"title": "x"})),
            &other,
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(Call::get("/v1/studio/releases/not-a-uuid"), &owner)
            .await,
        404,
        "not_found",
    );
    assert_eq!(app.call(Call::get(&path), &owner).await.status, 200);
}

#[tokio::test]
async fn tracks_append_reorder_and_close_gaps() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Album").await);
    let a = id(&app.add_track(&artist, &release, "A").await);
    let b = id(&app.add_track(&artist, &release, "B").await);
    let c = app.add_track(&artist, &release, "C").await;
    assert_eq!(c["position"], 3);
    let c = id(&c);

    let order = format!("/v1/studio/releases/{release}/tracks/order");
    let r = app
        .call(
            Call::new("PUT", &order).json(&json!({"track_ids": [c, a, b]})),
            &artist,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let titles: Vec<_> = r.body["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].clone())
        .collect();
    assert_eq!(titles, vec![json!("C"), json!("A"), json!("B")]);

    let r = app
        .call(
            Call::new("PUT", &order).json(&json!({"track_ids": [c, a]})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");
    let r = app
        .call(
            Call::new("PUT", &order).json(&json!({"track_ids": [c, a, a]})),
            &artist,
        )
        .await;
    assert_error(&r, 400, "invalid_request");

    let r = app
        .call(
            Call::new(
                "DELETE",
                &format!("/v1/studio/releases/{release}/tracks/{a}"),
            ),
            &artist,
        )
        .await;
    assert_eq!(r.status, 204);
    let shown = app
        .call(
            Call::get(&format!("/v1/studio/releases/{release}")),
            &artist,
        )
        .await;
    let positions: Vec<_> = shown.body["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["title"].clone(), t["position"].clone()))
        .collect();
    assert_eq!(
        positions,
        vec![(json!("C"), json!(1)), (json!("B"), json!(2))]
    );
}

#[tokio::test]
async fn concurrent_appends_get_distinct_positions() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Album").await);
    let adds = (0..8).map(|i| {
        app.call(
            Call::post(&format!("/v1/studio/releases/{release}/tracks"))
                .json(&json!({"title": format!("T{i}")})),
            &artist,
        )
    });
    let responses = futures::future::join_all(adds).await;
    assert!(responses.iter().all(|r| r.status == 201));
    let mut positions: Vec<i64> = responses
        .iter()
        .map(|r| r.body["position"].as_i64().unwrap())
        .collect();
    positions.sort();
    assert_eq!(positions, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn isrcs_are_checked_and_normalised() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Album").await);
    let path = format!("/v1/studio/releases/{release}/tracks");
    let ok = app
        .call(
            Call::post(&path).json(&json!({"title": "A", "isrc": "us-s1z-99-00001"})),
            &artist,
        )
        .await;
    assert_eq!(ok.body["isrc"], "USS1Z9900001");
    let bad = app
        .call(
            Call::post(&path).json(&json!({"title": "A", "isrc": "nope"})),
            &artist,
        )
        .await;
    assert_error(&bad, 400, "invalid_request");
}

#[tokio::test]
async fn a_tracks_preview_start_is_set_by_patch_within_the_longest_master() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = id(&app.create_release(&artist, "Album").await);
    let track = app.add_track(&artist, &release, "Long").await;
    assert_eq!(track["preview_start_ms"], 0, "the beginning by default");
    let path = format!("/v1/studio/releases/{release}/tracks/{}", id(&track));
    let patch = |body: serde_json::Value| Call::new("PATCH", &path).json(&body);

    let r = app
        .call(patch(json!({"preview_start_ms": 45_500})), &artist)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["preview_start_ms"], 45_500);
    // Other changes keep it.
    let r = app.call(patch(json!({"title": "Longer"})), &artist).await;
    assert_eq!(r.body["preview_start_ms"], 45_500);

    for bad in [json!(-1), json!(1_800_000), json!(2.5), json!("45s")] {
        let r = app
            .call(patch(json!({"preview_start_ms": bad})), &artist)
            .await;
        assert_error(&r, 400, "invalid_request");
        assert!(
            r.body["error"]["details"]["fields"]["preview_start_ms"].is_string(),
            "{bad}: {}",
            r.body
        );
    }
    let r = app
        .call(patch(json!({"preview_start_ms": 1_799_999})), &artist)
        .await;
    assert_eq!(r.body["preview_start_ms"], 1_799_999);

    let created = app
        .call(
            Call::post(&format!("/v1/studio/releases/{release}/tracks"))
                .json(&json!({"title": "Other", "preview_start_ms": 10_000})),
            &artist,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["preview_start_ms"], 10_000);
}

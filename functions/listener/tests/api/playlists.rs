//! Playlists: CRUD, limits under concurrency, items, order, soft delete and restore, public
//! reads, and tracks that become unreachable.

use hound_domain::listener::{MAX_PLAYLIST_TRACKS, MAX_PLAYLISTS};
use hound_testing::{Call, TestResponse};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

async fn create(app: &App, who: &Account, body: Value) -> TestResponse {
    Call::post("/v1/listener/playlists")
        .bearer(&who.token)
        .json(&body)
        .send(&app.router)
        .await
}

async fn add(app: &App, who: &Account, playlist: &str, track: Uuid) -> TestResponse {
    Call::post(&format!("/v1/listener/playlists/{playlist}/tracks"))
        .bearer(&who.token)
        .json(&json!({ "track_id": track }))
        .send(&app.router)
        .await
}

fn order(response: &TestResponse) -> Vec<String> {
    response.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["track_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A published public album of `n` bare tracks.
async fn album(app: &App, artist: &Account, n: i32) -> (Uuid, Vec<Uuid>) {
    let (release, _) = app.release(artist, "published", "public", None).await;
    let mut tracks = Vec::new();
    for position in 1..=n {
        tracks.push(app.track(release, position, 180_000).await);
    }
    (release, tracks)
}

#[tokio::test]
async fn a_playlist_is_created_renamed_filled_reordered_deleted_and_restored() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (_, tracks) = album(&app, &artist, 3).await;

    assert_error(&create(&app, &ada, json!({})).await, 400, "invalid_request");
    assert_error(
        &create(&app, &ada, json!({"name": "  "})).await,
        400,
        "invalid_request",
    );
    let created = create(&app, &ada, json!({"name": "Morning", "is_public": false})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["track_count"], 0);
    assert_error(
        &create(&app, &ada, json!({"name": "MORNING"})).await,
        409,
        "name_taken",
    );

    for track in &tracks {
        assert_eq!(add(&app, &ada, &id, *track).await.status, 200);
    }
    assert_error(
        &add(&app, &ada, &id, tracks[0]).await,
        409,
        "already_in_playlist",
    );
    assert_error(
        &add(&app, &ada, &id, Uuid::new_v4()).await,
        404,
        "not_found",
    );

    // Removing the middle track leaves no gap: positions stay 1..n.
    let removed = Call::new("DELETE", &format!("/v1/listener/playlists/{id}/tracks"))
        .bearer(&ada.token)
        .json(&json!({"track_id": tracks[1]}))
        .send(&app.router)
        .await;
    assert_eq!(removed.body["track_count"], 2, "{}", removed.body);
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    let positions: Vec<&Value> = read.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["position"])
        .collect();
    assert_eq!(positions, [&json!(1), &json!(2)]);
    assert_eq!(order(&read), [tracks[0].to_string(), tracks[2].to_string()]);
    assert_eq!(read.body["items"][0]["track"]["title"], "Track 1");
    assert!(read.body["items"][0]["release"]["artist"]["name"].is_string());

    // A swap passes through equal positions; the order check waits for the commit.
    let swapped = Call::new("PUT", &format!("/v1/listener/playlists/{id}/tracks/order"))
        .bearer(&ada.token)
        .json(&json!({"track_ids": [tracks[2], tracks[0]]}))
        .send(&app.router)
        .await;
    assert_eq!(swapped.status, 200, "{}", swapped.body);
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(order(&read), [tracks[2].to_string(), tracks[0].to_string()]);
    for bad in [
        json!([tracks[2]]),
        json!([tracks[2], tracks[2]]),
        json!([tracks[2], tracks[1]]),
    ] {
        let refused = Call::new("PUT", &format!("/v1/listener/playlists/{id}/tracks/order"))
            .bearer(&ada.token)
            .json(&json!({ "track_ids": bad }))
            .send(&app.router)
            .await;
        assert_error(&refused, 400, "invalid_request");
    }

    let renamed = Call::new("PATCH", &format!("/v1/listener/playlists/{id}"))
        .bearer(&ada.token)
        .json(&json!({"name": "Evening"}))
        .send(&app.router)
        .await;
    assert_eq!(renamed.body["name"], "Evening");

    // Soft delete: gone from the list, its items with it; restored within 30 days.
    let deleted = Call::new("DELETE", &format!("/v1/listener/playlists/{id}"))
        .bearer(&ada.token)
        .send(&app.router)
        .await;
    assert_eq!(deleted.status, 204);
    let list = app.get("/v1/listener/playlists", Some(&ada.token)).await;
    assert_eq!(list.body["items"], json!([]));
    // Its name is free again while it is deleted; restoring then needs a free name.
    let taken = create(&app, &ada, json!({"name": "evening"})).await;
    assert_eq!(taken.status, 201);
    let restore = |id: String| {
        let app = &app;
        let token = ada.token.clone();
        async move {
            Call::post(&format!("/v1/listener/playlists/{id}/restore"))
                .bearer(&token)
                .send(&app.router)
                .await
        }
    };
    assert_error(&restore(id.clone()).await, 409, "name_taken");
    let other = taken.body["id"].as_str().unwrap();
    Call::new("DELETE", &format!("/v1/listener/playlists/{other}"))
        .bearer(&ada.token)
        .send(&app.router)
        .await;
    let restored = restore(id.clone()).await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["track_count"], 2);
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(order(&read).len(), 2);

    // Thirty days on, a deleted playlist is gone for good.
    app.execute(
        "UPDATE playlists SET deleted_at = now() - interval '31 days' WHERE id = $1",
        &[&other.parse::<Uuid>().unwrap()],
    )
    .await;
    assert_error(&restore(other.to_owned()).await, 404, "not_found");
}

#[tokio::test]
async fn sixty_concurrent_creates_leave_exactly_fifty_playlists() {
    let app = App::new().await;
    let ada = app.account("listener", "ada@example.com").await;
    let answers = futures::future::join_all(
        (0..60).map(|i| create(&app, &ada, json!({ "name": format!("List {i}") }))),
    )
    .await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == 409 && a.body["error"]["code"] == "limit_reached")
        .count();
    assert_eq!((created, refused), (MAX_PLAYLISTS as usize, 10));
    assert_eq!(
        app.count("SELECT count(*) FROM playlists WHERE deleted_at IS NULL")
            .await,
        i64::from(MAX_PLAYLISTS)
    );
}

#[tokio::test]
async fn a_hundred_and_twenty_concurrent_adds_leave_exactly_a_hundred_tracks() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (_, tracks) = album(&app, &artist, 120).await;
    let created = create(&app, &ada, json!({"name": "Everything"})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();

    let answers = futures::future::join_all(tracks.iter().map(|t| add(&app, &ada, &id, *t))).await;
    let added = answers.iter().filter(|a| a.status == 200).count();
    let full = answers
        .iter()
        .filter(|a| a.status == 409 && a.body["error"]["code"] == "limit_reached")
        .count();
    assert_eq!((added, full), (MAX_PLAYLIST_TRACKS as usize, 20));
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    let positions: Vec<i64> = read.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..=100).collect::<Vec<i64>>());
}

#[tokio::test]
async fn public_playlists_show_reachable_tracks_and_private_ones_are_not_found() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let bob = app.account("listener", "bob@example.com").await;
    let (release, tracks) = album(&app, &artist, 2).await;
    let (other, other_tracks) = album(&app, &artist, 1).await;
    let _ = release;
    let private = create(&app, &ada, json!({"name": "Mine"})).await;
    let private = private.body["id"].as_str().unwrap().to_owned();
    let public = create(&app, &ada, json!({"name": "Ours", "is_public": true})).await;
    let public = public.body["id"].as_str().unwrap().to_owned();
    for track in tracks.iter().chain(&other_tracks) {
        add(&app, &ada, &public, *track).await;
    }

    for token in [Some(bob.token.as_str()), None] {
        let hidden = app
            .get(&format!("/v1/listener/playlists/{private}"), token)
            .await;
        assert_error(&hidden, 404, "not_found");
        let shown = app
            .get(&format!("/v1/listener/playlists/{public}"), token)
            .await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert_eq!(shown.body["mine"], false);
        assert_eq!(order(&shown).len(), 3);
    }
    // Only its owner changes it.
    assert_error(&add(&app, &bob, &public, tracks[0]).await, 404, "not_found");
    let rename = Call::new("PATCH", &format!("/v1/listener/playlists/{public}"))
        .bearer(&bob.token)
        .json(&json!({"name": "Theirs"}))
        .send(&app.router)
        .await;
    assert_error(&rename, 404, "not_found");

    // The artist takes one album back to draft: its track leaves other readers' view, and stays
    // in the owner's playlist marked unavailable, with nothing more said about it.
    app.execute(
        "UPDATE releases SET status = 'draft', published_at = NULL, publish_at = NULL WHERE id = $1",
        &[&other],
    )
    .await;
    let theirs = app
        .get(&format!("/v1/listener/playlists/{public}"), None)
        .await;
    assert_eq!(order(&theirs).len(), 2);
    let mine = app
        .get(
            &format!("/v1/listener/playlists/{public}"),
            Some(&ada.token),
        )
        .await;
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let gone = items
        .iter()
        .find(|i| i["track_id"] == json!(other_tracks[0]))
        .unwrap();
    assert_eq!(gone["available"], false);
    assert!(
        gone.get("track").is_none() && gone.get("release").is_none(),
        "{gone}"
    );
}

#[tokio::test]
async fn a_smart_playlist_is_evaluated_at_every_read_from_bound_values_only() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (ambient, ambient_tracks) = album(&app, &artist, 3).await;
    let (pop, _) = album(&app, &artist, 2).await;
    app.execute(
        "UPDATE releases SET genre = 'Ambient' WHERE id = $1",
        &[&ambient],
    )
    .await;
    app.execute("UPDATE releases SET genre = 'Pop' WHERE id = $1", &[&pop])
        .await;
    app.execute(
        "UPDATE tracks SET duration_ms = 600000 WHERE id = $1",
        &[&ambient_tracks[0]],
    )
    .await;

    let rules = json!({
        "match": "all",
        "rules": [
            {"field": "genre", "op": "is", "value": "ambient"},
            {"field": "duration", "op": "gt", "value": 200000}
        ],
        "sort": "-duration"
    });
    let created = create(&app, &ada, json!({"name": "Long ambient", "rules": rules})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["rules"]["match"], "all");
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(
        order(&read),
        [ambient_tracks[0].to_string()],
        "{}",
        read.body
    );

    // Never stale: a track that starts to match shows at the next read, a hidden one never.
    app.execute(
        "UPDATE tracks SET duration_ms = 300000 WHERE id = $1",
        &[&ambient_tracks[1]],
    )
    .await;
    let (draft, _) = app.release(&artist, "draft", "public", None).await;
    app.execute(
        "UPDATE releases SET genre = 'ambient' WHERE id = $1",
        &[&draft],
    )
    .await;
    let hidden = app.track(draft, 1, 900_000).await;
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(
        order(&read),
        [ambient_tracks[0].to_string(), ambient_tracks[1].to_string()]
    );
    assert!(!order(&read).contains(&hidden.to_string()));

    // Its tracks follow its rules only.
    assert_error(
        &add(&app, &ada, &id, ambient_tracks[2]).await,
        409,
        "smart_playlist",
    );

    // Personal fields are the reader's own: saved.
    let saved_rules =
        json!({"match": "all", "rules": [{"field": "saved", "op": "is", "value": true}]});
    let saved = create(
        &app,
        &ada,
        json!({"name": "Saved", "is_public": true, "rules": saved_rules}),
    )
    .await;
    let saved_id = saved.body["id"].as_str().unwrap().to_owned();
    Call::post(&format!("/v1/listener/tracks/{}/save", ambient_tracks[2]))
        .bearer(&ada.token)
        .send(&app.router)
        .await;
    let mine = app
        .get(
            &format!("/v1/listener/playlists/{saved_id}"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(order(&mine), [ambient_tracks[2].to_string()]);
    let anonymous = app
        .get(&format!("/v1/listener/playlists/{saved_id}"), None)
        .await;
    assert_eq!(order(&anonymous), Vec::<String>::new());
}

#[tokio::test]
async fn smart_rules_with_unknown_fields_or_operators_are_refused_with_the_field_named() {
    let app = App::new().await;
    let ada = app.account("listener", "ada@example.com").await;
    let refused = create(
        &app,
        &ada,
        json!({"name": "Bad", "rules": {"match": "any", "rules": [
            {"field": "mood", "op": "is", "value": "happy"},
            {"field": "genre", "op": "matches", "value": ".*"}
        ]}}),
    )
    .await;
    assert_error(&refused, 400, "invalid_request");
    let problem = refused.body["error"]["details"]["fields"]["rules"]
        .as_str()
        .unwrap();
    assert!(problem.contains("unknown field `mood`"), "{problem}");
    assert!(problem.contains("unknown operator `matches`"), "{problem}");

    // A value is only ever a value: this one matches nothing and harms nothing.
    let hostile = "x') OR 1=1; DROP TABLE tracks; --";
    let created = create(
        &app,
        &ada,
        json!({"name": "Hostile", "rules": {"match": "all", "rules": [
            {"field": "artist", "op": "contains", "value": hostile}
        ]}}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["items"], json!([]));
    assert_eq!(
        app.count("SELECT count(*) FROM pg_tables WHERE tablename = 'tracks'")
            .await,
        1
    );
}

#[tokio::test]
async fn drafts_are_kept_twenty_to_a_token_even_when_saved_at_once() {
    let app = App::new().await;
    let token = "anonymous-client-token-0123456789abcdef";
    let draft = |i: usize| {
        Call::post("/v1/listener/drafts")
            .json(&json!({"draft_token": token, "kind": "playlist", "body": {"name": format!("D{i}")}}))
            .send(&app.router)
    };
    let answers = futures::future::join_all((0..25).map(draft)).await;
    let kept = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == 409 && a.body["error"]["code"] == "limit_reached")
        .count();
    assert_eq!((kept, refused), (20, 5));
    assert!(
        answers[0].body["expires_at"].is_string()
            || answers.iter().any(|a| a.body["expires_at"].is_string())
    );

    for body in [
        json!({"draft_token": "short", "kind": "playlist", "body": {"name": "x"}}),
        json!({"draft_token": format!("{token}-other"), "kind": "playlist", "body": {}}),
        json!({"draft_token": format!("{token}-other"), "kind": "mix", "body": {"name": "m", "layers": []}}),
        json!({"draft_token": format!("{token}-other"), "kind": "playlist", "body": {"name": "x", "is_public": "yes"}}),
    ] {
        let refused = Call::post("/v1/listener/drafts")
            .json(&body)
            .send(&app.router)
            .await;
        assert_error(&refused, 400, "invalid_request");
    }
}

#[tokio::test]
async fn smart_rules_on_votes_plays_and_dates_select_the_readers_tracks() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (release, tracks) = album(&app, &artist, 3).await;
    app.execute(
        "UPDATE releases SET release_date = '2020-05-01' WHERE id = $1",
        &[&release],
    )
    .await;
    app.execute(
        "UPDATE tracks SET integrated_lufs = -9 WHERE id = $1",
        &[&tracks[2]],
    )
    .await;
    let voted = Call::post(&format!("/v1/listener/tracks/{}/vote", tracks[0]))
        .bearer(&ada.token)
        .json(&json!({"value": 1}))
        .send(&app.router)
        .await;
    assert_eq!(voted.status, 200, "{}", voted.body);
    app.execute(
        "INSERT INTO play_counts (user_id, track_id, day, plays) VALUES ($1, $2, current_date - 2, 4)",
        &[&ada.user_id, &tracks[1]],
    )
    .await;

    let cases = [
        (
            json!({"field": "voted", "op": "is", "value": 1}),
            vec![tracks[0]],
        ),
        (
            json!({"field": "play_count", "op": "gt", "value": 3}),
            vec![tracks[1]],
        ),
        (
            json!({"field": "last_played", "op": "within_days", "value": 7}),
            vec![tracks[1]],
        ),
        (
            json!({"field": "loudness", "op": "gt", "value": -10}),
            vec![tracks[2]],
        ),
        (
            json!({"field": "release_date", "op": "before", "value": "2021-01-01"}),
            tracks.clone(),
        ),
        (
            json!({"field": "release_date", "op": "after", "value": "2021-01-01"}),
            vec![],
        ),
    ];
    for (i, (rule, expected)) in cases.into_iter().enumerate() {
        let created = create(
            &app,
            &ada,
            json!({"name": format!("Rule {i}"), "rules": {"match": "all", "rules": [rule], "sort": "title"}}),
        )
        .await;
        assert_eq!(created.status, 201, "{rule}: {}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let read = app
            .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
            .await;
        assert_eq!(read.status, 200, "{rule}: {}", read.body);
        let mut got = order(&read);
        got.sort();
        let mut want: Vec<String> = expected.iter().map(Uuid::to_string).collect();
        want.sort();
        assert_eq!(got, want, "{rule}");
    }
    let too_far = create(
        &app,
        &ada,
        json!({"name": "Far", "rules": {"match": "all", "rules": [{"field": "last_played", "op": "within_days", "value": 3000000}]}}),
    )
    .await;
    assert_error(&too_far, 400, "invalid_request");
}

#[tokio::test]
async fn tracks_deleted_by_the_studio_leave_no_gap_and_a_true_count() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (_, tracks) = album(&app, &artist, 5).await;
    let created = create(&app, &ada, json!({"name": "Five"})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for track in &tracks {
        assert_eq!(add(&app, &ada, &id, *track).await.status, 200);
    }
    // Two non-adjacent items go in one statement, as a release delete cascades.
    app.execute(
        "DELETE FROM tracks WHERE id = ANY($1)",
        &[&vec![tracks[1], tracks[3]]],
    )
    .await;
    let read = app
        .get(&format!("/v1/listener/playlists/{id}"), Some(&ada.token))
        .await;
    assert_eq!(read.body["track_count"], 3, "{}", read.body);
    let positions: Vec<i64> = read.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(
        order(&read),
        [
            tracks[0].to_string(),
            tracks[2].to_string(),
            tracks[4].to_string()
        ]
    );
    // The next add takes position 4.
    let (_, more) = album(&app, &artist, 1).await;
    assert_eq!(add(&app, &ada, &id, more[0]).await.body["track_count"], 4);
}

//! Mixes: layers of reachable tracks, renditions per layer for the reader, public and private.

use hound_testing::{Call, TestResponse};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

async fn save(app: &App, who: &Account, method: &str, path: &str, body: Value) -> TestResponse {
    Call::new(method, path)
        .bearer(&who.token)
        .json(&body)
        .send(&app.router)
        .await
}

fn layer(track: Uuid, volume: f64) -> Value {
    json!({"track_id": track, "volume": volume, "loop": true, "delay_ms": 250})
}

#[tokio::test]
async fn a_mix_gives_each_reader_the_layers_they_may_play() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let bob = app.account("listener", "bob@example.com").await;
    let (open, _) = app.release(&artist, "published", "public", None).await;
    let rain = app.playable_track(open, 1, 60_000, -14.0, -1.0).await;
    let (gated, _) = app.release(&artist, "published", "code", None).await;
    let drums = app.playable_track(gated, 1, 60_000, -14.0, -1.0).await;
    app.entitle(&ada, gated).await;

    let created = save(
        &app,
        &ada,
        "POST",
        "/v1/listener/mixes",
        json!({"name": "Storm", "is_public": true, "layers": [layer(rain, 0.8), layer(drums, 0.3)]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    // The creator plays both layers; Bob is not entitled to the gated one.
    let mine = app
        .get(&format!("/v1/listener/mixes/{id}"), Some(&ada.token))
        .await;
    let layers = mine.body["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert!(
        layers.iter().all(|l| l["available"] == true),
        "{}",
        mine.body
    );
    assert_eq!(layers[0]["volume"], 0.8);
    assert_eq!(layers[0]["loop"], true);
    assert_eq!(layers[0]["delay_ms"], 250);
    assert!(
        layers[0]["renditions"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    let theirs = app
        .get(&format!("/v1/listener/mixes/{id}"), Some(&bob.token))
        .await;
    let layers = theirs.body["layers"].as_array().unwrap();
    assert_eq!(layers[0]["available"], true);
    assert_eq!(layers[1]["available"], false);
    assert!(
        layers[1].get("renditions").is_none(),
        "never a URL: {}",
        theirs.body
    );

    // Private mixes are 404 to others and missing from their list.
    let private = save(
        &app,
        &ada,
        "POST",
        "/v1/listener/mixes",
        json!({"name": "Quiet", "is_public": false, "layers": [layer(rain, 0.5)]}),
    )
    .await;
    let private = private.body["id"].as_str().unwrap().to_owned();
    assert_error(
        &app.get(&format!("/v1/listener/mixes/{private}"), Some(&bob.token))
            .await,
        404,
        "not_found",
    );
    let listed = app.get("/v1/listener/mixes", Some(&bob.token)).await;
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Storm"]);
    let own = app
        .get("/v1/listener/mixes?mine=true", Some(&ada.token))
        .await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 2);
    assert_error(
        &app.get("/v1/listener/mixes?mine=true", None).await,
        401,
        "unauthorized",
    );

    // Only the creator replaces or deletes it.
    let replaced = save(
        &app,
        &bob,
        "PUT",
        &format!("/v1/listener/mixes/{id}"),
        json!({"name": "Mine now", "layers": [layer(rain, 1.0)]}),
    )
    .await;
    assert_error(&replaced, 404, "not_found");
    let replaced = save(
        &app,
        &ada,
        "PUT",
        &format!("/v1/listener/mixes/{id}"),
        json!({"name": "Storm II", "is_public": true, "layers": [layer(drums, 1.0)]}),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let read = app.get(&format!("/v1/listener/mixes/{id}"), None).await;
    assert_eq!(read.body["name"], "Storm II");
    assert_eq!(read.body["layers"].as_array().unwrap().len(), 1);
    let deleted = Call::new("DELETE", &format!("/v1/listener/mixes/{id}"))
        .bearer(&ada.token)
        .send(&app.router)
        .await;
    assert_eq!(deleted.status, 204);
    assert_error(
        &app.get(&format!("/v1/listener/mixes/{id}"), None).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn a_mix_needs_one_to_sixteen_valid_layers_of_tracks_its_creator_reaches() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (open, _) = app.release(&artist, "published", "public", None).await;
    let rain = app.playable_track(open, 1, 60_000, -14.0, -1.0).await;
    let (draft, _) = app.release(&artist, "draft", "public", None).await;
    let hidden = app.track(draft, 1, 60_000).await;

    for (body, problem) in [
        (json!({"name": "Empty", "layers": []}), "1–16 layers"),
        (
            json!({"name": "Crowd", "layers": vec![layer(rain, 0.5); 17]}),
            "1–16 layers",
        ),
        (
            json!({"name": "Loud", "layers": [layer(rain, 1.5)]}),
            "layers[0].volume",
        ),
        (
            json!({"name": "Late", "layers": [{"track_id": rain, "volume": 0.5, "delay_ms": 4_000_000}]}),
            "layers[0].delay_ms",
        ),
        (
            json!({"name": "Hidden", "layers": [layer(rain, 0.5), layer(hidden, 0.5)]}),
            "layers[1].track_id",
        ),
    ] {
        let refused = save(&app, &ada, "POST", "/v1/listener/mixes", body).await;
        assert_error(&refused, 400, "invalid_request");
        assert!(
            refused.body["error"]["details"]["fields"]["layers"]
                .as_str()
                .unwrap()
                .contains(problem),
            "{}",
            refused.body
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM mixes").await, 0);
    let anonymous = Call::post("/v1/listener/mixes")
        .json(&json!({"name": "Nobody", "layers": [layer(rain, 0.5)]}))
        .send(&app.router)
        .await;
    assert_error(&anonymous, 401, "unauthorized");
}

//! Checking in: the token, the time window, the place, once per listener, the grant, and the
//! throttle on wrong tokens.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::*;

#[tokio::test]
async fn a_listener_checks_in_once_with_the_current_token_and_gets_the_release() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (starts_at, ends_at) = window(-30, 90);
    let event = app
        .event(
            &artist,
            json!({"name": "Show", "starts_at": starts_at, "ends_at": ends_at, "release_id": release}),
        )
        .await;
    assert_eq!(app.gate_seen_by(&fan, release).await, "event");

    let token = app.token(&artist, &event).await;
    let r = app
        .check_in(&fan, json!({"event_id": event["id"], "token": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["checkin"]["event_id"], event["id"]);
    assert!(r.body["checkin"]["checked_in_at"].is_string());
    assert_eq!(
        r.body["grant"],
        json!({"kind": "release", "release_id": release.to_string()})
    );
    assert_eq!(app.gate_seen_by(&fan, release).await, Value::Null);

    let again = app
        .check_in(&fan, json!({"event_id": event["id"], "token": token}))
        .await;
    assert_error(&again, 409, "already_checked_in");
    assert_eq!(app.count("SELECT count(*) FROM checkins").await, 1);
}

#[tokio::test]
async fn an_event_without_a_release_checks_in_without_a_grant() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let (starts_at, ends_at) = window(-1, 60);
    let event = app
        .event(
            &artist,
            json!({"name": "Meetup", "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await;
    let token = app.token(&artist, &event).await;
    let r = app
        .check_in(&fan, json!({"event_id": event["id"], "token": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("grant").is_none(), "{}", r.body);
    assert_eq!(app.count("SELECT count(*) FROM entitlements").await, 0);
}

#[tokio::test]
async fn check_in_is_open_only_while_the_event_runs() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    for (from, to) in [(30, 90), (-120, -1)] {
        let (starts_at, ends_at) = window(from, to);
        let event = app
            .event(
                &artist,
                json!({"name": "Show", "starts_at": starts_at, "ends_at": ends_at}),
            )
            .await;
        let token = app.token(&artist, &event).await;
        let r = app
            .check_in(&fan, json!({"event_id": event["id"], "token": token}))
            .await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(r.body["error"]["details"]["reason"], "outside_window");
    }
    assert_eq!(app.count("SELECT count(*) FROM checkins").await, 0);
}

#[tokio::test]
async fn an_event_with_a_place_checks_in_only_those_within_its_radius() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let (near, far, nowhere) = (
        app.account("listener", "near@example.com").await,
        app.account("listener", "far@example.com").await,
        app.account("listener", "nowhere@example.com").await,
    );
    let (starts_at, ends_at) = window(-5, 60);
    let event = app
        .event(
            &artist,
            json!({"name": "Club", "starts_at": starts_at, "ends_at": ends_at,
                   "lat": 52.5, "lon": 13.4, "radius_m": 100}),
        )
        .await;
    let token = app.token(&artist, &event).await;
    // 0.0012° of latitude is about 133 m: outside; 0.0006° (about 67 m) is inside.
    let far_answer = app
        .check_in(
            &far,
            json!({"event_id": event["id"], "token": token, "lat": 52.5012, "lon": 13.4}),
        )
        .await;
    assert_error(&far_answer, 403, "forbidden");
    assert_eq!(
        far_answer.body["error"]["details"]["reason"],
        "outside_place"
    );
    let blind = app
        .check_in(&nowhere, json!({"event_id": event["id"], "token": token}))
        .await;
    assert_error(&blind, 403, "forbidden");
    assert_eq!(
        blind.body["error"]["details"]["reason"],
        "location_required"
    );
    let ok = app
        .check_in(
            &near,
            json!({"event_id": event["id"], "token": token, "lat": 52.5006, "lon": 13.4}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(app.count("SELECT count(*) FROM checkins").await, 1);
}

#[tokio::test]
async fn a_wrong_token_or_unknown_event_is_refused_and_ten_wrong_tokens_close_the_gate() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let guesser = app.account("listener", "guesser@example.com").await;
    let (starts_at, ends_at) = window(-5, 60);
    let event = app
        .event(
            &artist,
            json!({"name": "Show", "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await;
    let other = app
        .event(
            &artist,
            json!({"name": "Other", "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await;
    let token = app.token(&artist, &event).await;
    let other_token = app.token(&artist, &other).await;
    assert_ne!(token, other_token, "each event has its own secret");

    let unknown = app
        .check_in(
            &guesser,
            json!({"event_id": uuid::Uuid::new_v4(), "token": token}),
        )
        .await;
    assert_error(&unknown, 404, "not_found");
    let wrong = app
        .check_in(
            &guesser,
            json!({"event_id": event["id"], "token": other_token}),
        )
        .await;
    assert_error(&wrong, 403, "forbidden");
    assert_eq!(wrong.body["error"]["details"]["reason"], "invalid_token");

    // Eight more wrong guesses at once make ten failures; then even the right token waits.
    let guesses: Vec<String> = (0..8).map(|i| format!("{:08}", i)).collect();
    let answers = join_all(
        guesses
            .iter()
            .map(|g| app.check_in(&guesser, json!({"event_id": event["id"], "token": g}))),
    )
    .await;
    assert!(
        answers.iter().all(|r| r.status == 403),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let right = app
        .check_in(&guesser, json!({"event_id": event["id"], "token": token}))
        .await;
    assert_error(&right, 429, "rate_limited");
    assert!(right.headers.contains_key("retry-after"));
    assert_eq!(app.count("SELECT count(*) FROM checkins").await, 0);
}

#[tokio::test]
async fn racing_check_ins_of_one_listener_count_once() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (starts_at, ends_at) = window(-5, 60);
    let event = app
        .event(
            &artist,
            json!({"name": "Show", "starts_at": starts_at, "ends_at": ends_at, "release_id": release}),
        )
        .await;
    let token = app.token(&artist, &event).await;
    let body = json!({"event_id": event["id"], "token": token});
    let answers = join_all((0..8).map(|_| app.check_in(&fan, body.clone()))).await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.status == 409 && r.code() == "already_checked_in")
    );
    assert_eq!(app.count("SELECT count(*) FROM entitlements").await, 1);
}

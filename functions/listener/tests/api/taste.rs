//! Votes and the preference vector, suggestions, for-you, sessions and the collective.

use hound_domain::listener::{LEARNING_RATE, PER_ARTIST};
use hound_testing::Call;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

/// A track's point as `taste_point()` makes it: the embedding centred on 0.5, unit length.
fn point(embedding: [f32; 5]) -> [f64; 5] {
    let centred = embedding.map(|x| f64::from(x) - 0.5);
    let norm = centred.iter().map(|x| x * x).sum::<f64>().sqrt();
    centred.map(|x| x / norm)
}

/// Two taste clusters far apart, each with small per-track offsets.
fn near(centre: [f32; 5], i: usize) -> [f32; 5] {
    let mut e = centre;
    e[i % 5] = (e[i % 5] + 0.02 * (1 + i % 3) as f32).clamp(0.0, 1.0);
    e
}
const BRIGHT: [f32; 5] = [0.9, 0.9, 0.8, 0.2, 0.9];
const DARK: [f32; 5] = [0.1, 0.1, 0.2, 0.8, 0.1];

impl App {
    async fn embed(&self, track: Uuid, embedding: [f32; 5]) {
        self.execute(
            "UPDATE tracks SET embedding = $2 WHERE id = $1",
            &[&track, &embedding.to_vec()],
        )
        .await;
    }

    /// A published public release of `artist` with `n` playable tracks around `centre`.
    async fn album_near(&self, artist: &Account, centre: [f32; 5], n: usize) -> (Uuid, Vec<Uuid>) {
        let (release, _) = self.release(artist, "published", "public", None).await;
        let mut tracks = Vec::new();
        for i in 0..n {
            let track = self
                .playable_track(release, i as i32 + 1, 180_000, -14.0, -1.0)
                .await;
            self.embed(track, near(centre, i)).await;
            tracks.push(track);
        }
        (release, tracks)
    }

    async fn vector(&self, listener: &Account) -> Option<Vec<f64>> {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_opt(
                "SELECT vector FROM taste_vectors WHERE user_id = $1",
                &[&listener.user_id],
            )
            .await
            .unwrap()
            .map(|row| row.get(0))
    }
}

async fn vote(app: &App, who: &Account, track: Uuid, value: Value) -> hound_testing::TestResponse {
    Call::post(&format!("/v1/listener/tracks/{track}/vote"))
        .bearer(&who.token)
        .json(&json!({ "value": value }))
        .send(&app.router)
        .await
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-9, "{actual:?} != {expected:?}");
    }
}

#[tokio::test]
async fn a_vote_moves_the_vector_a_new_one_replaces_it_and_withdrawing_undoes_it() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (_, tracks) = app.album_near(&artist, BRIGHT, 1).await;
    let x = point(near(BRIGHT, 0));

    let up = vote(&app, &ada, tracks[0], json!(1)).await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.body["value"], 1);
    assert_close(
        &app.vector(&ada).await.unwrap(),
        &x.map(|v| LEARNING_RATE * v),
    );

    // A down vote replaces the up vote: its step is undone first.
    let down = vote(&app, &ada, tracks[0], json!(-1)).await;
    assert_eq!(down.body["value"], -1);
    assert_close(
        &app.vector(&ada).await.unwrap(),
        &x.map(|v| -LEARNING_RATE * v),
    );
    assert_eq!(
        app.count("SELECT count(*) FROM track_votes").await,
        1,
        "one vote per listener per track"
    );

    let withdrawn = Call::new("DELETE", &format!("/v1/listener/tracks/{}/vote", tracks[0]))
        .bearer(&ada.token)
        .send(&app.router)
        .await;
    assert_eq!(withdrawn.status, 200);
    assert_eq!(withdrawn.body["value"], Value::Null);
    assert_close(&app.vector(&ada).await.unwrap(), &[0.0; 5]);
    assert_eq!(app.count("SELECT count(*) FROM track_votes").await, 0);
    assert_eq!(
        app.count("SELECT votes::bigint FROM taste_vectors").await,
        0
    );
}

#[tokio::test]
async fn votes_need_a_reachable_track_a_token_and_a_value_of_one_or_minus_one() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (draft, _) = app.release(&artist, "draft", "public", None).await;
    let hidden = app.track(draft, 1, 1000).await;
    let (unlisted, _) = app.release(&artist, "published", "unlisted", None).await;
    let unlisted_track = app.track(unlisted, 1, 1000).await;
    let (_, tracks) = app.album_near(&artist, BRIGHT, 1).await;

    assert_error(&vote(&app, &ada, hidden, json!(1)).await, 404, "not_found");
    assert_error(
        &vote(&app, &ada, unlisted_track, json!(1)).await,
        404,
        "not_found",
    );
    assert_error(
        &vote(&app, &ada, Uuid::new_v4(), json!(1)).await,
        404,
        "not_found",
    );
    for bad in [json!(0), json!(2), json!("up"), Value::Null] {
        assert_error(
            &vote(&app, &ada, tracks[0], bad).await,
            400,
            "invalid_request",
        );
    }
    let anonymous = Call::post(&format!("/v1/listener/tracks/{}/vote", tracks[0]))
        .json(&json!({"value": 1}))
        .send(&app.router)
        .await;
    assert_error(&anonymous, 401, "unauthorized");
    assert!(
        app.vector(&ada)
            .await
            .is_none_or(|v| v.iter().all(|w| *w == 0.0))
    );
}

#[tokio::test]
async fn twenty_concurrent_votes_leave_the_vector_equal_to_all_twenty_steps() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (_, bright) = app.album_near(&artist, BRIGHT, 10).await;
    let (_, dark) = app.album_near(&artist, DARK, 10).await;
    let votes: Vec<(Uuid, i64)> = bright
        .iter()
        .map(|t| (*t, 1))
        .chain(dark.iter().map(|t| (*t, -1)))
        .collect();

    let answers = futures::future::join_all(
        votes
            .iter()
            .map(|(track, value)| vote(&app, &ada, *track, json!(value))),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == 200));

    let mut expected = [0.0; 5];
    for (i, (_, value)) in votes.iter().enumerate() {
        let centre = if i < 10 { BRIGHT } else { DARK };
        let x = point(near(centre, i % 10));
        for (w, v) in expected.iter_mut().zip(x) {
            *w += LEARNING_RATE * *value as f64 * v;
        }
    }
    assert_close(&app.vector(&ada).await.unwrap(), &expected);
    assert_eq!(
        app.count("SELECT votes::bigint FROM taste_vectors").await,
        20
    );
}

#[tokio::test]
async fn suggested_next_for_a_track_sounds_like_it_and_respects_reach_votes_and_artists() {
    let app = App::new().await;
    let seed_artist = app.account("artist", "seed@example.com").await;
    let prolific = app.account("artist", "prolific@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let gloomy = app.account("artist", "gloomy@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (seed_release, seed_tracks) = app.album_near(&seed_artist, BRIGHT, 3).await;
    let path = format!("/v1/listener/tracks/{}/suggested-next", seed_tracks[0]);
    // Alone in the catalogue, a seed the caller reaches has nothing to suggest: 200, no items.
    let alone = app.get(&path, None).await;
    assert_eq!(alone.status, 200, "{}", alone.body);
    assert_eq!(alone.body["items"], json!([]));
    // Three bright albums by one artist, one by another, a dark one, and a bright draft.
    let mut prolific_tracks = Vec::new();
    for _ in 0..3 {
        prolific_tracks.extend(app.album_near(&prolific, BRIGHT, 2).await.1);
    }
    let (_, other_bright) = app.album_near(&other, BRIGHT, 2).await;
    let (_, dark) = app.album_near(&gloomy, DARK, 2).await;
    let (draft, _) = app.release(&other, "draft", "public", None).await;
    let draft_track = app.playable_track(draft, 1, 1000, -14.0, -1.0).await;
    app.embed(draft_track, BRIGHT).await;

    // No plays at all, and no token: the catalogue alone answers.
    let anonymous = app.get(&path, None).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    let items = anonymous.body["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    let ids: Vec<Uuid> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        items
            .iter()
            .all(|i| i["release"]["id"] != json!(seed_release))
    );
    assert!(!ids.contains(&draft_track), "a draft is never suggested");
    // At most two per artist, and what sounds alike comes first.
    let by_artist = |artist: &Value| {
        items
            .iter()
            .filter(|i| &i["release"]["artist"]["id"] == artist)
            .count()
    };
    let prolific_id = items
        .iter()
        .find(|i| prolific_tracks.contains(&i["id"].as_str().unwrap().parse().unwrap()))
        .map(|i| i["release"]["artist"]["id"].clone())
        .unwrap();
    assert_eq!(by_artist(&prolific_id) as i64, PER_ARTIST, "{items:?}");
    assert_eq!(items.len(), 6, "two of each other artist: {items:?}");
    let first_dark = ids.iter().position(|t| dark.contains(t)).unwrap();
    let last_bright = ids
        .iter()
        .rposition(|t| other_bright.contains(t) || prolific_tracks.contains(t))
        .unwrap();
    assert!(
        last_bright < first_dark,
        "bright tracks rank above dark ones: {ids:?}"
    );
    assert!(items.iter().all(|i| i["reason"] == "sounds_like"));
    assert!(items.iter().all(|i| i["score"].is_number()));

    // A track voted down disappears from the voter's suggestions only.
    let downvoted = ids[0];
    assert_eq!(vote(&app, &ada, downvoted, json!(-1)).await.status, 200);
    let mine = app.get(&path, Some(&ada.token)).await;
    let mine_ids: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(!mine_ids.contains(&downvoted.to_string().as_str()));
    let theirs = app.get(&path, None).await;
    assert_eq!(theirs.body["items"][0]["id"], json!(downvoted));

    // A hidden seed is 404.
    let hidden = app
        .get(
            &format!("/v1/listener/tracks/{draft_track}/suggested-next"),
            None,
        )
        .await;
    assert_error(&hidden, 404, "not_found");
}

/// A paid release is open to everyone's view but streamable only by its buyers: it is suggested
/// to a listener entitled to it, never to anyone else, and follows its release's access.
#[tokio::test]
async fn a_paid_release_is_suggested_only_to_those_who_may_stream_it() {
    let app = App::new().await;
    let seed_artist = app.account("artist", "seed@example.com").await;
    let seller = app.account("artist", "seller@example.com").await;
    let buyer = app.account("listener", "buyer@example.com").await;
    let browser = app.account("listener", "browser@example.com").await;
    let (_, seed_tracks) = app.album_near(&seed_artist, BRIGHT, 1).await;
    let (paid, _) = app.release(&seller, "published", "paid", None).await;
    let paid_track = app.playable_track(paid, 1, 180_000, -14.0, -1.0).await;
    app.embed(paid_track, BRIGHT).await;
    app.entitle(&buyer, paid).await;

    let path = format!("/v1/listener/tracks/{}/suggested-next", seed_tracks[0]);
    let suggested = |token: Option<String>| {
        let (app, path) = (&app, &path);
        async move {
            let r = app.get(path, token.as_deref()).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().parse::<Uuid>().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(suggested(Some(buyer.token.clone())).await, vec![paid_track]);
    assert!(suggested(Some(browser.token.clone())).await.is_empty());
    assert!(suggested(None).await.is_empty());

    // Made public, anyone may stream it, and everyone is offered it.
    app.execute(
        "UPDATE releases SET access = 'public', price_credits = NULL WHERE id = $1",
        &[&paid],
    )
    .await;
    assert_eq!(suggested(None).await, vec![paid_track]);
    assert_eq!(
        suggested(Some(browser.token.clone())).await,
        vec![paid_track]
    );
}

#[tokio::test]
async fn suggested_next_for_an_album_never_names_itself_and_follows_the_callers_taste() {
    let app = App::new().await;
    let a = app.account("artist", "a@example.com").await;
    let b = app.account("artist", "b@example.com").await;
    let c = app.account("artist", "c@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    // The seed sits almost between the two (opposite) clusters, a little nearer the dark one;
    // a taste for the bright one must outweigh that.
    let between = [0.8, 0.2, 0.5, 0.5, 0.4];
    let (seed, _) = app.album_near(&a, between, 2).await;
    let (bright, bright_tracks) = app.album_near(&b, BRIGHT, 2).await;
    let (dark, _) = app.album_near(&c, DARK, 2).await;

    let path = format!("/v1/listener/albums/{seed}/suggested-next");
    let anonymous = app.get(&path, None).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    let ids: Vec<&Value> = anonymous.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert!(!ids.contains(&&json!(seed)));
    assert_eq!(ids, [&json!(dark), &json!(bright)]);

    for track in &bright_tracks {
        assert_eq!(vote(&app, &ada, *track, json!(1)).await.status, 200);
    }
    let tasted = app.get(&path, Some(&ada.token)).await;
    assert_eq!(
        tasted.body["items"][0]["id"],
        json!(bright),
        "{}",
        tasted.body
    );
    assert_eq!(
        tasted.body["items"][0]["reason"], "your_taste",
        "{}",
        tasted.body
    );
    assert!(tasted.body["items"][0]["artist"]["name"].is_string());

    let missing = app
        .get(
            &format!("/v1/listener/albums/{}/suggested-next", Uuid::new_v4()),
            None,
        )
        .await;
    assert_error(&missing, 404, "not_found");
}

#[tokio::test]
async fn for_you_is_popular_by_genre_for_a_new_listener_and_follows_their_votes() {
    let app = App::new().await;
    let a = app.account("artist", "a@example.com").await;
    let b = app.account("artist", "b@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (bright, bright_tracks) = app.album_near(&a, BRIGHT, 2).await;
    let (dark, _) = app.album_near(&b, DARK, 2).await;
    app.execute(
        "UPDATE releases SET genre = 'pop' WHERE id = $1",
        &[&bright],
    )
    .await;
    app.execute(
        "UPDATE releases SET genre = 'ambient' WHERE id = $1",
        &[&dark],
    )
    .await;

    assert_eq!(
        app.get("/v1/listener/home", None).await.body["for_you"],
        json!([])
    );
    let fresh = app.get("/v1/listener/home", Some(&ada.token)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let genres: Vec<&Value> = fresh.body["for_you"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(genres.contains(&&json!(bright)) && genres.contains(&&json!(dark)));

    for track in &bright_tracks {
        assert_eq!(vote(&app, &ada, *track, json!(1)).await.status, 200);
    }
    let tasted = app.get("/v1/listener/home", Some(&ada.token)).await;
    assert_eq!(
        tasted.body["for_you"][0]["id"],
        json!(bright),
        "{}",
        tasted.body
    );
}

#[tokio::test]
async fn the_collective_counts_active_listeners_and_blends_them_once_there_are_enough() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let (bright, bright_tracks) = app.album_near(&artist, BRIGHT, 2).await;
    let other = app.account("artist", "other@example.com").await;
    let (_, _) = app.album_near(&other, DARK, 2).await;
    let mut listeners = Vec::new();
    for i in 0..3 {
        listeners.push(app.account("listener", &format!("l{i}@example.com")).await);
    }

    let empty = app.get("/v1/listener/collective", None).await;
    assert_eq!(empty.body, json!({"active_listeners": 0, "items": []}));

    // Only two of them have a taste so far.
    for listener in &listeners[..2] {
        assert_eq!(
            vote(&app, listener, bright_tracks[0], json!(1))
                .await
                .status,
            200
        );
    }
    // Two active: counted, but their blend would be too close to someone's own taste.
    for listener in &listeners[..2] {
        let beat = Call::post("/v1/listener/sessions/heartbeat")
            .bearer(&listener.token)
            .send(&app.router)
            .await;
        assert_eq!(beat.status, 200, "{}", beat.body);
        assert!(beat.body["active_until"].is_string());
    }
    // A fresh router: the collective is cached for a minute per instance.
    let fresh = || {
        router_with(
            &app.aws,
            app.db.pool_as(hound_domain::db::roles::LISTENER),
            None,
        )
    };
    let two = Call::get("/v1/listener/collective").send(&fresh()).await;
    assert_eq!(two.body["active_listeners"], 2);
    assert_eq!(two.body["items"], json!([]));

    let beat = Call::post("/v1/listener/sessions/heartbeat")
        .bearer(&listeners[2].token)
        .send(&app.router)
        .await;
    assert_eq!(beat.status, 200);
    // Three active, but one has no taste: the mean would still be two people's.
    let three = Call::get("/v1/listener/collective").send(&fresh()).await;
    assert_eq!(three.body["active_listeners"], 3);
    assert_eq!(three.body["items"], json!([]));
    assert_eq!(
        vote(&app, &listeners[2], bright_tracks[0], json!(1))
            .await
            .status,
        200
    );
    let three = Call::get("/v1/listener/collective").send(&fresh()).await;
    assert_eq!(
        three.body["items"][0]["id"],
        json!(bright),
        "{}",
        three.body
    );
    assert!(
        three.body.to_string().find("@example.com").is_none(),
        "no one is named"
    );

    // An hour after the last beat a listener is no longer active.
    app.execute(
        "UPDATE listening_sessions SET last_beat_at = now() - interval '61 minutes' WHERE user_id = $1",
        &[&listeners[0].user_id],
    )
    .await;
    let later = Call::get("/v1/listener/collective").send(&fresh()).await;
    assert_eq!(later.body["active_listeners"], 2);
    assert_eq!(later.body["items"], json!([]));
}

#[tokio::test]
async fn what_enough_listeners_played_next_is_suggested_as_listeners_also_played() {
    let app = App::new().await;
    let a = app.account("artist", "a@example.com").await;
    let b = app.account("artist", "b@example.com").await;
    let c = app.account("artist", "c@example.com").await;
    let (_, seed) = app.album_near(&a, BRIGHT, 1).await;
    let (_, played_next) = app.album_near(&b, DARK, 1).await;
    let (_, played_once) = app.album_near(&c, DARK, 1).await;
    // What the maintenance schedule counts (functions/maintenance/tests): three listeners played
    // `played_next` after the seed; one listener played `played_once`, which makes no pair.
    app.execute(
        "INSERT INTO co_listen_pairs (track_a, track_b, listeners) VALUES ($1, $2, 3), ($1, $3, 1)",
        &[&seed[0], &played_next[0], &played_once[0]],
    )
    .await;

    let answer = app
        .get(
            &format!("/v1/listener/tracks/{}/suggested-next", seed[0]),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let items = answer.body["items"].as_array().unwrap();
    let find = |track: Uuid| {
        items
            .iter()
            .position(|i| i["id"] == json!(track))
            .unwrap_or_else(|| panic!("{track} missing: {items:?}"))
    };
    let (next, once) = (find(played_next[0]), find(played_once[0]));
    assert_eq!(items[next]["reason"], "listeners_also_played");
    assert_eq!(items[once]["reason"], "sounds_like");
    assert!(next < once, "{items:?}");
}

/// The suggestions run on their generic plan, a setting that must not outlive their statement:
/// the one connection that served them, with a token and without, plans as usual after.
#[tokio::test]
async fn the_suggestions_plan_setting_does_not_outlive_them() {
    let app = App::new().await;
    let artist = app.account("artist", "artist@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let ada = app.account("listener", "ada@example.com").await;
    let (album, tracks) = app.album_near(&artist, BRIGHT, 2).await;
    app.album_near(&other, BRIGHT, 2).await;
    let pool = app.db.pool_sized(hound_domain::db::roles::LISTENER, 1);
    let router = router_with(&app.aws, pool.clone(), None);
    let paths = [
        format!("/v1/listener/tracks/{}/suggested-next", tracks[0]),
        format!("/v1/listener/albums/{album}/suggested-next"),
    ];
    for path in &paths {
        for token in [None, Some(ada.token.as_str())] {
            let call = Call::get(path);
            let call = match token {
                Some(token) => call.bearer(token),
                None => call,
            };
            let r = call.send(&router).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(!r.body["items"].as_array().unwrap().is_empty());
            let client = pool.get().await.unwrap();
            let mode: String = client
                .query_one("SHOW plan_cache_mode", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(mode, "auto", "{path}, token: {}", token.is_some());
        }
    }
}

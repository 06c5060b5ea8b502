//! Redeeming: what a code grants, the once-per-listener and max-uses rules under real
//! concurrency, expiry, and the brute-force throttle.

use futures::StreamExt as _;
use futures::future::join_all;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn a_code_unlocks_its_release_and_forgives_case_spaces_and_dashes() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app.issue(&artist, release, json!({"count": 1})).await;
    assert_eq!(app.gate_seen_by(&fan, release).await, "code");

    let typed = format!(" {} {} ", codes[0][..4].to_lowercase(), &codes[0][5..]);
    let r = app.redeem(&fan, &typed).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"grant": {"kind": "release", "release_id": release.to_string()}})
    );
    assert_eq!(
        app.gate_seen_by(&fan, release).await,
        serde_json::Value::Null
    );
    assert_eq!(
        app.count("SELECT count(*) FROM entitlements WHERE source = 'code'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_listener_redeems_a_code_once_and_a_used_up_code_is_exhausted() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let first = app.account("listener", "first@example.com").await;
    let second = app.account("listener", "second@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app
        .issue(&artist, release, json!({"count": 2, "max_uses": 1}))
        .await;

    assert_eq!(app.redeem(&first, &codes[0]).await.status, 200);
    assert_error(
        &app.redeem(&first, &codes[0]).await,
        409,
        "already_redeemed",
    );
    // Another code of a release they already have is not spent on them.
    assert_error(
        &app.redeem(&first, &codes[1]).await,
        409,
        "already_redeemed",
    );
    assert_error(&app.redeem(&second, &codes[0]).await, 409, "code_exhausted");
    assert_eq!(app.gate_seen_by(&second, release).await, "code");
    // The second code is still whole for someone else.
    assert_eq!(app.redeem(&second, &codes[1]).await.status, 200);
    assert_eq!(
        app.count("SELECT sum(uses)::bigint FROM access_codes")
            .await,
        2
    );
}

#[tokio::test]
async fn an_expired_code_is_gone_and_unknown_or_malformed_codes_are_told_apart() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app
        .issue(
            &artist,
            release,
            json!({"count": 1, "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    app.execute(
        "UPDATE code_batches SET expires_at = now() - interval '1 second'",
        &[],
    )
    .await;
    assert_error(&app.redeem(&fan, &codes[0]).await, 410, "expired");
    assert_error(&app.redeem(&fan, "ZZZZ-ZZZZ").await, 404, "not_found");
    let malformed = app.redeem(&fan, "not a code").await;
    assert_error(&malformed, 400, "invalid_request");
    assert!(malformed.body["error"]["details"]["fields"]["code"].is_string());
    assert_eq!(app.gate_seen_by(&fan, release).await, "code");
    assert_eq!(app.count("SELECT count(*) FROM redemptions").await, 0);
}

#[tokio::test]
async fn a_hundred_racing_listeners_get_exactly_max_uses_grants() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app
        .issue(&artist, release, json!({"count": 1, "max_uses": 10}))
        .await;
    // Accounts are made a few at a time (each signup holds an admin connection while it
    // hashes); the redeems below all go at once.
    let listeners: Vec<Account> = futures::stream::iter(0..100)
        .map(|i| {
            let app = &app;
            async move {
                app.account("listener", &format!("fan{i}@example.com"))
                    .await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;

    let answers = join_all(listeners.iter().map(|l| app.redeem(l, &codes[0]))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    let exhausted = answers
        .iter()
        .filter(|r| r.status == 409 && r.code() == "code_exhausted")
        .count();
    assert_eq!(
        (won, exhausted),
        (10, 90),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.count("SELECT uses::bigint FROM access_codes").await, 10);
    assert_eq!(app.count("SELECT count(*) FROM entitlements").await, 10);
    assert_eq!(app.count("SELECT count(*) FROM redemptions").await, 10);
}

#[tokio::test]
async fn one_listener_racing_the_same_code_redeems_it_once() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app
        .issue(&artist, release, json!({"count": 1, "max_uses": 5}))
        .await;
    let answers = join_all((0..10).map(|_| app.redeem(&fan, &codes[0]))).await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.status == 409 && r.code() == "already_redeemed")
    );
    assert_eq!(app.count("SELECT uses::bigint FROM access_codes").await, 1);
}

#[tokio::test]
async fn ten_failed_guesses_an_hour_close_the_gate_to_that_listener_only() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let guesser = app.account("listener", "guesser@example.com").await;
    let bystander = app.account("listener", "bystander@example.com").await;
    let release = app.gated_release(&artist).await;
    let (_, codes) = app.issue(&artist, release, json!({"count": 2})).await;

    // Twenty guesses at once: the budget holds under concurrency.
    let guesses: Vec<String> = (0..20)
        .map(|i| format!("ZZZZ-ZZ{:02}", 22 + i % 8))
        .collect();
    let answers = join_all(guesses.iter().map(|g| app.redeem(&guesser, g))).await;
    let not_found = answers.iter().filter(|r| r.status == 404).count();
    let throttled: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!((not_found, throttled.len()), (10, 10));
    let retry: u64 = throttled[0].headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(throttled[0].code(), "rate_limited");

    // Even a right code waits; someone else is not affected.
    assert_error(&app.redeem(&guesser, &codes[0]).await, 429, "rate_limited");
    assert_eq!(app.redeem(&bystander, &codes[1]).await.status, 200);

    // Once the failures age out of the hour, the gate opens again.
    app.execute(
        "UPDATE gate_failures SET failed_at = failed_at - interval '61 minutes'",
        &[],
    )
    .await;
    assert_eq!(app.redeem(&guesser, &codes[0]).await.status, 200);
}

/// A batch of platform codes worth `credits` each, issued as `hound credit-codes` does (the
/// owner role, the same code keys as the redeem function).
async fn credit_codes(app: &App, credits: i32, count: u32, max_uses: i32) -> Vec<String> {
    let mut client = app.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL ROLE hound_owner")
        .await
        .unwrap();
    let input = hound_domain::gates::NewCodes {
        count,
        max_uses: Some(max_uses),
        expires_at: None,
        note: Some("launch promo".into()),
    };
    let (_, codes) = hound_domain::gates::issue_credit_codes(
        &tx,
        &hound_testing::test_gate_keys().0,
        credits,
        input,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    codes
}

async fn available(app: &App, who: &Account) -> i64 {
    let r = Call::get("/v1/listener/credits")
        .bearer(&who.token)
        .send(&app.listener)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["available"].as_i64().unwrap()
}

#[tokio::test]
async fn a_credits_code_books_a_grant_once_per_listener_and_no_more_than_its_uses() {
    let app = App::new().await;
    let codes = credit_codes(&app, 5, 1, 2).await;
    let first = app.account("listener", "one@example.com").await;
    let second = app.account("listener", "two@example.com").await;
    let third = app.account("listener", "three@example.com").await;

    let r = app.redeem(&first, &codes[0].to_lowercase()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["grant"], json!({"kind": "credits", "credits": 5}));
    assert_eq!(available(&app, &first).await, 15);
    assert_error(
        &app.redeem(&first, &codes[0]).await,
        409,
        "already_redeemed",
    );
    assert_eq!(available(&app, &first).await, 15, "granted once");

    assert_eq!(app.redeem(&second, &codes[0]).await.status, 200);
    assert_error(&app.redeem(&third, &codes[0]).await, 409, "code_exhausted");
    assert_eq!(available(&app, &third).await, 10);

    let r = Call::get("/v1/listener/credits")
        .bearer(&second.token)
        .send(&app.listener)
        .await;
    assert_eq!(r.body["entries"][0]["kind"], "grant");
    assert_eq!(r.body["entries"][0]["amount"], 5);
    assert_eq!(r.body["entries"][0]["balance_after"], 15);

    // Nobody's studio lists a platform batch.
    assert_eq!(
        app.count("SELECT count(*) FROM code_batches WHERE credits = 5 AND artist_id IS NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn twenty_listeners_racing_for_a_ten_use_credits_code_get_ten_grants() {
    let app = App::new().await;
    let code = credit_codes(&app, 3, 1, 10).await.remove(0);
    let mut fans = Vec::new();
    for n in 0..20 {
        fans.push(
            app.account("listener", &format!("racer{n}@example.com"))
                .await,
        );
    }
    let answers = futures::future::join_all(fans.iter().map(|fan| app.redeem(fan, &code))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    let exhausted = answers
        .iter()
        .filter(|r| r.status == 409 && r.code() == "code_exhausted")
        .count();
    assert_eq!((won, exhausted), (10, 10));
    assert_eq!(
        app.count("SELECT coalesce(sum(amount), 0)::bigint FROM credit_entries WHERE external_id LIKE 'code:%'")
            .await,
        30
    );
}

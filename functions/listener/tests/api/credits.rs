//! Credits: the welcome grant, unlocking a paid release with credits, and the races that must
//! not overdraw a balance.

use futures::future::join_all;
use hound_testing::Call;
use serde_json::Value;
use uuid::Uuid;

use crate::*;

async fn credits(app: &App, who: &Account) -> Value {
    let r = app.get("/v1/listener/credits", Some(&who.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn unlock(app: &App, who: &Account, release: Uuid) -> TestResponse {
    Call::post(&format!("/v1/listener/releases/{release}/unlock"))
        .bearer(&who.token)
        .send(&app.router)
        .await
}

async fn paid_release(app: &App, artist: &Account, price: i32) -> Uuid {
    let (release, _) = app.release(artist, "published", "paid", None).await;
    app.execute(
        "UPDATE releases SET price_credits = $2 WHERE id = $1",
        &[&release, &price],
    )
    .await;
    release
}

async fn gate(app: &App, who: &Account, release: Uuid) -> Value {
    let r = app
        .get(&format!("/v1/listener/albums/{release}"), Some(&who.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["gate"].clone()
}

#[tokio::test]
async fn a_new_account_starts_with_ten_credits_from_the_welcome_grant() {
    let app = App::new().await;
    let fan = app.account("listener", "fan@example.com").await;
    let body = credits(&app, &fan).await;
    assert_eq!(body["available"], 10);
    assert_eq!(body["held"], 0);
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "grant");
    assert_eq!(entries[0]["amount"], 10);
    assert_eq!(entries[0]["balance_after"], 10);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn unlocking_a_paid_release_spends_its_price_and_opens_it() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = paid_release(&app, &artist, 4).await;
    assert_eq!(gate(&app, &fan, release).await, "paid");

    let r = unlock(&app, &fan, release).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["available"], 6);
    assert_eq!(r.body["entitlement"]["release_id"], release.to_string());
    assert_eq!(r.body["entitlement"]["source"], "paid");
    assert_eq!(r.body["entitlement"]["price_credits"], 4);
    assert_eq!(gate(&app, &fan, release).await, Value::Null);

    let body = credits(&app, &fan).await;
    assert_eq!(body["available"], 6);
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries[0]["kind"], "usage");
    assert_eq!(entries[0]["amount"], -4);
    assert_eq!(entries[0]["balance_after"], 6);
    assert_eq!(entries[0]["release_id"], release.to_string());
    assert_eq!(entries[1]["kind"], "grant");

    assert_error(&unlock(&app, &fan, release).await, 409, "already_unlocked");
    assert_eq!(
        credits(&app, &fan).await["available"],
        6,
        "not charged twice"
    );
}

#[tokio::test]
async fn what_cannot_be_bought_is_refused_and_nothing_is_booked() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let dear = paid_release(&app, &artist, 11).await;
    let r = unlock(&app, &fan, dear).await;
    assert_error(&r, 409, "insufficient_credits");
    assert_eq!(r.body["error"]["details"]["available"], 10);
    assert_eq!(r.body["error"]["details"]["price"], 11);
    assert_eq!(gate(&app, &fan, dear).await, "paid");

    let (public, _) = app.release(&artist, "published", "public", None).await;
    assert_error(&unlock(&app, &fan, public).await, 409, "not_for_sale");
    let (draft, _) = app.release(&artist, "draft", "paid", None).await;
    assert_error(&unlock(&app, &fan, draft).await, 404, "not_found");
    assert_error(&unlock(&app, &fan, Uuid::new_v4()).await, 404, "not_found");

    let body = credits(&app, &fan).await;
    assert_eq!(body["available"], 10);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn fifty_racing_unlocks_against_credits_for_ten_leave_ten_unlocks_and_zero() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let mut releases = Vec::new();
    for _ in 0..50 {
        releases.push(paid_release(&app, &artist, 1).await);
    }
    let answers = join_all(releases.iter().map(|r| unlock(&app, &fan, *r))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    let short = answers
        .iter()
        .filter(|r| r.status == 409 && r.code() == "insufficient_credits")
        .count();
    assert_eq!((won, short), (10, 40));
    let body = credits(&app, &fan).await;
    assert_eq!(body["available"], 0);
    assert_eq!(
        app.count("SELECT count(*) FROM entitlements WHERE source = 'paid'")
            .await,
        10
    );
    assert_eq!(
        app.count("SELECT count(*) FROM credit_entries WHERE kind = 'usage'")
            .await,
        10
    );
    // The listener's entries add up to their balance, and the last one says so.
    let ledger = format!(
        "FROM credit_entries e JOIN credit_accounts a ON a.id = e.account_id
          WHERE a.user_id = '{}'",
        fan.user_id
    );
    assert_eq!(
        app.count(&format!("SELECT sum(e.amount)::bigint {ledger}"))
            .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT e.balance_after {ledger} ORDER BY e.created_at DESC, e.id DESC LIMIT 1"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn racing_unlocks_of_one_release_charge_once() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = paid_release(&app, &artist, 3).await;
    let answers = join_all((0..10).map(|_| unlock(&app, &fan, release))).await;
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|r| r.status != 200)
            .all(|r| r.status == 409 && r.code() == "already_unlocked"),
        "{:?}",
        answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
    );
    assert_eq!(credits(&app, &fan).await["available"], 7);
}

#[tokio::test]
async fn the_ledger_pages_newest_first_and_shows_only_the_callers_entries() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let other = app.account("listener", "other@example.com").await;
    for _ in 0..3 {
        let release = paid_release(&app, &artist, 1).await;
        assert_eq!(unlock(&app, &fan, release).await.status, 200);
    }
    let first = app
        .get("/v1/listener/credits?limit=2", Some(&fan.token))
        .await;
    assert_eq!(first.body["entries"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["entries"][0]["balance_after"], 7);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/listener/credits?limit=2&cursor={cursor}"),
            Some(&fan.token),
        )
        .await;
    let rest = second.body["entries"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["kind"], "grant");
    assert_eq!(second.body["next_cursor"], Value::Null);
    // The other listener sees their own grant only.
    let theirs = credits(&app, &other).await;
    assert_eq!(theirs["available"], 10);
    assert_eq!(theirs["entries"].as_array().unwrap().len(), 1);
    let anonymous = app.get("/v1/listener/credits", None).await;
    assert_error(&anonymous, 401, "unauthorized");
}

async fn settle_preorders(app: &App) -> (u32, u32) {
    let task: maintenance::Task = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/maintenance-preorders.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let report = maintenance::Maintenance::new(
        app.db.pool_as(hound_domain::db::roles::MAINTENANCE),
        app.aws.storage.clone(),
        app.aws.mailer.clone(),
    )
    .handle(task)
    .await
    .unwrap();
    let run = report.preorders.expect("a pre-order run");
    (run.captured, run.released)
}

#[tokio::test]
async fn a_scheduled_paid_release_is_preordered_then_captured_at_publication_or_given_back_when_withdrawn()
 {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let next_week = Some(time::OffsetDateTime::now_utc() + time::Duration::days(7));
    let (kept, _) = app.release(&artist, "scheduled", "paid", next_week).await;
    let (withdrawn, _) = app.release(&artist, "scheduled", "paid", next_week).await;
    let (free_later, _) = app.release(&artist, "scheduled", "public", next_week).await;
    for release in [kept, withdrawn] {
        app.execute(
            "UPDATE releases SET price_credits = 4 WHERE id = $1",
            &[&release],
        )
        .await;
    }
    let track = app.playable_track(kept, 1, 180_000, -14.0, -1.0).await;

    // The page of a scheduled paid release shows (to pre-order it); a scheduled free one does not.
    assert_eq!(gate(&app, &fan, kept).await, "paid");
    assert_error(
        &app.get(
            &format!("/v1/listener/albums/{free_later}"),
            Some(&fan.token),
        )
        .await,
        404,
        "not_found",
    );

    let r = unlock(&app, &fan, kept).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["preordered"], true);
    assert_eq!(
        (r.body["available"].as_i64(), r.body["held"].as_i64()),
        (Some(6), Some(4))
    );
    let r = unlock(&app, &fan, withdrawn).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["available"].as_i64(), r.body["held"].as_i64()),
        (Some(2), Some(8))
    );
    assert_error(&unlock(&app, &fan, kept).await, 409, "already_unlocked");
    assert_error(&unlock(&app, &fan, free_later).await, 404, "not_found");
    let entries = credits(&app, &fan).await["entries"].clone();
    assert_eq!(entries[0]["kind"], "reserve");
    assert_eq!(entries[0]["amount"], -4);
    assert_eq!(entries[0]["held_delta"], 4);

    // Not yet published: the audio waits, also for who pre-ordered it; nothing is settled.
    let stream = app
        .get(
            &format!("/v1/listener/tracks/{track}/stream"),
            Some(&fan.token),
        )
        .await;
    assert_error(&stream, 403, "gated");
    assert_eq!(settle_preorders(&app).await, (0, 0));

    // Its time comes; the artist takes the other one back.
    app.execute(
        "UPDATE releases SET publish_at = now() - interval '1 second' WHERE id = $1",
        &[&kept],
    )
    .await;
    app.execute(
        "UPDATE releases SET status = 'submitted', publish_at = NULL WHERE id = $1",
        &[&withdrawn],
    )
    .await;
    let stream = app
        .get(
            &format!("/v1/listener/tracks/{track}/stream"),
            Some(&fan.token),
        )
        .await;
    assert_eq!(
        stream.status, 200,
        "the pre-order opens at publication: {}",
        stream.body
    );

    assert_eq!(settle_preorders(&app).await, (1, 1));
    let body = credits(&app, &fan).await;
    assert_eq!(
        (body["available"].as_i64(), body["held"].as_i64()),
        (Some(6), Some(0))
    );
    let kinds: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["capture", "release"], "{kinds:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM entitlements WHERE release_id = '{withdrawn}'"
        ))
        .await,
        0,
        "a withdrawn pre-order takes its entitlement with it"
    );
    assert_eq!(settle_preorders(&app).await, (0, 0), "settled once");

    // Who pre-ordered is mailed that it is out, once.
    let title: String = app
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT title FROM releases WHERE id = $1", &[&kept])
        .await
        .unwrap()
        .get(0);
    let email: String = app
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT email FROM users WHERE id = $1", &[&fan.user_id])
        .await
        .unwrap()
        .get(0);
    let out: Vec<_> = hound_testing::mail_to(&email)
        .await
        .into_iter()
        .filter(|m| m.subject == format!("Out now: {title}"))
        .collect();
    assert_eq!(out.len(), 1, "{out:?}");
}

#[tokio::test]
async fn racing_preorders_hold_no_more_than_the_balance() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let next_week = Some(time::OffsetDateTime::now_utc() + time::Duration::days(7));
    let mut releases = Vec::new();
    for _ in 0..12 {
        let (release, _) = app.release(&artist, "scheduled", "paid", next_week).await;
        app.execute(
            "UPDATE releases SET price_credits = 3 WHERE id = $1",
            &[&release],
        )
        .await;
        releases.push(release);
    }
    let answers = join_all(releases.iter().map(|r| unlock(&app, &fan, *r))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 3, "10 credits hold three pre-orders of 3");
    let body = credits(&app, &fan).await;
    assert_eq!(
        (body["available"].as_i64(), body["held"].as_i64()),
        (Some(1), Some(9))
    );
}

//! The `pro` plan: a subscription started through the local Stripe, whose signed events (sent by
//! localstripe) turn the plan on and book the period's credits; cancelling, events out of
//! order, a declined card, and the playlist limit the plan raises.

use std::time::Duration;

use hound_domain::plans::{FREE_MAX_PLAYLISTS, PRO_MONTHLY_CREDITS};
use serde_json::{Value, json};

use crate::*;

/// The `pro` plan exists in localstripe (as `make dev` creates it); creating it twice is fine.
async fn pro_plan() {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/plans", stripe()))
        .basic_auth("sk_test_hound", Some(""))
        .form(&[
            ("id", hound_domain::money::DEFAULT_PRO_PLAN),
            ("amount", "499"),
            ("currency", "eur"),
            ("interval", "month"),
            ("product[name]", "Hound Pro"),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status < 500, "{}", response.text().await.unwrap());
}

async fn subscribe(app: &App, who: &Account, body: Value) -> TestResponse {
    Call::post("/v1/listener/subscription")
        .bearer(&who.token)
        .json(&body)
        .send(&app.listener)
        .await
}

async fn plan(app: &App, who: &Account) -> (String, String) {
    let client = app.db.pool.get().await.unwrap();
    client
        .query_opt(
            "SELECT plan, status FROM subscriptions WHERE user_id = $1",
            &[&who.user_id],
        )
        .await
        .unwrap()
        .map_or(("free".into(), "none".into()), |row| {
            (row.get(0), row.get(1))
        })
}

async fn create_playlist(app: &App, who: &Account, n: usize) -> TestResponse {
    Call::post("/v1/listener/playlists")
        .bearer(&who.token)
        .json(&json!({"name": format!("List {n}")}))
        .send(&app.listener)
        .await
}

/// A `customer.subscription.*` event as Stripe shapes it, created at `created`.
fn subscription_event(
    event_id: &str,
    kind: &str,
    sub: &str,
    customer: &str,
    status: &str,
    created: i64,
) -> Value {
    json!({
        "id": event_id, "object": "event", "api_version": "2017-08-15", "type": kind,
        "created": created,
        "data": {"object": {
            "id": sub, "object": "subscription", "customer": customer, "status": status,
            "current_period_end": created + 30 * 86_400, "cancel_at_period_end": false
        }}
    })
}

#[tokio::test]
async fn a_paid_pro_subscription_turns_the_plan_on_books_the_periods_credits_once_and_raises_the_playlist_limit()
 {
    let app = App::new().await;
    pro_plan().await;
    register_webhook(app.webhook(&[&app.secret]), &app.secret).await;
    let fan = app.account("pro@example.com").await;

    // Free: the 51st playlist is refused.
    for n in 0..FREE_MAX_PLAYLISTS as usize {
        assert_eq!(create_playlist(&app, &fan, n).await.status, 201);
    }
    let refused = create_playlist(&app, &fan, 999).await;
    assert_error(&refused, 409, "limit_reached");

    let started = subscribe(
        &app,
        &fan,
        json!({"payment_method": card("4242424242424242").await}),
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(
        started.body["status"], "active",
        "localstripe charged the card"
    );
    assert_eq!(
        app.available(&fan).await,
        10,
        "credits come with the paid invoice's event, not with the request"
    );

    // localstripe's signed events arrive: the plan turns pro, the period's credits are booked.
    let mut pro = false;
    for _ in 0..100 {
        if plan(&app, &fan).await.0 == "pro"
            && app.available(&fan).await == 10 + PRO_MONTHLY_CREDITS
        {
            pro = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        pro,
        "plan {:?}, credits {}",
        plan(&app, &fan).await,
        app.available(&fan).await
    );
    assert_eq!(
        create_playlist(&app, &fan, 999).await.status,
        201,
        "pro raises the limit"
    );

    // The same period again, as `invoice.paid` under another event id: booked once.
    let (invoice, sub, customer): (String, String, String) = {
        let client = app.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT subscription_id, customer_id FROM subscriptions WHERE user_id = $1",
                &[&fan.user_id],
            )
            .await
            .unwrap();
        ("in_again".to_owned(), row.get(0), row.get(1))
    };
    let period_start: i64 = {
        let client = app.db.pool.get().await.unwrap();
        let cause: String = client
            .query_one(
                "SELECT external_id FROM credit_entries WHERE kind = 'subscription'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        cause.rsplit(':').next().unwrap().parse().unwrap()
    };
    let again = json!({
        "id": "evt_invoice_paid_again", "object": "event", "type": "invoice.paid", "created": now(),
        "data": {"object": {
            "id": invoice, "object": "invoice", "customer": customer, "subscription": sub,
            "status": "paid", "amount_paid": 499,
            "lines": {"data": [{"period": {"start": period_start, "end": period_start + 2_592_000}}]}
        }}
    });
    let r = deliver(&app.webhook(&[&app.secret]), &again, &app.secret, now()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["result"], "ignored");
    assert_eq!(app.available(&fan).await, 10 + PRO_MONTHLY_CREDITS);

    // A second subscription while one runs is refused.
    let twice = subscribe(&app, &fan, json!({})).await;
    assert_error(&twice, 409, "already_subscribed");

    // Cancelling keeps pro until the period ends.
    let cancelled = Call::delete("/v1/listener/subscription")
        .bearer(&fan.token)
        .send(&app.listener)
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["plan"], "pro");
    assert_eq!(cancelled.body["cancel_at_period_end"], true);
}

#[tokio::test]
async fn subscription_events_out_of_order_never_go_back_in_time() {
    let app = App::new().await;
    let webhook = app.webhook(&[&app.secret]);
    let fan = app.account("late@example.com").await;
    app.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO subscriptions (user_id, customer_id, subscription_id)
             VALUES ($1, 'cus_late', 'sub_late')",
            &[&fan.user_id],
        )
        .await
        .unwrap();
    let t = now();

    // The newer state (ended) arrives first, the older one (active) after it.
    let ended = subscription_event(
        "evt_ended",
        "customer.subscription.deleted",
        "sub_late",
        "cus_late",
        "canceled",
        t,
    );
    let r = deliver(&webhook, &ended, &app.secret, t).await;
    assert_eq!(r.body["result"], "applied", "{}", r.body);
    let active = subscription_event(
        "evt_active",
        "customer.subscription.updated",
        "sub_late",
        "cus_late",
        "active",
        t - 60,
    );
    let r = deliver(&webhook, &active, &app.secret, t).await;
    assert_eq!(r.body["result"], "ignored", "{}", r.body);
    assert_eq!(plan(&app, &fan).await, ("free".into(), "canceled".into()));

    // In the same second, the state further along wins whatever the arrival order.
    let same = subscription_event(
        "evt_same",
        "customer.subscription.updated",
        "sub_late",
        "cus_late",
        "active",
        t,
    );
    let r = deliver(&webhook, &same, &app.secret, t).await;
    assert_eq!(r.body["result"], "ignored");
    assert_eq!(plan(&app, &fan).await.0, "free");

    // A later state applies; a subscription the listener replaced changes nothing.
    let later = subscription_event(
        "evt_later",
        "customer.subscription.updated",
        "sub_late",
        "cus_late",
        "active",
        t + 5,
    );
    assert_eq!(
        deliver(&webhook, &later, &app.secret, t).await.body["result"],
        "applied"
    );
    assert_eq!(plan(&app, &fan).await, ("pro".into(), "active".into()));
    let stale_other = subscription_event(
        "evt_other",
        "customer.subscription.deleted",
        "sub_older_one",
        "cus_late",
        "canceled",
        t + 10,
    );
    assert_eq!(
        deliver(&webhook, &stale_other, &app.secret, t).await.body["result"],
        "ignored"
    );
    assert_eq!(plan(&app, &fan).await.0, "pro");
}

#[tokio::test]
async fn a_declined_card_is_a_402_and_the_listener_stays_free() {
    let app = App::new().await;
    pro_plan().await;
    let fan = app.account("declined@example.com").await;
    let r = subscribe(
        &app,
        &fan,
        json!({"payment_method": card("4000000000000002").await}),
    )
    .await;
    assert_error(&r, 402, "payment_declined");
    assert_eq!(plan(&app, &fan).await.0, "free");
    assert_eq!(
        app.count("SELECT count(*) FROM subscriptions WHERE subscription_id IS NOT NULL")
            .await,
        0,
        "no subscription recorded"
    );
    for hostile in ["pm with spaces", "../customers/cus_x", "pm_1?expand=x"] {
        let bad = subscribe(&app, &fan, json!({"payment_method": hostile})).await;
        assert_error(&bad, 400, "invalid_request");
    }
    let unknown = subscribe(&app, &fan, json!({"plan": "pro"})).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
}

#[tokio::test]
async fn two_racing_subscribe_requests_start_one_stripe_subscription() {
    let app = App::new().await;
    pro_plan().await;
    // No webhook: Stripe's events do not arrive in time to mark the first one as running.
    let fan = app.account("racing@example.com").await;
    let (first_card, second_card) = (
        card("4242424242424242").await,
        card("4242424242424242").await,
    );
    let (a, b) = tokio::join!(
        subscribe(&app, &fan, json!({"payment_method": first_card})),
        subscribe(&app, &fan, json!({"payment_method": second_card})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    let refused = if a.status == 409 { &a } else { &b };
    assert_error(refused, 409, "already_subscribed");

    // At Stripe, the customer has exactly one subscription.
    let customer: String = {
        let client = app.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT customer_id FROM subscriptions WHERE user_id = $1",
                &[&fan.user_id],
            )
            .await
            .unwrap()
            .get(0)
    };
    let at_stripe: Value = reqwest::Client::new()
        .get(format!("{}/v1/customers/{customer}", stripe()))
        .basic_auth("sk_test_hound", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        at_stripe["subscriptions"]["data"].as_array().map(Vec::len),
        Some(1),
        "{at_stripe}"
    );
}

#[tokio::test]
async fn a_listener_cannot_make_themselves_pro_through_their_own_role() {
    let app = App::new().await;
    let fan = app.account("sneaky@example.com").await;
    let pool = app.db.pool_as(hound_domain::db::roles::LISTENER);
    let mut client = pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.execute(
        "SELECT set_config('hound.user_id', $1, true)",
        &[&fan.user_id.to_string()],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO subscriptions (user_id, customer_id) VALUES ($1, 'cus_sneaky')",
        &[&fan.user_id],
    )
    .await
    .unwrap();
    let err = tx
        .execute(
            "UPDATE subscriptions SET status = 'active' WHERE user_id = $1",
            &[&fan.user_id],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{err}"
    );
}

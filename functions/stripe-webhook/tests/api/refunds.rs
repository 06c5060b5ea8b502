//! Refunds (`charge.refunded`, which localstripe does not send: signed here from Stripe's
//! documented shape): credits are taken back as far as the balance goes and the rest is
//! recorded as owed (and settled by the next credits); a bought release is taken back; partial
//! refunds change nothing.

use hound_testing::Call;
use serde_json::{Value, json};

use crate::*;

fn refunded(event_id: &str, intent: &str, amount: i64, full: bool) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2017-08-15",
        "type": "charge.refunded",
        "created": now(),
        "data": {"object": {
            "id": format!("ch_{event_id}"), "object": "charge", "amount": amount,
            "amount_refunded": if full { amount } else { amount / 2 }, "currency": "eur",
            "payment_intent": intent, "refunded": full
        }}
    })
}

#[tokio::test]
async fn refunded_credits_already_spent_become_a_recorded_debt_never_a_negative_balance() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let webhook = app.webhook(&[&app.secret]);
    let r = app
        .purchase(&fan, json!({"kind": "credits", "pack": "small"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let intent = app.intent_of(r.body["order_id"].as_str().unwrap()).await;
    let paid = deliver(
        &webhook,
        &succeeded("evt_paid", &intent, 199, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(paid.body["result"], "applied");
    assert_eq!(app.available(&fan).await, 20);

    // Spend 15 of the 20.
    let release = paid_release(&app, 15).await;
    let unlock = Call::post(&format!("/v1/listener/releases/{release}/unlock"))
        .bearer(&fan.token)
        .send(&app.listener)
        .await;
    assert_eq!(unlock.status, 200, "{}", unlock.body);

    // A partial refund changes nothing; the full one takes 5 back and records 5 owed.
    let partial = deliver(
        &webhook,
        &refunded("evt_half", &intent, 199, false),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(partial.body["result"], "ignored");
    let full = deliver(
        &webhook,
        &refunded("evt_full", &intent, 199, true),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(full.body["result"], "applied", "{}", full.body);
    let credits = Call::get("/v1/listener/credits")
        .bearer(&fan.token)
        .send(&app.listener)
        .await;
    assert_eq!(credits.body["available"], 0);
    assert_eq!(credits.body["debt"], 5);
    let kinds: Vec<&str> = credits.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["debt", "refund", "usage", "purchase", "grant"]);

    // Resent: nothing more is taken.
    let again = deliver(
        &webhook,
        &refunded("evt_full", &intent, 199, true),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(again.body["result"], "duplicate");
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'refunded'")
            .await,
        1
    );

    // The next credits settle the debt first: of a new pack of 10, 5 pay what is owed.
    let r = app
        .purchase(&fan, json!({"kind": "credits", "pack": "small"}))
        .await;
    let second = app.intent_of(r.body["order_id"].as_str().unwrap()).await;
    let paid = deliver(
        &webhook,
        &succeeded("evt_paid_again", &second, 199, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(paid.body["result"], "applied", "{}", paid.body);
    let credits = Call::get("/v1/listener/credits")
        .bearer(&fan.token)
        .send(&app.listener)
        .await;
    assert_eq!(credits.body["available"], 5, "{}", credits.body);
    assert_eq!(credits.body["debt"], 0);
    let newest = &credits.body["entries"][0];
    assert_eq!(newest["kind"], "debt");
    assert_eq!(newest["amount"], -5);
    assert_eq!(newest["debt_delta"], -5);
    assert_eq!(newest["balance_after"], 5);
    assert_eq!(newest["debt_after"], 0);
    assert_eq!(credits.body["entries"][1]["kind"], "purchase");
}

#[tokio::test]
async fn a_refunded_release_purchase_takes_the_release_back() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let webhook = app.webhook(&[&app.secret]);
    let release = paid_release(&app, 5).await;
    let r = app
        .purchase(&fan, json!({"kind": "release", "release_id": release}))
        .await;
    let intent = app.intent_of(r.body["order_id"].as_str().unwrap()).await;
    deliver(
        &webhook,
        &succeeded("evt_r_paid", &intent, 100, "eur"),
        &app.secret,
        now(),
    )
    .await;
    let gate = |app: &App| {
        let call = Call::get(&format!("/v1/listener/albums/{release}")).bearer(&fan.token);
        let router = app.listener.clone();
        async move { call.send(&router).await.body["gate"].clone() }
    };
    assert_eq!(gate(&app).await, Value::Null);
    let back = deliver(
        &webhook,
        &refunded("evt_r_back", &intent, 100, true),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(back.body["result"], "applied", "{}", back.body);
    assert_eq!(gate(&app).await, "paid");
    assert_eq!(app.available(&fan).await, 10, "credits untouched");
}

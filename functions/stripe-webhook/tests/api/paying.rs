//! Paying through the local Stripe: an order, its PaymentIntent, a card, the confirmation, and
//! the webhook localstripe signs and delivers.

use std::time::Duration;

use serde_json::json;

use crate::*;

/// Pay a PaymentIntent in localstripe the way Stripe.js would: a card, then confirm.
async fn pay(intent: &str) {
    let http = reqwest::Client::new();
    let stripe = stripe();
    let key = "sk_test_hound";
    let pm = card("4242424242424242").await;
    let attached = http
        .post(format!("{stripe}/v1/payment_intents/{intent}"))
        .basic_auth(key, Some(""))
        .form(&[("payment_method", pm.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        attached.status().is_success(),
        "{}",
        attached.text().await.unwrap()
    );
    let confirmed = http
        .post(format!("{stripe}/v1/payment_intents/{intent}/confirm"))
        .basic_auth(key, Some(""))
        .send()
        .await
        .unwrap();
    assert!(
        confirmed.status().is_success(),
        "{}",
        confirmed.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_credit_pack_paid_through_stripe_is_credited_once() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    register_webhook(app.webhook(&[&app.secret]), &app.secret).await;

    let packs = Call::get("/v1/listener/credit-packs")
        .send(&app.listener)
        .await;
    assert_eq!(packs.status, 200);
    let small = &packs.body["packs"][0];
    assert_eq!(small["id"], "small");

    let r = app
        .purchase(&fan, json!({"kind": "credits", "pack": "small"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["client_secret"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(r.body["amount"], small["amount"]);
    let order = r.body["order_id"].as_str().unwrap().to_owned();
    let intent = app.intent_of(&order).await;
    assert_eq!(app.available(&fan).await, 10, "nothing before the payment");

    pay(&intent).await;
    let mut credited = false;
    for _ in 0..100 {
        if app.available(&fan).await == 20 {
            credited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(credited, "localstripe's signed webhook credited the pack");
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'paid' AND paid_at IS NOT NULL")
            .await,
        1
    );

    // Stripe resends the same event: nothing changes.
    let event_id: String = {
        let client = app.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT id FROM stripe_events WHERE type = 'payment_intent.succeeded'
                  ORDER BY received_at LIMIT 1",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    let again = deliver(
        &app.webhook(&[&app.secret]),
        &succeeded(&event_id, &intent, 199, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["result"], "duplicate");
    assert_eq!(app.available(&fan).await, 20);
}

#[tokio::test]
async fn a_release_bought_with_money_is_granted_when_paid_and_bad_orders_are_refused() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let release = paid_release(&app, 5).await;
    let r = app
        .purchase(&fan, json!({"kind": "release", "release_id": release}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["amount"], 5 * hound_domain::money::CENTS_PER_CREDIT);
    let intent = app.intent_of(r.body["order_id"].as_str().unwrap()).await;
    let webhook = app.webhook(&[&app.secret]);
    let paid = deliver(
        &webhook,
        &succeeded("evt_release_1", &intent, 100, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(paid.body["result"], "applied", "{}", paid.body);
    assert_eq!(
        app.count("SELECT count(*) FROM entitlements WHERE source = 'paid'")
            .await,
        1
    );
    assert_error(
        &app.purchase(&fan, json!({"kind": "release", "release_id": release}))
            .await,
        409,
        "already_unlocked",
    );
    let bad = app
        .purchase(&fan, json!({"kind": "credits", "pack": "huge"}))
        .await;
    assert_error(&bad, 400, "invalid_request");
    assert!(bad.body["error"]["details"]["fields"]["pack"].is_string());
    let nobody = app
        .purchase(
            &fan,
            json!({"kind": "release", "release_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_error(&nobody, 404, "not_found");
    let price = app
        .purchase(
            &fan,
            json!({"kind": "credits", "pack": "small", "amount": 1}),
        )
        .await;
    assert_error(&price, 400, "invalid_request");
}

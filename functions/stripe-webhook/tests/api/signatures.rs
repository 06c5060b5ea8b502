//! Webhook signatures and idempotency, with events signed here: tampered, stale, unsigned,
//! a rolled secret, a resent event, concurrent redeliveries, and a mismatched amount.

use futures::future::join_all;
use serde_json::json;

use crate::*;

/// A pending credits order (pack `small`, 199 eur cents) for `fan`, as the listener writes it;
/// its PaymentIntent id.
async fn order(app: &App, fan: &Account) -> String {
    let intent = format!("pi_test_{}", Uuid::new_v4().simple());
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO orders (id, user_id, kind, pack, credits, amount, currency,
                                 payment_intent)
             VALUES (gen_random_uuid(), $1, 'credits', 'small', 10, 199, 'eur', $2)",
            &[&fan.user_id, &intent],
        )
        .await
        .unwrap();
    intent
}

#[tokio::test]
async fn tampered_stale_and_unsigned_events_are_400_and_change_nothing() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let intent = order(&app, &fan).await;
    let webhook = app.webhook(&[&app.secret]);
    let event = succeeded("evt_1", &intent, 199, "eur");

    // Tampered: signed, then the amount changed.
    let body = event.to_string();
    let signature = hound_domain::money::sign(body.as_bytes(), &app.secret, now());
    let tampered = Call::post("/v1/webhooks/stripe")
        .header("stripe-signature", &signature)
        .raw_body("application/json", &body.replace("199", "99999"))
        .send(&webhook)
        .await;
    assert_error(&tampered, 400, "invalid_signature");
    // Stale: signed 301 s ago.
    assert_error(
        &deliver(&webhook, &event, &app.secret, now() - 301).await,
        400,
        "invalid_signature",
    );
    // Another endpoint's secret.
    assert_error(
        &deliver(&webhook, &event, "whsec_someone_else", now()).await,
        400,
        "invalid_signature",
    );
    // No signature, and a v0-only one.
    let unsigned = Call::post("/v1/webhooks/stripe")
        .raw_body("application/json", &body)
        .send(&webhook)
        .await;
    assert_error(&unsigned, 400, "invalid_signature");
    let v0 = Call::post("/v1/webhooks/stripe")
        .header("stripe-signature", &signature.replace("v1=", "v0="))
        .raw_body("application/json", &body)
        .send(&webhook)
        .await;
    assert_error(&v0, 400, "invalid_signature");

    assert_eq!(app.count("SELECT count(*) FROM stripe_events").await, 0);
    assert_eq!(app.available(&fan).await, 10);
    // The genuine one applies.
    let ok = deliver(&webhook, &event, &app.secret, now()).await;
    assert_eq!(ok.body["result"], "applied", "{}", ok.body);
    assert_eq!(app.available(&fan).await, 20);
}

#[tokio::test]
async fn during_a_secret_roll_both_secrets_verify_and_after_it_only_the_new_one() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let (old, new) = ("whsec_old_secret", "whsec_new_secret");
    let rolling = app.webhook(&[old, new]);
    let first = order(&app, &fan).await;
    let second = order(&app, &fan).await;
    let a = deliver(
        &rolling,
        &succeeded("evt_a", &first, 199, "eur"),
        old,
        now(),
    )
    .await;
    let b = deliver(
        &rolling,
        &succeeded("evt_b", &second, 199, "eur"),
        new,
        now(),
    )
    .await;
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    assert_eq!(app.available(&fan).await, 30);

    let rolled = app.webhook(&[new]);
    let third = order(&app, &fan).await;
    let late = deliver(&rolled, &succeeded("evt_c", &third, 199, "eur"), old, now()).await;
    assert_error(&late, 400, "invalid_signature");
    assert_eq!(app.available(&fan).await, 30);
}

#[tokio::test]
async fn an_event_redelivered_at_once_ten_times_takes_effect_once() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let intent = order(&app, &fan).await;
    let webhook = app.webhook(&[&app.secret]);
    let event = succeeded("evt_race", &intent, 199, "eur");
    let answers = join_all((0..10).map(|_| deliver(&webhook, &event, &app.secret, now()))).await;
    assert!(answers.iter().all(|r| r.status == 200));
    let applied = answers
        .iter()
        .filter(|r| r.body["result"] == "applied")
        .count();
    assert_eq!(applied, 1);
    assert_eq!(app.available(&fan).await, 20);
    // A different event for an order already paid changes nothing either.
    let other = deliver(
        &webhook,
        &succeeded("evt_other", &intent, 199, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(other.body["result"], "ignored");
    assert_eq!(app.available(&fan).await, 20);
    assert_eq!(
        app.count("SELECT count(*) FROM credit_entries WHERE kind = 'purchase'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_payment_of_another_amount_or_for_no_order_grants_nothing() {
    let app = App::new().await;
    let fan = app.account("fan@example.com").await;
    let intent = order(&app, &fan).await;
    let webhook = app.webhook(&[&app.secret]);
    let short = deliver(
        &webhook,
        &succeeded("evt_short", &intent, 1, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(short.body["result"], "ignored", "{}", short.body);
    let stranger = deliver(
        &webhook,
        &succeeded("evt_stranger", "pi_nobody", 199, "eur"),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(stranger.body["result"], "ignored");
    let unknown_type = deliver(
        &webhook,
        &json!({"id": "evt_t", "type": "customer.created", "created": now(),
                "data": {"object": {"id": "cus_1"}}}),
        &app.secret,
        now(),
    )
    .await;
    assert_eq!(unknown_type.body["result"], "ignored");
    let not_an_event = deliver(&webhook, &json!({"hello": "world"}), &app.secret, now()).await;
    assert_error(&not_an_event, 400, "invalid_request");
    assert_eq!(app.available(&fan).await, 10);
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'pending'")
            .await,
        1
    );
}

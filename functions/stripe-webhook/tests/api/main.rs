//! The stripe-webhook function with the listener that places orders: orders pay through the
//! local Stripe (`localstripe`, which sends signed webhooks to the function served on a port of
//! its own), and events it does not send are signed here from Stripe's documented shapes.

mod paying;
mod plans;
mod refunds;
mod samples;
mod signatures;

use axum::Router;
use hound_domain::auth::AccountKind;
use hound_domain::listener::Media;
use hound_testing::{Call, TestAws, TestDb, TestResponse, sign_up, stripe_base, test_keys};
use serde_json::{Value, json};
use uuid::Uuid;

pub struct App {
    pub db: TestDb,
    pub listener: Router,
    pub secret: String,
}

pub struct Account {
    pub token: String,
    pub user_id: Uuid,
}

impl App {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let aws = TestAws::new().await;
        let listener = listener::router(listener::AppState {
            backend: hound_http::Backend::new(
                db.pool_as(hound_domain::db::roles::LISTENER),
                test_keys(),
            ),
            media: Media::new(aws.storage.clone(), None),
            collective: Default::default(),
            stripe: hound_testing::test_stripe(),
        });
        Self {
            db,
            listener,
            secret: format!("whsec_{}", Uuid::new_v4().simple()),
        }
    }

    /// The webhook function over this test's database, with these endpoint secrets.
    pub fn webhook(&self, secrets: &[&str]) -> Router {
        stripe_webhook::router(stripe_webhook::AppState {
            pool: self.db.pool_as(hound_domain::db::roles::STRIPE_WEBHOOK),
            secrets: stripe_webhook::parse_secrets(&secrets.join(",")).unwrap(),
        })
    }

    pub async fn account(&self, email: &str) -> Account {
        let (user, session) = sign_up(&self.db, AccountKind::Listener, email, "Fan").await;
        Account {
            token: session.access_token,
            user_id: *user.id.as_uuid(),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.db.pool.get().await.unwrap();
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn available(&self, who: &Account) -> i64 {
        let r = Call::get("/v1/listener/credits")
            .bearer(&who.token)
            .send(&self.listener)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["available"].as_i64().unwrap()
    }

    pub async fn purchase(&self, who: &Account, body: Value) -> TestResponse {
        Call::post("/v1/listener/purchases")
            .bearer(&who.token)
            .json(&body)
            .send(&self.listener)
            .await
    }

    /// The PaymentIntent id of an order.
    pub async fn intent_of(&self, order: &str) -> String {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_one(
                "SELECT payment_intent FROM orders WHERE id = $1::text::uuid",
                &[&order],
            )
            .await
            .unwrap()
            .get(0)
    }
}

/// A `payment_intent.succeeded` event as Stripe shapes it.
pub fn succeeded(event_id: &str, intent: &str, amount: i64, currency: &str) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2017-08-15",
        "type": "payment_intent.succeeded",
        "created": time::OffsetDateTime::now_utc().unix_timestamp(),
        "data": {"object": {
            "id": intent, "object": "payment_intent", "amount": amount,
            "currency": currency, "status": "succeeded", "metadata": {}
        }}
    })
}

/// Deliver `event` to `webhook` signed with `secret` at Unix time `t`.
pub async fn deliver(webhook: &Router, event: &Value, secret: &str, t: i64) -> TestResponse {
    let body = event.to_string();
    Call::post("/v1/webhooks/stripe")
        .header(
            "stripe-signature",
            &hound_domain::money::sign(body.as_bytes(), secret, t),
        )
        .raw_body("application/json", &body)
        .send(webhook)
        .await
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A published `paid` release of a new artist's, at `price` credits.
pub async fn paid_release(app: &App, price: i32) -> Uuid {
    let (artist, _) = sign_up(
        &app.db,
        AccountKind::Artist,
        &format!("artist-{}@example.com", Uuid::new_v4().simple()),
        "Band",
    )
    .await;
    let id = Uuid::new_v4();
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                                   price_credits, published_at)
             SELECT $1, ap.id, 'Paid', 'album', 'published', 'paid', md5(random()::text), $3,
                    now()
               FROM artist_profiles ap WHERE ap.user_id = $2",
            &[&id, &artist.id, &price],
        )
        .await
        .unwrap();
    id
}

pub fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.code(), code, "body: {}", response.body);
}

pub fn stripe() -> String {
    stripe_base()
}

/// Serve `router` on a free local port (localstripe posts its webhooks there); its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{address}")
}

/// Have localstripe deliver its signed events to `webhook`, served on a port of its own.
pub async fn register_webhook(webhook: Router, secret: &str) {
    let base = serve(webhook).await;
    let registered = reqwest::Client::new()
        .post(format!(
            "{}/_config/webhooks/{}",
            stripe(),
            Uuid::new_v4().simple()
        ))
        .form(&[
            ("url", format!("{base}/v1/webhooks/stripe")),
            ("secret", secret.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
}

/// A card PaymentMethod in localstripe, as Stripe.js would create it; its id.
pub async fn card(number: &str) -> String {
    let pm: Value = reqwest::Client::new()
        .post(format!("{}/v1/payment_methods", stripe()))
        .basic_auth("sk_test_hound", Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pm["id"].as_str().expect("a payment method").to_owned()
}

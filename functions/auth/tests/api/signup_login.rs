use futures::future::join_all;
use hound_testing::Call;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn listener_signup_answers_201_with_user_and_session() {
    let (_db, router) = app().await;

    let response = signup(&router, "listener", "ada@example.com").await;

    assert_eq!(response.status, 201, "{}", response.body);
    let user = &response.body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["roles"], json!(["listener"]));
    assert_eq!(user["display_name"], "Ada Lovelace");
    assert!(user["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert!(
        time::OffsetDateTime::parse(
            user["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let session = &response.body["session"];
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 900);
    assert!(session["expires_at"].is_string());
    assert!(session["refresh_token"].as_str().unwrap().len() >= 43);
    assert!(response.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn artist_signup_creates_an_artist_profile_shown_by_me() {
    let (_db, router) = app().await;

    let response = signup(&router, "artist", "bjork@example.com").await;
    assert_eq!(response.status, 201, "{}", response.body);
    assert_eq!(
        response.body["user"]["roles"],
        json!(["artist", "listener"])
    );

    let (access, _) = tokens(&response);
    let me = me(&router, &access).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], "bjork@example.com");
    let profile = &me.body["artist_profile"];
    assert_eq!(profile["name"], "Ada Lovelace");
    assert_eq!(profile["slug"], "ada-lovelace");
    assert_eq!(profile["bio"], "");
    assert_eq!(profile["links"], json!([]));
    assert!(profile["avatar_url"].is_null());
}

#[tokio::test]
async fn two_artists_with_one_name_get_distinct_slugs() {
    let (_db, router) = app().await;
    let first = signup(&router, "artist", "one@example.com").await;
    let second = signup(&router, "artist", "two@example.com").await;
    let (first, _) = tokens(&first);
    let (second, _) = tokens(&second);
    let a = me(&router, &first).await.body["artist_profile"]["slug"].clone();
    let b = me(&router, &second).await.body["artist_profile"]["slug"].clone();
    assert_eq!(a, "ada-lovelace");
    assert_ne!(a, b);
    assert!(b.as_str().unwrap().starts_with("ada-lovelace-"));
}

#[tokio::test]
async fn a_listener_has_no_artist_profile() {
    let (_db, router) = app().await;
    let (access, _) = tokens(&signup(&router, "listener", "ada@example.com").await);
    let me = me(&router, &access).await;
    assert_eq!(me.status, 200);
    assert!(me.body.get("artist_profile").is_none());
}

#[tokio::test]
async fn emails_are_trimmed_and_lower_cased_and_unique() {
    let (_db, router) = app().await;
    let first = signup(&router, "listener", "  Ada@Example.COM ").await;
    assert_eq!(first.body["user"]["email"], "ada@example.com");

    let again = signup(&router, "artist", "ada@example.com").await;
    assert_error(&again, 409, "email_taken");
}

#[tokio::test]
async fn twenty_concurrent_signups_with_one_email_make_exactly_one_account() {
    let (db, router) = app().await;

    let attempts = (0..20).map(|_| signup(&router, "listener", "race@example.com"));
    let responses = join_all(attempts).await;

    let created = responses.iter().filter(|r| r.status == 201).count();
    let taken = responses
        .iter()
        .filter(|r| r.status == 409 && r.code() == "email_taken")
        .count();
    assert_eq!((created, taken), (1, 19));
    let client = db.pool.get().await.unwrap();
    let rows: i64 = client
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'race@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn signup_writes_the_welcome_grant_with_the_account_and_only_once() {
    let (db, router) = app().await;
    let responses =
        join_all((0..5).map(|_| signup(&router, "listener", "grant@example.com"))).await;
    assert_eq!(responses.iter().filter(|r| r.status == 201).count(), 1);
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT count(*), coalesce(sum(e.amount), 0)::bigint, min(a.available)
               FROM credit_entries e JOIN credit_accounts a ON a.id = e.account_id
               JOIN users u ON u.id = a.user_id
              WHERE u.email = 'grant@example.com' AND e.kind = 'grant'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        1,
        "one grant, however many signups raced"
    );
    assert_eq!(row.get::<_, i64>(1), 10);
    assert_eq!(row.get::<_, Option<i64>>(2), Some(10));
    // The refused signups left no account behind.
    let accounts: i64 = client
        .query_one("SELECT count(*) FROM credit_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn weak_passwords_are_refused_with_weak_password() {
    let (_db, router) = app().await;
    for password in [
        "password",
        "short1!",
        "12345678",
        "qwertyuiop",
        &"y".repeat(129),
    ] {
        let response = Call::post("/v1/auth/listener/signup")
            .json(&json!({"email": "ada@example.com", "password": password, "display_name": "Ada"}))
            .send(&router)
            .await;
        assert_error(&response, 400, "weak_password");
        assert!(field_problem(&response, "password").is_string());
    }
}

#[tokio::test]
async fn every_bad_field_is_listed_at_once() {
    let (_db, router) = app().await;
    let response = Call::post("/v1/auth/artist/signup")
        .json(&json!({"email": "not-an-email", "password": "password", "display_name": "   "}))
        .send(&router)
        .await;
    assert_error(&response, 400, "invalid_request");
    for field in ["email", "password", "display_name"] {
        assert!(
            field_problem(&response, field).is_string(),
            "{field}: {}",
            response.body
        );
    }
}

#[tokio::test]
async fn unicode_display_names_round_trip() {
    let (_db, router) = app().await;
    let response = Call::post("/v1/auth/artist/signup")
        .json(&json!({"email": "sakamoto@example.com", "password": PASSWORD, "display_name": " 坂本龍一 🎹 "}))
        .send(&router)
        .await;
    assert_eq!(response.status, 201, "{}", response.body);
    assert_eq!(response.body["user"]["display_name"], "坂本龍一 🎹");
    let (access, _) = tokens(&response);
    let profile = me(&router, &access).await.body["artist_profile"].clone();
    assert_eq!(profile["name"], "坂本龍一 🎹");
    assert!(
        profile["slug"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    );
}

#[tokio::test]
async fn login_answers_the_user_and_a_fresh_session() {
    let (_db, router) = app().await;
    signup(&router, "listener", "ada@example.com").await;

    let response = login(&router, "listener", " ADA@example.com", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["user"]["email"], "ada@example.com");
    let (access, _) = tokens(&response);
    assert_eq!(me(&router, &access).await.status, 200);
}

#[tokio::test]
async fn artist_login_requires_the_artist_role_but_artists_can_listen() {
    let (_db, router) = app().await;
    signup(&router, "listener", "fan@example.com").await;
    signup(&router, "artist", "band@example.com").await;

    assert_error(
        &login(&router, "artist", "fan@example.com", PASSWORD).await,
        403,
        "role_required",
    );
    assert_eq!(
        login(&router, "listener", "band@example.com", PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        login(&router, "artist", "band@example.com", PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let (_db, router) = app().await;
    signup(&router, "listener", "ada@example.com").await;

    let wrong = login(&router, "listener", "ada@example.com", "not-the-password").await;
    let unknown = login(&router, "listener", "nobody@example.com", PASSWORD).await;

    assert_error(&wrong, 401, "invalid_credentials");
    assert_error(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn five_failed_logins_lock_the_email_even_for_the_right_password() {
    let (db, router) = app().await;
    signup(&router, "listener", "ada@example.com").await;
    signup(&router, "listener", "bob@example.com").await;

    for _ in 0..5 {
        assert_error(
            &login(&router, "listener", "ada@example.com", "wrong-guess").await,
            401,
            "invalid_credentials",
        );
    }
    let locked = login(&router, "listener", "ada@example.com", PASSWORD).await;
    assert_error(&locked, 429, "rate_limited");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=900).contains(&retry_after),
        "retry-after {retry_after}"
    );

    // Another email is unaffected.
    assert_eq!(
        login(&router, "listener", "bob@example.com", PASSWORD)
            .await
            .status,
        200
    );

    // Once the window has passed, the right password works again.
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE login_failures SET attempted_at = now() - interval '16 minutes'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        login(&router, "listener", "ada@example.com", PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn concurrent_wrong_guesses_cannot_overrun_the_limit() {
    let (_db, router) = app().await;
    signup(&router, "listener", "ada@example.com").await;

    let guesses = (0..12).map(|_| login(&router, "listener", "ada@example.com", "wrong-guess"));
    let responses = join_all(guesses).await;

    let checked = responses.iter().filter(|r| r.status == 401).count();
    let throttled = responses.iter().filter(|r| r.status == 429).count();
    assert_eq!(checked, 5, "only five passwords may be checked");
    assert_eq!(throttled, 7);
}

#[tokio::test]
async fn unknown_emails_are_throttled_too() {
    let (_db, router) = app().await;
    for _ in 0..5 {
        login(&router, "listener", "ghost@example.com", PASSWORD).await;
    }
    assert_error(
        &login(&router, "listener", "ghost@example.com", PASSWORD).await,
        429,
        "rate_limited",
    );
}

#[tokio::test]
async fn a_login_with_an_overlong_email_is_a_400_naming_the_field() {
    let (db, router) = app().await;
    let email = format!("{}@example.com", "a".repeat(3000));
    let response = login(&router, "listener", &email, PASSWORD).await;
    assert_error(&response, 400, "invalid_request");
    assert!(field_problem(&response, "email").is_string());
    // Nothing was counted for it.
    let client = db.pool.get().await.unwrap();
    let failures: i64 = client
        .query_one("SELECT count(*) FROM login_failures", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(failures, 0);
}

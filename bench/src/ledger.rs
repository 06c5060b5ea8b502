//! The ledger bench (issue 16): concurrent unlocks of paid releases with credits, through the
//! listener's handler, by distinct listeners (each locks its own balance row) and by one listener
//! (every unlock waits for the same row), beside plain single-row INSERTs on the same pool at the
//! same concurrency, measured in the same run.

use std::time::Instant;

use futures::StreamExt as _;
use hound_domain::auth::AccountKind;
use hound_domain::listener::Media;
use hound_testing::{Call, TestAws, TestDb, sign_up, test_keys};
use uuid::Uuid;

/// Requests in flight at once (the pool holds 16 connections).
const CONCURRENCY: usize = 16;

/// `n` published paid releases at one credit each, of one artist.
async fn releases(db: &TestDb, n: usize) -> Vec<Uuid> {
    let (artist, _) = sign_up(db, AccountKind::Artist, "ledger-artist@bench.test", "Band").await;
    let client = db.pool.get().await.unwrap();
    client
        .query(
            "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                                   price_credits, published_at)
             SELECT gen_random_uuid(), ap.id, 'Paid', 'album', 'published', 'paid',
                    md5(random()::text), 1, now()
               FROM artist_profiles ap, generate_series(1, $2) WHERE ap.user_id = $1
             RETURNING id",
            &[&artist.id, &(n as i32)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Run `jobs` with `CONCURRENCY` in flight; operations per second.
async fn rate<F, Fut>(jobs: usize, f: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    futures::stream::iter(0..jobs)
        .map(f)
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    jobs as f64 / started.elapsed().as_secs_f64()
}

pub async fn run() {
    let listeners: usize = std::env::var("LEDGER_LISTENERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 16)
        .unwrap_or(400);
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let router = listener::router(listener::AppState {
        backend: hound_http::Backend::new(
            db.pool_as(hound_domain::db::roles::LISTENER),
            test_keys(),
        ),
        media: Media::new(aws.storage.clone(), None),
        collective: Default::default(),
        stripe: hound_testing::test_stripe(),
    });
    let catalogue = releases(&db, listeners).await;
    // Accounts (each with the welcome grant), a few signups at a time.
    let tokens: Vec<String> = futures::stream::iter(0..listeners)
        .map(|i| {
            let db = &db;
            async move {
                sign_up(db, AccountKind::Listener, &format!("l{i}@bench.test"), "L")
                    .await
                    .1
                    .access_token
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let (_, hot_session) = sign_up(&db, AccountKind::Listener, "hot@bench.test", "Hot").await;
    let hot_token = hot_session.access_token;
    // The hot account gets enough credits for every release: a grant, as the ledger books one.
    {
        let client = db.pool.get().await.unwrap();
        let email = "hot@bench.test";
        client
            .execute(
                "WITH a AS (UPDATE credit_accounts SET available = available + $2
                             WHERE user_id = (SELECT id FROM users WHERE email = $1)
                            RETURNING id, available)
                 INSERT INTO credit_entries (id, account_id, kind, amount, balance_after,
                                             held_after, debt_after, external_id)
                 SELECT gen_random_uuid(), a.id, 'grant', $2, a.available, 0, 0, 'bench:hot'
                   FROM a",
                &[&email, &(listeners as i64)],
            )
            .await
            .unwrap();
    }

    // Baseline: one-row INSERTs on the listener's own pool, same concurrency.
    let pool = db.pool.clone();
    {
        let client = pool.get().await.unwrap();
        client
            .batch_execute("CREATE TABLE bench_inserts (id uuid PRIMARY KEY, n int)")
            .await
            .unwrap();
    }
    let inserts = rate(listeners, |i| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            let statement = client
                .prepare_cached("INSERT INTO bench_inserts (id, n) VALUES ($1, $2)")
                .await
                .unwrap();
            client
                .execute(&statement, &[&Uuid::new_v4(), &(i as i32)])
                .await
                .unwrap();
        }
    })
    .await;

    let distinct = rate(listeners, |i| {
        let (router, token, release) = (&router, &tokens[i], catalogue[i]);
        async move {
            let r = Call::post(&format!("/v1/listener/releases/{release}/unlock"))
                .bearer(token)
                .send(router)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    })
    .await;

    let single = rate(listeners, |i| {
        let (router, token, release) = (&router, &hot_token, catalogue[i]);
        async move {
            let r = Call::post(&format!("/v1/listener/releases/{release}/unlock"))
                .bearer(token)
                .send(router)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    })
    .await;

    let balance: i64 = db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT available FROM credit_accounts
              WHERE user_id = (SELECT id FROM users WHERE email = 'hot@bench.test')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        balance, 10,
        "the hot account spent exactly what it unlocked"
    );

    println!(
        "\nledger: {listeners} unlocks each way, {CONCURRENCY} in flight (ratios: x one-row INSERT rate)"
    );
    println!("{:<44} {:>9.0} /s", "one-row INSERT (baseline)", inserts);
    println!(
        "{:<44} {:>9.0} /s ({:>5.2}x)",
        "unlocks, distinct listeners",
        distinct,
        distinct / inserts
    );
    println!(
        "{:<44} {:>9.0} /s ({:>5.2}x)",
        "unlocks, one hot account",
        single,
        single / inserts
    );
}

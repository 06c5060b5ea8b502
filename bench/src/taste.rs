//! The taste bench (README, "Taste: the model"): an offline quality check of the preference
//! vector and of co-listening on a synthetic catalogue of taste clusters, then the latency of
//! suggested-next, votes and the collective at `TASTE_TRACKS` (default 1 000 000) tracks beside
//! a bare primary-key SELECT measured in the same run.

use std::collections::HashMap;
use std::time::Instant;

use hound_domain::auth::AccountKind;
use hound_domain::listener::{self, Media};
use hound_testing::{Call, TestAws, TestDb, sign_up, test_keys};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::listener::{Lcg, row};
use crate::{ms, stats, time as timed};

const CLUSTERS: usize = 10;

fn router(db: &TestDb, aws: &TestAws) -> axum::Router {
    ::listener::router(::listener::AppState {
        backend: hound_http::Backend::new(
            db.pool_as(hound_domain::db::roles::LISTENER),
            test_keys(),
        ),
        media: Media::new(aws.storage.clone(), None),
        collective: Default::default(),
        stripe: hound_testing::test_stripe(),
    })
}

/// 10 clusters × 12 artists × 4 releases × 5 tracks; each track's embedding is its cluster's
/// centre plus uniform noise of ±0.05 per feature. Deterministic (`setseed`).
const CATALOGUE: &str = "
    SELECT setseed(0.42);
    CREATE TEMP TABLE centres AS
    SELECT k, ARRAY(SELECT 0.1 + 0.8 * random() FROM generate_series(1, 5) i WHERE k >= 0)
               AS c
      FROM generate_series(0, 9) k;
    INSERT INTO users (id, email, password_hash, display_name, roles)
    SELECT gen_random_uuid(), 'artist' || g || '@taste.test', 'x', 'Artist ' || g,
           '{listener,artist}'
      FROM generate_series(1, 120) g;
    INSERT INTO artist_profiles (id, user_id, name, slug)
    SELECT gen_random_uuid(), id, display_name, 'taste-' || split_part(email, '@', 1)
      FROM users WHERE email LIKE '%@taste.test';
    CREATE TEMP TABLE artist_k AS
    SELECT id, (row_number() OVER (ORDER BY id) - 1) % 10 AS k FROM artist_profiles;
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                          publish_at, published_at)
    SELECT gen_random_uuid(), a.id, 'Release', 'album', 'published', 'public',
           md5(random()::text), now(), now()
      FROM artist_k a CROSS JOIN generate_series(1, 4);
    INSERT INTO tracks (id, release_id, position, title, duration_ms, embedding)
    SELECT gen_random_uuid(), r.id, p, 'Track', 200000,
           ARRAY(SELECT least(1, greatest(0, c.c[i] + (random() - 0.5) * 0.1))
                   FROM generate_series(1, 5) i WHERE p > 0)::real[]
      FROM releases r JOIN artist_k a ON a.id = r.artist_id JOIN centres c ON c.k = a.k
     CROSS JOIN generate_series(1, 5) p;
    ANALYZE;";

struct Catalogue {
    /// release → cluster
    release_cluster: HashMap<Uuid, usize>,
    /// track → (cluster, release)
    tracks: Vec<(Uuid, usize)>,
}

async fn catalogue(db: &TestDb) -> Catalogue {
    let client = db.pool.get().await.unwrap();
    client.batch_execute(CATALOGUE).await.expect("catalogue");
    let rows = client
        .query(
            "SELECT t.id, r.id, a.k::int FROM tracks t JOIN releases r ON r.id = t.release_id
               JOIN artist_k a ON a.id = r.artist_id ORDER BY t.id",
            &[],
        )
        .await
        .unwrap();
    let mut release_cluster = HashMap::new();
    let mut tracks = Vec::new();
    for r in rows {
        let k = r.get::<_, i32>(2) as usize;
        release_cluster.insert(r.get::<_, Uuid>(1), k);
        tracks.push((r.get(0), k));
    }
    Catalogue {
        release_cluster,
        tracks,
    }
}

fn share(items: &[Uuid], cluster: usize, of: &HashMap<Uuid, usize>) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    items
        .iter()
        .filter(|id| of.get(id) == Some(&cluster))
        .count() as f64
        / items.len() as f64
}

/// Listeners who up-vote five tracks of their cluster and down-vote five of others, then read
/// `for_you`; and listeners whose sessions stay mostly in their cluster, then suggested-next
/// with co-listening alone (no embeddings).
async fn quality() {
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let cat = catalogue(&db).await;
    let router = router(&db, &aws);
    let releases: Vec<Uuid> = cat.release_cluster.keys().copied().collect();
    let mut rng = Lcg(21);

    let listeners = 30;
    let (mut taste_share, mut random_share) = (0.0, 0.0);
    for i in 0..listeners {
        let cluster = i % CLUSTERS;
        let (_, session) = sign_up(
            &db,
            AccountKind::Listener,
            &format!("l{i}@taste.test"),
            "Listener",
        )
        .await;
        let own: Vec<Uuid> = cat
            .tracks
            .iter()
            .filter(|t| t.1 == cluster)
            .map(|t| t.0)
            .collect();
        let others: Vec<Uuid> = cat
            .tracks
            .iter()
            .filter(|t| t.1 != cluster)
            .map(|t| t.0)
            .collect();
        for v in 0..10 {
            let (track, value) = if v % 2 == 0 {
                (own[rng.next(own.len())], 1)
            } else {
                (others[rng.next(others.len())], -1)
            };
            let r = Call::post(&format!("/v1/listener/tracks/{track}/vote"))
                .bearer(&session.access_token)
                .json(&json!({ "value": value }))
                .send(&router)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let home = Call::get("/v1/listener/home")
            .bearer(&session.access_token)
            .send(&router)
            .await;
        let top: Vec<Uuid> = home.body["for_you"]
            .as_array()
            .unwrap()
            .iter()
            .take(10)
            .map(|c| c["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(top.len(), 10, "{}", home.body);
        taste_share += share(&top, cluster, &cat.release_cluster);
        let picked: Vec<Uuid> = (0..10)
            .map(|_| releases[rng.next(releases.len())])
            .collect();
        random_share += share(&picked, cluster, &cat.release_cluster);
    }
    let taste_share = taste_share / listeners as f64;
    let random_share = random_share / listeners as f64;

    // Co-listening alone: embeddings removed; 600 listeners × 3 sessions × 8 plays, each play
    // of one of the 12 most played tracks of the listener's cluster with probability 0.8 (else
    // of any cluster), the next one 4 minutes later; sessions 3 hours apart.
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute(
            "UPDATE tracks SET embedding = NULL;
             SELECT setseed(0.7);
             INSERT INTO users (id, email, password_hash, display_name, roles)
             SELECT gen_random_uuid(), 'sessions' || g || '@taste.test', 'x', 'S', '{listener}'
               FROM generate_series(1, 600) g;
             CREATE TEMP TABLE cluster_tracks AS
             SELECT a.k, array_agg(t.id ORDER BY t.id) AS ids FROM tracks t
               JOIN releases r ON r.id = t.release_id JOIN artist_k a ON a.id = r.artist_id
              GROUP BY a.k;
             CREATE TEMP TABLE session_listeners AS
             SELECT id, (row_number() OVER (ORDER BY id) - 1) % 10 AS k FROM users
              WHERE email LIKE 'sessions%';
             INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source,
                                received_at)
             SELECT gen_random_uuid(),
                    date_trunc('day', now()) - interval '2 days' + s * interval '3 hours'
                        + n * interval '4 minutes',
                    l.id, ct.ids[1 + floor(random() * 12)::int],
                    200000, true, 'album', now() - interval '1 hour'
               FROM session_listeners l
              CROSS JOIN generate_series(0, 2) s CROSS JOIN generate_series(0, 7) n
              CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.8 THEN l.k
                                              ELSE floor(random() * 10)::int END AS k
                                   WHERE n >= 0 AND s >= 0) pick
               JOIN cluster_tracks ct ON ct.k = pick.k;",
        )
        .await
        .expect("sessions");
    let service = db.pool_as(hound_domain::db::roles::MAINTENANCE);
    let run = listener::refresh_co_listening(&service.get().await.unwrap())
        .await
        .unwrap();
    let (mut colisten_share, mut colisten_random, mut seeds) = (0.0, 0.0, 0);
    let track_cluster: HashMap<Uuid, usize> = cat.tracks.iter().copied().collect();
    // Seeds: tracks that were played (the others have nothing to go on without embeddings).
    let played: Vec<Uuid> = client
        .query("SELECT DISTINCT track_id FROM plays ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for _ in 0..50 {
        let seed = played[rng.next(played.len())];
        let cluster = track_cluster[&seed];
        let answer = Call::get(&format!("/v1/listener/tracks/{seed}/suggested-next"))
            .send(&router)
            .await;
        let top: Vec<Uuid> = answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .take(10)
            .map(|i: &Value| i["id"].as_str().unwrap().parse().unwrap())
            .collect();
        if top.is_empty() {
            continue;
        }
        seeds += 1;
        colisten_share += share(&top, cluster, &track_cluster);
        let picked: Vec<Uuid> = (0..top.len())
            .map(|_| cat.tracks[rng.next(cat.tracks.len())].0)
            .collect();
        colisten_random += share(&picked, cluster, &track_cluster);
    }
    let seeds = seeds.max(1) as f64;

    println!(
        "\ntaste: quality on {} tracks in {CLUSTERS} clusters",
        cat.tracks.len()
    );
    println!(
        "  for_you after 10 votes: {:.2} of the top 10 from the listener's cluster \
         (random {:.2}; target >= 0.8){}",
        taste_share,
        random_share,
        if taste_share >= 0.8 {
            "  met"
        } else {
            "  MISSED"
        }
    );
    println!(
        "  co-listening alone ({} plays read, {} pairs): {:.2} of suggested-next's top 10 from \
         the seed's cluster over {seeds} seeds (random {:.2}; target >= 0.8){}",
        run.plays,
        run.pairs,
        colisten_share / seeds,
        colisten_random / seeds,
        if colisten_share / seeds >= 0.8 {
            "  met"
        } else {
            "  MISSED"
        }
    );
}

/// `TASTE_TRACKS` tracks (10 a release, 10 releases an artist), random embeddings, and
/// `ACTIVE` listeners with a heartbeat and a preference vector.
const LOAD: &str = "
    SELECT setseed(0.5);
    INSERT INTO users (id, email, password_hash, display_name, roles)
    SELECT gen_random_uuid(), 'artist' || g || '@load.test', 'x', 'Artist ' || g,
           '{listener,artist}'
      FROM generate_series(1, $ARTISTS) g;
    INSERT INTO artist_profiles (id, user_id, name, slug)
    SELECT gen_random_uuid(), id, display_name, 'load-' || split_part(email, '@', 1)
      FROM users WHERE email LIKE '%@load.test';
    INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                          publish_at, published_at)
    SELECT gen_random_uuid(), a.id, 'Release', 'album', 'published', 'public',
           md5(random()::text), now(), now()
      FROM artist_profiles a CROSS JOIN generate_series(1, 10);
    INSERT INTO tracks (id, release_id, position, title, duration_ms, embedding)
    SELECT gen_random_uuid(), r.id, p, 'Track', 200000,
           ARRAY[random(), random(), random(), random(), random()]::real[]
      FROM releases r CROSS JOIN generate_series(1, 10) p;
    INSERT INTO users (id, email, password_hash, display_name, roles)
    SELECT gen_random_uuid(), 'active' || g || '@load.test', 'x', 'A', '{listener}'
      FROM generate_series(1, $ACTIVE) g;
    INSERT INTO listening_sessions (user_id, last_beat_at)
    SELECT id, now() - random() * interval '50 minutes' FROM users WHERE email LIKE 'active%';
    INSERT INTO taste_vectors (user_id, vector, votes)
    SELECT id, ARRAY[random() - 0.5, random() - 0.5, random() - 0.5, random() - 0.5,
                     random() - 0.5], 10
      FROM users WHERE email LIKE 'active%';
    ANALYZE;";

/// `n` anonymous suggested-next reads of tracks picked from `ids`, each a 200 with items.
async fn suggested_next(
    router: &axum::Router,
    ids: &[Uuid],
    pick: &mut Lcg,
    n: usize,
) -> Vec<std::time::Duration> {
    timed(n, || {
        let id = ids[pick.next(ids.len())];
        async move {
            let r = Call::get(&format!("/v1/listener/tracks/{id}/suggested-next"))
                .send(router)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(!r.body["items"].as_array().unwrap().is_empty());
        }
    })
    .await
}

async fn latency() {
    let tracks: usize = std::env::var("TASTE_TRACKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1000)
        .unwrap_or(1_000_000);
    let active = 10_000;
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let started = Instant::now();
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute(
            &LOAD
                .replace("$ARTISTS", &(tracks / 100).to_string())
                .replace("$ACTIVE", &active.to_string()),
        )
        .await
        .expect("loading");
    // V28 writes each release again with its track list.
    crate::steady_state(&client).await;
    let ids: Vec<Uuid> = client
        .query(
            "SELECT id FROM tracks TABLESAMPLE SYSTEM (1) LIMIT 5000",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!(
        "\ntaste: loaded {tracks} tracks and {active} active listeners in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let router = router(&db, &aws);
    let (_, session) = sign_up(&db, AccountKind::Listener, "voter@load.test", "Voter").await;
    let token = session.access_token;
    let mut rng = Lcg(5);
    for _ in 0..50 {
        let id = ids[rng.next(ids.len())];
        Call::get(&format!("/v1/listener/tracks/{id}/suggested-next"))
            .send(&router)
            .await;
    }

    let n = 500;
    // As tracks arrive, their points go into the suggestions' index in arrival order (here: the
    // load's random order); the daily schedule writes them again in spatial order (V29).
    let arrival = stats(suggested_next(&router, &ids, &mut rng, n).await);
    let started = Instant::now();
    let points = listener::rebuild_taste_index(
        &db.pool_as(hound_domain::db::roles::MAINTENANCE)
            .get()
            .await
            .unwrap(),
    )
    .await
    .expect("the schedule's rebuild");
    println!(
        "taste: the schedule's rebuild wrote {points} points in spatial order in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The rebuild is daily; what follows it within the minute (autovacuum of the new table, a
    // checkpoint of the 250 MB it wrote) is not the steady state measured below, as after the
    // load above.
    crate::steady_state(&client).await;
    for _ in 0..50 {
        let id = ids[rng.next(ids.len())];
        Call::get(&format!("/v1/listener/tracks/{id}/suggested-next"))
            .send(&router)
            .await;
    }
    let pool = db.pool.clone();
    let bare = || {
        let mut pick = Lcg(6);
        let (pool, ids) = (pool.clone(), &ids);
        timed(n * 2, move || {
            let id = ids[pick.next(ids.len())];
            let pool = pool.clone();
            async move {
                let client = pool.get().await.unwrap();
                let statement = client
                    .prepare_cached("SELECT id, title FROM tracks WHERE id = $1")
                    .await
                    .unwrap();
                client.query_one(&statement, &[&id]).await.unwrap();
            }
        })
    };
    // Warm, as the suggestions are: a first pass reads the pages the timed one will (the
    // rebuild above wrote 200 MB, which pushed tracks out of shared buffers).
    bare().await;
    let baseline = stats(bare().await);
    let suggested = stats(suggested_next(&router, &ids, &mut Lcg(7), n).await);
    let mut pick = Lcg(8);
    let votes = stats(
        timed(n, || {
            let id = ids[pick.next(ids.len())];
            let value = if pick.next(2) == 0 { 1 } else { -1 };
            let (router, token) = (&router, &token);
            async move {
                let r = Call::post(&format!("/v1/listener/tracks/{id}/vote"))
                    .bearer(token)
                    .json(&json!({ "value": value }))
                    .send(router)
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
        })
        .await,
    );
    // A smart playlist, evaluated at every read over the whole catalogue.
    let smart = Call::post("/v1/listener/playlists")
        .bearer(&token)
        .json(
            &json!({"name": "Long and clean", "rules": {"match": "all", "rules": [
            {"field": "duration", "op": "gt", "value": 100_000},
            {"field": "explicit", "op": "is", "value": false},
            {"field": "sounds_like", "op": "is", "value": ids[0]}
        ], "sort": "-duration", "limit": 50}}),
        )
        .send(&router)
        .await;
    assert_eq!(smart.status, 201, "{}", smart.body);
    let smart_path = format!(
        "/v1/listener/playlists/{}",
        smart.body["id"].as_str().unwrap()
    );
    let smart_reads = stats(
        timed(30, || {
            let (router, token, path) = (&router, &token, &smart_path);
            async move {
                let r = Call::get(path).bearer(token).send(router).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
        })
        .await,
    );
    // The collective's own computation: the route caches it a minute per instance. The load's
    // heartbeats are up to 50 minutes old and a listener counts for an hour: on a slow machine
    // the load and the rebuild took long enough for some to lapse, so they beat again here.
    client
        .batch_execute(
            "UPDATE listening_sessions SET last_beat_at = now() - random() * interval '50 minutes'",
        )
        .await
        .expect("the active listeners beating again");
    let media = Media::new(aws.storage.clone(), None);
    let listener_pool = db.pool_as(hound_domain::db::roles::LISTENER);
    let collective = stats(
        timed(50, || {
            let (pool, media) = (&listener_pool, &media);
            async move {
                let client = pool.get().await.unwrap();
                let c = listener::collective(&client, media).await.unwrap();
                assert_eq!(c.active_listeners, 10_000);
            }
        })
        .await,
    );

    println!("taste handlers at {tracks} tracks, in-process (ratios: x baseline)");
    println!(
        "{:<34} p50 {:>8.3} ms            p99 {:>8.3} ms",
        "baseline: primary-key SELECT",
        ms(baseline.p50),
        ms(baseline.p99)
    );
    row(
        "suggested-next, before the rebuild",
        &arrival,
        &baseline,
        None,
    );
    row(
        "GET …/tracks/{id}/suggested-next",
        &suggested,
        &baseline,
        Some(50.0),
    );
    println!(
        "  suggested-next p99 {:.3} ms absolute (target < 5 ms): {}",
        ms(suggested.p99),
        if ms(suggested.p99) < 5.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    row("POST …/tracks/{id}/vote", &votes, &baseline, None);
    row(
        "GET a smart playlist (3 rules)",
        &smart_reads,
        &baseline,
        None,
    );
    row(
        "collective (uncached), 10k active",
        &collective,
        &baseline,
        None,
    );
}

pub async fn run() {
    quality().await;
    latency().await;
}

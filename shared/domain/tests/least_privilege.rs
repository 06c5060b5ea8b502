//! Least privilege in the database (migrations/V6), checked against real Postgres: every table
//! of user data has row-level security enabled and forced; the function roles own nothing and
//! cannot change the schema; and with one user's context no function role reads or changes
//! another user's rows.

use hound_domain::db::roles;
use hound_testing::TestDb;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// Tables that hold no user data, and so carry no row-level security.
const NO_USER_DATA: &[&str] = &[
    // Per-release daily play counts: aggregates, nobody's rows.
    "release_play_days",
    // refinery's record of applied migrations.
    "refinery_schema_history",
    // How many listeners played track b after track a: counts, never who (co_listens has who).
    "co_listen_pairs",
    // How far the co-listening schedule has read plays: one timestamp.
    "co_listen_progress",
    // How far the stats schedule has read plays and saves: two timestamps.
    "stats_progress",
];

async fn names(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn every_table_but_the_listed_ones_has_row_level_security_enabled_and_forced() {
    let db = TestDb::new().await;
    let client = db.pool.get().await.unwrap();
    let without = names(
        &client,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
          ORDER BY 1",
    )
    .await;
    let mut allowed: Vec<String> = NO_USER_DATA.iter().map(|t| t.to_string()).collect();
    allowed.sort();
    assert_eq!(without, allowed, "tables without forced row-level security");
}

#[tokio::test]
async fn function_roles_own_nothing_and_bypass_nothing() {
    let db = TestDb::new().await;
    let client = db.pool.get().await.unwrap();
    for role in roles::ALL {
        let row = client
            .query_one(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin,
                        (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                      + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
                      + (SELECT count(*) FROM pg_type WHERE typowner = r.oid) AS owned
                   FROM pg_roles r WHERE rolname = $1",
                &[&role],
            )
            .await
            .unwrap();
        let flags: (bool, bool, bool, bool, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        assert_eq!(flags, (false, false, false, false, true), "{role}");
        assert_eq!(row.get::<_, i64>("owned"), 0, "{role} owns something");
    }
    let owners = names(
        &client,
        "SELECT DISTINCT pg_get_userbyid(c.relowner)::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    )
    .await;
    assert_eq!(owners, vec!["hound_owner".to_owned()]);
}

/// A connection to the test database as `role`, as the function would open it.
async fn connect_as(db: &TestDb, role: &'static str) -> deadpool_postgres::Object {
    db.pool_as(role).get().await.unwrap()
}

fn refused(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
}

#[tokio::test]
async fn no_function_role_can_change_the_schema_or_read_outside_its_grants() {
    let db = TestDb::new().await;
    // A table each role has no grant on.
    let outside = [
        (roles::AUTH, "releases"),
        (roles::STUDIO, "users"),
        (roles::LISTENER, "users"),
        (roles::WORKER, "saves"),
        (roles::DEAD_LETTER, "refresh_tokens"),
        (roles::MAINTENANCE, "refresh_tokens"),
        (roles::REDEEM, "releases"),
        (roles::CHECKIN, "users"),
    ];
    for (role, table) in outside {
        let client = connect_as(&db, role).await;
        for statement in [
            "CREATE TABLE intruder (id int)".to_owned(),
            "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'".to_owned(),
            "ALTER TABLE releases ADD COLUMN intruder int".to_owned(),
            "ALTER TABLE users DISABLE ROW LEVEL SECURITY".to_owned(),
            "DROP TABLE saves".to_owned(),
            "TRUNCATE saves".to_owned(),
            "CREATE POLICY intruder ON users USING (true)".to_owned(),
            format!("SELECT * FROM {table} LIMIT 1"),
        ] {
            let err = client
                .batch_execute(&statement)
                .await
                .expect_err(&format!("{role} may not run {statement}"));
            assert!(refused(&err), "{role}: {statement}: {err}");
        }
    }
}

/// Everyone's rows, written by the administrator: user B's complete footprint, and user A, in
/// whose name every function role then tries to reach B's rows.
struct World {
    user_a: Uuid,
    session_a: Uuid,
    b: Footprint,
}

struct Footprint {
    user: Uuid,
    email: String,
    artist: Uuid,
    session: Uuid,
    release: Uuid,
    track: Uuid,
    asset: Uuid,
    job: Uuid,
    failed: Uuid,
    play: Uuid,
    event: Uuid,
    batch: Uuid,
    gathering: Uuid,
}

async fn account(client: &tokio_postgres::Client, name: &str) -> (Uuid, String, Uuid, Uuid) {
    let (user, artist, session) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let email = format!("{name}-{}@example.com", user.simple());
    client
        .execute(
            "INSERT INTO users (id, email, password_hash, display_name, roles)
             VALUES ($1, $2, 'x', $3, '{listener,artist}')",
            &[&user, &email, &name],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO listener_profiles (user_id) VALUES ($1)",
            &[&user],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO artist_profiles (id, user_id, name, slug) VALUES ($1, $2, $3, $4)",
            &[&artist, &user, &name, &format!("{name}-{}", user.simple())],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO auth_sessions (id, user_id) VALUES ($1, $2)",
            &[&session, &user],
        )
        .await
        .unwrap();
    (user, email, artist, session)
}

async fn world(db: &TestDb) -> World {
    let client = db.pool.get().await.unwrap();
    let (user_a, _, _, session_a) = account(&client, "a").await;
    let (user, email, artist, session) = account(&client, "b").await;
    let [
        release,
        track,
        asset,
        job,
        failed,
        play,
        event,
        batch,
        gathering,
    ] = [(); 9].map(|()| Uuid::now_v7());
    let statements: Vec<(&str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>)> = vec![
        (
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
             VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + interval '1 day')",
            vec![&email, &session],
        ),
        (
            "INSERT INTO login_failures (email) VALUES ($1)",
            vec![&email],
        ),
        (
            "INSERT INTO releases (id, artist_id, title, kind, share_token)
             VALUES ($1, $2, 'B draft', 'album', md5(random()::text))",
            vec![&release, &artist],
        ),
        (
            // Analysed: its point is in taste_points too (migrations/V29).
            "INSERT INTO tracks (id, release_id, position, title, embedding)
             VALUES ($1, $2, 1, 'B track', '{0.2,0.4,0.6,0.8,0.1}')",
            vec![&track, &release],
        ),
        (
            "INSERT INTO assets (id, artist_id, release_id, track_id, kind, bucket, key, filename,
                                 content_type, size_bytes)
             VALUES ($1, $2, $3, $4, 'master', 'masters', 'b/key', 'b.wav', 'audio/wav', 10)",
            vec![&asset, &artist, &release, &track],
        ),
        (
            "UPDATE tracks SET master_asset_id = $1 WHERE id = $2",
            vec![&asset, &track],
        ),
        (
            "INSERT INTO transcode_jobs (id, asset_id) VALUES ($1, $2)",
            vec![&job, &asset],
        ),
        (
            "INSERT INTO job_steps (job_id, position, name) VALUES ($1, 1, 'probe')",
            vec![&job],
        ),
        (
            "INSERT INTO variants (id, job_id, asset_id, name, mime, status, bucket, key)
             VALUES (gen_random_uuid(), $1, $2, 'aac_256', 'audio/mp4', 'complete', 'streams',
                     'b/aac')",
            vec![&job, &asset],
        ),
        (
            "INSERT INTO failed_jobs (id, queue, message_id, body, job_id, error, receive_count)
             VALUES ($1, 'dlq', md5(random()::text), '{}', $2, 'boom', 3)",
            vec![&failed, &job],
        ),
        (
            "INSERT INTO entitlements (user_id, release_id, source) VALUES ($1, $2, 'grant')",
            vec![&user, &release],
        ),
        (
            "INSERT INTO saves (user_id, track_id) VALUES ($1, $2)",
            vec![&user, &track],
        ),
        (
            "INSERT INTO plays (id, started_at, user_id, track_id, ms_played, completed, source)
             VALUES ($1, now(), $2, $3, 60000, true, 'album')",
            vec![&play, &user, &track],
        ),
        (
            "INSERT INTO play_counts (user_id, track_id, day, plays) VALUES ($1, $2, current_date, 1)",
            vec![&user, &track],
        ),
        (
            "INSERT INTO listen_events (id, at, user_id, type, track_id)
             VALUES ($1, now(), $2, 'seek', $3)",
            vec![&event, &user, &track],
        ),
        (
            "INSERT INTO track_votes (user_id, track_id, value, point)
             VALUES ($1, $2, 1, '{1,0,0,0,0}')",
            vec![&user, &track],
        ),
        (
            "INSERT INTO taste_vectors (user_id, vector, votes) VALUES ($1, '{0.25,0,0,0,0}', 1)",
            vec![&user],
        ),
        (
            "INSERT INTO listening_sessions (user_id, last_beat_at) VALUES ($1, now())",
            vec![&user],
        ),
        (
            "WITH next AS (
                 INSERT INTO tracks (id, release_id, position, title)
                 VALUES (gen_random_uuid(), $1, 2, 'B next') RETURNING id)
             INSERT INTO co_listens (track_a, track_b, user_id, first_at)
             SELECT $2, next.id, $3, now() FROM next",
            vec![&release, &track, &user],
        ),
        (
            "WITH list AS (
                 INSERT INTO playlists (id, owner_id, name, item_count)
                 VALUES (gen_random_uuid(), $1, 'B list', 1) RETURNING id)
             INSERT INTO playlist_items (playlist_id, track_id, position)
             SELECT list.id, $2, 1 FROM list",
            vec![&user, &track],
        ),
        (
            "INSERT INTO playlist_quotas (owner_id, live) VALUES ($1, 1)",
            vec![&user],
        ),
        (
            "WITH mix AS (
                 INSERT INTO mixes (id, creator_id, name) VALUES (gen_random_uuid(), $1, 'B mix')
                 RETURNING id)
             INSERT INTO mix_layers (mix_id, position, track_id, volume)
             SELECT mix.id, 1, $2, 0.5 FROM mix",
            vec![&user, &track],
        ),
        (
            "SELECT * FROM save_draft(sha256(convert_to($1, 'UTF8')), 'playlist',
                                      '{\"name\": \"B draft\"}')",
            vec![&email],
        ),
        (
            "INSERT INTO code_batches (id, artist_id, release_id, issued, max_uses)
             VALUES ($1, $2, $3, 1, 1)",
            vec![&batch, &artist, &release],
        ),
        (
            "INSERT INTO access_codes (id, batch_id, code_hash, key_id, max_uses, uses)
             VALUES (gen_random_uuid(), $1, sha256(convert_to($2, 'UTF8')), 'k', 1, 1)",
            vec![&batch, &email],
        ),
        (
            "INSERT INTO redemptions (code_id, user_id)
             SELECT id, $2 FROM access_codes WHERE batch_id = $1",
            vec![&batch, &user],
        ),
        (
            "INSERT INTO events (id, artist_id, release_id, name, starts_at, ends_at,
                                 secret_sealed, secret_nonce, secret_key_id)
             VALUES ($1, $2, $3, 'B event', now(), now() + interval '1 hour', '\\x00',
                     '\\x000000000000000000000000', 'k')",
            vec![&gathering, &artist, &release],
        ),
        (
            "INSERT INTO checkins (event_id, user_id) VALUES ($1, $2)",
            vec![&gathering, &user],
        ),
        (
            "INSERT INTO gate_failures (user_id, gate) VALUES ($1, 'redeem')",
            vec![&user],
        ),
        (
            "WITH account AS (
                 INSERT INTO credit_accounts (id, user_id, available) VALUES ($1, $2, 5)
                 RETURNING id)
             INSERT INTO credit_entries (id, account_id, kind, amount, balance_after,
                                         held_after, debt_after, external_id)
             SELECT gen_random_uuid(), account.id, 'grant', 5, 5, 0, 0, 'welcome:b'
               FROM account",
            vec![&batch, &user],
        ),
        (
            "INSERT INTO orders (id, user_id, kind, pack, credits, amount, currency,
                                 payment_intent)
             VALUES ($1, $2, 'credits', 'small', 10, 199, 'eur', 'pi_b')",
            vec![&gathering, &user],
        ),
        (
            "INSERT INTO stripe_events (id, type, created) VALUES ('evt_b', $1, now())",
            vec![&email],
        ),
        (
            "INSERT INTO subscriptions (user_id, customer_id, subscription_id, status)
             VALUES ($1, 'cus_b', 'sub_b', 'active')",
            vec![&user],
        ),
        (
            "INSERT INTO preorders (id, user_id, account_id, release_id, price)
             VALUES (gen_random_uuid(), $1, $2, $3, 5)",
            vec![&user, &batch, &release],
        ),
        (
            "INSERT INTO track_stat_days (track_id, release_id, day, counted)
             VALUES ($1, $2, current_date, 1)",
            vec![&track, &release],
        ),
        (
            "INSERT INTO release_stat_days (release_id, day, counted) VALUES ($1, current_date, 1)",
            vec![&release],
        ),
        (
            "INSERT INTO notifications (id, user_id, to_email, kind, cause, subject, body)
             VALUES (gen_random_uuid(), $1, $2, 'job_ready', 'job_ready:b', 'Ready', 'B')",
            vec![&user, &email],
        ),
    ];
    for (sql, params) in statements {
        client
            .execute(sql, &params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    World {
        user_a,
        session_a,
        b: Footprint {
            user,
            email,
            artist,
            session,
            release,
            track,
            asset,
            job,
            failed,
            play,
            event,
            batch,
            gathering,
        },
    }
}

/// B's rows in each table: the table, a predicate naming them, and a harmless assignment for
/// the update probe.
fn b_rows(b: &Footprint) -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "users",
            format!("id = '{}'", b.user),
            "display_name = display_name",
        ),
        (
            "listener_profiles",
            format!("user_id = '{}'", b.user),
            "allow_explicit = allow_explicit",
        ),
        (
            "artist_profiles",
            format!("id = '{}'", b.artist),
            "name = name",
        ),
        (
            "auth_sessions",
            format!("id = '{}'", b.session),
            "refreshed_at = refreshed_at",
        ),
        (
            "refresh_tokens",
            format!("session_id = '{}'", b.session),
            "rotated_at = rotated_at",
        ),
        (
            "login_failures",
            format!("email = '{}'", b.email),
            "attempted_at = attempted_at",
        ),
        ("releases", format!("id = '{}'", b.release), "title = title"),
        ("tracks", format!("id = '{}'", b.track), "title = title"),
        (
            "assets",
            format!("id = '{}'", b.asset),
            "filename = filename",
        ),
        (
            "transcode_jobs",
            format!("id = '{}'", b.job),
            "progress = progress",
        ),
        (
            "job_steps",
            format!("job_id = '{}'", b.job),
            "progress_pct = progress_pct",
        ),
        ("variants", format!("job_id = '{}'", b.job), "mime = mime"),
        (
            "failed_jobs",
            format!("id = '{}'", b.failed),
            "error = error",
        ),
        (
            "entitlements",
            format!("user_id = '{}'", b.user),
            "source = source",
        ),
        (
            "saves",
            format!("user_id = '{}'", b.user),
            "saved_at = saved_at",
        ),
        (
            "plays",
            format!("id = '{}'", b.play),
            "ms_played = ms_played",
        ),
        (
            "play_counts",
            format!("user_id = '{}'", b.user),
            "plays = plays",
        ),
        (
            "listen_events",
            format!("id = '{}'", b.event),
            "props = props",
        ),
        (
            "track_votes",
            format!("user_id = '{}'", b.user),
            "value = value",
        ),
        (
            "taste_vectors",
            format!("user_id = '{}'", b.user),
            "vector = vector",
        ),
        (
            "listening_sessions",
            format!("user_id = '{}'", b.user),
            "last_beat_at = last_beat_at",
        ),
        (
            "co_listens",
            format!("user_id = '{}'", b.user),
            "first_at = first_at",
        ),
        (
            "playlists",
            format!("owner_id = '{}'", b.user),
            "name = name",
        ),
        (
            "playlist_items",
            format!("track_id = '{}'", b.track),
            "added_at = added_at",
        ),
        (
            "playlist_quotas",
            format!("owner_id = '{}'", b.user),
            "live = live",
        ),
        ("mixes", format!("creator_id = '{}'", b.user), "name = name"),
        (
            "mix_layers",
            format!("track_id = '{}'", b.track),
            "volume = volume",
        ),
        // Drafts belong to no account yet: only the SQL functions reach them, by token.
        (
            "drafts",
            format!("token_hash = sha256(convert_to('{}', 'UTF8'))", b.email),
            "body = body",
        ),
        (
            "draft_tokens",
            format!("token_hash = sha256(convert_to('{}', 'UTF8'))", b.email),
            "token_hash = token_hash",
        ),
        ("code_batches", format!("id = '{}'", b.batch), "note = note"),
        (
            "access_codes",
            format!("batch_id = '{}'", b.batch),
            "uses = uses",
        ),
        (
            "redemptions",
            format!("user_id = '{}'", b.user),
            "redeemed_at = redeemed_at",
        ),
        ("events", format!("id = '{}'", b.gathering), "name = name"),
        (
            "checkins",
            format!("user_id = '{}'", b.user),
            "checked_in_at = checked_in_at",
        ),
        (
            "gate_failures",
            format!("user_id = '{}'", b.user),
            "failed_at = failed_at",
        ),
        (
            "credit_accounts",
            format!("user_id = '{}'", b.user),
            "available = available",
        ),
        (
            "credit_entries",
            format!("account_id = '{}'", b.batch),
            "amount = amount",
        ),
        (
            "orders",
            format!("user_id = '{}'", b.user),
            "status = status",
        ),
        // Stripe's events are nobody's: only the webhook, in a service context, reads them.
        ("stripe_events", "id = 'evt_b'".to_owned(), "type = type"),
        (
            "subscriptions",
            format!("user_id = '{}'", b.user),
            "cancel_at_period_end = cancel_at_period_end",
        ),
        (
            "preorders",
            format!("user_id = '{}'", b.user),
            "status = status",
        ),
        (
            "track_stat_days",
            format!("track_id = '{}'", b.track),
            "counted = counted",
        ),
        (
            "release_stat_days",
            format!("release_id = '{}'", b.release),
            "counted = counted",
        ),
        (
            "notifications",
            format!("user_id = '{}'", b.user),
            "attempts = attempts",
        ),
        (
            "taste_points",
            format!("track_id = '{}'", b.track),
            "point = point",
        ),
    ]
}

/// Tables no function role has any grant on: reached only through SECURITY DEFINER functions
/// (taste_points: read by `nearest_tracks`, written by the tracks triggers and the rebuild).
const FUNCTIONS_ONLY: &[&str] = &["drafts", "draft_tokens", "taste_points"];

/// Artist profiles are every artist's public face: readable by all, written by their owner.
const PUBLIC_READ: &[&str] = &["artist_profiles"];

/// Run one statement in a transaction carrying `user`'s context (none: the service context);
/// the number of rows it returned or touched, or `None` when the role is refused outright.
async fn as_user(
    client: &mut deadpool_postgres::Object,
    user: Option<(Uuid, Uuid)>,
    sql: &str,
) -> Option<u64> {
    let tx = client.transaction().await.unwrap();
    if let Some((user, session)) = user {
        tx.execute(
            "SELECT set_config('hound.user_id', $1, true), set_config('hound.session_id', $2, true)",
            &[&user.to_string(), &session.to_string()],
        )
        .await
        .unwrap();
    }
    let outcome = if sql.starts_with("SELECT") {
        tx.query(sql, &[]).await.map(|rows| rows.len() as u64)
    } else {
        tx.execute(sql, &[]).await
    };
    tx.rollback().await.ok();
    match outcome {
        Ok(n) => Some(n),
        Err(e) if refused(&e) => None,
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test]
async fn in_a_users_name_no_function_role_reads_or_changes_another_users_rows() {
    let db = TestDb::new().await;
    let world = world(&db).await;
    let admin = db.pool.get().await.unwrap();
    let probes = b_rows(&world.b);

    // Every table with row-level security is probed: a new one must be added above.
    let mut probed: Vec<String> = probes.iter().map(|(t, _, _)| t.to_string()).collect();
    probed.sort();
    let protected = names(
        &admin,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity
            AND NOT c.relispartition
          ORDER BY 1",
    )
    .await;
    assert_eq!(probed, protected);

    for role in roles::ALL {
        let mut client = connect_as(&db, role).await;
        for (table, predicate, assignment) in &probes {
            let before: i64 = admin
                .query_one(
                    &format!("SELECT count(*) FROM {table} WHERE {predicate}"),
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            assert!(before > 0, "the fixture has B's rows in {table}");
            let mut probes = vec![
                (
                    "updates",
                    format!("UPDATE {table} SET {assignment} WHERE {predicate}"),
                ),
                ("deletes", format!("DELETE FROM {table} WHERE {predicate}")),
            ];
            if !PUBLIC_READ.contains(table) {
                probes.push(("reads", format!("SELECT 1 FROM {table} WHERE {predicate}")));
            }
            for (what, sql) in probes {
                let touched =
                    as_user(&mut client, Some((world.user_a, world.session_a)), &sql).await;
                assert!(
                    matches!(touched, None | Some(0)),
                    "{role} {what} B's {table}: {touched:?}"
                );
            }
        }
    }

    // The probes are not vacuous: each of B's rows is read by some function role, in B's own
    // context or in the service context, through the same predicate A was refused by.
    // Drafts belong to no account: no role reads them directly, only the SQL functions
    // save_draft / claim_drafts do (functions/auth/tests/api/drafts.rs shows them at work);
    // taste_points likewise (functions/maintenance/tests/taste_index.rs).
    let mut unseen: Vec<&str> = probes
        .iter()
        .map(|(t, _, _)| *t)
        .filter(|t| !FUNCTIONS_ONLY.contains(t))
        .collect();
    for role in roles::ALL {
        let mut client = connect_as(&db, role).await;
        for (table, predicate, _) in &probes {
            let sql = format!("SELECT 1 FROM {table} WHERE {predicate}");
            for context in [Some((world.b.user, world.b.session)), None] {
                if matches!(as_user(&mut client, context, &sql).await, Some(n) if n > 0) {
                    unseen.retain(|t| t != table);
                }
            }
        }
    }
    assert!(
        unseen.is_empty(),
        "no function role reads B's rows in {unseen:?}"
    );
}

#[tokio::test]
async fn a_studio_cannot_point_its_own_rows_at_another_artists() {
    let db = TestDb::new().await;
    let world = world(&db).await;
    let admin = db.pool.get().await.unwrap();
    // A's own draft with a track.
    let artist_a: Uuid = admin
        .query_one(
            "SELECT id FROM artist_profiles WHERE user_id = $1",
            &[&world.user_a],
        )
        .await
        .unwrap()
        .get(0);
    let (release_a, track_a) = (Uuid::now_v7(), Uuid::now_v7());
    admin
        .execute(
            "INSERT INTO releases (id, artist_id, title, kind, share_token)
             VALUES ($1, $2, 'A draft', 'album', md5(random()::text))",
            &[&release_a, &artist_a],
        )
        .await
        .unwrap();
    admin
        .execute(
            "INSERT INTO tracks (id, release_id, position, title) VALUES ($1, $2, 1, 'A track')",
            &[&track_a, &release_a],
        )
        .await
        .unwrap();
    let mut studio = connect_as(&db, roles::STUDIO).await;
    let a = Some((world.user_a, world.session_a));
    let b = &world.b;
    let upload = |release: Uuid, track: Uuid| {
        format!(
            "INSERT INTO assets (id, artist_id, release_id, track_id, kind, bucket, key, filename,
                                 content_type, size_bytes)
             VALUES ('{}', '{artist_a}', '{release}', '{track}', 'master', 'b', '{}', 'x.wav',
                     'audio/wav', 1)",
            Uuid::now_v7(),
            Uuid::now_v7()
        )
    };
    let refused = [
        ("an upload on B's release", upload(b.release, b.track)),
        ("an upload on B's track", upload(release_a, b.track)),
        (
            "B's upload as A's master",
            format!(
                "UPDATE tracks SET master_asset_id = '{}' WHERE id = '{track_a}'",
                b.asset
            ),
        ),
        (
            "B's upload as A's cover",
            format!(
                "UPDATE releases SET cover_asset_id = '{}' WHERE id = '{release_a}'",
                b.asset
            ),
        ),
    ];
    for (what, sql) in refused {
        assert_eq!(as_user(&mut studio, a, &sql).await, None, "{what}");
    }
    // The same statements on A's own rows go through.
    assert_eq!(
        as_user(&mut studio, a, &upload(release_a, track_a)).await,
        Some(1)
    );
}

#[tokio::test]
async fn a_share_token_opens_its_own_release_only() {
    let db = TestDb::new().await;
    let admin = db.pool.get().await.unwrap();
    let (_, _, artist, _) = account(&admin, "owner").await;
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, token) in [(x, "token-x"), (y, "token-y")] {
        admin
            .execute(
                "INSERT INTO releases (id, artist_id, title, kind, share_token, access, status,
                                       publish_at, published_at)
                 VALUES ($1, $2, 'Unlisted', 'album', $3, 'unlisted', 'published', now(), now())",
                &[&id, &artist, &token],
            )
            .await
            .unwrap();
    }
    let mut listener = connect_as(&db, roles::LISTENER).await;
    let mut visible = async |token: Option<&str>| {
        let tx = listener.transaction().await.unwrap();
        if let Some(token) = token {
            tx.execute(
                "SELECT set_config('hound.share_token', $1, true)",
                &[&token],
            )
            .await
            .unwrap();
        }
        let rows = tx
            .query(
                "SELECT id FROM releases WHERE id = ANY ($1) ORDER BY id",
                &[&vec![x, y]],
            )
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>()
    };
    assert_eq!(visible(None).await, Vec::<Uuid>::new());
    assert_eq!(visible(Some("token-x")).await, vec![x]);
    assert_eq!(visible(Some("token-y")).await, vec![y]);
    assert_eq!(visible(Some("token-z")).await, Vec::<Uuid>::new());
}

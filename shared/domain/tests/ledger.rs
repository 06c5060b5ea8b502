//! The ledger's own guarantees, whoever asks: entries are append-only for every function role
//! and for the owner, each kind carries only its sign, a cause is booked once, and deleting an
//! account keeps its money history, anonymised.

use hound_domain::auth::AccountKind;
use hound_domain::db::roles;
use hound_testing::{TestDb, sign_up};

fn refused(err: &tokio_postgres::Error) -> bool {
    err.as_db_error().is_some_and(|e| {
        matches!(
            e.code().code(),
            "42501" // insufficient_privilege (grants, and the append-only trigger)
        )
    })
}

#[tokio::test]
async fn entries_cannot_be_changed_or_removed_by_any_role_or_the_owner() {
    let db = TestDb::new().await;
    let (user, _) = sign_up(&db, AccountKind::Listener, "fan@example.com", "Fan").await;
    let admin = db.pool.get().await.unwrap();
    let entries: i64 = admin
        .query_one("SELECT count(*) FROM credit_entries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(entries, 1, "the welcome grant");

    for role in roles::ALL {
        let client = db.pool_as(role).get().await.unwrap();
        for statement in [
            format!(
                "BEGIN; SELECT set_config('hound.user_id', '{}', true);
                 UPDATE credit_entries SET amount = 1000; COMMIT",
                user.id
            ),
            format!(
                "BEGIN; SELECT set_config('hound.user_id', '{}', true);
                 DELETE FROM credit_entries; COMMIT",
                user.id
            ),
            "TRUNCATE credit_entries".to_owned(),
        ] {
            let err = client
                .batch_execute(&statement)
                .await
                .expect_err(&format!("{role}: {statement}"));
            assert!(refused(&err), "{role}: {statement}: {err}");
            client.batch_execute("ROLLBACK").await.ok();
        }
    }
    // The owner (migrations) is refused by the trigger.
    for statement in [
        "SET ROLE hound_owner; UPDATE credit_entries SET amount = 1000",
        "SET ROLE hound_owner; DELETE FROM credit_entries",
        "SET ROLE hound_owner; TRUNCATE credit_entries",
    ] {
        let err = admin.batch_execute(statement).await.expect_err(statement);
        assert!(refused(&err), "{statement}: {err}");
        admin.batch_execute("RESET ROLE").await.unwrap();
    }
    let after: i64 = admin
        .query_one("SELECT count(*) FROM credit_entries WHERE amount = 10", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, 1, "the grant is as it was");
}

#[tokio::test]
async fn each_kind_carries_only_its_sign_and_a_cause_is_booked_once() {
    let db = TestDb::new().await;
    let (user, _) = sign_up(&db, AccountKind::Listener, "fan@example.com", "Fan").await;
    let admin = db.pool.get().await.unwrap();
    let account: uuid::Uuid = admin
        .query_one(
            "SELECT id FROM credit_accounts WHERE user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    let insert = |kind: &'static str, amount: i64, held: i64, cause: &'static str| {
        let admin = &admin;
        async move {
            admin
                .execute(
                    "INSERT INTO credit_entries (id, account_id, kind, amount, held_delta,
                                                 balance_after, held_after, debt_after,
                                                 external_id)
                     VALUES (gen_random_uuid(), $1, $2::text::credit_entry_kind, $3, $4, 10, 0, 0,
                             $5)",
                    &[&account, &kind, &amount, &held, &cause],
                )
                .await
        }
    };
    for (kind, amount, held) in [
        ("grant", -5, 0),
        ("purchase", 0, 0),
        ("usage", 5, 0),
        ("reserve", -5, 0),
        ("reserve", -5, 4),
        ("release", 5, 5),
        ("capture", 0, 5),
        ("debt", 1, 0),
    ] {
        assert!(
            insert(kind, amount, held, "sign-test").await.is_err(),
            "{kind} {amount} {held} must be refused"
        );
    }
    insert("reserve", -5, 5, "order-1").await.unwrap();
    let err = insert("reserve", -5, 5, "order-1").await.unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().constraint(),
        Some("credit_entries_kind_external_id_key")
    );
    // A signup's welcome grant is its own cause: it cannot be booked twice either.
    let welcome = format!("welcome:{}", user.id);
    let err = admin
        .execute(
            "INSERT INTO credit_entries (id, account_id, kind, amount, balance_after, held_after,
                                         debt_after, external_id)
             VALUES (gen_random_uuid(), $1, 'grant', 10, 20, 0, 0, $2)",
            &[&account, &welcome],
        )
        .await
        .unwrap_err();
    assert!(err.as_db_error().is_some());
}

#[tokio::test]
async fn deleting_an_account_keeps_its_ledger_anonymised() {
    let db = TestDb::new().await;
    let (user, _) = sign_up(&db, AccountKind::Listener, "gone@example.com", "Gone").await;
    let admin = db.pool.get().await.unwrap();
    admin
        .execute("DELETE FROM users WHERE id = $1", &[&user.id])
        .await
        .unwrap();
    let row = admin
        .query_one(
            "SELECT count(*), count(a.user_id), sum(e.amount)::bigint
               FROM credit_entries e JOIN credit_accounts a ON a.id = e.account_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "the entry is kept");
    assert_eq!(row.get::<_, i64>(1), 0, "no longer tied to the person");
    assert_eq!(row.get::<_, i64>(2), 10);
}

//! Which database failures are the client's, ours, or the database's: only a connection that
//! cannot be had or broke, or a transaction the server rolled back to break a deadlock, is
//! "unavailable" (503, retry); a driver error of our own making (a value
//! that does not convert, a wrong parameter) is a bug (500, logged), never a 503.

use hound_domain::db::{self, DbError, PoolSettings};
use hound_testing::TestDb;

#[tokio::test]
async fn a_value_that_does_not_convert_is_a_query_error_not_unavailable() {
    let db = TestDb::new().await;
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one("SELECT 'text'::text AS t", &[])
        .await
        .unwrap();
    let err = row.try_get::<_, i32>("t").unwrap_err();
    assert!(matches!(DbError::from(err), DbError::Query(_)));
    let err = client
        .query_one("SELECT $1::int", &[&"not an int"])
        .await
        .unwrap_err();
    assert!(matches!(DbError::from(err), DbError::Query(_)));
}

#[tokio::test]
async fn a_connection_that_cannot_be_had_is_unavailable() {
    let unreachable = db::pool(&PoolSettings {
        url: "postgres://postgres@127.0.0.1:1/hound".to_owned().into(),
        max_size: 1,
        ca_file: None,
        role: None,
    })
    .unwrap();
    let err = db::connect(&unreachable).await.unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_transaction_rolled_back_to_break_a_deadlock_is_unavailable_so_it_is_retried() {
    let db = TestDb::new().await;
    let setup = db.pool.get().await.unwrap();
    setup
        .batch_execute("CREATE TABLE pair (id int PRIMARY KEY); INSERT INTO pair VALUES (1), (2)")
        .await
        .unwrap();
    let (one, two) = (db.pool.get().await.unwrap(), db.pool.get().await.unwrap());
    // Each locks one row, then asks for the other's: one of the two is chosen and rolled back.
    one.batch_execute("BEGIN; UPDATE pair SET id = id WHERE id = 1")
        .await
        .unwrap();
    two.batch_execute("BEGIN; UPDATE pair SET id = id WHERE id = 2")
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        one.execute("UPDATE pair SET id = id WHERE id = 2", &[]),
        two.execute("UPDATE pair SET id = id WHERE id = 1", &[]),
    );
    let err = match (a, b) {
        (Err(err), Ok(_)) | (Ok(_), Err(err)) => err,
        other => panic!("exactly one of the two fails: {other:?}"),
    };
    assert!(
        matches!(DbError::from(err), DbError::Unavailable(_)),
        "a deadlock victim may simply try again"
    );
}

//! Which database failures are the client's, ours, or the database's: only a connection that
//! cannot be had or broke is "unavailable" (503, retry); a driver error of our own making (a value
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

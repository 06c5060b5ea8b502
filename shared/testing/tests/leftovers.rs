//! The harness drops the databases a killed test run left behind, and only those.

use hound_testing::{TestDb, admin_url, sweep_leftover_databases, test_db_pid};
use tokio_postgres::NoTls;

async fn exists(client: &tokio_postgres::Client, name: &str) -> bool {
    client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn databases_of_test_processes_that_are_gone_are_dropped_and_the_rest_kept() {
    let _db = TestDb::new().await;
    let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls).await.unwrap();
    tokio::spawn(connection);

    // A process that ran and ended: its id no longer runs.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let id = || uuid::Uuid::new_v4().simple().to_string();
    let killed = format!("hound_test_{gone_pid}_{}", id());
    let live = format!("hound_test_{}_{}", std::process::id(), id());
    let older_naming = format!("hound_test_{}", id());
    assert_eq!(test_db_pid(&killed), Some(gone_pid));
    assert_eq!(test_db_pid(&older_naming), None);
    for name in [&killed, &live, &older_naming] {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }

    sweep_leftover_databases(&client, hound_testing::MAX_SWEEP).await;
    assert!(
        !exists(&client, &killed).await,
        "the killed run's database is dropped"
    );
    assert!(
        exists(&client, &live).await,
        "a running process keeps its database"
    );
    assert!(
        exists(&client, &older_naming).await,
        "names without a process id are left alone"
    );
    for name in [&live, &older_naming] {
        client
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}

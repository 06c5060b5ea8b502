//! Upload intents never completed: after `ABANDON_AFTER_HOURS` (far past the presigned URL's
//! 15 minutes, so no upload can still arrive) whatever was stored for them is deleted and they
//! are marked `abandoned` (`complete` then answers 409 `upload_expired`). The maintenance
//! schedule runs it, a bounded number a run; deleting first and marking after makes a failed run
//! safe to repeat.

use deadpool_postgres::GenericClient;

use crate::aws::Storage;
use crate::catalog::StudioError;

/// Hours after which an intent that was never completed is given up.
pub const ABANDON_AFTER_HOURS: i32 = 24;

const STALE: &str = "\
    SELECT id, bucket, key FROM assets
     WHERE state = 'pending_upload' AND created_at < now() - make_interval(hours => $1)
     ORDER BY created_at
     LIMIT $2";

const ABANDON: &str = "\
    UPDATE assets SET state = 'abandoned' WHERE id = ANY ($1) AND state = 'pending_upload'";

/// Give up at most `limit` stale intents (service context): their objects deleted, their rows
/// marked. How many were marked.
pub async fn abandon_stale_uploads(
    db: &impl GenericClient,
    storage: &Storage,
    limit: i64,
) -> Result<u64, StudioError> {
    let statement = db.prepare_cached(STALE).await?;
    let rows = db
        .query(&statement, &[&ABANDON_AFTER_HOURS, &limit])
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        storage.delete(row.get("bucket"), row.get("key")).await?;
        ids.push(row.get::<_, uuid::Uuid>("id"));
    }
    let statement = db.prepare_cached(ABANDON).await?;
    Ok(db.execute(&statement, &[&ids]).await?)
}

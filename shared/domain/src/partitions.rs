//! Monthly partitions of the telemetry tables: create ahead, and drop whole old months (DETACH
//! then DROP, never row deletes). Called by `hound partitions`; a scheduled function can call
//! the same two functions.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;

use crate::db::DbError;

/// The tables partitioned by month on their event time.
pub const PARTITIONED: &[&str] = &["plays", "listen_events"];

/// Months created ahead of this one, unless told otherwise (CLI and schedule alike).
pub const DEFAULT_MONTHS_AHEAD: i32 = 3;
/// The most months one call may create ahead.
pub const MAX_MONTHS_AHEAD: i32 = 24;
/// Pruning keeps at least the telemetry window (items up to 30 days old are accepted).
pub const MIN_KEEP_DAYS: u32 = 31;

/// `months_ahead` if it is within 0..=[`MAX_MONTHS_AHEAD`].
pub fn months_ahead(months: i32) -> Result<i32, String> {
    if (0..=MAX_MONTHS_AHEAD).contains(&months) {
        Ok(months)
    } else {
        Err(format!("months ahead must be 0..={MAX_MONTHS_AHEAD}"))
    }
}

/// `keep_days` if it is at least [`MIN_KEEP_DAYS`].
pub fn keep_days(days: u32) -> Result<u32, String> {
    if days >= MIN_KEEP_DAYS {
        Ok(days)
    } else {
        Err(format!("keep days must be at least {MIN_KEEP_DAYS}"))
    }
}

const ENSURE_MONTHS: &str = "SELECT ensure_month_partitions($1, $2, $3)";

const DROP_MONTH: &str = "SELECT drop_month_partition($1, $2)";

/// Every partition of the partitioned tables with its exclusive upper bound, oldest first.
const LIST_PARTITIONS: &str = "\
    SELECT parent.relname::text, child.relname::text,
           substring(pg_get_expr(child.relpartbound, child.oid)
                     FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS upper
      FROM pg_inherits i
      JOIN pg_class parent ON parent.oid = i.inhparent
      JOIN pg_class child ON child.oid = i.inhrelid
      JOIN pg_namespace n ON n.oid = child.relnamespace
     WHERE parent.relname = ANY ($1) AND n.nspname = current_schema()
     ORDER BY 3, 2";

/// Create the partitions of `table` for `months` months from the one holding `from` (those
/// missing only); returns the names created.
pub async fn ensure_table(
    db: &impl GenericClient,
    table: &str,
    from: OffsetDateTime,
    months: i32,
) -> Result<Vec<String>, DbError> {
    let statement = db.prepare_cached(ENSURE_MONTHS).await?;
    let rows = db.query(&statement, &[&table, &from, &months]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Every partitioned table: last month (telemetry accepts 30-day-old items), this month and
/// `months_ahead` more.
#[tracing::instrument(skip(db))]
pub async fn ensure(
    db: &impl GenericClient,
    now: OffsetDateTime,
    months_ahead: i32,
) -> Result<Vec<String>, DbError> {
    let mut created = Vec::new();
    // A day in last month: the last one (on the 1st of a month after a 30-day month, 31 days
    // back would be two months back, and the month `months_ahead` ahead would go missing).
    let last_month = now - time::Duration::days(i64::from(now.day()));
    for table in PARTITIONED {
        created.extend(ensure_table(db, table, last_month, months_ahead + 2).await?);
    }
    Ok(created)
}

/// A partition and its exclusive upper bound.
#[derive(Debug, Clone)]
pub struct Partition {
    pub table: String,
    pub name: String,
    pub upper: OffsetDateTime,
}

/// Every partition of the partitioned tables, oldest first.
pub async fn list(db: &impl GenericClient) -> Result<Vec<Partition>, DbError> {
    let statement = db.prepare_cached(LIST_PARTITIONS).await?;
    let tables: Vec<&str> = PARTITIONED.to_vec();
    let rows = db.query(&statement, &[&tables]).await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(Partition {
                table: row.get(0),
                name: row.get(1),
                upper: row.get::<_, Option<OffsetDateTime>>(2)?,
            })
        })
        .collect())
}

/// Detach and drop every partition whose rows are all older than `keep_days` (its upper bound
/// is at or before now − keep_days); returns the names dropped.
#[tracing::instrument(skip(db))]
pub async fn prune(
    db: &impl GenericClient,
    now: OffsetDateTime,
    keep_days: u32,
) -> Result<Vec<String>, DbError> {
    let cutoff = now - time::Duration::days(i64::from(keep_days));
    let mut dropped = Vec::new();
    for partition in list(db).await? {
        if partition.upper > cutoff {
            continue;
        }
        // DDL through the owner's function: no function role may drop a table itself.
        let statement = db.prepare_cached(DROP_MONTH).await?;
        db.execute(&statement, &[&partition.table, &partition.name])
            .await?;
        dropped.push(partition.name);
    }
    Ok(dropped)
}

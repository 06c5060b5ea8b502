//! Migrations: embedded at build time, applied as the owner role `hound_owner`, so every object
//! they create is owned by it and by no function's role.

use anyhow::Context as _;
use deadpool_postgres::Pool;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Run by the migrating user (a superuser locally, the RDS master user in AWS) before the
/// migrations: the owner role exists (it creates the functions' roles in V6, hence CREATEROLE),
/// the migrating user may act as it, it owns the schema, and it owns whatever earlier
/// migrations created before it existed; and the extensions the schema uses (`cube`, contrib,
/// also on RDS) exist, created by this user, since creating one is the database's business.
/// Idempotent.
const OWNER_BOOTSTRAP: &str = r#"
DO $$
DECLARE
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hound_owner') THEN
        CREATE ROLE hound_owner NOLOGIN NOSUPERUSER CREATEROLE;
    END IF;
    IF current_user <> 'hound_owner' AND NOT pg_has_role(current_user, 'hound_owner', 'MEMBER') THEN
        EXECUTE format('GRANT hound_owner TO %I', current_user);
    END IF;
    ALTER SCHEMA public OWNER TO hound_owner;
    CREATE EXTENSION IF NOT EXISTS cube SCHEMA public;
    FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND c.relowner <> 'hound_owner'::regrole
    LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO hound_owner', r.relname);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public' AND p.proowner <> 'hound_owner'::regrole
                -- An extension's own functions stay its own.
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                   AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO hound_owner', r.signature);
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = 'public' AND t.typtype = 'e'
                AND t.typowner <> 'hound_owner'::regrole
    LOOP
        EXECUTE format('ALTER TYPE %I OWNER TO hound_owner', r.typname);
    END LOOP;
END
$$;
SET ROLE hound_owner;
"#;

/// Apply every pending migration from `migrations/` (embedded at build time), as `hound_owner`.
pub async fn migrate(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let mut client = pool.get().await.context("connecting to run migrations")?;
    client
        .batch_execute(OWNER_BOOTSTRAP)
        .await
        .context("preparing the owner role hound_owner")?;
    let raw: &mut tokio_postgres::Client = &mut client;
    let report = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(raw)
        .await
        .context("applying migrations");
    // The connection goes back to the pool as the user it was opened as.
    client.batch_execute("RESET ROLE").await.ok();
    Ok(report?
        .applied_migrations()
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// Name and checksum of every embedded migration; tests key their template database on it so
/// a changed migration never reuses a stale template.
pub fn migrations_fingerprint() -> u64 {
    embedded::migrations::runner().get_migrations().iter().fold(
        0xcbf2_9ce4_8422_2325_u64,
        |acc, m| {
            (acc ^ m.checksum()).wrapping_mul(0x0100_0000_01b3)
                ^ u64::from(m.version().unsigned_abs())
        },
    )
}

//! `maintenance_runs`: the last run of each retention job (`jobs`), what it removed, for
//! operators (and later the admin UI) to see that the purges run.

use diesel::prelude::*;

use super::schema::maintenance_runs;
use super::{DbConn, StorageError};

/// The job purging old audit events (cutting their chains at checkpoints).
pub const AUDIT_RETENTION: &str = "audit_events";
/// The job purging old sign-in events.
pub const SIGN_IN_EVENT_RETENTION: &str = "sign_in_events";

/// One job's last run.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = maintenance_runs)]
pub struct MaintenanceRun {
    pub job: String,
    /// Unix seconds.
    pub last_run_at: i64,
    /// Rows that run removed.
    pub rows_removed: i64,
}

/// Records a finished run of `job` (replacing the previous one).
pub fn record_run(conn: &mut DbConn, run: &MaintenanceRun) -> Result<(), StorageError> {
    super::upsert(
        conn,
        diesel::insert_into(maintenance_runs::table)
            .values(run)
            .on_conflict(maintenance_runs::job)
            .do_update()
            .set((
                maintenance_runs::last_run_at.eq(run.last_run_at),
                maintenance_runs::rows_removed.eq(run.rows_removed),
            )),
    )?;
    Ok(())
}

/// Every job's last run, by job name.
pub fn runs(conn: &mut DbConn) -> Result<Vec<MaintenanceRun>, StorageError> {
    Ok(maintenance_runs::table
        .order(maintenance_runs::job)
        .select(MaintenanceRun::as_select())
        .load(conn)?)
}

/// One job's last run, if it ran.
pub fn run(conn: &mut DbConn, job: &str) -> Result<Option<MaintenanceRun>, StorageError> {
    Ok(maintenance_runs::table
        .find(job)
        .select(MaintenanceRun::as_select())
        .first(conn)
        .optional()?)
}

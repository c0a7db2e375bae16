//! The audit log's integrity: verifying each tenant's hash chain (and the instance's) from its
//! newest retention checkpoint to its head (`storage::audit::verify`, `domain::audit_chain`),
//! for `watchword audit verify` and, later, the admin API.

use std::fmt;

use serde::Serialize;

use crate::context::Ctx;
use crate::domain::audit_chain::Break;
use crate::domain::ids::TenantId;
use crate::storage;

use super::AdminError;

/// Rows read per query while verifying.
pub const VERIFY_BATCH: i64 = 1000;

/// What verifying one chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The chain: a tenant id, or `""` for instance-level events.
    pub chain: String,
    /// The checkpoint verification started from (retention removed the rows up to it).
    pub checkpoint: Option<i64>,
    /// Rows verified, and their first and last seq.
    pub rows: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// Rows written before the chain existed (not covered by it).
    pub unchained: i64,
    /// Where the chain breaks, if it does.
    pub broken: Option<Break>,
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }

    /// The tenant whose chain this is (`None`: the instance's).
    pub fn tenant(&self) -> Option<TenantId> {
        self.chain.parse().ok()
    }
}

impl fmt::Display for ChainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.broken {
            Some(b) => write!(f, "{b}")?,
            None => {
                write!(f, "intact: {} rows", self.rows)?;
                if let (Some(a), Some(b)) = (self.first_seq, self.last_seq) {
                    write!(f, " (seq {a}..{b})")?;
                }
                if let Some(s) = self.checkpoint {
                    write!(f, ", from checkpoint {s}")?;
                }
            }
        }
        if self.unchained > 0 {
            write!(
                f,
                "; {} older rows are not chained (written before the chain existed)",
                self.unchained
            )?;
        }
        Ok(())
    }
}

/// Verifies `tenant`'s chain for an administrator who reads its events (the admin API's
/// `/audit/verify`; the CLI verifies every chain with [`verify_all`]).
pub async fn verify_for(
    ctx: &Ctx,
    tenant: &crate::domain::tenant::Tenant,
    by: &super::authz::Admin,
) -> Result<ChainReport, AdminError> {
    use crate::domain::admin::{Module, Permission};
    by.require(tenant.id, Permission::read(Module::Events))?;
    verify(ctx, Some(tenant.id)).await
}

/// Verifies the chain of a tenant, or of instance-level events for `None`.
pub async fn verify(ctx: &Ctx, chain: Option<TenantId>) -> Result<ChainReport, AdminError> {
    verify_chain(ctx, storage::audit::chain_of(chain)).await
}

/// Verifies every chain: every tenant's, the instance's, and any other the database has a head
/// or checkpoint for. Ordered by chain name (the instance's first).
pub async fn verify_all(ctx: &Ctx) -> Result<Vec<ChainReport>, AdminError> {
    let mut chains = ctx.db.run(storage::audit::chains).await?;
    chains.push(storage::audit::chain_of(None));
    chains.extend(
        super::tenants::list(ctx)
            .await?
            .into_iter()
            .map(|t| t.id.to_string()),
    );
    chains.sort();
    chains.dedup();
    let mut reports = Vec::with_capacity(chains.len());
    for chain in chains {
        reports.push(verify_chain(ctx, chain).await?);
    }
    Ok(reports)
}

async fn verify_chain(ctx: &Ctx, chain: String) -> Result<ChainReport, AdminError> {
    let name = chain.clone();
    let check = ctx
        .db
        .run(move |c| storage::audit::verify(c, &name, VERIFY_BATCH))
        .await?;
    let (verified, broken) = match check.result {
        Ok(v) => (Some(v), None),
        Err(b) => (None, Some(b)),
    };
    Ok(ChainReport {
        chain,
        checkpoint: check.checkpoint.map(|c| c.seq),
        rows: verified.map_or(0, |v| v.rows),
        first_seq: verified.and_then(|v| v.first),
        last_seq: verified.and_then(|v| v.last),
        unchained: check.unchained,
        broken,
    })
}

//! `watchword audit verify [--tenant SLUG] [--json]`: verifies the audit log's hash chains
//! (`crate::admin::audit`), one line per chain; exit status 1 when any chain is broken.

use clap::Subcommand;

use super::{CliError, admin_err};
use crate::admin::{self, audit::ChainReport};
use crate::app::Watchword;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log's hash chains from their newest retention checkpoint to their
    /// head: every tenant's and the instance's, or one tenant's. Prints one line per chain
    /// ("intact: …" or "broken at seq N (event id …): …"); exits 1 if any chain is broken.
    Verify {
        /// Only this tenant's chain.
        #[arg(long)]
        tenant: Option<String>,
        /// Print one JSON object per chain instead.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(app: &Watchword, cmd: AuditCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    let AuditCommand::Verify { tenant, json } = cmd;
    let tenants = admin::tenants::list(ctx).await.map_err(admin_err)?;
    let reports = match tenant {
        Some(slug) => {
            let tenant = admin::tenants::get(ctx, &slug).await.map_err(admin_err)?;
            vec![
                admin::audit::verify(ctx, Some(tenant.id))
                    .await
                    .map_err(admin_err)?,
            ]
        }
        None => admin::audit::verify_all(ctx).await.map_err(admin_err)?,
    };
    let name = |r: &ChainReport| match r.tenant() {
        None if r.chain.is_empty() => "instance".to_owned(),
        None => format!("chain {:?}", r.chain),
        Some(id) => tenants
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| format!("tenant {id}"), |t| format!("tenant {}", t.slug)),
    };
    for r in &reports {
        if json {
            let mut v = serde_json::to_value(r)?;
            v["name"] = serde_json::Value::String(name(r));
            v["intact"] = serde_json::Value::Bool(r.intact());
            println!("{v}");
        } else {
            println!("{}: {r}", name(r));
        }
    }
    match reports.iter().filter(|r| !r.intact()).count() {
        0 => Ok(()),
        n => Err(CliError::Failed(format!(
            "the audit log does not verify: {n} broken chain(s)"
        ))),
    }
}

//! Authorization requests waiting for the user (to sign in or consent), parked in the session
//! store for 30 minutes under a random id and resumed from `/authorize/continue?id=…`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::ids::TenantId;
use crate::domain::session::BrowserSession;
use crate::oauth::params::Params;
use crate::session_store::StoreError;

const TTL: Duration = Duration::from_secs(1800);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    #[serde(skip)]
    pub id: Option<String>,
    pub tenant_id: TenantId,
    pub params: Params,
    pub created_at: i64,
    /// `prompt=login`: a new authentication is required. `stale_auth_id` is the `auth_id` of the
    /// session the browser had when the request arrived, which does not count.
    pub force_login: bool,
    pub stale_auth_id: Option<String>,
    /// What the request waits for. Only a request parked for consent may be answered on the
    /// consent page; the others resume through `/authorize/continue`, which runs every check.
    #[serde(default)]
    pub parked_for: ParkedFor,
    /// The user approved this request on the consent page (so `prompt=consent` is satisfied).
    #[serde(default)]
    pub consented: bool,
}

/// Why a request was parked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkedFor {
    #[default]
    SignIn,
    StepUp,
    Consent,
}

impl Pending {
    pub fn new(
        tenant: TenantId,
        params: Params,
        now: i64,
        force_login: bool,
        current: Option<&BrowserSession>,
    ) -> Self {
        Self {
            id: None,
            tenant_id: tenant,
            params,
            created_at: now,
            force_login,
            stale_auth_id: current.map(|s| s.auth_id.clone()),
            parked_for: ParkedFor::SignIn,
            consented: false,
        }
    }

    /// Has `session` authenticated as this request requires (after it, for `prompt=login`)?
    pub fn login_satisfied(&self, session: &BrowserSession) -> bool {
        !self.force_login || self.stale_auth_id.as_deref() != Some(session.auth_id.as_str())
    }
}

fn key(id: &str) -> String {
    format!("authz:{id}")
}

/// Saves (under its id, or a new one), noting what it waits for, and returns the id.
pub async fn save(
    ctx: &Ctx,
    pending: &Pending,
    parked_for: ParkedFor,
) -> Result<String, StoreError> {
    let id = pending.id.clone().unwrap_or_else(random::token);
    let mut pending = pending.clone();
    pending.parked_for = parked_for;
    let bytes = serde_json::to_vec(&pending).expect("serializes");
    ctx.store.set(&key(&id), &bytes, TTL).await?;
    Ok(id)
}

pub async fn load(ctx: &Ctx, tenant: TenantId, id: &str) -> Result<Option<Pending>, StoreError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let Some(bytes) = ctx.store.get(&key(id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Pending>(&bytes)
        .ok()
        .filter(|p| p.tenant_id == tenant)
        .map(|mut p| {
            p.id = Some(id.to_owned());
            p
        }))
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<(), StoreError> {
    ctx.store.delete(&key(id)).await.map(|_| ())
}

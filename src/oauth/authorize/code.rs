//! Authorization codes: 256-bit random, stored (by SHA-256) in the session store for 60 seconds,
//! redeemable once (`take`). A redeemed code leaves a marker naming the grant it started, so a
//! second redemption is recognized and that grant revoked (RFC 6749 4.1.2, RFC 9700 4.1.2).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::types::AuthorizeRequest;
use crate::context::Ctx;
use crate::crypto::{random, sha256_hex};
use crate::domain::session::BrowserSession;
use crate::domain::tenant::Tenant;
use crate::oauth::error::OAuthError;
use crate::session_store::StoreError;

/// Lifetime of an authorization code.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a redeemed code is remembered, to catch replays.
const USED_TTL: Duration = Duration::from_secs(600);

/// Everything the token endpoint needs to finish the grant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRecord {
    pub tenant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub user_id: String,
    pub sid: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub issued_at: i64,
}

fn code_key(hash: &str) -> String {
    format!("code:{hash}")
}

fn used_key(hash: &str) -> String {
    format!("code-used:{hash}")
}

pub async fn issue(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &AuthorizeRequest,
    session: &BrowserSession,
) -> Result<String, OAuthError> {
    let code = random::token();
    let amr = crate::domain::session::amr_claim(&session.amr);
    let record = CodeRecord {
        tenant_id: tenant.id.to_string(),
        client_id: req.client.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        redirect_uri_given: req.redirect_uri_given,
        user_id: session.user_id.to_string(),
        sid: session.sid.clone(),
        scope: req.scope.to_string(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth_time: session.auth_time,
        acr: Some(crate::domain::session::acr_for(&amr).to_owned()),
        amr,
        issued_at: ctx.clock.unix(),
    };
    let bytes = serde_json::to_vec(&record).expect("serializes");
    ctx.store
        .set(&code_key(&sha256_hex(code.as_bytes())), &bytes, CODE_TTL)
        .await?;
    Ok(code)
}

/// What presenting a code found.
pub enum CodeRedemption {
    /// First redemption. The grant id is already reserved (and recorded against the code).
    Fresh {
        record: Box<CodeRecord>,
        grant_id: String,
    },
    /// The code was redeemed before; this is the grant it started, and whose code it was.
    Replayed(UsedCode),
    /// Unknown or expired.
    Invalid,
}

/// The marker a redeemed code leaves: the grant it started and the tenant and client it was
/// issued to, so a replay by another client is refused without touching the owner's grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedCode {
    pub grant_id: String,
    pub tenant_id: String,
    pub client_id: String,
}

impl UsedCode {
    /// Was the code issued to this client of this tenant?
    pub fn issued_to(&self, tenant_id: &str, client_id: &str) -> bool {
        self.tenant_id == tenant_id && self.client_id == client_id
    }
}

pub async fn redeem(ctx: &Ctx, code: &str) -> Result<CodeRedemption, StoreError> {
    let hash = sha256_hex(code.as_bytes());
    match ctx.store.take(&code_key(&hash)).await? {
        Some(bytes) => {
            let Ok(record) = serde_json::from_slice::<CodeRecord>(&bytes) else {
                return Ok(CodeRedemption::Invalid);
            };
            let grant_id = uuid::Uuid::now_v7().to_string();
            let used = UsedCode {
                grant_id: grant_id.clone(),
                tenant_id: record.tenant_id.clone(),
                client_id: record.client_id.clone(),
            };
            // Recorded before any token exists, so a replay racing this redemption revokes it.
            ctx.store
                .set(
                    &used_key(&hash),
                    &serde_json::to_vec(&used).expect("serializes"),
                    USED_TTL,
                )
                .await?;
            Ok(CodeRedemption::Fresh {
                record: Box::new(record),
                grant_id,
            })
        }
        None => Ok(match ctx.store.get(&used_key(&hash)).await? {
            Some(bytes) => match serde_json::from_slice::<UsedCode>(&bytes) {
                Ok(used) => CodeRedemption::Replayed(used),
                // A marker without its owner cannot be acted on safely.
                Err(_) => CodeRedemption::Invalid,
            },
            None => CodeRedemption::Invalid,
        }),
    }
}

//! WebAuthn (webauthn-rs): security keys and platform authenticators as a second factor, and
//! passkeys (discoverable credentials) for signing in without a password. Ceremony state lives in
//! the session store for five minutes under a random handle, bound to the user it was started for,
//! and is taken (single use) when the ceremony finishes. The relying party is the host of
//! `server.public_url`; an IP address cannot be one, so WebAuthn is off when Watchword is
//! addressed by IP (see `crate::context`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Webauthn,
};

use super::FactorError;
use crate::context::Ctx;
use crate::crypto::random;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::session::Amr;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::{self, factors::CredentialRow};

const CEREMONY_TTL: Duration = Duration::from_secs(300);

fn webauthn(ctx: &Ctx) -> Result<&Webauthn, FactorError> {
    ctx.webauthn
        .as_deref()
        .ok_or_else(|| FactorError::WebAuthn("WebAuthn is not available on this server".into()))
}

/// What kind of credential a registration makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A security key or platform authenticator used after the password.
    SecurityKey,
    /// A discoverable credential: signs in without username or password.
    Passkey,
}

/// Ceremony state, kept server-side between the two halves of a ceremony.
#[derive(Serialize, Deserialize)]
enum State {
    Register {
        user: UserId,
        kind: Kind,
        state: PasskeyRegistration,
    },
    Authenticate {
        user: UserId,
        state: PasskeyAuthentication,
    },
    Discoverable {
        state: DiscoverableAuthentication,
    },
}

/// A ceremony's state and the tenant it was started in: one relying party (the host) serves
/// every tenant, so a ceremony finishes only in the tenant that started it.
#[derive(Serialize, Deserialize)]
struct Parked {
    tenant: TenantId,
    state: State,
}

fn key(handle: &str) -> String {
    format!("wa:{}", crate::crypto::sha256_hex(handle.as_bytes()))
}

async fn park(ctx: &Ctx, tenant: &Tenant, state: State) -> Result<String, FactorError> {
    let handle = random::token();
    let parked = Parked {
        tenant: tenant.id,
        state,
    };
    let bytes = serde_json::to_vec(&parked).expect("ceremony state serializes");
    ctx.store.set(&key(&handle), &bytes, CEREMONY_TTL).await?;
    Ok(handle)
}

async fn take(ctx: &Ctx, tenant: &Tenant, handle: &str) -> Result<State, FactorError> {
    let expired = || FactorError::WebAuthn("the request expired; try again".into());
    let bytes = ctx.store.take(&key(handle)).await?.ok_or_else(expired)?;
    serde_json::from_slice::<Parked>(&bytes)
        .ok()
        .filter(|p| p.tenant == tenant.id)
        .map(|p| p.state)
        .ok_or_else(expired)
}

fn err(e: impl std::fmt::Display) -> FactorError {
    FactorError::WebAuthn(e.to_string())
}

async fn credentials(
    ctx: &Ctx,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<CredentialRow>, FactorError> {
    let t = tenant.id;
    Ok(ctx
        .db
        .run(move |c| storage::factors::credentials_of(c, t, user))
        .await?)
}

fn passkey(row: &CredentialRow) -> Option<Passkey> {
    serde_json::from_str(&row.passkey).ok()
}

/// Options for `navigator.credentials.create()`, and the handle to finish with.
pub async fn start_registration(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    kind: Kind,
) -> Result<(serde_json::Value, String), FactorError> {
    let existing = credentials(ctx, tenant, user.id).await?;
    let exclude = existing
        .iter()
        .filter_map(passkey)
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, state) = webauthn(ctx)?
        .start_passkey_registration(user.id.0, &user.username, user.label(), Some(exclude))
        .map_err(err)?;
    let mut options = serde_json::to_value(&options).expect("options serialize");
    if kind == Kind::Passkey {
        // Ask for a discoverable credential: it carries the user handle, so signing in needs
        // neither username nor password. (The registration is verified the same way.)
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["requireResidentKey"] = true.into();
        selection["residentKey"] = "required".into();
    }
    let handle = park(
        ctx,
        tenant,
        State::Register {
            user: user.id,
            kind,
            state,
        },
    )
    .await?;
    Ok((options, handle))
}

/// Verifies a new credential and stores it under `name`.
pub async fn finish_registration(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    handle: &str,
    name: &str,
    response: &RegisterPublicKeyCredential,
) -> Result<CredentialRow, FactorError> {
    let State::Register {
        user: started_for,
        kind,
        state,
    } = take(ctx, tenant, handle).await?
    else {
        return Err(err("this is not a registration"));
    };
    if started_for != user.id {
        return Err(err("this registration was started for someone else"));
    }
    let key = webauthn(ctx)?
        .finish_passkey_registration(response, &state)
        .map_err(err)?;
    let json = serde_json::to_value(&key).expect("passkeys serialize");
    let flag = |f: &str| json["cred"][f].as_bool().unwrap_or(false);
    let name = clean_name(name);
    let row = CredentialRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.id.to_string(),
        user_id: user.id.to_string(),
        credential_id: base64_url(key.cred_id()),
        name: if name.is_empty() {
            match kind {
                Kind::Passkey => "Passkey".into(),
                Kind::SecurityKey => "Security key".into(),
            }
        } else {
            name
        },
        passkey: json.to_string(),
        discoverable: kind == Kind::Passkey,
        backup_eligible: flag("backup_eligible"),
        backup_state: flag("backup_state"),
        sign_count: json["cred"]["counter"].as_i64().unwrap_or(0),
        created_at: ctx.clock.unix(),
        last_used_at: None,
    };
    let stored = row.clone();
    ctx.db
        .write(move |c| storage::factors::credential_insert(c, &stored))
        .await
        .map_err(|e| match e {
            storage::StorageError::Conflict(_) => err("this credential is already registered"),
            other => other.into(),
        })?;
    Ok(row)
}

/// Options for `navigator.credentials.get()` with the user's credentials (a second factor).
pub async fn start_authentication(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
) -> Result<(RequestChallengeResponse, String), FactorError> {
    let keys: Vec<Passkey> = credentials(ctx, tenant, user.id)
        .await?
        .iter()
        .filter_map(passkey)
        .collect();
    if keys.is_empty() {
        return Err(FactorError::UnknownCredential);
    }
    let (options, state) = webauthn(ctx)?
        .start_passkey_authentication(&keys)
        .map_err(err)?;
    let handle = park(
        ctx,
        tenant,
        State::Authenticate {
            user: user.id,
            state,
        },
    )
    .await?;
    Ok((options, handle))
}

/// Verifies an assertion from one of the user's credentials; returns the methods it proves.
pub async fn finish_authentication(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    handle: &str,
    response: &PublicKeyCredential,
) -> Result<Vec<Amr>, FactorError> {
    let State::Authenticate {
        user: started_for,
        state,
    } = take(ctx, tenant, handle).await?
    else {
        return Err(err("this is not a sign-in with a security key"));
    };
    if started_for != user.id {
        return Err(err("this sign-in was started for someone else"));
    }
    let result = webauthn(ctx)?
        .finish_passkey_authentication(response, &state)
        .map_err(err)?;
    record_use(ctx, tenant, Some(user.id), &result).await
}

/// Options for signing in with a passkey (no username): conditional UI ("autofill") by default.
pub async fn start_passwordless(
    ctx: &Ctx,
    tenant: &Tenant,
) -> Result<(RequestChallengeResponse, String), FactorError> {
    let (options, state) = webauthn(ctx)?
        .start_discoverable_authentication()
        .map_err(err)?;
    let handle = park(ctx, tenant, State::Discoverable { state }).await?;
    Ok((options, handle))
}

/// Verifies a passkey assertion; returns whose it is and the methods it proves.
pub async fn finish_passwordless(
    ctx: &Ctx,
    tenant: &Tenant,
    handle: &str,
    response: &PublicKeyCredential,
) -> Result<(UserId, Vec<Amr>), FactorError> {
    let State::Discoverable { state } = take(ctx, tenant, handle).await? else {
        return Err(err("this is not a passkey sign-in"));
    };
    let w = webauthn(ctx)?;
    let (user_handle, cred_id) = w
        .identify_discoverable_authentication(response)
        .map_err(err)?;
    let cred_id = base64_url(cred_id);
    let t = tenant.id;
    let row = ctx
        .db
        .run(move |c| storage::factors::credential_by_id(c, t, &cred_id))
        .await?
        .ok_or(FactorError::UnknownCredential)?;
    let user: UserId = row
        .user_id
        .parse()
        .map_err(|_| FactorError::UnknownCredential)?;
    if user.0 != user_handle || !row.discoverable {
        return Err(FactorError::UnknownCredential);
    }
    let key = passkey(&row).ok_or(FactorError::UnknownCredential)?;
    let result = w
        .finish_discoverable_authentication_v2(response, state, DiscoverableKey::from(&key))
        .map_err(err)?;
    let methods = record_use(ctx, tenant, None, &result).await?;
    Ok((user, methods))
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Stores the new counter and backup state of the credential used; returns the methods.
async fn record_use(
    ctx: &Ctx,
    tenant: &Tenant,
    user: Option<UserId>,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<Vec<Amr>, FactorError> {
    let cred_id = base64_url(result.cred_id());
    let t = tenant.id;
    let row = ctx
        .db
        .run(move |c| storage::factors::credential_by_id(c, t, &cred_id))
        .await?
        .filter(|r| user.is_none_or(|u| r.user_id == u.to_string()))
        .ok_or(FactorError::UnknownCredential)?;
    let mut key = passkey(&row).ok_or(FactorError::UnknownCredential)?;
    key.update_credential(result);
    let json = serde_json::to_string(&key).expect("passkeys serialize");
    let (id, previous, count, backup, now) = (
        row.id.clone(),
        row.sign_count,
        i64::from(result.counter()),
        result.backup_state(),
        ctx.clock.unix(),
    );
    let stored = ctx
        .db
        .write(move |c| {
            storage::factors::credential_used(c, &id, previous, &json, count, backup, now)
        })
        .await?;
    if !stored {
        // Another sign-in with this credential was recorded meanwhile with the same counter.
        return Err(err("the security key was used twice at once"));
    }
    let key_kind = if result.backup_eligible() {
        Amr::Swk
    } else {
        Amr::Hwk
    };
    let mut methods = vec![key_kind];
    if result.user_verified() {
        methods.push(Amr::User);
    }
    Ok(methods)
}

/// A credential's name as stored: trimmed, control characters dropped, at most 64 characters.
fn clean_name(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

/// Renames one of the user's credentials (an empty name is refused); returns whether it was
/// renamed.
pub async fn rename(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    row_id: &str,
    name: &str,
) -> Result<bool, FactorError> {
    let name = clean_name(name);
    if name.is_empty() {
        return Ok(false);
    }
    let (t, u, id) = (tenant.id, user.id, row_id.to_owned());
    Ok(ctx
        .db
        .write(move |c| storage::factors::credential_rename(c, t, u, &id, &name))
        .await?)
}

/// Removes one of the user's credentials.
pub async fn remove(
    ctx: &Ctx,
    tenant: &Tenant,
    user: &User,
    row_id: &str,
) -> Result<bool, FactorError> {
    let (t, u, id) = (tenant.id, user.id, row_id.to_owned());
    Ok(ctx
        .db
        .write(move |c| storage::factors::credential_delete(c, t, u, &id))
        .await?)
}

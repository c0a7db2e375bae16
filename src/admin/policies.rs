//! A tenant's whole policy as administrators read and change it (admin API `/policy`): read
//! fresh with its version, replaced or changed by a JSON merge patch (RFC 7396), each change
//! conditional on the version read, parsed with the offending field's dotted name
//! (`session.max_sessions_per_user`), validated by `TenantPolicy::validate`, audited with a
//! before/after diff (through `tenants::update`).

use serde_json::Value;

use super::AdminError;
use super::authz::Admin;
use crate::context::Ctx;
use crate::domain::admin::{Module, Permission};
use crate::domain::tenant::{Tenant, TenantPolicy};
use crate::storage;

/// The tenant as stored now (not the cached copy): its policy and version.
pub async fn read(ctx: &Ctx, tenant: &Tenant, by: &Admin) -> Result<Tenant, AdminError> {
    by.require(tenant.id, Permission::read(Module::Policies))?;
    fresh(ctx, tenant).await
}

async fn fresh(ctx: &Ctx, tenant: &Tenant) -> Result<Tenant, AdminError> {
    let id = tenant.id;
    ctx.db
        .run(move |c| storage::tenants::find_by_id(c, id))
        .await?
        .ok_or_else(|| AdminError::NotFound("tenant".into()))
}

/// Replaces the whole policy, if the tenant is still at version `expected` (else `Stale`).
pub async fn replace(
    ctx: &Ctx,
    tenant: &Tenant,
    expected: i64,
    policy: Value,
    by: &Admin,
) -> Result<Tenant, AdminError> {
    by.require(tenant.id, Permission::write(Module::Policies))?;
    let current = fresh(ctx, tenant).await?;
    if current.version != expected {
        return Err(AdminError::Stale);
    }
    let policy = parse(policy)?;
    write(ctx, current, policy, by).await
}

/// Applies a JSON merge patch (RFC 7396) to the policy, if the tenant is still at version
/// `expected` (else `Stale`): members present replace, `null` restores the default, objects
/// merge.
pub async fn patch(
    ctx: &Ctx,
    tenant: &Tenant,
    expected: i64,
    changes: &Value,
    by: &Admin,
) -> Result<Tenant, AdminError> {
    by.require(tenant.id, Permission::write(Module::Policies))?;
    if !changes.is_object() {
        return Err(AdminError::InvalidPolicy(
            "policy".into(),
            "must be a JSON object (a merge patch)".into(),
        ));
    }
    let current = fresh(ctx, tenant).await?;
    if current.version != expected {
        return Err(AdminError::Stale);
    }
    let mut doc = serde_json::to_value(&current.policy)
        .map_err(|e| AdminError::InvalidPolicy("policy".into(), e.to_string()))?;
    merge_patch(&mut doc, changes);
    let policy = parse(doc)?;
    write(ctx, current, policy, by).await
}

async fn write(
    ctx: &Ctx,
    current: Tenant,
    policy: TenantPolicy,
    by: &Admin,
) -> Result<Tenant, AdminError> {
    // The storage write is conditional on `current.version`: a change that came in between
    // is `Stale`, never overwritten.
    let (tenant, _) = super::tenants::update(ctx, current, None, Some(policy), by).await?;
    Ok(tenant)
}

/// RFC 7396: merges `patch` into `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in changes {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// A policy from JSON: unknown members refused, every bound checked; the error names the field
/// by its dotted path.
pub fn parse(value: Value) -> Result<TenantPolicy, AdminError> {
    let policy: TenantPolicy = serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        AdminError::InvalidPolicy(field_of(&e.path().to_string(), &message), message)
    })?;
    policy
        .validate()
        .map_err(|(k, m)| AdminError::InvalidPolicy(k, m))?;
    Ok(policy)
}

/// The dotted name of the member a deserialization error is about.
fn field_of(path: &str, message: &str) -> String {
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next());
    match (path, unknown) {
        (".", Some(u)) => u.to_owned(),
        (p, Some(u)) if p == u || p.ends_with(&format!(".{u}")) => p.to_owned(),
        (p, Some(u)) => format!("{p}.{u}"),
        (".", None) => "policy".into(),
        (p, None) => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": 3});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": null, "x": 9}, "d": [2], "e": null}),
        );
        assert_eq!(doc, json!({"a": {"c": 2, "x": 9}, "d": [2]}));
    }

    #[test]
    fn parse_errors_name_the_field() {
        let bad = parse(json!({"session": {"no_such_thing": 1}})).unwrap_err();
        assert!(
            matches!(&bad, AdminError::InvalidPolicy(f, _) if f == "session.no_such_thing"),
            "{bad:?}"
        );
        let bad = parse(json!({"password": {"min_length": "eight"}})).unwrap_err();
        assert!(
            matches!(&bad, AdminError::InvalidPolicy(f, _) if f == "password.min_length"),
            "{bad:?}"
        );
        let bad = parse(json!({"nope": true})).unwrap_err();
        assert!(
            matches!(&bad, AdminError::InvalidPolicy(f, _) if f == "nope"),
            "{bad:?}"
        );
        assert_eq!(parse(json!({})).unwrap(), TenantPolicy::default());
    }
}

//! Before/after of an administrative change for the audit log: the changed fields (nested
//! objects as dotted paths) with their old and new values, secrets redacted, the whole bounded
//! to [`MAX_DIFF_BYTES`] of JSON.

use serde_json::{Map, Value};

/// Most bytes of a rendered diff; beyond it, fields are left out and `"_truncated": true` added.
pub const MAX_DIFF_BYTES: usize = 8 * 1024;

/// What a redacted value is shown as.
pub const REDACTED: &str = "[redacted]";

/// Parts of key names whose values are never shown (case-insensitive).
const SENSITIVE: &[&str] = &[
    "secret", "password", "hash", "key", "token", "private", "seed", "recovery",
];

const TRUNCATED: &str = "_truncated";

/// Is a value under this key name never shown?
pub fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| key.contains(s))
}

/// The changed fields of `before` → `after`: `{"path": {"before": x, "after": y}, …}`, where a
/// path is a top-level key, or `a.b` inside objects present on both sides. A missing key counts
/// as `null`. Values under sensitive keys (at any depth, also inside arrays; numbers and
/// booleans, which are settings, excepted) are `"[redacted]"`
/// (a changed secret is still reported, `null` stays `null`). At most [`MAX_DIFF_BYTES`] of
/// JSON: fields that would not fit are left out and `"_truncated": true` is added.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut changes = Vec::new();
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => walk("", b, a, &mut changes),
        (b, a) if b != a => changes.push(("value".to_owned(), change(b, a, false))),
        _ => {}
    }
    bounded(changes)
}

fn walk(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<(String, Value)>,
) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let path = format!("{prefix}{key}");
        let (b, a) = (
            before.get(key).unwrap_or(&Value::Null),
            after.get(key).unwrap_or(&Value::Null),
        );
        if b == a {
            continue;
        }
        let sensitive = is_sensitive(key);
        match (b, a) {
            // Objects under a secret's name (a JWK, a key set) are hidden whole, except the
            // tenant policy's sections that only share a word with one (`password`, `tokens`).
            (Value::Object(bo), Value::Object(ao))
                if !sensitive || SETTINGS.contains(&key.as_str()) =>
            {
                walk(&format!("{path}."), bo, ao, out);
            }
            _ => out.push((path, change(b, a, sensitive))),
        }
    }
}

fn change(before: &Value, after: &Value, sensitive: bool) -> Value {
    let show = |v: &Value| {
        if sensitive && may_hold_secret(v) {
            Value::String(REDACTED.into())
        } else {
            redact_within(v)
        }
    };
    serde_json::json!({ "before": show(before), "after": show(after) })
}

/// Policy sections whose names share a word with secrets but hold only settings.
const SETTINGS: &[&str] = &["password", "tokens", "lifetimes"];

/// Can a value under a sensitive name be a secret? Numbers and booleans cannot
/// (`access_token_secs`, `password.min_length` are settings, shown); anything else is hidden.
fn may_hold_secret(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Number(_) | Value::Bool(_))
}

/// `v` with the values of sensitive keys of every object inside it redacted.
fn redact_within(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let shown = if is_sensitive(k) && may_hold_secret(v) {
                        Value::String(REDACTED.into())
                    } else {
                        redact_within(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_within).collect()),
        other => other.clone(),
    }
}

/// The changes as one object of at most [`MAX_DIFF_BYTES`] bytes of JSON.
fn bounded(changes: Vec<(String, Value)>) -> Value {
    // `{` `}` and room for `,"_truncated":true`.
    let reserve = 2 + TRUNCATED.len() + 8;
    let mut used = 0;
    let mut truncated = false;
    let mut out = Map::new();
    for (path, change) in changes {
        // `"path":{…}` and the comma before it.
        let size = serde_json::to_string(&path).map_or(usize::MAX, |s| s.len())
            + 1
            + serde_json::to_string(&change).map_or(usize::MAX, |s| s.len())
            + 1;
        if used + size + reserve > MAX_DIFF_BYTES {
            truncated = true;
            continue;
        }
        used += size;
        out.insert(path, change);
    }
    if truncated {
        out.insert(TRUNCATED.into(), Value::Bool(true));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changed_fields_with_dotted_paths_for_nested_objects() {
        let before = json!({"name": "App", "kind": "public", "settings": {"scopes": ["openid"], "first_party": false, "lifetimes": {"access_token_secs": null}}, "same": 1});
        let after = json!({"name": "App 2", "kind": "public", "settings": {"scopes": ["openid", "email"], "first_party": true, "lifetimes": {"access_token_secs": null}}, "same": 1, "new": "x"});
        assert_eq!(
            diff(&before, &after),
            json!({
                "name": {"before": "App", "after": "App 2"},
                "new": {"before": null, "after": "x"},
                "settings.first_party": {"before": false, "after": true},
                "settings.scopes": {"before": ["openid"], "after": ["openid", "email"]},
            })
        );
        assert_eq!(diff(&before, &before), json!({}));
        assert_eq!(
            diff(&json!(1), &json!(2)),
            json!({"value": {"before": 1, "after": 2}})
        );
    }

    #[test]
    fn secrets_are_redacted_but_reported_as_changed() {
        let before = json!({
            "client_secret": "s3cr3t-old", "Password_Hash": "$argon2id$old", "API_KEY": "k1",
            "refresh_token_secs": 10, "private_key": null, "totp_seed": "AAAA",
            "recovery_codes": ["c1"], "display_name": "Ann",
            "settings": {"signing": {"privateJwk": {"d": "old"}}, "issuer": "https://a"},
            "keys": {"current": "old-key-material"},
            "upstream": [{"name": "x", "secret": "inner-old"}]
        });
        let after = json!({
            "client_secret": "s3cr3t-new", "Password_Hash": "$argon2id$new", "API_KEY": "k2",
            "refresh_token_secs": 20, "private_key": "pem-new", "totp_seed": "BBBB",
            "recovery_codes": ["c2"], "display_name": "Ann B",
            "settings": {"signing": {"privateJwk": {"d": "new"}}, "issuer": "https://b"},
            "keys": {"current": "new-key-material"},
            "upstream": [{"name": "y", "secret": "inner-new"}]
        });
        let d = diff(&before, &after);
        let r = REDACTED;
        assert_eq!(
            d,
            json!({
                "API_KEY": {"before": r, "after": r},
                "Password_Hash": {"before": r, "after": r},
                "client_secret": {"before": r, "after": r},
                "display_name": {"before": "Ann", "after": "Ann B"},
                "keys": {"before": r, "after": r},
                "private_key": {"before": null, "after": r},
                "recovery_codes": {"before": r, "after": r},
                // A number is a setting, never a secret.
                "refresh_token_secs": {"before": 10, "after": 20},
                "settings.issuer": {"before": "https://a", "after": "https://b"},
                "settings.signing.privateJwk": {"before": r, "after": r},
                "totp_seed": {"before": r, "after": r},
                "upstream": {"before": [{"name": "x", "secret": r}], "after": [{"name": "y", "secret": r}]},
            })
        );
        let text = d.to_string();
        for leaked in [
            "s3cr3t", "argon2id", "k1", "k2", "pem-new", "AAAA", "BBBB", "c1", "c2", "old-key",
            "new-key", "inner-", "\"d\"",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }

    #[test]
    fn the_rendered_diff_is_capped_with_a_marker() {
        let before: Map<String, Value> = (0..400)
            .map(|i| (format!("field_{i:03}"), json!("a".repeat(40))))
            .collect();
        let after: Map<String, Value> = (0..400)
            .map(|i| (format!("field_{i:03}"), json!("b".repeat(40))))
            .collect();
        let d = diff(&Value::Object(before), &Value::Object(after));
        let text = d.to_string();
        assert!(text.len() <= MAX_DIFF_BYTES, "{}", text.len());
        assert!(
            text.len() > MAX_DIFF_BYTES - 200,
            "fills the room: {}",
            text.len()
        );
        assert_eq!(d["_truncated"], json!(true));
        assert_eq!(
            d["field_000"],
            json!({"before": "a".repeat(40), "after": "b".repeat(40)})
        );
        // One huge field is left out; the small ones after it still fit.
        let d = diff(
            &json!({"a": "x", "big": "y".repeat(20_000), "c": 1}),
            &json!({"a": "z", "big": "w", "c": 2}),
        );
        assert!(d.to_string().len() <= MAX_DIFF_BYTES);
        assert_eq!(
            d,
            json!({"a": {"before": "x", "after": "z"}, "c": {"before": 1, "after": 2}, "_truncated": true})
        );
        // Small diffs have no marker.
        assert!(
            diff(&json!({"a": 1}), &json!({"a": 2}))
                .get("_truncated")
                .is_none()
        );
    }
}

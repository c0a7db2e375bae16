//! A record's `settings` document as the API takes it: parsed into its typed form with a wrong
//! member named by its path (`settings.lifetimes.access_token_secs`), and changed by a JSON
//! merge patch (RFC 7396, `admin::policies::merge_patch`) of the current settings. Shared by
//! applications and identity providers.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem::Problem;
use crate::admin;

/// `value` as `T`; an error names `settings` or the member under it.
pub(super) fn parse<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "settings".to_owned()
        } else {
            format!("settings.{path}")
        };
        Problem::invalid(field, e.inner().to_string())
    })
}

/// `current` with the merge patch `changes` applied (members replace, `null` removes, so the
/// member's default applies).
pub(super) fn merged<T: Serialize + DeserializeOwned>(
    current: &T,
    changes: &Value,
) -> Result<T, Problem> {
    if !changes.is_object() {
        return Err(Problem::invalid("settings", "must be an object"));
    }
    let mut doc = serde_json::to_value(current).unwrap_or(Value::Null);
    admin::policies::merge_patch(&mut doc, changes);
    parse(doc)
}

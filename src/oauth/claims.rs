//! The user claims released for a set of scopes (OIDC Core 5.4), shared by ID tokens and userinfo.

use serde_json::{Map, Value, json};

use super::scope::Scope;
use crate::domain::user::User;

pub fn user_claims(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut m = Map::new();
    if scope.contains("profile") {
        m.insert("name".into(), json!(user.label()));
        m.insert("preferred_username".into(), json!(user.username));
        m.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if scope.contains("email")
        && let Some(email) = &user.email
    {
        m.insert("email".into(), json!(email));
        m.insert("email_verified".into(), json!(user.email_verified));
    }
    m
}

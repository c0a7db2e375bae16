//! Scopes: space-delimited, each of RFC 6749 `scope-token` characters, kept in request order
//! without duplicates.

use super::error::OAuthError;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope(Vec<String>);

pub const OPENID: &str = "openid";
pub const OFFLINE_ACCESS: &str = "offline_access";

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut out: Vec<String> = Vec::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            let valid = token.len() <= 256
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(OAuthError::invalid_scope(
                    "scope contains invalid characters",
                ));
            }
            if !out.iter().any(|s| s == token) {
                out.push(token.to_owned());
            }
        }
        Ok(Self(out))
    }

    pub fn from_list(list: &[String]) -> Self {
        Self(list.to_vec())
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x == s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn as_list(&self) -> &[String] {
        &self.0
    }

    /// Is every scope of `self` also in `other`?
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn without(&self, s: &str) -> Scope {
        Scope(self.0.iter().filter(|x| *x != s).cloned().collect())
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let s = Scope::parse("openid  email openid profile").unwrap();
        assert_eq!(s.to_string(), "openid email profile");
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("é").is_err());
        assert!(Scope::parse("").unwrap().is_empty());
        assert!(Scope::parse("email").unwrap().is_subset_of(&s));
        assert!(!Scope::parse("email admin").unwrap().is_subset_of(&s));
    }
}

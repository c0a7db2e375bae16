//! Request parameters of the protocol endpoints, parsed strictly: repeated parameters are an
//! error (RFC 6749 section 3.1), empty values count as absent, and values have a length limit.

use std::collections::BTreeMap;

use super::error::OAuthError;
use crate::urlencoded::{self, Problem};

/// Longest accepted parameter value (an `id_token_hint` RS256 JWT is ~1 KB).
pub const MAX_VALUE_LEN: usize = 8192;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses a query string or a form body.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        let map = urlencoded::decode_map(raw).map_err(|p| match p {
            Problem::InvalidUtf8 => OAuthError::invalid_request("parameters must be valid UTF-8"),
            Problem::Duplicate(name) => {
                OAuthError::invalid_request(format!("parameter {name} was included more than once"))
            }
            Problem::TooMany => too_many(),
        })?;
        if let Some((k, _)) = map.iter().find(|(_, v)| v.len() > MAX_VALUE_LEN) {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} is too long"
            )));
        }
        Ok(Self(map))
    }

    /// Parses keeping the first value of a repeated parameter and naming the repeated ones, for
    /// the authorization endpoint, which must report repeats to a trusted client (RFC 6749
    /// 4.1.2.1) rather than on its own page.
    pub fn parse_noting_repeats(raw: &[u8]) -> Result<(Self, Vec<String>), OAuthError> {
        let pairs = urlencoded::decode_all(raw).map_err(|p| match p {
            Problem::TooMany => too_many(),
            _ => OAuthError::invalid_request("parameters must be valid UTF-8"),
        })?;
        let mut map = BTreeMap::new();
        let mut repeated = Vec::new();
        for (k, v) in pairs {
            if v.len() > MAX_VALUE_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} is too long"
                )));
            }
            if map.contains_key(&k) {
                if !repeated.contains(&k) {
                    repeated.push(k);
                }
                continue;
            }
            if !v.is_empty() {
                map.insert(k, v);
            }
        }
        Ok((Self(map), repeated))
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("missing required parameter {name}"))
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Re-encodes as a query string (to resume an authorization request after sign-in).
    pub fn to_query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

fn too_many() -> OAuthError {
    OAuthError::invalid_request(format!(
        "at most {} parameters are accepted",
        urlencoded::MAX_PARAMS
    ))
}

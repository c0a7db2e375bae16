//! Strict `application/x-www-form-urlencoded` decoding shared by the hosted forms and the OAuth
//! endpoints: invalid UTF-8 is refused (never silently replaced) and repeated names are refused
//! (RFC 6749 section 3.1: parameters must not be included more than once), and a body may carry
//! at most [`MAX_PARAMS`] parameters. Duplicate detection is a hash set, so decoding costs time
//! linear in the body whatever an attacker sends before authentication.

use std::collections::{BTreeMap, HashSet};

/// Most parameters accepted in one body or query string. The largest legitimate request (an
/// authorization request with every OIDC parameter) carries about 25.
pub const MAX_PARAMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    InvalidUtf8,
    /// The name given more than once (shortened).
    Duplicate(String),
    /// More than [`MAX_PARAMS`] parameters.
    TooMany,
}

/// Decodes every pair, in order, refusing a repeated name.
pub fn decode_pairs(body: &[u8]) -> Result<Vec<(String, String)>, Problem> {
    let pairs = decode_all(body)?;
    let mut seen: HashSet<&str> = HashSet::with_capacity(pairs.len());
    for (name, _) in &pairs {
        if !seen.insert(name.as_str()) {
            return Err(Problem::Duplicate(name.chars().take(40).collect()));
        }
    }
    Ok(pairs)
}

/// Decodes every pair, keeping repeats (for callers that report them themselves).
pub fn decode_all(body: &[u8]) -> Result<Vec<(String, String)>, Problem> {
    let mut out = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        if out.len() == MAX_PARAMS {
            return Err(Problem::TooMany);
        }
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = decode(parts.next().unwrap_or_default())?;
        let value = decode(parts.next().unwrap_or_default())?;
        out.push((name, value));
    }
    Ok(out)
}

/// Decodes into a map; parameters without a value count as absent (RFC 6749 section 3.1).
pub fn decode_map(body: &[u8]) -> Result<BTreeMap<String, String>, Problem> {
    Ok(decode_pairs(body)?
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect())
}

fn decode(raw: &[u8]) -> Result<String, Problem> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Problem::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(
            decode_pairs(b"a=1&b=h%C3%A9+x").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "hé x".into())]
        );
        assert_eq!(decode_pairs(b"a=%FF"), Err(Problem::InvalidUtf8));
        assert_eq!(
            decode_pairs(b"a=1&a=2"),
            Err(Problem::Duplicate("a".into()))
        );
        assert_eq!(
            decode_pairs(b"a%20b=1&a+b=2"),
            Err(Problem::Duplicate("a b".into()))
        );
        assert!(decode_pairs(b"").unwrap().is_empty());
        let at_cap: Vec<String> = (0..MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            decode_pairs(at_cap.join("&").as_bytes()).unwrap().len(),
            MAX_PARAMS
        );
        let over: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            decode_pairs(over.join("&").as_bytes()),
            Err(Problem::TooMany)
        );
        assert_eq!(decode_all(over.join("&").as_bytes()), Err(Problem::TooMany));
        let m = decode_map(b"a=&b=2").unwrap();
        assert!(!m.contains_key("a") && m["b"] == "2");
    }
}

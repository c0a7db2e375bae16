//! Where to send the browser after sign-in: only paths on this origin, never another site
//! (no open redirect).

/// Returns `raw` if it is a same-origin path such as `/t/acme/account?x=1`, otherwise `None`.
pub fn safe_path(raw: &str) -> Option<&str> {
    let ok = raw.len() <= 8192
        && raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace())
        && same_origin(raw);
    ok.then_some(raw)
}

/// Second opinion from a URL parser: resolving the path against a dummy origin keeps the origin.
fn same_origin(raw: &str) -> bool {
    let base = url::Url::parse("https://watchword.invalid/").expect("static URL parses");
    base.join(raw)
        .is_ok_and(|u| u.origin() == base.origin() && u.username().is_empty())
}

#[cfg(test)]
mod tests {
    use super::safe_path;

    #[test]
    fn accepts_local_paths() {
        for ok in ["/", "/t/acme/", "/t/acme/account?tab=mfa#x", "/a/b%2Fc"] {
            assert_eq!(safe_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_that_could_leave_the_origin() {
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "/\t/evil.example",
            "/ /evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%0a/evil",
            "/\n/evil.example",
            "http:/evil.example",
        ] {
            if bad == "/%0a/evil" {
                // Percent-encoded bytes stay inside the path: harmless, and allowed.
                assert!(safe_path(bad).is_some());
                continue;
            }
            assert_eq!(safe_path(bad), None, "{bad:?}");
        }
    }
}

//! Unit tests of the session records' operations.

use super::*;

#[test]
fn cookies_are_sid_and_secret() {
    let (cookie, hash) = new_cookie("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG");
    let (sid, parsed) = parse_cookie(&cookie).unwrap();
    assert_eq!(sid, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG");
    assert_eq!(parsed, hash);
    for bad in [
        "",
        "nodot",
        ".x",
        "short.short",
        "a b c d e f g h i j k l m n o p.x",
        "aaaaaaaaaaaaaaaaaaaaaaaa.b<script>bbbbbbbbbbbbbbbbbbb",
    ] {
        assert!(parse_cookie(bad).is_none(), "{bad}");
    }
}

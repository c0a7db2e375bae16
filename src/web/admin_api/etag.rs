//! `ETag` and `If-Match` for the admin API: a record's version as a strong entity tag.

use actix_web::HttpRequest;

use super::problem::Problem;

/// `"v7"`.
pub fn of(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The version an update is based on. `If-Match` is required on updates (428 without it), a
/// list of tags is refused, `*` is not accepted (it would make the lost update possible again).
pub fn if_match(req: &HttpRequest) -> Result<i64, Problem> {
    let Some(raw) = req.headers().get(actix_web::http::header::IF_MATCH) else {
        return Err(Problem::new(
            actix_web::http::StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "send If-Match with the ETag you last read, so a change made meanwhile is not lost",
        ));
    };
    raw.to_str()
        .ok()
        .map(str::trim)
        .and_then(|t| t.strip_prefix("\"v"))
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(Problem::precondition_failed)
}

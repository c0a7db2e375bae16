//! Keyset pagination for every admin list: `?limit=` (1 to 100, default 50) and `?after=` (the
//! opaque cursor of the previous page's last item); no total counts. The answer carries the next
//! cursor in the body and in a `Link: <…>; rel="next"` header.

use actix_web::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::Problem;

pub const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 50;

/// `limit` and `after`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    #[param(max_length = 512)]
    pub after: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, Problem> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Problem::invalid("limit", "limit must be between 1 and 100")),
        }
    }

    /// The decoded cursor: the sort key of the previous page's last item.
    pub fn after<T: for<'de> Deserialize<'de>>(&self) -> Result<Option<T>, Problem> {
        let Some(raw) = self.after.as_deref() else {
            return Ok(None);
        };
        let bad = || Problem::invalid("after", "after is not a cursor this API gave out");
        if raw.len() > 512 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map(Some).map_err(|_| bad())
    }
}

/// Encodes a sort key as a cursor.
pub fn cursor<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// The cursor of the next page (`?after=`), absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T: ToSchema + Serialize> Page<T> {
    /// A page from up to `limit + 1` fetched rows: the extra row only says there is more.
    pub fn of<R>(
        mut rows: Vec<R>,
        limit: i64,
        key: impl Fn(&R) -> String,
        item: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(&key) } else { None };
        Self {
            items: rows.into_iter().map(item).collect(),
            next,
        }
    }

    /// The JSON answer, with `Link: <path?after=…&limit=…>; rel="next"` when there is more.
    pub fn respond(&self, path: &str, limit: i64) -> HttpResponse {
        let mut res = HttpResponse::Ok();
        if let Some(next) = &self.next {
            let sep = if path.contains('?') { '&' } else { '?' };
            res.insert_header((
                "Link",
                format!("<{path}{sep}after={next}&limit={limit}>; rel=\"next\""),
            ));
        }
        res.insert_header(("Cache-Control", "no-store"));
        res.json(self)
    }
}

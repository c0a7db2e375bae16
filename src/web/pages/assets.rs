//! Static assets compiled into the binary (the container needs no files besides it).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::web::error::PageError;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "css/watchword.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../static/css/watchword.css"),
    },
    Asset {
        path: "js/webauthn.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/js/webauthn.js"),
    },
    Asset {
        path: "js/session-watch.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/js/session-watch.js"),
    },
    Asset {
        path: "js/form_post.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/js/form_post.js"),
    },
    // htmx (vendored, 0BSD; see static/js/NOTICE.md): the management UI's lists in place.
    Asset {
        path: "js/htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/js/htmx.min.js"),
    },
];

/// An ETag for an asset: a short hash of its bytes (computed per request; assets are tiny).
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &crate::crypto::sha256_hex(body)[..16])
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.path == path.as_str())
        .ok_or_else(PageError::not_found)?;
    let tag = etag(asset.body);
    let cache = ("Cache-Control", "public, max-age=3600");
    if req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == tag)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header(cache)
            .insert_header(("ETag", tag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(cache)
        .insert_header(("ETag", tag))
        .body(asset.body))
}

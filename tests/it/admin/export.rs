//! The audit export (`/audit/export`): NDJSON streamed batch by batch, every filtered entry
//! exactly once, newest first, whatever its size.

use std::collections::HashSet;

use serde_json::Value;
use watchword::domain::audit::{Actor, AuditAction, AuditEvent};

use super::api_key;
use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_larger_than_a_batch_streams_every_entry_once_newest_first() {
    let app = TestApp::start().await;
    let ctx = &app.app.ctx;
    let tenant = app.tenant("default").await;
    let key = api_key(&app, "default", "events:read").await;
    // 2.3 batches of 1,000, plus noise the filter leaves out.
    const ROWS: usize = 2_345;
    for i in 0..ROWS {
        watchword::storage::audit::record(
            &ctx.db,
            AuditEvent::new(
                ctx.clock.now(),
                Some(tenant.id),
                AuditAction::KeysRotated,
                "success",
                Actor::Cli,
            )
            .subject(format!("row:{i}")),
        )
        .await;
        if i % 500 == 0 {
            watchword::storage::audit::record(
                &ctx.db,
                AuditEvent::new(
                    ctx.clock.now(),
                    Some(tenant.id),
                    AuditAction::TenantUpdated,
                    "success",
                    Actor::Cli,
                ),
            )
            .await;
        }
    }
    let res = crate::common::oidc::plain_client()
        .get(app.url("/t/default/admin/api/v1/audit/export?action=keys_rotated"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    // Streamed: no length known up front.
    assert!(res.headers().get("content-length").is_none());
    let text = res.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), ROWS);
    assert!(lines.iter().all(|l| l["action"] == "keys_rotated"));
    let ids: HashSet<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), ROWS, "every entry exactly once");
    let subjects: Vec<usize> = lines
        .iter()
        .map(|l| {
            l["subject"].as_str().unwrap()["row:".len()..]
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        subjects.windows(2).all(|w| w[0] > w[1]),
        "newest first across batch boundaries"
    );
    // A permission is still needed to start one.
    let other = api_key(&app, "default", "users:read").await;
    let res = crate::common::oidc::plain_client()
        .get(app.url("/t/default/admin/api/v1/audit/export"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

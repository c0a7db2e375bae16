//! The policy form: every field of the tenant policy on it; a bad value refused with the field
//! named next to it and everything typed kept; a good value saved and audited with a diff.

use reqwest::StatusCode;

use super::{ada, html};
use crate::common::browser::location;
use crate::common::{TestApp, hidden_field};

/// The form's fields as the page shows them (checkboxes only when checked), like a browser.
fn fields_of(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for input in page.split('<').skip(1) {
        let tag = input.split('>').next().unwrap_or("");
        let attr = |name: &str| {
            let marker = format!(" {name}=\"");
            let start = tag.find(&marker)? + marker.len();
            let end = tag[start..].find('"')? + start;
            Some(tag[start..end].replace("&#x2e;", ".").replace("&#46;", "."))
        };
        let Some(name) = attr("name").filter(|n| n != "csrf_token") else {
            continue;
        };
        if tag.starts_with("input") {
            if tag.contains("type=\"checkbox\"") && !tag.contains(" checked") {
                continue;
            }
            out.push((name, attr("value").unwrap_or_default()));
        } else if tag.starts_with("textarea") {
            let body = input.split_once('>').map_or("", |(_, b)| b);
            out.push((name, body.to_owned()));
        } else if tag.starts_with("select") {
            let rest = &page[page.find(tag).unwrap()..];
            let selected = rest
                .split("</select>")
                .next()
                .unwrap()
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| o.split("value=\"").nth(1))
                .and_then(|v| v.split('"').next())
                .unwrap_or("");
            out.push((name, selected.to_owned()));
        }
    }
    out
}

#[tokio::test]
async fn the_policy_form_names_a_bad_field_keeps_the_input_and_saves_a_good_one() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let page = html(&ada, "/t/default/admin/policy").await;
    // Every section and every leaf of the policy is on the form.
    let before = app.tenant("default").await.policy;
    let policy = serde_json::to_value(&before).unwrap();
    for (section, fields) in policy.as_object().unwrap() {
        assert!(
            page.contains(&format!("policy-section-{section}")),
            "{section}"
        );
        for key in fields.as_object().unwrap().keys() {
            assert!(
                page.contains(&format!("name=\"{section}.{key}")),
                "{section}.{key}"
            );
        }
    }
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let mut fields = fields_of(&page);
    assert!(fields.len() > 30, "{fields:?}");
    let set = |fields: &mut Vec<(String, String)>, key: &str, value: &str| {
        let f = fields.iter_mut().find(|(k, _)| k == key).expect(key);
        f.1 = value.to_owned();
    };

    // A bad value: 422, the field named next to it, every typed value kept.
    set(&mut fields, "audit.retention_days", "0");
    set(&mut fields, "network.allow", "10.0.0.0/8\n192.168.0.0/16");
    let res = ada
        .post_form(
            "/t/default/admin/policy",
            &fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "no CSRF token");
    let mut with_token: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
    with_token.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let res = ada.post_form("/t/default/admin/policy", &with_token).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"policy-audit-retention_days-error\""),
        "{page}"
    );
    assert!(page.contains("must be between 1 and 3650"));
    assert!(
        page.contains("10.0.0.0/8\n192.168.0.0/16"),
        "the typed list is kept"
    );
    assert!(page.contains("aria-invalid=\"true\""));
    assert_eq!(app.tenant("default").await.policy, before, "nothing saved");

    // A good value: saved, and audited with a diff.
    set(&mut fields, "audit.retention_days", "400");
    set(&mut fields, "network.allow", "");
    let mut with_token: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
    with_token.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let res = ada.post_form("/t/default/admin/policy", &with_token).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/t/default/admin/policy?done=policy-saved");
    let tenant = app.tenant("default").await;
    assert_eq!(tenant.policy.audit.retention_days, 400);
    let mut expected = before.clone();
    expected.audit.retention_days = 400;
    assert_eq!(tenant.policy, expected, "nothing else changed");
    let audit = app.audit("default").await;
    let saved = audit.iter().find(|e| e.action == "tenant_updated").unwrap();
    assert!(saved.diff.as_deref().unwrap().contains("retention_days"));
    let log = html(&ada, "/t/default/admin/audit").await;
    assert!(log.contains("tenant_updated"));
    assert!(
        html(&ada, "/t/default/admin/policy")
            .await
            .contains("value=\"400\"")
    );
}

#[tokio::test]
async fn every_policy_field_has_its_own_help_line() {
    let app = TestApp::start().await;
    let ada = ada(&app).await;
    let page = html(&ada, "/t/default/admin/policy").await;
    let mut seen = 0;
    for chunk in page.split("class=\"small muted help\"").skip(1) {
        let line = &chunk[..chunk.find("</p>").unwrap()];
        let help = line.split(" · ").nth(1).unwrap_or("").trim();
        let key = line
            .split("<code>")
            .nth(1)
            .and_then(|c| c.split("</code>").next());
        let generic = ["Default:", "One a line.", "Empty for none."]
            .iter()
            .any(|g| help.starts_with(g));
        assert!(!generic && help.len() > 20, "{key:?}: {help:?}");
        seen += 1;
    }
    assert!(seen > 40, "every field rendered ({seen})");
    assert!(page.contains("A session unused for this long ends"));
}

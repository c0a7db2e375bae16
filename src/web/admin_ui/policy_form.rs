//! The tenant policy as a form, generically: the policy is serialized with serde_json and every
//! leaf becomes a field named by its dotted path (`session.idle_timeout_secs`), rendered by its
//! JSON type (a checkbox, a number, a choice of the enum's variants read from serde's own error,
//! text, or a one-per-line textarea for lists); the form is rebuilt into a policy the same way.
//! A field added to `TenantPolicy` appears on the form without a change here.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::domain::tenant::TenantPolicy;

/// How a field is edited.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Bool,
    Number,
    /// One of these strings (an enum); `optional` adds an empty choice (`null`).
    Choice {
        options: Vec<String>,
        optional: bool,
    },
    Text,
    /// Anything, empty for none (an optional value of unknown type).
    Optional,
    /// A list, one item a line.
    Lines {
        numbers: bool,
    },
}

/// One field of the form.
pub struct Field {
    /// The dotted path, also the form field's name.
    pub key: String,
    /// The HTML id (`policy-session-idle_timeout_secs`).
    pub id: String,
    pub label: String,
    pub help: String,
    pub kind: Kind,
    /// What the input shows (as typed after an error).
    pub value: String,
    pub checked: bool,
    pub error: Option<String>,
}

impl Field {
    pub fn is(&self, what: &str) -> bool {
        matches!(
            (&self.kind, what),
            (Kind::Bool, "bool")
                | (Kind::Number, "number")
                | (Kind::Choice { .. }, "choice")
                | (Kind::Text | Kind::Optional, "text")
                | (Kind::Lines { .. }, "lines")
        )
    }

    /// The choices of a `Choice` field: value, shown text, selected.
    pub fn options(&self) -> Vec<(String, String, bool)> {
        let Kind::Choice { options, optional } = &self.kind else {
            return Vec::new();
        };
        let none = optional.then(|| (String::new(), "(none)".to_owned()));
        none.into_iter()
            .chain(options.iter().map(|o| (o.clone(), o.replace('_', " "))))
            .map(|(v, t)| {
                let selected = v == self.value;
                (v, t, selected)
            })
            .collect()
    }
}

/// A top-level section of the policy, as one fieldset.
pub struct Section {
    pub name: String,
    pub legend: &'static str,
    pub fields: Vec<Field>,
}

fn legend(section: &str) -> &'static str {
    match section {
        "session" => "Sessions: lifetimes, idle time-out and limits",
        "password" => "Passwords: length and strength rules",
        "tokens" => "Tokens: lifetimes and signing",
        "throttle" => "Throttling of failed sign-ins",
        "network" => "Networks allowed and denied (CIDR, one a line)",
        "mfa" => "Second factors",
        "registration" => "Self-registration",
        "risk" => "Risk scoring of sign-ins",
        "audit" => "Audit log retention",
        _ => "Other settings",
    }
}

/// Every leaf of `v` with its dotted path, in serialization order.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, child, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

fn policy_json(p: &TenantPolicy) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn set(root: &mut Value, key: &str, value: Value) {
    let mut at = root;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = at else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        at = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn parse(v: Value) -> Result<TenantPolicy, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// The variants serde names when `key` gets a string that is none of them (an enum), if any.
fn variants(base: &Value, key: &str) -> Option<Vec<String>> {
    let mut probe = base.clone();
    set(&mut probe, key, Value::String("\u{1}".into()));
    let err = parse(probe).err()?;
    let (_, expected) = err
        .split_once("unknown variant")?
        .1
        .split_once("expected")?;
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    (!names.is_empty()).then_some(names)
}

fn kind_of(base: &Value, key: &str, value: &Value, default: Option<&Value>) -> Kind {
    match value {
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => variants(base, key).map_or(Kind::Text, |options| Kind::Choice {
            options,
            optional: false,
        }),
        Value::Array(items) => {
            let sample = items
                .first()
                .or_else(|| default.and_then(|d| d.as_array()?.first()));
            Kind::Lines {
                numbers: sample.is_some_and(Value::is_number),
            }
        }
        Value::Null => variants(base, key).map_or(Kind::Optional, |options| Kind::Choice {
            options,
            optional: true,
        }),
        Value::Object(_) => Kind::Text,
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

fn label(key: &str) -> String {
    let mut parts: Vec<&str> = key.split('.').skip(1).collect();
    if parts.is_empty() {
        parts.push(key);
    }
    let text = parts.join(" › ").replace('_', " ");
    let text = text
        .replace(" secs", " (seconds)")
        .replace(" days", " (days)");
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// The field's help: what it means (`policy_help`, from the policy structs' doc comments), how
/// to type it, and its default.
fn help(key: &str, kind: &Kind, default: Option<&Value>) -> String {
    let what = super::policy_help::of(key).map_or_else(String::new, |h| format!("{h} "));
    let how = match kind {
        Kind::Lines { .. } => "One a line. ",
        Kind::Optional => "Empty for none. ",
        _ => "",
    };
    match default {
        Some(Value::Array(a)) if a.is_empty() => format!("{what}{how}Default: none."),
        Some(Value::Null) | None => format!("{what}{how}Default: none."),
        Some(Value::Bool(b)) => {
            format!("{what}{how}Default: {}.", if *b { "on" } else { "off" })
        }
        Some(d) => format!("{what}{how}Default: {}.", shown(d).replace('\n', ", ")),
    }
}

/// The form's sections for `policy`; with `typed` (a form posted back with an error) the inputs
/// show what was typed, and `error` (`field`, why) is shown next to its field.
pub fn sections(
    policy: &TenantPolicy,
    typed: Option<&HashMap<String, String>>,
    error: Option<&(String, String)>,
) -> Vec<Section> {
    let base = policy_json(policy);
    let defaults = {
        let mut d = Vec::new();
        leaves("", &policy_json(&TenantPolicy::default()), &mut d);
        d.into_iter().collect::<HashMap<_, _>>()
    };
    let mut all = Vec::new();
    leaves("", &base, &mut all);
    let mut out: Vec<Section> = Vec::new();
    for (key, value) in all {
        let kind = kind_of(&base, &key, &value, defaults.get(&key));
        let (shown_value, checked) = match typed {
            Some(form) => (
                form.get(&key).cloned().unwrap_or_default(),
                form.contains_key(&key),
            ),
            None => (shown(&value), value == Value::Bool(true)),
        };
        let section = key.split('.').next().unwrap_or("").to_owned();
        let field = Field {
            id: format!("policy-{}", key.replace('.', "-")),
            label: label(&key),
            help: help(&key, &kind, defaults.get(&key)),
            error: error.filter(|(k, _)| *k == key).map(|(_, m)| m.clone()),
            key,
            kind,
            value: shown_value,
            checked,
        };
        match out.last_mut() {
            Some(s) if s.name == section => s.fields.push(field),
            _ => out.push(Section {
                legend: legend(&section),
                name: section,
                fields: vec![field],
            }),
        }
    }
    out
}

/// The value of one field as the form gives it; `Err` is why it is not one.
fn read(kind: &Kind, raw: Option<&String>) -> Result<Value, String> {
    let text = raw.map_or("", |s| s.trim());
    let number = |t: &str| {
        t.parse::<i64>()
            .map(Value::from)
            .or_else(|_| t.parse::<f64>().map(Value::from))
            .map_err(|_| "must be a number".to_owned())
    };
    Ok(match kind {
        Kind::Bool => Value::Bool(raw.is_some()),
        Kind::Number => number(text)?,
        Kind::Choice { optional, .. } if *optional && text.is_empty() => Value::Null,
        Kind::Choice { .. } | Kind::Text => Value::String(text.to_owned()),
        Kind::Optional if text.is_empty() => Value::Null,
        Kind::Optional => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            t => number(t).unwrap_or_else(|_| Value::String(t.to_owned())),
        },
        Kind::Lines { numbers } => Value::Array(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    if *numbers {
                        number(l)
                    } else {
                        Ok(Value::String(l.to_owned()))
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// The policy the form describes, checked by `TenantPolicy::validate`; `Err` names the field.
pub fn rebuild(
    current: &TenantPolicy,
    form: &HashMap<String, String>,
) -> Result<TenantPolicy, (String, String)> {
    let base = policy_json(current);
    let defaults = {
        let mut d = Vec::new();
        leaves("", &policy_json(&TenantPolicy::default()), &mut d);
        d.into_iter().collect::<HashMap<_, _>>()
    };
    let mut all = Vec::new();
    leaves("", &base, &mut all);
    let mut next = base.clone();
    for (key, value) in &all {
        let kind = kind_of(&base, key, value, defaults.get(key));
        let v = read(&kind, form.get(key)).map_err(|m| (key.clone(), m))?;
        set(&mut next, key, v);
    }
    // The admin API's parser: the error names the field by the same dotted path as the form's
    // inputs, and the bounds are `TenantPolicy::validate`'s.
    crate::admin::policies::parse(next).map_err(|e| match e {
        crate::admin::AdminError::InvalidPolicy(field, message) => (field, message),
        other => ("policy".into(), other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_of(p: &TenantPolicy) -> HashMap<String, String> {
        sections(p, None, None)
            .into_iter()
            .flat_map(|s| s.fields)
            .filter(|f| !f.is("bool") || f.checked)
            .map(|f| (f.key, f.value))
            .collect()
    }

    #[test]
    fn every_field_of_the_policy_has_its_help_line() {
        let mut all = Vec::new();
        leaves("", &policy_json(&TenantPolicy::default()), &mut all);
        assert!(!all.is_empty());
        for (key, _) in &all {
            assert!(
                crate::web::admin_ui::policy_help::of(key).is_some_and(|h| h.len() > 10),
                "{key} has no help line: run scripts/policy_help.py"
            );
        }
        for (key, _) in crate::web::admin_ui::policy_help::HELP {
            assert!(all.iter().any(|(k, _)| k == key), "{key} is not a field");
        }
    }

    #[test]
    fn the_default_policy_round_trips_and_fits_one_form() {
        let p = TenantPolicy::default();
        let fields: usize = sections(&p, None, None)
            .iter()
            .map(|s| s.fields.len())
            .sum();
        assert!(fields < crate::urlencoded::MAX_PARAMS, "{fields} fields");
        assert_eq!(rebuild(&p, &form_of(&p)).unwrap(), p);
    }

    #[test]
    fn enums_are_choices_and_errors_name_the_field() {
        let p = TenantPolicy::default();
        let all: Vec<Field> = sections(&p, None, None)
            .into_iter()
            .flat_map(|s| s.fields)
            .collect();
        let mode = all.iter().find(|f| f.key == "mfa.mode").unwrap();
        assert!(mode.is("choice"), "{:?}", mode.kind);
        let mut form = form_of(&p);
        form.insert("mfa.fresh_for_secs".into(), "soon".into());
        assert_eq!(rebuild(&p, &form).unwrap_err().0, "mfa.fresh_for_secs");
        let mut form = form_of(&p);
        form.insert("mfa.mode".into(), "sometimes".into());
        assert_eq!(rebuild(&p, &form).unwrap_err().0, "mfa.mode");
        let mut form = form_of(&p);
        form.insert("network.allow".into(), "10.0.0.0/8\nnot-a-net".into());
        assert_eq!(rebuild(&p, &form).unwrap_err().0, "network.allow");
    }
}

//! Strict XML for SAML: the one parser configuration (no DTD, no entities, no processing
//! instructions), namespaced element lookups, attributes without namespace, plain-text values,
//! duplicate-ID detection and timestamps. Every message is parsed here exactly once.

use std::collections::HashSet;

use bergshamra::xml::uppsala::{self, Document, NodeId, NodeKind};
use chrono::{DateTime, Utc};

use super::SamlError;
use super::error::clip;

pub(crate) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// SAML messages are shallow; anything deeper is refused by the parser.
const MAX_DEPTH: u32 = 64;

/// Attribute names that XML-DSig implementations treat as IDs (bergshamra's list, plus xml:id).
const ID_ATTRIBUTES: [&str; 4] = ["ID", "Id", "id", "AssertionID"];

/// Parses `xml` once, refusing DOCTYPE (and so entities) and processing instructions. The XML
/// declaration (`<?xml …?>`) is not a processing instruction and is accepted.
pub(crate) fn parse(xml: &str) -> Result<Document<'_>, SamlError> {
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(SamlError::ForbiddenMarkup("DOCTYPE or entity declaration"));
    }
    let doc = uppsala::Parser::new()
        .with_forbid_dtd(true)
        .with_forbid_entities(true)
        .with_max_depth(MAX_DEPTH)
        .parse(xml)
        .map_err(|e| SamlError::MalformedXml(clip(&e.to_string())))?;
    for node in doc.descendants(doc.root()) {
        if let Some(NodeKind::ProcessingInstruction(_)) = doc.node_kind(node) {
            return Err(SamlError::ForbiddenMarkup("processing instruction"));
        }
    }
    reject_duplicate_ids(&doc)?;
    Ok(doc)
}

/// Refuses two elements carrying the same value in any ID-like attribute (whatever its namespace),
/// so a reference can never resolve to an element other than the one that is read.
fn reject_duplicate_ids(doc: &Document<'_>) -> Result<(), SamlError> {
    let mut seen = HashSet::new();
    for node in doc.descendants(doc.root()) {
        let Some(element) = doc.element(node) else {
            continue;
        };
        for attribute in &element.attributes {
            if ID_ATTRIBUTES.contains(&attribute.name.local_name.as_ref())
                && !seen.insert(attribute.value.to_string())
            {
                return Err(SamlError::DuplicateId(clip(&attribute.value)));
            }
        }
    }
    Ok(())
}

/// Whether `node` is the element `{ns}local`.
pub(crate) fn is(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> bool {
    doc.element(node).is_some_and(|e| {
        e.name.local_name.as_ref() == local && e.name.namespace_uri.as_deref() == Some(ns)
    })
}

/// The document element.
pub(crate) fn root(doc: &Document<'_>) -> Result<NodeId, SamlError> {
    doc.document_element()
        .ok_or(SamlError::Schema("no document element"))
}

/// Element children of `node`, in order.
pub(crate) fn element_children(doc: &Document<'_>, node: NodeId) -> Vec<NodeId> {
    doc.children(node)
        .into_iter()
        .filter(|c| doc.element(*c).is_some())
        .collect()
}

/// Element children of `node` named `{ns}local`.
pub(crate) fn children(doc: &Document<'_>, node: NodeId, ns: &str, local: &str) -> Vec<NodeId> {
    doc.children(node)
        .into_iter()
        .filter(|c| is(doc, *c, ns, local))
        .collect()
}

/// The single child `{ns}local` of `node`, if any; two or more is a schema error.
pub(crate) fn at_most_one(
    doc: &Document<'_>,
    node: NodeId,
    ns: &str,
    local: &'static str,
) -> Result<Option<NodeId>, SamlError> {
    let found = children(doc, node, ns, local);
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(SamlError::Schema(local)),
    }
}

/// The single, required child `{ns}local` of `node`.
pub(crate) fn exactly_one(
    doc: &Document<'_>,
    node: NodeId,
    ns: &str,
    local: &'static str,
) -> Result<NodeId, SamlError> {
    at_most_one(doc, node, ns, local)?.ok_or(SamlError::Schema(local))
}

/// Every element `{ns}local` in the document, in document order.
pub(crate) fn all(doc: &Document<'_>, ns: &str, local: &str) -> Vec<NodeId> {
    doc.descendants(doc.root())
        .into_iter()
        .filter(|n| is(doc, *n, ns, local))
        .collect()
}

/// The value of the attribute `name` without namespace (never `foo:name`).
pub(crate) fn attr<'d>(doc: &'d Document<'_>, node: NodeId, name: &str) -> Option<&'d str> {
    doc.element(node)?
        .attributes
        .iter()
        .find(|a| a.name.namespace_uri.is_none() && a.name.local_name.as_ref() == name)
        .map(|a| a.value.as_ref())
}

/// The text of an element that may hold only text: comments, elements or processing
/// instructions inside it are refused (a comment must never truncate a NameID). Trimmed.
pub(crate) fn text(
    doc: &Document<'_>,
    node: NodeId,
    what: &'static str,
) -> Result<String, SamlError> {
    let mut out = String::new();
    for child in doc.children(node) {
        match doc.node_kind(child) {
            Some(NodeKind::Text(t)) | Some(NodeKind::CData(t)) => out.push_str(t),
            _ => return Err(SamlError::MalformedValue(what)),
        }
    }
    Ok(out.trim().to_owned())
}

/// An `xs:dateTime` attribute (RFC 3339, as SAML requires UTC), if present.
pub(crate) fn time_attr(
    doc: &Document<'_>,
    node: NodeId,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, SamlError> {
    attr(doc, node, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| SamlError::Schema(name))
        })
        .transpose()
}

/// Escapes text for an XML attribute value or element content.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

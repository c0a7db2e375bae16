//! The Assertion: Issuer, Subject (NameID, bearer SubjectConfirmation), Conditions (validity,
//! audience, OneTimeUse), AuthnStatement and attributes, read only from the Assertion element
//! whose signature (or whose Response's signature) was verified.

use bergshamra::xml::uppsala::{Document, NodeId};
use chrono::{DateTime, TimeDelta, Utc};

use super::response::in_response_to;
use super::xml::{self, NS_SAML};
use super::{Expectation, IdpTrust, SamlError, SpEndpoint};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// What the assertion says, after every check.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub not_on_or_after: DateTime<Utc>,
    pub one_time_use: bool,
    pub session_index: Option<String>,
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    pub authn_context_class: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub in_response_to: Option<String>,
}

/// The clock window: `now` and the allowed skew.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub now: DateTime<Utc>,
    pub skew: TimeDelta,
}

impl Window {
    pub(crate) fn new(expect: &Expectation<'_>) -> Result<Self, SamlError> {
        let skew = TimeDelta::from_std(expect.skew).map_err(|_| SamlError::Schema("skew"))?;
        Ok(Window {
            now: expect.now,
            skew,
        })
    }

    /// An IssueInstant may not be in the future (beyond the skew).
    pub(crate) fn issued(&self, instant: Option<DateTime<Utc>>) -> Result<(), SamlError> {
        match instant {
            None => Err(SamlError::Schema("IssueInstant")),
            Some(t) if t > self.now + self.skew => Err(SamlError::NotYetValid),
            Some(_) => Ok(()),
        }
    }

    /// NotBefore (inclusive) and NotOnOrAfter (exclusive), widened by the skew.
    fn check(
        &self,
        not_before: Option<DateTime<Utc>>,
        not_on_or_after: Option<DateTime<Utc>>,
    ) -> Result<(), SamlError> {
        if not_before.is_some_and(|nb| self.now + self.skew < nb) {
            return Err(SamlError::NotYetValid);
        }
        if not_on_or_after.is_some_and(|noa| self.now - self.skew >= noa) {
            return Err(SamlError::Expired);
        }
        Ok(())
    }
}

/// Reads and checks the assertion.
pub(crate) fn read(
    doc: &Document<'_>,
    assertion: NodeId,
    idp: &IdpTrust,
    sp: &SpEndpoint,
    expect: &Expectation<'_>,
) -> Result<Statement, SamlError> {
    let window = Window::new(expect)?;
    if xml::attr(doc, assertion, "Version") != Some("2.0") {
        return Err(SamlError::Schema("Assertion Version"));
    }
    let id = xml::attr(doc, assertion, "ID")
        .filter(|v| !v.is_empty())
        .ok_or(SamlError::Schema("Assertion ID"))?;
    window.issued(xml::time_attr(doc, assertion, "IssueInstant")?)?;
    let issuer = xml::exactly_one(doc, assertion, NS_SAML, "Issuer")?;
    if xml::text(doc, issuer, "Issuer")? != idp.entity_id {
        return Err(SamlError::IssuerMismatch);
    }
    let subject = xml::exactly_one(doc, assertion, NS_SAML, "Subject")?;
    let name = xml::exactly_one(doc, subject, NS_SAML, "NameID")?;
    let name_id = xml::text(doc, name, "NameID")?;
    if name_id.is_empty() {
        return Err(SamlError::Schema("NameID"));
    }
    let (scd_not_on_or_after, scd_in_response_to) = confirm(doc, subject, sp, expect, &window)?;

    let conditions = xml::at_most_one(doc, assertion, NS_SAML, "Conditions")?
        .ok_or(SamlError::ConditionsMissing)?;
    let cond_not_on_or_after = xml::time_attr(doc, conditions, "NotOnOrAfter")?;
    window.check(
        xml::time_attr(doc, conditions, "NotBefore")?,
        cond_not_on_or_after,
    )?;
    let restrictions = xml::children(doc, conditions, NS_SAML, "AudienceRestriction");
    if restrictions.is_empty() {
        return Err(SamlError::AudienceMismatch);
    }
    for restriction in restrictions {
        let mut ours = false;
        for audience in xml::children(doc, restriction, NS_SAML, "Audience") {
            ours |= xml::text(doc, audience, "Audience")? == sp.entity_id;
        }
        if !ours {
            return Err(SamlError::AudienceMismatch);
        }
    }
    let one_time_use = !xml::children(doc, conditions, NS_SAML, "OneTimeUse").is_empty();

    let statements = xml::children(doc, assertion, NS_SAML, "AuthnStatement");
    let authn = *statements.first().ok_or(SamlError::AuthnStatementMissing)?;
    let session_not_on_or_after = xml::time_attr(doc, authn, "SessionNotOnOrAfter")?;
    window.check(None, session_not_on_or_after)?;
    let authn_context_class = match xml::at_most_one(doc, authn, NS_SAML, "AuthnContext")? {
        Some(ctx) => match xml::at_most_one(doc, ctx, NS_SAML, "AuthnContextClassRef")? {
            Some(class) => Some(xml::text(doc, class, "AuthnContextClassRef")?),
            None => None,
        },
        None => None,
    };

    Ok(Statement {
        id: id.to_owned(),
        name_id,
        name_id_format: xml::attr(doc, name, "Format").map(str::to_owned),
        not_on_or_after: cond_not_on_or_after
            .map_or(scd_not_on_or_after, |c| c.min(scd_not_on_or_after)),
        one_time_use,
        session_index: xml::attr(doc, authn, "SessionIndex").map(str::to_owned),
        session_not_on_or_after,
        authn_context_class,
        attributes: attributes(doc, assertion)?,
        in_response_to: scd_in_response_to,
    })
}

/// The bearer SubjectConfirmation: the first one that passes every check wins; if none does,
/// the first one's error is returned. Returns its NotOnOrAfter and InResponseTo.
fn confirm(
    doc: &Document<'_>,
    subject: NodeId,
    sp: &SpEndpoint,
    expect: &Expectation<'_>,
    window: &Window,
) -> Result<(DateTime<Utc>, Option<String>), SamlError> {
    let mut first_error = None;
    for sc in xml::children(doc, subject, NS_SAML, "SubjectConfirmation") {
        if xml::attr(doc, sc, "Method") != Some(BEARER) {
            continue;
        }
        match bearer(doc, sc, sp, expect, window) {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(SamlError::NoBearerConfirmation))
}

fn bearer(
    doc: &Document<'_>,
    sc: NodeId,
    sp: &SpEndpoint,
    expect: &Expectation<'_>,
    window: &Window,
) -> Result<(DateTime<Utc>, Option<String>), SamlError> {
    let data = xml::exactly_one(doc, sc, NS_SAML, "SubjectConfirmationData")?;
    if xml::attr(doc, data, "Recipient") != Some(sp.acs_url.as_str()) {
        return Err(SamlError::RecipientMismatch);
    }
    let not_on_or_after =
        xml::time_attr(doc, data, "NotOnOrAfter")?.ok_or(SamlError::Schema("NotOnOrAfter"))?;
    window.check(
        xml::time_attr(doc, data, "NotBefore")?,
        Some(not_on_or_after),
    )?;
    let irt = xml::attr(doc, data, "InResponseTo");
    if expect.in_response_to.is_some() && irt.is_none() {
        return Err(SamlError::InResponseToMismatch);
    }
    in_response_to(irt, expect.in_response_to)?;
    Ok((not_on_or_after, irt.map(str::to_owned)))
}

/// Every `Attribute` of every `AttributeStatement`: its Name and its values' text.
fn attributes(
    doc: &Document<'_>,
    assertion: NodeId,
) -> Result<Vec<(String, Vec<String>)>, SamlError> {
    let mut out = Vec::new();
    for statement in xml::children(doc, assertion, NS_SAML, "AttributeStatement") {
        for attribute in xml::children(doc, statement, NS_SAML, "Attribute") {
            let name =
                xml::attr(doc, attribute, "Name").ok_or(SamlError::Schema("Attribute Name"))?;
            let mut values = Vec::new();
            for value in xml::children(doc, attribute, NS_SAML, "AttributeValue") {
                values.push(xml::text(doc, value, "AttributeValue")?);
            }
            out.push((name.to_owned(), values));
        }
    }
    Ok(out)
}

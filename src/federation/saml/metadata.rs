//! Metadata: ours (an SPSSODescriptor, optionally signed with XML-DSig by bergshamra) and the
//! identity provider's (entityID, Redirect SSO/SLO endpoints and signing certificates).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bergshamra::DsigContext;
use bergshamra::KeysManager;

use super::redirect::SpSigningKey;
use super::xml::{self, NS_DS, NS_MD, escape};
use super::{SamlError, new_request_id};

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What we take from an identity provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// `entityID` (required).
    pub entity_id: String,
    /// SingleSignOnService Location with the HTTP-Redirect binding (required).
    pub sso_redirect_url: String,
    /// SingleLogoutService Location with the HTTP-Redirect binding.
    pub slo_redirect_url: Option<String>,
    /// Signing certificates (DER): KeyDescriptor `use="signing"` or without `use` (at least one).
    pub signing_certs: Vec<Vec<u8>>,
}

/// Reads an IdP's `EntityDescriptor`. The metadata's own signature is not checked here: its
/// trust comes from how the operator obtained it. Errors say what is missing.
pub fn parse_idp_metadata(metadata_xml: &str) -> Result<IdpMetadata, SamlError> {
    let doc = xml::parse(metadata_xml)?;
    let root = xml::root(&doc)?;
    if !xml::is(&doc, root, NS_MD, "EntityDescriptor") {
        return Err(SamlError::Metadata(
            "the document element is not md:EntityDescriptor",
        ));
    }
    let entity_id = xml::attr(&doc, root, "entityID")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or(SamlError::Metadata("entityID is missing"))?;
    let descriptor = xml::at_most_one(&doc, root, NS_MD, "IDPSSODescriptor")?
        .ok_or(SamlError::Metadata("no IDPSSODescriptor"))?;
    let endpoint = |name: &str| {
        xml::children(&doc, descriptor, NS_MD, name)
            .into_iter()
            .find(|e| xml::attr(&doc, *e, "Binding") == Some(REDIRECT))
            .and_then(|e| xml::attr(&doc, e, "Location"))
            .map(|l| l.trim().to_owned())
    };
    let sso_redirect_url = endpoint("SingleSignOnService").ok_or(SamlError::Metadata(
        "no SingleSignOnService with the HTTP-Redirect binding",
    ))?;
    let mut signing_certs = Vec::new();
    for key in xml::children(&doc, descriptor, NS_MD, "KeyDescriptor") {
        if !matches!(xml::attr(&doc, key, "use"), None | Some("signing")) {
            continue;
        }
        for cert in xml::all(&doc, NS_DS, "X509Certificate") {
            if !doc.ancestors(cert).contains(&key) {
                continue;
            }
            let b64: String = xml::text(&doc, cert, "X509Certificate")?
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let der = STANDARD
                .decode(b64)
                .map_err(|_| SamlError::Metadata("X509Certificate is not base64"))?;
            bergshamra::keys::loader::load_x509_cert_der(&der)
                .map_err(|_| SamlError::Metadata("X509Certificate is not a usable certificate"))?;
            signing_certs.push(der);
        }
    }
    if signing_certs.is_empty() {
        return Err(SamlError::Metadata(
            "no signing certificate (KeyDescriptor use=\"signing\")",
        ));
    }
    Ok(IdpMetadata {
        entity_id: entity_id.to_owned(),
        sso_redirect_url,
        slo_redirect_url: endpoint("SingleLogoutService"),
        signing_certs,
    })
}

/// Our SP metadata: ACS (POST), optional SLO (Redirect), signing and encryption certificates
/// (RSA-OAEP + AES-GCM advertised), `WantAssertionsSigned`. Signed (enveloped, exc-c14n,
/// RSA-SHA256) when `sign_with` is given, with the first signing certificate in its KeyInfo.
pub fn sp_metadata(
    sp: &super::SpEndpoint,
    slo_url: Option<&str>,
    signing_certs: &[Vec<u8>],
    encryption_cert: Option<&[u8]>,
    sign_with: Option<&SpSigningKey>,
) -> Result<String, SamlError> {
    let key_descriptor = |usage: &str, der: &[u8], methods: &str| {
        format!(
            concat!(
                r#"<md:KeyDescriptor use="{usage}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"#,
                r#"{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>"#
            ),
            usage = usage,
            cert = STANDARD.encode(der),
            methods = methods,
        )
    };
    let mut keys: String = signing_certs
        .iter()
        .map(|c| key_descriptor("signing", c, ""))
        .collect();
    if let Some(c) = encryption_cert {
        keys.push_str(&key_descriptor(
            "encryption",
            c,
            concat!(
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>"#,
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>"#,
                r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#
            ),
        ));
    }
    let slo = slo_url
        .map(|u| {
            format!(
                r#"<md:SingleLogoutService Binding="{REDIRECT}" Location="{}"/>"#,
                escape(u)
            )
        })
        .unwrap_or_default();
    let id = new_request_id();
    let signature = match sign_with {
        Some(_) => signature_template(&id),
        None => String::new(),
    };
    let xml = format!(
        concat!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" "#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="{id}" entityID="{entity}">"#,
            r#"{signature}<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}{slo}"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        id = id,
        entity = escape(&sp.entity_id),
        signature = signature,
        signed = sign_with.is_some(),
        keys = keys,
        slo = slo,
        post = POST,
        acs = escape(&sp.acs_url),
    );
    match sign_with {
        Some(key) => sign(&xml, key, signing_certs.first()),
        None => Ok(xml),
    }
}

fn signature_template(id: &str) -> String {
    format!(
        concat!(
            r#"<ds:Signature><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data/></ds:KeyInfo>"#,
            r#"</ds:Signature>"#
        ),
        id = id
    )
}

/// Signs the metadata template with bergshamra (the XML-DSig crate does all canonicalisation).
fn sign(xml: &str, key: &SpSigningKey, cert: Option<&Vec<u8>>) -> Result<String, SamlError> {
    let mut private = super::encrypted::rsa_private_key(key.pkcs8_der())?;
    if let Some(c) = cert {
        private.x509_chain = vec![c.clone()];
    }
    let mut keys = KeysManager::new();
    keys.add_key(private);
    bergshamra::sign(&DsigContext::new(keys), xml).map_err(|e| SamlError::Signing(e.to_string()))
}

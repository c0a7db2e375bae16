//! `watchword idp create|list|show|update|delete`: a tenant's upstream identity providers. The
//! settings (domains, linking, mapping, MFA trust and the protocol's own section) come from a
//! TOML or JSON file in the seed file's shape; the client secret from standard input, sealed and
//! never printed.

use crate::admin::authz::Admin;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{CliError, admin_err};
use crate::admin::{self, idps::NewIdp};
use crate::app::Watchword;
use crate::domain::audit::Actor;
use crate::domain::idp::{IdentityProvider, IdpKind, IdpSettings};
use crate::domain::secret::Secret;

#[derive(Debug, Subcommand)]
pub enum IdpCommand {
    /// Add an identity provider to a tenant.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Its name in addresses: 1-40 of a-z, 0-9 and '-'.
        slug: String,
        /// oidc, entra or saml.
        #[arg(long, value_parser = parse_kind)]
        kind: IdpKind,
        /// What its button says ("Sign in with NAME").
        #[arg(long)]
        name: String,
        /// Its settings: a TOML or JSON file (see docs/federation.md). Optional with
        /// --metadata (the defaults, and the SAML section from the metadata).
        #[arg(long, value_name = "FILE", required_unless_present = "metadata")]
        settings: Option<PathBuf>,
        /// SAML: import the IdP's metadata (entityID, single sign-on and logout endpoints,
        /// signing certificates) from a file or an http(s) URL (fetched through the outbound
        /// guard).
        #[arg(long, value_name = "FILE|URL")]
        metadata: Option<String>,
        /// SAML: our private key at this IdP (PKCS#8 PEM or DER; RSA), kept sealed: signs our
        /// metadata (and AuthnRequests with `sign_requests`), decrypts encrypted assertions.
        #[arg(long, value_name = "FILE", requires = "sp_cert")]
        sp_key: Option<PathBuf>,
        /// SAML: the certificate of --sp-key (PEM or DER), published in our metadata.
        #[arg(long, value_name = "FILE")]
        sp_cert: Option<PathBuf>,
        /// Read the OAuth client secret from standard input (first line).
        #[arg(long)]
        client_secret_stdin: bool,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List a tenant's identity providers.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one provider as JSON (its secret never).
    Show {
        #[arg(long, default_value = "default")]
        tenant: String,
        slug: String,
    },
    /// Change a provider.
    Update {
        #[arg(long, default_value = "default")]
        tenant: String,
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// Replace its settings with this file's.
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// SAML: import the IdP's metadata again (a certificate rollover), from a file or URL.
        #[arg(long, value_name = "FILE|URL")]
        metadata: Option<String>,
        /// SAML: a new private key of ours (a rollover; the previous certificate stays in our
        /// metadata until the next one).
        #[arg(long, value_name = "FILE", requires = "sp_cert")]
        sp_key: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        sp_cert: Option<PathBuf>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
        /// Replace the client secret (from standard input).
        #[arg(long, conflicts_with = "remove_secret")]
        client_secret_stdin: bool,
        #[arg(long)]
        remove_secret: bool,
    },
    /// Delete a provider and the identities linked through it (the users stay).
    Delete {
        #[arg(long, default_value = "default")]
        tenant: String,
        slug: String,
    },
}

fn parse_kind(raw: &str) -> Result<IdpKind, String> {
    IdpKind::parse(raw).map_err(|e| e.message)
}

/// Reads settings from a `.json` file, or TOML otherwise.
pub fn read_settings(path: &Path) -> Result<IdpSettings, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str::<IdpSettings>(&text).map_err(|e| e.to_string())
    } else {
        toml::from_str::<IdpSettings>(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// The DER inside a PEM block labelled `label`, or the file itself when it is not PEM.
fn der_of(path: &Path, label: &str) -> Result<Vec<u8>, CliError> {
    use base64::Engine;
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(bytes);
    };
    let begin = format!("-----BEGIN {label}-----");
    let Some(start) = text.find(&begin) else {
        return Err(CliError::Usage(format!(
            "{}: no {begin} block",
            path.display()
        )));
    };
    let body = &text[start + begin.len()..];
    let end = body
        .find("-----END")
        .ok_or_else(|| CliError::Usage(format!("{}: unterminated PEM", path.display())))?;
    let b64: String = body[..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| CliError::Usage(format!("{}: bad PEM", path.display())))
}

/// SAML: our key and certificate at the IdP. The certificate goes first in `sp_certs` (the
/// previous one kept for a rollover); the key (checked to be a usable RSA key) is returned to
/// be sealed as the provider's secret.
fn sp_credentials(
    settings: &mut IdpSettings,
    key: Option<&Path>,
    cert: Option<&Path>,
) -> Result<Option<Secret<String>>, CliError> {
    use base64::Engine;
    let (Some(key), Some(cert)) = (key, cert) else {
        if key.is_some() || cert.is_some() {
            return Err(CliError::Usage("--sp-key and --sp-cert go together".into()));
        }
        return Ok(None);
    };
    let saml = settings
        .saml
        .as_mut()
        .ok_or_else(|| CliError::Usage("--sp-key is for SAML providers".into()))?;
    let key_der = der_of(key, "PRIVATE KEY")?;
    crate::federation::saml::SpSigningKey::from_pkcs8_der(&key_der)
        .map_err(|e| CliError::Usage(format!("{}: {e}", key.display())))?;
    let cert_der = der_of(cert, "CERTIFICATE")?;
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let previous = saml.sp_certs.first().cloned();
    saml.sp_certs = std::iter::once(encode(&cert_der)).chain(previous).collect();
    Ok(Some(Secret::new(encode(&key_der))))
}

fn empty_settings() -> IdpSettings {
    serde_json::from_value(serde_json::json!({})).expect("every setting has a default")
}

/// Fills the SAML section from the IdP's metadata (`admin::idp_metadata`, keeping what the
/// metadata cannot say): a file, or an http(s) URL fetched through the outbound guard.
async fn import_metadata(
    app: &Watchword,
    tenant: &crate::domain::tenant::Tenant,
    source: &str,
    settings: &mut IdpSettings,
) -> Result<(), CliError> {
    use crate::admin::idp_metadata::{self, Source};
    let source = if source.starts_with("https://") || source.starts_with("http://") {
        Source::Url(source.to_owned())
    } else {
        Source::Xml(
            std::fs::read_to_string(source)
                .map_err(|e| CliError::Usage(format!("{source}: {e}")))?,
        )
    };
    let saml = idp_metadata::import(
        &app.ctx,
        tenant,
        &source,
        settings.saml.as_ref(),
        &Admin::operator(Actor::Cli),
    )
    .await
    .map_err(admin_err)?;
    settings.saml = Some(saml);
    Ok(())
}

fn secret_from_stdin() -> Result<Secret<String>, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err(CliError::Usage("no client secret on standard input".into()));
    }
    Ok(Secret::new(line))
}

/// A provider as operators see it (no secret, whether one is set).
pub fn describe(idp: &IdentityProvider) -> serde_json::Value {
    serde_json::json!({
        "slug": idp.slug,
        "kind": idp.kind.as_str(),
        "display_name": idp.display_name,
        "enabled": idp.enabled,
        "has_client_secret": idp.has_secret,
        "settings": idp.settings,
    })
}

pub async fn run(app: &Watchword, cmd: IdpCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        IdpCommand::Create {
            tenant,
            slug,
            kind,
            name,
            settings,
            metadata,
            sp_key,
            sp_cert,
            client_secret_stdin,
            disabled,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let mut settings = match &settings {
                Some(path) => read_settings(path)?,
                None => empty_settings(),
            };
            if let Some(source) = &metadata {
                import_metadata(app, &tenant, source, &mut settings).await?;
            }
            let mut client_secret = client_secret_stdin.then(secret_from_stdin).transpose()?;
            if let Some(key) = sp_credentials(&mut settings, sp_key.as_deref(), sp_cert.as_deref())?
            {
                client_secret = Some(key);
            }
            let idp = admin::idps::create(
                ctx,
                &tenant,
                NewIdp {
                    slug,
                    kind,
                    display_name: name,
                    enabled: !disabled,
                    settings,
                    client_secret,
                },
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!(
                "created identity provider {} ({})",
                idp.slug,
                idp.kind.as_str()
            );
            Ok(())
        }
        IdpCommand::List { tenant, json } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let all = admin::idps::list(ctx, &tenant).await.map_err(admin_err)?;
            if json {
                for s in &all {
                    println!("{}", describe(&s.idp));
                }
            } else {
                println!(
                    "{:<20} {:<6} {:<8} {:<30} DOMAINS",
                    "SLUG", "KIND", "ENABLED", "NAME"
                );
                for s in &all {
                    let i = &s.idp;
                    println!(
                        "{:<20} {:<6} {:<8} {:<30} {}",
                        i.slug,
                        i.kind.as_str(),
                        if i.enabled { "yes" } else { "no" },
                        i.display_name,
                        i.settings.domains.join(",")
                    );
                }
            }
            Ok(())
        }
        IdpCommand::Show { tenant, slug } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let s = admin::idps::get(ctx, &tenant, &slug)
                .await
                .map_err(admin_err)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&describe(&s.idp)).expect("json")
            );
            Ok(())
        }
        IdpCommand::Update {
            tenant,
            slug,
            name,
            settings,
            metadata,
            sp_key,
            sp_cert,
            enable,
            disable,
            client_secret_stdin,
            remove_secret,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let mut idp = admin::idps::get(ctx, &tenant, &slug)
                .await
                .map_err(admin_err)?
                .idp;
            if let Some(name) = name {
                idp.display_name = name;
            }
            if let Some(path) = settings {
                idp.settings = read_settings(&path)?;
            }
            if let Some(source) = &metadata {
                import_metadata(app, &tenant, source, &mut idp.settings).await?;
            }
            if enable || disable {
                idp.enabled = enable;
            }
            let new_key = sp_credentials(&mut idp.settings, sp_key.as_deref(), sp_cert.as_deref())?;
            let secret = if let Some(key) = new_key {
                Some(Some(key))
            } else if client_secret_stdin {
                Some(Some(secret_from_stdin()?))
            } else if remove_secret {
                Some(None)
            } else {
                None
            };
            admin::idps::update(ctx, &tenant, idp, secret, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?;
            println!("updated identity provider {slug}");
            Ok(())
        }
        IdpCommand::Delete { tenant, slug } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            admin::idps::delete(ctx, &tenant, &slug, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?;
            println!("deleted identity provider {slug}");
            Ok(())
        }
    }
}

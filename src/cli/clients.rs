//! `watchword client …` and `watchword keys …`.

use crate::admin::authz::Admin;
use clap::Subcommand;

use super::{CliError, admin_err};
use crate::admin::{self, clients::NewClient};
use crate::app::Watchword;
use crate::domain::audit::Actor;
use crate::domain::client::{Client, ClientAuthMethod, ClientKind, ClientSettings, GrantType};
use crate::domain::keys::SigningAlg;
use crate::signing::rotation;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and never again.
    Create {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Name shown on consent pages.
        #[arg(long)]
        name: String,
        /// Client id (default: generated).
        #[arg(long)]
        client_id: Option<String>,
        /// A public client (single-page or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// client_secret_basic (default for confidential clients) or client_secret_post.
        #[arg(long, value_parser = parse_method)]
        auth_method: Option<ClientAuthMethod>,
        /// Redirect URI (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Grant type (repeat; default authorization_code and refresh_token).
        #[arg(long = "grant-type", value_parser = parse_grant)]
        grant_types: Vec<GrantType>,
        /// Allowed scope (repeat; default openid profile email offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The tenant's own application: no consent page.
        #[arg(long)]
        first_party: bool,
        /// Do not require PKCE (confidential clients only).
        #[arg(long)]
        no_pkce: bool,
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// ID token algorithm (RS256, ES256, EdDSA; default: the tenant's).
        #[arg(long, value_parser = parse_alg)]
        id_token_alg: Option<SigningAlg>,
        /// Access token algorithm (default: the tenant's).
        #[arg(long, value_parser = parse_alg)]
        access_token_alg: Option<SigningAlg>,
        /// A resource server (an API): may introspect the access tokens meant for it (whose
        /// `aud` is its own client id or an `--audience`). Other clients introspect only their
        /// own tokens.
        #[arg(long)]
        resource_server: bool,
        /// An audience the resource server serves: the client id of an application whose
        /// access tokens it accepts (repeat for several).
        #[arg(long = "audience", requires = "resource_server")]
        audiences: Vec<String>,
    },
    /// List the clients of a tenant.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one client's registration (never its secret).
    Show {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Replace a confidential client's secret; the new one is printed once.
    RotateSecret {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Delete a client; its tokens stop working.
    Delete {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate signing keys: the new key is published at once and signs after the JWKS cache
    /// lifetime; old keys stay published until their tokens have expired.
    Rotate {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Algorithm to rotate (repeat; default all: RS256, ES256, EdDSA).
        #[arg(long = "alg", value_parser = parse_alg)]
        algs: Vec<SigningAlg>,
        /// Sign with the new key at once (a compromised key): relying parties that cached the
        /// JWKS must re-fetch it.
        #[arg(long)]
        immediate: bool,
    },
    /// Withdraw a compromised key at once: a replacement signs from now on and the key leaves
    /// the JWKS, so every token it signed stops verifying.
    Revoke {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The key id (see `keys list`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// List a tenant's published keys.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
}

fn parse_method(raw: &str) -> Result<ClientAuthMethod, String> {
    ClientAuthMethod::parse(raw).map_err(|e| e.message)
}

fn parse_grant(raw: &str) -> Result<GrantType, String> {
    GrantType::parse(raw)
        .ok_or_else(|| "must be authorization_code, refresh_token or client_credentials".into())
}

fn parse_alg(raw: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(raw).map_err(|e| e.message)
}

fn describe(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.client_id,
        "name": c.name,
        "kind": c.kind,
        "auth_method": c.auth_method.as_str(),
        "settings": c.settings,
        "created_at": c.created_at.to_rfc3339(),
        "updated_at": c.updated_at.to_rfc3339(),
    })
}

pub async fn client(app: &Watchword, cmd: ClientCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    let tenant_of =
        |slug: String| async move { admin::tenants::get(ctx, &slug).await.map_err(admin_err) };
    match cmd {
        ClientCommand::Create {
            tenant,
            name,
            client_id,
            public,
            auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            first_party,
            no_pkce,
            backchannel_logout_uri,
            id_token_alg,
            access_token_alg,
            resource_server,
            audiences,
        } => {
            let tenant = tenant_of(tenant).await?;
            let defaults = ClientSettings::default();
            let settings = ClientSettings {
                redirect_uris,
                post_logout_redirect_uris,
                grant_types: if grant_types.is_empty() {
                    defaults.grant_types
                } else {
                    grant_types
                },
                scopes: if scopes.is_empty() {
                    defaults.scopes
                } else {
                    scopes
                },
                first_party,
                require_pkce: !no_pkce,
                id_token_alg,
                access_token_alg,
                backchannel_logout_uri,
                resource_server,
                audiences,
                ..defaults
            };
            let kind = if public {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            };
            let registered = admin::clients::create(
                ctx,
                &tenant,
                NewClient {
                    client_id,
                    name,
                    kind,
                    auth_method,
                    settings,
                    secret: None,
                },
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("client_id:     {}", registered.client.client_id);
            if let Some(secret) = registered.secret {
                println!("client_secret: {}", secret.expose());
                println!("(the secret is shown only now; it is stored as a keyed hash)");
            }
            println!("issuer:        {}", crate::oauth::issuer(ctx, &tenant));
        }
        ClientCommand::List { tenant, json } => {
            let tenant = tenant_of(tenant).await?;
            let clients = admin::clients::list(ctx, &tenant)
                .await
                .map_err(admin_err)?;
            if json {
                let rows: Vec<_> = clients.iter().map(describe).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<28} {:<28} {:<13} GRANTS", "CLIENT_ID", "NAME", "KIND");
                for c in clients {
                    let grants: Vec<&str> =
                        c.settings.grant_types.iter().map(|g| g.as_str()).collect();
                    let kind = if c.kind == ClientKind::Public {
                        "public"
                    } else {
                        "confidential"
                    };
                    println!(
                        "{:<28} {:<28} {:<13} {}",
                        c.client_id,
                        c.name,
                        kind,
                        grants.join(",")
                    );
                }
            }
        }
        ClientCommand::Show { tenant, client_id } => {
            let tenant = tenant_of(tenant).await?;
            let c = admin::clients::get(ctx, &tenant, &client_id)
                .await
                .map_err(admin_err)?;
            println!("{}", serde_json::to_string_pretty(&describe(&c.client))?);
        }
        ClientCommand::RotateSecret { tenant, client_id } => {
            let tenant = tenant_of(tenant).await?;
            let c = admin::clients::get(ctx, &tenant, &client_id)
                .await
                .map_err(admin_err)?;
            let secret = admin::clients::set_secret(
                ctx,
                &tenant,
                &c.client,
                None,
                &Admin::operator(Actor::Cli),
            )
            .await
            .map_err(admin_err)?;
            println!("client_secret: {}", secret.expose());
            println!("(the previous secret no longer works; replicas notice within 5 seconds)");
        }
        ClientCommand::Delete { tenant, client_id } => {
            let tenant = tenant_of(tenant).await?;
            admin::clients::delete(ctx, &tenant, &client_id, &Admin::operator(Actor::Cli))
                .await
                .map_err(admin_err)?;
            println!("deleted client {client_id}");
        }
    }
    Ok(())
}

pub async fn keys(app: &Watchword, cmd: KeysCommand) -> Result<(), CliError> {
    let ctx = &app.ctx;
    match cmd {
        KeysCommand::Rotate {
            tenant,
            algs,
            immediate,
        } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let algs = if algs.is_empty() {
                SigningAlg::ALL.to_vec()
            } else {
                algs
            };
            let keys =
                admin::keys::rotate(ctx, &tenant, &algs, immediate, &Admin::operator(Actor::Cli))
                    .await
                    .map_err(admin_err)?;
            for k in keys {
                println!(
                    "{} {} published now, signs from {}",
                    k.kid,
                    k.alg,
                    crate::clock::from_unix(k.activates_at).to_rfc3339()
                );
            }
        }
        KeysCommand::Revoke { tenant, kid } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let replacement =
                admin::keys::withdraw(ctx, &tenant, &kid, &Admin::operator(Actor::Cli))
                    .await
                    .map_err(|e| match e {
                        admin::AdminError::Signing(s) => CliError::Usage(s.to_string()),
                        other => admin_err(other),
                    })?;
            println!(
                "withdrew {kid}; {} ({}) signs from now on",
                replacement.kid, replacement.alg
            );
            println!("(other replicas stop accepting its tokens within 30 seconds)");
        }
        KeysCommand::List { tenant, json } => {
            let tenant = admin::tenants::get(ctx, &tenant).await.map_err(admin_err)?;
            let keys = rotation::list(ctx, tenant.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!(
                    "{:<28} {:<6} {:<9} {:<26} EXPIRES",
                    "KID", "ALG", "STATE", "SIGNS FROM"
                );
                for k in keys {
                    let expires = k
                        .expires_at
                        .map_or("-".to_owned(), |e| crate::clock::from_unix(e).to_rfc3339());
                    println!(
                        "{:<28} {:<6} {:<9} {:<26} {}",
                        k.kid,
                        k.alg,
                        k.state,
                        crate::clock::from_unix(k.activates_at).to_rfc3339(),
                        expires
                    );
                }
            }
        }
    }
    Ok(())
}

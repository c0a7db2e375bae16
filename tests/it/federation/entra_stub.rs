//! An Entra-shaped OpenID Connect provider for the tests (no real Microsoft tenant here): the
//! multi-tenant discovery document whose `issuer` holds the literal `{tenantid}`, per-directory
//! ID tokens (RS256) with `tid`, `oid`, `email` with or without `email_verified` / `xms_edov`,
//! `groups` or the overage (`_claim_names`/`_claim_sources`), PKCE checked at the token
//! endpoint, the application-specific key set (`?appid=`), a key rollover, and Microsoft
//! Graph's `getMemberObjects`. The authorize endpoint signs in whoever the test queued.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest;
use watchword::crypto::jws::{self, SigningKey};
use watchword::domain::keys::SigningAlg;

pub struct Key {
    kid: String,
    signing: SigningKey,
    jwk: serde_json::Value,
}

impl Key {
    pub fn new(kid: &str) -> Self {
        let generated = jws::generate(SigningAlg::RS256, kid).unwrap();
        Self {
            kid: kid.into(),
            signing: SigningKey::load(SigningAlg::RS256, &generated.pkcs8).unwrap(),
            jwk: generated.public_jwk,
        }
    }
}

#[derive(Default)]
pub struct State {
    base: String,
    /// The claims of the next sign-in (merged over the defaults).
    pub next: Option<serde_json::Value>,
    codes: HashMap<String, (serde_json::Value, String, String, String)>,
    /// Published keys; `signer` signs.
    pub keys: Vec<Key>,
    pub signer: usize,
    /// Signs instead when set: a key nobody published.
    pub rogue: Option<Key>,
    /// Groups Graph returns, and how often it was asked.
    pub graph_groups: Vec<String>,
    pub graph_calls: usize,
    pub graph_fails: bool,
    pub jwks_fetches: usize,
    /// The query strings discovery was fetched with (`appid`).
    pub discovery_queries: Vec<String>,
}

pub struct EntraStub {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    _handle: actix_web::dev::ServerHandle,
}

impl EntraStub {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            keys: vec![Key::new("key-1")],
            ..State::default()
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/{tenant}/v2.0/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/{tenant}/discovery/v2.0/keys", web::get().to(keys))
                .route("/{tenant}/oauth2/v2.0/authorize", web::get().to(authorize))
                .route("/{tenant}/oauth2/v2.0/token", web::post().to(token))
                .route("/v1.0/users/{oid}/getMemberObjects", web::post().to(graph))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            state,
            _handle: handle,
        }
    }

    /// The person who signs in next.
    pub fn next(&self, claims: serde_json::Value) {
        self.state.lock().unwrap().next = Some(claims);
    }
}

type Shared = web::Data<Arc<Mutex<State>>>;

async fn discovery(state: Shared, path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let base = {
        let mut s = state.lock().unwrap();
        s.discovery_queries.push(req.query_string().to_owned());
        s.base.clone()
    };
    let tenant = path.into_inner();
    let issuer_tenant = match tenant.as_str() {
        "common" | "organizations" | "consumers" => "{tenantid}".to_owned(),
        t => t.to_owned(),
    };
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }))
}

async fn keys(state: Shared) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.jwks_fetches += 1;
    let keys: Vec<_> = s.keys.iter().map(|k| k.jwk.clone()).collect();
    HttpResponse::Ok().json(serde_json::json!({ "keys": keys }))
}

async fn authorize(state: Shared, req: HttpRequest) -> HttpResponse {
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut s = state.lock().unwrap();
    let claims = s.next.take().unwrap_or_else(|| serde_json::json!({}));
    let code = watchword::crypto::random::token();
    s.codes.insert(
        code.clone(),
        (
            claims,
            q.get("nonce").cloned().unwrap_or_default(),
            q.get("code_challenge").cloned().unwrap_or_default(),
            q.get("client_id").cloned().unwrap_or_default(),
        ),
    );
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state_param = q.get("state").cloned().unwrap_or_default();
    HttpResponse::Found()
        .insert_header((
            "location",
            format!("{redirect}?code={code}&state={state_param}"),
        ))
        .finish()
}

async fn token(state: Shared, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let Some((claims, nonce, challenge, client_id)) =
        form.get("code").and_then(|c| s.codes.remove(c))
    else {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "invalid_grant" }));
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) != challenge {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "invalid_grant" }));
    }
    // The provider keeps its own (real) time, as Microsoft does.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now().timestamp();
    let tid = claims["tid"]
        .as_str()
        .unwrap_or("11111111-1111-1111-1111-111111111111")
        .to_owned();
    let oid = claims["oid"]
        .as_str()
        .unwrap_or("aaaaaaaa-0000-0000-0000-000000000001")
        .to_owned();
    let mut payload = serde_json::json!({
        "iss": format!("{}/{tid}/v2.0", s.base),
        "aud": client_id,
        "sub": format!("pairwise-{oid}"),
        "tid": tid,
        "oid": oid,
        "nonce": nonce,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": "Adele Vance",
        "preferred_username": "adele@contoso.example",
    });
    for (k, v) in claims.as_object().unwrap() {
        payload[k] = v.clone();
    }
    let key = s.rogue.as_ref().unwrap_or(&s.keys[s.signer]);
    let id_token = jws::sign(&key.signing, SigningAlg::RS256, &key.kid, "JWT", &payload);
    HttpResponse::Ok().json(serde_json::json!({
        "token_type": "Bearer",
        "access_token": format!("graph-token-{oid}"),
        "expires_in": 3600,
        "id_token": id_token,
    }))
}

async fn graph(state: Shared, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.graph_calls += 1;
    let expected = format!("Bearer graph-token-{}", path.into_inner());
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if s.graph_fails || auth != expected {
        return HttpResponse::Forbidden().finish();
    }
    HttpResponse::Ok().json(serde_json::json!({ "value": s.graph_groups }))
}

// A certified OpenID Connect provider (panva's oidc-provider) as an upstream for Watchword's
// federation tests (tests/it/federation/certified.rs). Its development interactions sign in
// any login name; the account's claims are made from it.
//   node oidc_provider.mjs PORT REDIRECT_URI CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, redirectUri, secret] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'watchword',
    client_secret: secret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['watchword-tests-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@certified.example`,
          email_verified: true,
          name: `${id} certified`,
          preferred_username: id,
        };
      },
    };
  },
});
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});

// A real authorization server for the dpop-interop tests: panva's `oidc-provider`, on
// 127.0.0.1 at the port given as the only argument. Prints one JSON line on stdout when it
// listens ({"issuer": ...}) and runs until killed.
//
// - Client credentials grant, DPoP (RFC 9449) and token introspection (RFC 7662) enabled.
// - Resource indicators (RFC 8707): `https://jwt.api.example` gets RFC 9068 JWT access tokens
//   signed with RS256, `https://es.api.example` JWT access tokens signed with ES256, and
//   `https://opaque.api.example` opaque access tokens.
// - Clients: `app` (secret `app-secret`, client_secret_basic) gets tokens; `resource-server`
//   (secret `rs-secret`, client_secret_post) and `resource-server-basic` (`rs-basic-secret`,
//   client_secret_basic) introspect them.
// - Signing keys are made at start (jose's generateKeyPair), so each run has new ones.

import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node oidc-provider.mjs <port>\n');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

async function privateJwk(alg, kid) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

const RESOURCES = {
  'https://jwt.api.example': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'https://es.api.example': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'https://opaque.api.example': { accessTokenFormat: 'opaque' },
};

const provider = new Provider(issuer, {
  jwks: { keys: [await privateJwk('RS256', 'rsa-1'), await privateJwk('ES256', 'ec-1')] },
  clients: [
    {
      client_id: 'app',
      client_secret: 'app-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'resource-server',
      client_secret: 'rs-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      client_id: 'resource-server-basic',
      client_secret: 'rs-basic-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    introspection: {
      enabled: true,
      // Only the resource server may introspect.
      allowedPolicy: (ctx, client) => client.clientId.startsWith('resource-server'),
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        const info = RESOURCES[resource];
        if (!info) throw new errors.InvalidTarget();
        return { scope: 'read write', audience: resource, accessTokenTTL: 300, ...info };
      },
    },
  },
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

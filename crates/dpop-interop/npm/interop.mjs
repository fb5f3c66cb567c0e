// The Node.js side of the dpop-interop tests: panva's `dpop` and `jose` packages, driven by the
// Rust tests in ../tests. Usage: `node interop.mjs <command>`, with a JSON array of requests on
// stdin; prints a JSON array of results (one per request, in order) on stdout.
//
// Commands:
//   make        create DPoP proofs: ES256 with `dpop`'s generateProof, any of ES256/ES384/ES512
//               with `jose`'s SignJWT (typ dpop+jwt, the public JWK embedded in the header)
//   verify      verify proofs with `jose`'s jwtVerify(proof, EmbeddedJWK, {typ, algorithms})
//   keys        generate public keys with `jose`'s generateKeyPair ({alg, count} -> [{jwk, jkt}])
//   thumbprint  RFC 7638 SHA-256 thumbprints with `jose`'s calculateJwkThumbprint
//   versions    the versions of node, jose and dpop in use
//
// A proof that jwtVerify refuses is a result ({ok: false, code, message}); anything else (bad
// input, a library missing) exits non-zero with the reason on stderr.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import * as dpop from 'dpop';
import {
  EmbeddedJWK,
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from 'jose';

const encoder = new TextEncoder();

function b64u(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

async function sha256b64u(text) {
  return b64u(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))));
}

function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

// {lib, alg, htm, htu, nonce?, access_token?}
async function make(req) {
  let proof;
  let publicKey;
  if (req.lib === 'dpop') {
    if (req.alg !== 'ES256') {
      throw new Error(`dpop only signs EC proofs with ES256, not ${req.alg}`);
    }
    const keypair = await dpop.generateKeyPair('ES256');
    publicKey = keypair.publicKey;
    proof = await dpop.generateProof(
      keypair,
      req.htu,
      req.htm,
      req.nonce ?? undefined,
      req.access_token ?? undefined,
    );
  } else if (req.lib === 'jose') {
    const keypair = await generateKeyPair(req.alg, { extractable: true });
    publicKey = keypair.publicKey;
    const claims = { htm: req.htm, htu: req.htu };
    if (req.nonce != null) claims.nonce = req.nonce;
    if (req.access_token != null) claims.ath = await sha256b64u(req.access_token);
    proof = await new SignJWT(claims)
      .setProtectedHeader({ alg: req.alg, typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .sign(keypair.privateKey);
  } else {
    throw new Error(`unknown lib ${req.lib}`);
  }
  const [header, payload] = proof.split('.').slice(0, 2).map(decodeSegment);
  const result = {
    proof,
    jwk: header.jwk,
    iat: payload.iat,
    jkt: await calculateJwkThumbprint(header.jwk, 'sha256'),
  };
  if (req.lib === 'dpop') {
    result.jkt_dpop = await dpop.calculateThumbprint(publicKey);
  }
  return result;
}

// {proof, algorithms, now?, access_token?}
async function verify(req) {
  const options = { typ: 'dpop+jwt', algorithms: req.algorithms };
  if (req.now != null) options.currentDate = new Date(req.now * 1000);
  const ath = req.access_token != null ? await sha256b64u(req.access_token) : undefined;
  try {
    const { payload, protectedHeader } = await jwtVerify(req.proof, EmbeddedJWK, options);
    return {
      ok: true,
      header: protectedHeader,
      payload,
      jkt: await calculateJwkThumbprint(protectedHeader.jwk, 'sha256'),
      ath,
    };
  } catch (error) {
    // Everything jwtVerify throws is a rejection: jose's own errors carry an ERR_* code, the
    // runtime's WebCrypto errors (a JWK that importKey refuses) only a name
    // (DOMException has a numeric legacy `code`; use its name instead.)
    const code = typeof error?.code === 'string' ? error.code : `WebCrypto ${error?.name}`;
    return { ok: false, code, message: String(error?.message) };
  }
}

// {alg, count}
async function keys(req) {
  const out = [];
  for (let i = 0; i < req.count; i++) {
    const { publicKey } = await generateKeyPair(req.alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    out.push({ jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') });
  }
  return out;
}

async function thumbprint(jwk) {
  return calculateJwkThumbprint(jwk, 'sha256');
}

function versions() {
  const require = createRequire(import.meta.url);
  const version = (name) =>
    JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  return [{ node: process.versions.node, jose: version('jose'), dpop: version('dpop') }];
}

const commands = { make, verify, keys, thumbprint };

async function main() {
  const command = process.argv[2];
  if (command === 'versions') {
    return versions();
  }
  const run = commands[command];
  if (run === undefined) {
    throw new Error(`unknown command ${command}; expected one of make, verify, keys, thumbprint, versions`);
  }
  const input = JSON.parse(readFileSync(0, 'utf8'));
  if (!Array.isArray(input)) {
    throw new Error('stdin must be a JSON array of requests');
  }
  const results = [];
  for (const req of input) {
    results.push(await run(req));
  }
  return results;
}

main().then(
  (results) => process.stdout.write(JSON.stringify(results)),
  (error) => {
    process.stderr.write(`interop.mjs: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);

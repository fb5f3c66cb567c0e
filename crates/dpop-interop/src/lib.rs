//! Test-only crate (not published): dpop-core checked against other implementations.
//!
//! - `tests/interop/panva.rs`: proofs made by panva's `dpop` (ES256, `generateProof`) and `jose`
//!   (ES256, ES384, ES512, `SignJWT` with `typ: dpop+jwt` and the public JWK in the header)
//!   verify with dpop-core, `ath` and `nonce` included; dpop-core's proofs verify with `jose`'s
//!   `jwtVerify(proof, EmbeddedJWK, {typ: 'dpop+jwt', algorithms})`; both compute the same RFC
//!   7638 thumbprints (`calculateJwkThumbprint`, and `dpop`'s `calculateThumbprint`); proofs
//!   broken in one way are rejected by both. The Node.js side is `npm/interop.mjs`; the exact
//!   versions are pinned in `npm/package-lock.json` (the tests run `npm ci` in `npm/` when needed).
//! - `tests/interop/jsonwebtoken_crate.rs`: the same against the `jsonwebtoken` crate (ES256
//!   and ES384 both ways, thumbprints for all three curves; it has no ES512).
//! - `tests/interop/oidc_provider.rs`: dpop-axum's `JwtResolver` and `IntrospectionResolver`
//!   against panva's `oidc-provider` (`npm/oidc-provider.mjs`, on 127.0.0.1): DPoP-bound RS256
//!   and ES256 JWT access tokens and opaque ones, obtained by a dpop-std `Client` with the client
//!   credentials grant, are accepted with the bound key only (another key's proof and a Bearer
//!   downgrade get 401); a token with an unknown `kid` causes exactly one JWKS refetch; both
//!   introspection client authentication methods work; the server stopped gives 503.
//!
//! Without `node`, or when `npm ci` fails, the Node.js tests print a note to stderr and pass,
//! except under `CI=true`, where they fail.
//!
//! # Known differences
//!
//! The broken-proof table (`tests/interop/common.rs`) pins every outcome. Besides the DPoP
//! claims (`htm`, `htu`, `ath`, `jti`, `iat` freshness) that only a DPoP verifier checks, these
//! differ from `jose` 6 (and so from servers built on it, such as `node-oidc-provider`):
//!
//! | proof | dpop-core | jose |
//! |---|---|---|
//! | a member twice (`htm` `POST`, then `GET`) | rejects | accepts, reads the last |
//! | `nbf` in the future | accepts (ignored) | rejects |
//! | `jwk` with `use: enc`, `key_ops` without `verify` or another `alg` | accepts | rejects |
//! | ES256 signature text with non-zero unused bits | rejects | accepts |
//!
//! Both accept `typ` in another case or with the `application/` prefix (RFC 7515 section
//! 4.1.9) and a non-integer `iat` (RFC 7519 `NumericDate`, read by its integer part).
//!
//! `jsonwebtoken` 11 ignores `crit` (dpop-core and `jose` reject unknown extensions, RFC 7515
//! section 4.1.11) and keeps the last of duplicate claims.
//! panva's `dpop` signs whatever `htu` it is given, query included; dpop-core rejects such a
//! proof (RFC 9449 section 4.2).

/// The workspace README's examples run as doctests of this crate (not published, so it may read
/// outside its directory), so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;

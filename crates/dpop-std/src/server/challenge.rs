//! The `WWW-Authenticate` challenges of a resource: `DPoP` (RFC 9449 section 7.1) and, where
//! Bearer is allowed, `Bearer` (RFC 6750 section 3).

use super::{Endpoint, INVALID_REQUEST, INVALID_TOKEN, Reason, Rejection, Server};

/// What every challenge of one server carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ChallengeParams {
    /// The accepted algorithms, space-separated.
    pub(super) algs: String,
    pub(super) realm: Option<String>,
    pub(super) bearer: bool,
}

impl Server {
    /// The bare challenge of a resource (401, `WWW-Authenticate: DPoP algs="..."`, no error),
    /// for requests the caller turns away before any token is read.
    pub fn challenge(&self) -> Rejection {
        self.reject(Endpoint::Resource, Reason::MissingCredentials)
    }
}

/// `DPoP [realm="..", ][error="..", error_description="..", ]algs=".."` (RFC 9449 section 7.1).
pub(super) fn dpop_challenge(params: &ChallengeParams, error: Option<(&str, &str)>) -> String {
    let mut out = String::from("DPoP ");
    if let Some(realm) = &params.realm {
        out.push_str(&format!("realm=\"{realm}\", "));
    }
    if let Some((code, description)) = error {
        out.push_str(&format!(
            "error=\"{code}\", error_description=\"{description}\", "
        ));
    }
    out.push_str(&format!("algs=\"{}\"", params.algs));
    out
}

/// `Bearer [realm=".."][, error="..", error_description=".."]` (RFC 6750 section 3); only the
/// RFC 6750 error codes are repeated here.
pub(super) fn bearer_challenge(params: &ChallengeParams, error: Option<(&str, &str)>) -> String {
    let mut attributes = Vec::new();
    if let Some(realm) = &params.realm {
        attributes.push(format!("realm=\"{realm}\""));
    }
    if let Some((code, description)) = error
        && (code == INVALID_REQUEST || code == INVALID_TOKEN)
    {
        attributes.push(format!("error=\"{code}\""));
        attributes.push(format!("error_description=\"{description}\""));
    }
    if attributes.is_empty() {
        String::from("Bearer")
    } else {
        format!("Bearer {}", attributes.join(", "))
    }
}

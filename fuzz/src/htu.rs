//! `htu`: the one canonicalization of target URIs (RFC 9449 section 4.3, RFC 3986 section 6).
//!
//! The input is split at the first `\n` into two URIs (a newline is never part of an accepted
//! URI). For each: `canonicalize` never panics, agrees with `TargetUri::parse` and
//! `parse_claim` as documented, is idempotent, and its output is a valid claim of the reported
//! length. For the pair: `canonical_eq` is reflexive and symmetric, and holds exactly when the
//! canonical forms are equal.

use dpop_core::{TargetUri, UriError, canonicalize_uri, consts::MAX_URI_LEN};

/// The target.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    let ca = check_one(a);
    let cb = check_one(b);
    if let (Some(ca), Some(cb), Ok(ua), Ok(ub)) =
        (&ca, &cb, TargetUri::parse(a), TargetUri::parse(b))
    {
        let eq = ua.canonical_eq(&ub);
        assert_eq!(eq, ub.canonical_eq(&ua), "canonical_eq is symmetric");
        assert_eq!(eq, ca == cb, "canonical_eq iff equal canonical forms");
    }
}

/// Checks one URI; returns its canonical form when it has one.
fn check_one(uri: &str) -> Option<String> {
    let mut buf = [0u8; MAX_URI_LEN];
    let canonical = canonicalize_uri(uri, &mut buf).map(str::to_owned);
    let parsed = TargetUri::parse(uri);
    let claim = TargetUri::parse_claim(uri);

    // parse and canonicalize validate exactly alike.
    match (&canonical, &parsed) {
        (Ok(c), Ok(p)) => {
            assert_eq!(p.canonical_len(), c.len(), "canonical_len");
            assert_eq!(p.as_str(), uri);
            let mut out = [0u8; MAX_URI_LEN];
            assert_eq!(p.write_canonical(&mut out).unwrap(), c, "write_canonical");
        }
        (Err(e), Err(f)) => {
            assert_eq!(e, f, "canonicalize and parse disagree on the error");
            assert!(
                !matches!(e, UriError::BufferTooSmall | UriError::QueryOrFragment),
                "{e:?} from canonicalize with a MAX_URI_LEN buffer"
            );
        }
        _ => panic!("canonicalize {canonical:?} but parse {parsed:?}"),
    }

    // parse_claim: as parse, except that a query or fragment is an error, and the least
    // important one (input errors are reported first).
    match &claim {
        Ok(c) => {
            assert!(!uri.contains(['?', '#']), "claim with a query or fragment");
            assert_eq!(Ok(c.canonical_len()), canonical.as_ref().map(String::len));
        }
        Err(UriError::QueryOrFragment) => {
            assert!(uri.contains(['?', '#']), "QueryOrFragment without ? or #");
            assert!(parsed.is_ok(), "QueryOrFragment reported before {parsed:?}");
        }
        Err(e) => assert_eq!(Err(*e), parsed.map(|_| ()), "claim and request errors"),
    }

    let c = canonical.ok()?;
    assert!(c.len() <= MAX_URI_LEN, "canonical form too long");
    assert!(
        c.starts_with("http://") || c.starts_with("https://"),
        "canonical scheme: {c:?}"
    );
    assert!(
        !c.contains(['?', '#']),
        "canonical form keeps a query or fragment"
    );
    assert!(
        c.bytes().all(|b| (0x21..=0x7E).contains(&b)),
        "non-printable canonical form"
    );
    let mut again = [0u8; MAX_URI_LEN];
    assert_eq!(
        canonicalize_uri(&c, &mut again),
        Ok(c.as_str()),
        "idempotent"
    );
    let as_claim = TargetUri::parse_claim(&c).expect("the canonical form is a valid claim");
    let request = TargetUri::parse(uri).unwrap();
    assert!(request.canonical_eq(&request), "canonical_eq is reflexive");
    assert!(
        request.canonical_eq(&as_claim),
        "a URI equals its canonical form"
    );
    assert!(
        as_claim.canonical_eq(&request),
        "a URI equals its canonical form"
    );

    // Exact-size buffers work; one byte less is BufferTooSmall, never a panic.
    let mut exact = vec![0u8; c.len()];
    assert_eq!(
        canonicalize_uri(uri, &mut exact),
        Ok(c.as_str()),
        "exact buffer"
    );
    if let Some(n) = c.len().checked_sub(1) {
        assert_eq!(
            canonicalize_uri(uri, &mut exact[..n]),
            Err(UriError::BufferTooSmall),
            "short buffer"
        );
    }
    Some(c)
}

//! `htu`: the one canonicalization of target URIs (RFC 9449 section 4.3, RFC 3986 section 6).
//!
//! The input is split at the first `\n` into two URIs (a newline is never part of an accepted
//! URI). For each: `canonicalize` never panics, agrees with `TargetUri::parse` and
//! `parse_claim` as documented, is idempotent, and its output is a valid claim of the reported
//! length. For the pair: `canonical_eq` is reflexive and symmetric, and holds exactly when the
//! canonical forms are equal.
//!
//! The characters outside `pchar` that a path may hold (`|`, `^`, `[`, `]`, `{`, `}` and the
//! backtick, as WHATWG URL parsers leave them) never appear raw in a canonical path, and
//! writing them percent-encoded in the input path gives the same canonical form.

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
    // Finding 2 (fuzz/README.md, fixed): escaped path characters never push an accepted URI's
    // canonical form past MAX_URI_LEN; such a URI is `TooLong`.
    if let Ok(parsed) = TargetUri::parse(uri) {
        assert!(
            parsed.canonical_len() <= MAX_URI_LEN,
            "canonical_len {} above MAX_URI_LEN",
            parsed.canonical_len()
        );
    }
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
    check_path_specials(uri, &c);
    Some(c)
}

/// The path characters that are not `pchar` but that the parsers accept in a path, with the
/// escape the canonical form uses for each.
const PATH_SPECIALS: [(char, &str); 7] = [
    ('|', "%7C"),
    ('^', "%5E"),
    ('[', "%5B"),
    (']', "%5D"),
    ('{', "%7B"),
    ('}', "%7D"),
    ('`', "%60"),
];

/// The path of an accepted URI or canonical form: from the first `/` after `://` up to the
/// query or fragment. (An IPv6 literal holds no `/`, so the first `/` starts the path.)
fn path_range(uri: &str) -> core::ops::Range<usize> {
    let authority = uri.find("://").expect("an accepted URI has ://") + 3;
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    // A `?` or `#` can only follow the authority or path.
    let start = uri[authority..end]
        .find('/')
        .map_or(end, |slash| authority + slash);
    start..end
}

/// For an accepted `uri` with canonical form `canonical`: the canonical path holds none of
/// `PATH_SPECIALS` raw, and the input with each of them percent-encoded in its path has the
/// same canonical form.
fn check_path_specials(uri: &str, canonical: &str) {
    let canonical_path = &canonical[path_range(canonical)];
    assert!(
        !canonical_path.contains(|ch| PATH_SPECIALS.iter().any(|(s, _)| *s == ch)),
        "raw non-pchar character in the canonical path {canonical:?}"
    );
    let path = path_range(uri);
    if !uri[path.clone()].contains(|ch| PATH_SPECIALS.iter().any(|(s, _)| *s == ch)) {
        return;
    }
    let mut escaped = String::with_capacity(uri.len() * 3);
    escaped.push_str(&uri[..path.start]);
    for ch in uri[path.clone()].chars() {
        match PATH_SPECIALS.iter().find(|(s, _)| *s == ch) {
            Some((_, escape)) => escaped.push_str(escape),
            None => escaped.push(ch),
        }
    }
    escaped.push_str(&uri[path.end..]);
    let mut buf = [0u8; MAX_URI_LEN];
    match canonicalize_uri(&escaped, &mut buf) {
        Ok(again) => assert_eq!(
            again, canonical,
            "{uri:?} and {escaped:?} canonicalize differently"
        ),
        // Each escape is three bytes for one: only the length limit may refuse it.
        Err(e) => assert!(
            escaped.len() > MAX_URI_LEN && e == UriError::TooLong,
            "{escaped:?} refused with {e:?} but {uri:?} is accepted"
        ),
    }
}

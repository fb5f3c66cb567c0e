//! The redirect decision of [`DpopClient::execute`](crate::DpopClient::execute): which
//! redirects are followed, with which method and body, and why the others are not.
//!
//! Private, except to the fuzz targets (feature `__fuzzing-internals`, through `__fuzzing`):
//! the items are `pub` so that the fuzz module can re-export them as they are.
#![cfg_attr(
    not(feature = "__fuzzing-internals"),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]

use dpop_core::TargetUri;
use http::header::LOCATION;
use http::{HeaderMap, Method, StatusCode};
use reqwest::Url;

use crate::{MAX_REDIRECTS, RedirectStop};

/// What to do with a response.
#[derive(Debug, PartialEq, Eq)]
// Matched exhaustively by the fuzz target, which checks every outcome against its own model.
#[allow(clippy::exhaustive_enums)]
pub enum Step {
    /// Not a redirect (or one without `Location`): the caller's.
    Done,
    /// Send the request again to `url`, with `method`, with or without the body.
    Follow {
        /// The resolved `Location`.
        url: Url,
        /// The method of the next request.
        method: Method,
        /// Whether the next request carries the body again.
        keep_body: bool,
    },
    /// A redirect that is not followed.
    Stop(RedirectStop),
}

/// The redirect decision for a response to `method` at `from` (the URL the proof was signed
/// for), after `done` redirects, for a request whose body can (`replayable`) or cannot be sent
/// again.
pub fn redirect_step(
    method: &Method,
    status: StatusCode,
    from: &Url,
    headers: &HeaderMap,
    done: u8,
    replayable: bool,
) -> Step {
    let keeps_method = match status {
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => *method != Method::POST,
        StatusCode::SEE_OTHER => *method == Method::GET || *method == Method::HEAD,
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
        _ => return Step::Done,
    };
    let mut locations = headers.get_all(LOCATION).iter();
    let Some(location) = locations.next() else {
        return Step::Done;
    };
    // Requests go to http(s) URLs only (a proof's `htu` is one). Anything else is never
    // resolved against: `Url::join` on a `file:` base can reach a debug assertion of the url
    // crate's path parser (found by the `redirect` fuzz target).
    if !matches!(from.scheme(), "http" | "https") {
        return Step::Stop(RedirectStop::InvalidLocation);
    }
    let url = match (location.to_str().ok(), locations.next()) {
        (Some(text), None) => match from.join(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => return Step::Stop(RedirectStop::InvalidLocation),
        },
        _ => return Step::Stop(RedirectStop::InvalidLocation),
    };
    if from.scheme() == "https" && url.scheme() == "http" {
        return Step::Stop(RedirectStop::Downgrade);
    }
    if url.origin() != from.origin() {
        return Step::Stop(RedirectStop::CrossOrigin);
    }
    // The target must also be a URL a proof can be made for (dpop-core's `htu` rules).
    if TargetUri::parse(url.as_str()).is_err() {
        return Step::Stop(RedirectStop::InvalidLocation);
    }
    if done >= MAX_REDIRECTS {
        return Step::Stop(RedirectStop::TooMany);
    }
    if keeps_method && !replayable {
        return Step::Stop(RedirectStop::NotReplayable);
    }
    Step::Follow {
        url,
        method: if keeps_method {
            method.clone()
        } else {
            Method::GET
        },
        keep_body: keeps_method,
    }
}

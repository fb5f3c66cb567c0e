//! Counters and rejection events (`telemetry`): each decision moves exactly the counters it
//! should, and with the `tracing` feature each rejection is one event that explains it without
//! carrying tokens, proofs, nonces or key material.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use dpop_core::SigningKey;
use dpop_core::Thumbprint;
use dpop_core::UnixTime;
use dpop_core::crypto::rustcrypto::ALL_VERIFIERS;
use dpop_std::clock::ManualClock;
use dpop_std::nonce::{NonceKey, StatelessNonces};
use dpop_std::replay::MemoryReplayCache;
use dpop_std::server::{Accepted, Grant, Rejection, Server, ServerBuilder, UriPolicy};
use dpop_std::telemetry::{Counters, Snapshot};
use dpop_testkit::{NOW, TestProof, block_on, jkt, key, request};

const AS_TOKEN: &str = "https://as.example.com/token";
const API: &str = "https://api.example.com/v1/items";
const ACCESS_TOKEN: &str = "SECRETtoken-Kz8mXK1EalYznwH-LC-1fBAo4LjpzsPE";

fn proof(
    key: &SigningKey,
    method: &str,
    url: &str,
    jti: &str,
    iat: u64,
    token: Option<&str>,
) -> String {
    let proof = TestProof::new(key, method, url, jti).iat(iat);
    token.map_or(proof, |token| proof.token(token)).build()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixTime::from_secs(NOW)))
}

fn builder(base: &str, counters: &Arc<Counters>) -> ServerBuilder {
    Server::builder(ALL_VERIFIERS, UriPolicy::public_base(base).build().unwrap())
        .with_clock(clock())
        .with_counters(counters.clone())
}

fn rs_builder(counters: &Arc<Counters>) -> ServerBuilder {
    builder("https://api.example.com", counters)
}

fn rs_server(counters: &Arc<Counters>) -> Server {
    rs_builder(counters).build().unwrap()
}

fn as_server(counters: &Arc<Counters>) -> Server {
    builder("https://as.example.com", counters).build().unwrap()
}

/// A resource request with `proof`, verified against `bound` and consumed in `cache`.
fn call(
    server: &Server,
    cache: &MemoryReplayCache,
    proof: &str,
    bound: &Thumbprint,
) -> Result<Accepted, Rejection> {
    let authorization = format!("DPoP {ACCESS_TOKEN}");
    let req = request(
        "GET",
        API,
        &[("authorization", &authorization), ("dpop", proof)],
    );
    let credentials = server.resource_request(&req)?;
    let accepted = server.verify_resource(&credentials, Some(bound))?;
    block_on(server.consume(cache, &accepted))?;
    Ok(accepted)
}

/// The counts that differ from zero, for exact comparisons.
fn nonzero(s: &Snapshot) -> Vec<(&'static str, u64)> {
    let mut out = vec![
        ("accepted", s.accepted),
        ("rejected", s.rejected),
        ("nonce_challenges", s.nonce_challenges),
        ("replays", s.replays),
        ("replay_cache_full", s.replay_cache_full),
        ("replay_quota_exceeded", s.replay_quota_exceeded),
        ("replay_cache_unavailable", s.replay_cache_unavailable),
        ("other_reasons", s.other_reasons),
    ];
    out.retain(|(_, n)| *n != 0);
    out.extend(s.rejected_by_reason().iter().map(|r| (r.name, r.count)));
    out
}

#[test]
fn a_fresh_snapshot_is_all_zero() {
    let counters = Counters::new();
    let s = counters.snapshot();
    assert!(nonzero(&s).is_empty(), "{s:?}");
    assert_eq!(s.replay_cache_len, None);
}

#[test]
fn accepted_replayed_and_mismatched_requests_move_exactly_their_counters() {
    let counters = Arc::new(Counters::new());
    let server = rs_server(&counters);
    let cache = MemoryReplayCache::with_capacity(8);
    let k = key(1);
    let good = proof(&k, "GET", API, "jti-1", NOW, Some(ACCESS_TOKEN));

    let _ = call(&server, &cache, &good, &jkt(&k)).unwrap();
    assert_eq!(nonzero(&counters.snapshot()), [("accepted", 1)]);

    let replay = call(&server, &cache, &good, &jkt(&k)).unwrap_err();
    assert_eq!(replay.reason().name(), "replayed");
    let wrong_url = proof(
        &k,
        "GET",
        "https://api.example.com/other",
        "jti-2",
        NOW,
        Some(ACCESS_TOKEN),
    );
    call(&server, &cache, &wrong_url, &jkt(&k)).unwrap_err();
    let old = proof(&k, "GET", API, "jti-3", NOW - 3600, Some(ACCESS_TOKEN));
    call(&server, &cache, &old, &jkt(&k)).unwrap_err();
    let no_credentials = request("GET", API, &[]);
    server.resource_request(&no_credentials).unwrap_err();

    let s = counters.snapshot();
    assert_eq!(
        nonzero(&s),
        [
            ("accepted", 1),
            ("rejected", 4),
            ("replays", 1),
            ("htu_mismatch", 1),
            ("missing_credentials", 1),
            ("replayed", 1),
            ("too_old", 1),
        ]
    );
    assert_eq!(s.rejected_for("too_old"), 1);
    assert_eq!(s.rejected_for("invalid_signature"), 0);
}

#[test]
fn cache_refusals_and_fill_are_counted() {
    let counters = Arc::new(Counters::new());
    let server = rs_server(&counters);
    let k = key(2);

    let full = MemoryReplayCache::with_capacity(1).with_shards(1);
    let _ = call(
        &server,
        &full,
        &proof(&k, "GET", API, "a", NOW, Some(ACCESS_TOKEN)),
        &jkt(&k),
    )
    .unwrap();
    let refused = call(
        &server,
        &full,
        &proof(&k, "GET", API, "b", NOW, Some(ACCESS_TOKEN)),
        &jkt(&k),
    )
    .unwrap_err();
    assert_eq!(refused.status(), 503);

    let quota = MemoryReplayCache::with_capacity(64).with_quota(1);
    let _ = call(
        &server,
        &quota,
        &proof(&k, "GET", API, "c", NOW, Some(ACCESS_TOKEN)),
        &jkt(&k),
    )
    .unwrap();
    let refused = call(
        &server,
        &quota,
        &proof(&k, "GET", API, "d", NOW, Some(ACCESS_TOKEN)),
        &jkt(&k),
    )
    .unwrap_err();
    assert_eq!(refused.status(), 429);

    let s = counters.snapshot_with_cache(&full);
    assert_eq!(
        nonzero(&s),
        [
            ("accepted", 2),
            ("rejected", 2),
            ("replay_cache_full", 1),
            ("replay_quota_exceeded", 1),
            ("replay_cache_full", 1),
            ("replay_quota_exceeded", 1),
        ]
    );
    assert_eq!(s.replay_cache_len, Some(1));
    assert_eq!(s.replay_cache_capacity, Some(full.capacity()));
}

#[test]
fn nonce_challenges_are_counted_apart_and_as_rejections() {
    let counters = Arc::new(Counters::new());
    let nonces = Arc::new(StatelessNonces::new(NonceKey::new(1, [42; 32])));
    let server = rs_builder(&counters).with_nonces(nonces).build().unwrap();
    let cache = MemoryReplayCache::with_capacity(8);
    let k = key(3);
    let rejection = call(
        &server,
        &cache,
        &proof(&k, "GET", API, "n", NOW, Some(ACCESS_TOKEN)),
        &jkt(&k),
    )
    .unwrap_err();
    assert!(rejection.is_nonce_challenge());
    assert_eq!(
        nonzero(&counters.snapshot()),
        [
            ("rejected", 1),
            ("nonce_challenges", 1),
            ("nonce_required", 1)
        ]
    );
}

#[test]
fn token_endpoint_counts_after_the_grant_check_only() {
    let counters = Arc::new(Counters::new());
    let server = as_server(&counters);
    let cache = MemoryReplayCache::with_capacity(8);
    let k = key(4);
    let other = key(5);
    let p = proof(&k, "POST", AS_TOKEN, "t1", NOW, None);
    let verified = server
        .verify_token_request(&request("POST", AS_TOKEN, &[("dpop", &p)]))
        .unwrap();
    // Verified but not consumed: nothing decided yet.
    assert!(nonzero(&counters.snapshot()).is_empty());
    let _ = block_on(server.check_grant(&cache, verified, Grant::Other)).unwrap();
    assert_eq!(nonzero(&counters.snapshot()), [("accepted", 1)]);

    let p = proof(&k, "POST", AS_TOKEN, "t2", NOW, None);
    let verified = server
        .verify_token_request(&request("POST", AS_TOKEN, &[("dpop", &p)]))
        .unwrap();
    let bound = jkt(&other);
    block_on(server.check_grant(
        &cache,
        verified,
        Grant::RefreshToken {
            bound_key: Some(&bound),
        },
    ))
    .unwrap_err();
    assert_eq!(
        nonzero(&counters.snapshot()),
        [
            ("accepted", 1),
            ("rejected", 1),
            ("refresh_token_key_mismatch", 1)
        ]
    );
}

#[test]
fn caller_made_rejections_and_shared_counters_add_up() {
    let counters = Arc::new(Counters::new());
    let rs = rs_server(&counters);
    let as_ = as_server(&counters);
    let _ = rs.reject_token("token expired");
    let _ = rs.unavailable(5);
    let _ = as_
        .verify_token_request(&request("POST", AS_TOKEN, &[]))
        .unwrap_err();
    assert_eq!(
        nonzero(&counters.snapshot()),
        [
            ("rejected", 3),
            ("invalid_token", 1),
            ("missing_proof", 1),
            ("token_unavailable", 1),
        ]
    );
}

#[test]
fn a_server_without_counters_counts_nothing_and_snapshots_serialize() {
    let counters = Arc::new(Counters::new());
    let server = Server::new(
        ALL_VERIFIERS,
        UriPolicy::public_base("https://api.example.com")
            .build()
            .unwrap(),
    );
    assert!(server.counters().is_none());
    let _ = server.challenge();
    assert!(nonzero(&counters.snapshot()).is_empty());

    let counted = rs_server(&counters);
    let _ = counted.challenge();
    let _ = counted.challenge();
    let json = serde_json::to_value(counters.snapshot()).unwrap();
    assert_eq!(json["rejected"], 2);
    assert_eq!(json["accepted"], 0);
    assert_eq!(json["rejected_by_reason"]["missing_credentials"], 2);
    assert!(json["replay_cache_len"].is_null());
}

#[test]
fn concurrent_decisions_are_all_counted() {
    let counters = Arc::new(Counters::new());
    let server = rs_server(&counters);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..250 {
                    let _ = server.challenge();
                    let _ = server.reject_token("revoked");
                }
            });
        }
    });
    let s = counters.snapshot();
    assert_eq!(s.rejected, 4000);
    assert_eq!(s.rejected_for("missing_credentials"), 2000);
    assert_eq!(s.rejected_for("invalid_token"), 2000);
}

#[cfg(feature = "tracing")]
mod events {
    use std::fmt::Write as _;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    use base64ct::{Base64UrlUnpadded, Encoding};

    use super::*;
    use crate::common::raw_proof;

    /// One captured event: level, target and every field as `name=value` (Debug).
    #[derive(Clone, Debug)]
    struct Captured {
        level: Level,
        target: String,
        fields: Vec<(String, String)>,
    }

    impl Captured {
        fn get(&self, name: &str) -> Option<&str> {
            self.fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// The process-wide subscriber: it records events into the calling thread's buffer while a
    /// [`capture`] runs there. A global subscriber (not `with_default`) keeps tracing's cached
    /// callsite interest stable while tests on other threads run, so no event is missed.
    struct Capture;

    std::thread_local! {
        static CAPTURED: std::cell::RefCell<Option<Vec<Captured>>> =
            const { std::cell::RefCell::new(None) };
    }

    struct Fields<'a>(&'a mut Vec<(String, String)>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_owned(), value.to_owned()));
        }
    }

    impl Subscriber for Capture {
        fn register_callsite(
            &self,
            _: &'static Metadata<'static>,
        ) -> tracing::subscriber::Interest {
            tracing::subscriber::Interest::always()
        }
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Vec::new();
            event.record(&mut Fields(&mut fields));
            let captured = Captured {
                level: *event.metadata().level(),
                target: event.metadata().target().to_owned(),
                fields,
            };
            CAPTURED.with(|buffer| {
                if let Some(events) = buffer.borrow_mut().as_mut() {
                    events.push(captured);
                }
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn jkt_text(key: &SigningKey) -> String {
        Base64UrlUnpadded::encode_string(jkt(key).as_bytes())
    }

    fn capture(f: impl FnOnce()) -> Vec<Captured> {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| tracing::subscriber::set_global_default(Capture).unwrap());
        CAPTURED.with(|buffer| *buffer.borrow_mut() = Some(Vec::new()));
        f();
        CAPTURED.with(|buffer| buffer.borrow_mut().take().unwrap_or_default())
    }

    fn dump(events: &[Captured]) -> String {
        let mut out = String::new();
        for e in events {
            write!(out, "{} {} ", e.level, e.target).unwrap();
            for (n, v) in &e.fields {
                write!(out, "{n}={v} ").unwrap();
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn an_htu_mismatch_is_one_warn_event_that_explains_it_and_leaks_nothing() {
        let counters = Arc::new(Counters::new());
        let server = rs_server(&counters);
        let cache = MemoryReplayCache::with_capacity(8);
        let k = key(6);
        let claimed = "https://api.example.com:8443/v1/items";
        let p = proof(
            &k,
            "GET",
            claimed,
            "jti-SECRET-1",
            NOW - 7,
            Some(ACCESS_TOKEN),
        );
        let events = capture(|| {
            call(&server, &cache, &p, &jkt(&k)).unwrap_err();
        });
        assert_eq!(events.len(), 1, "{}", dump(&events));
        let e = &events[0];
        assert_eq!(e.level, Level::WARN);
        assert_eq!(e.target, "dpop");
        assert_eq!(e.get("reason"), Some("htu_mismatch"));
        assert_eq!(e.get("error"), Some("invalid_dpop_proof"));
        assert_eq!(e.get("status"), Some("401"));
        assert_eq!(e.get("endpoint"), Some("resource"));
        assert_eq!(e.get("jkt"), Some(jkt_text(&k).as_str()));
        assert_eq!(e.get("expected_htu"), Some(API));
        assert_eq!(e.get("claimed_htu"), Some(claimed));
        assert_eq!(e.get("claimed_htm"), Some("GET"));
        assert_eq!(e.get("iat"), Some((NOW - 7).to_string().as_str()));
        assert_eq!(e.get("now"), Some(NOW.to_string().as_str()));
        assert_eq!(e.get("iat_offset"), Some("-7"));
        let all = dump(&events);
        for secret in [ACCESS_TOKEN, &p, "jti-SECRET-1"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        // No segment of the proof (header with the jwk, payload with ath, signature) either.
        for segment in p.split('.') {
            assert!(!all.contains(segment), "proof segment leaked: {all}");
        }
        assert!(!all.contains("\"x\""), "{all}");
    }

    #[test]
    fn nonce_challenges_are_info_and_never_show_the_nonce() {
        let counters = Arc::new(Counters::new());
        let nonces = Arc::new(StatelessNonces::new(NonceKey::new(1, [42; 32])));
        let server = rs_builder(&counters).with_nonces(nonces).build().unwrap();
        let cache = MemoryReplayCache::with_capacity(8);
        let k = key(7);
        let mut issued = None;
        let events = capture(|| {
            let first = call(
                &server,
                &cache,
                &proof(&k, "GET", API, "j1", NOW, Some(ACCESS_TOKEN)),
                &jkt(&k),
            )
            .unwrap_err();
            let nonce = first.nonce().unwrap().to_owned();
            // A proof with a forged nonce: rejected again, and its nonce is not logged.
            let forged = format!("{nonce}x");
            let payload = format!(
                r#"{{"jti":"j2","htm":"GET","htu":"{API}","iat":{NOW},"nonce":"{forged}"}}"#
            );
            let p = raw_proof(&k, &payload);
            let second = call(&server, &cache, &p, &jkt(&k)).unwrap_err();
            assert!(second.is_nonce_challenge() || second.reason().name() == "missing_ath");
            issued = Some((nonce, forged, second.nonce().map(str::to_owned)));
        });
        let (nonce, forged, second) = issued.unwrap();
        assert_eq!(events.len(), 2, "{}", dump(&events));
        assert_eq!(events[0].level, Level::INFO);
        assert_eq!(events[0].get("reason"), Some("nonce_required"));
        assert_eq!(events[0].get("error"), Some("use_dpop_nonce"));
        let all = dump(&events);
        assert!(!all.contains(&nonce), "{all}");
        assert!(!all.contains(&forged), "{all}");
        if let Some(second) = second {
            assert!(!all.contains(&second), "{all}");
        }
    }

    #[test]
    fn replays_name_the_verified_key_and_url() {
        let counters = Arc::new(Counters::new());
        let server = rs_server(&counters);
        let cache = MemoryReplayCache::with_capacity(8);
        let k = key(8);
        let p = proof(&k, "GET", API, "r1", NOW, Some(ACCESS_TOKEN));
        let _ = call(&server, &cache, &p, &jkt(&k)).unwrap();
        let events = capture(|| {
            call(&server, &cache, &p, &jkt(&k)).unwrap_err();
        });
        assert_eq!(events.len(), 1, "{}", dump(&events));
        let e = &events[0];
        assert_eq!(e.level, Level::WARN);
        assert_eq!(e.get("reason"), Some("replayed"));
        assert_eq!(e.get("jkt"), Some(jkt_text(&k).as_str()));
        assert_eq!(e.get("expected_htu"), Some(API));
        assert_eq!(e.get("iat_offset"), Some("0"));
    }

    #[test]
    fn claimed_htu_is_bounded_and_printable() {
        let counters = Arc::new(Counters::new());
        let server = as_server(&counters);
        let k = key(9);
        let long = format!(
            "https://as.example.com/token\\n\\u001b[31mINFO fake{}",
            "a".repeat(400)
        );
        let payload = format!(r#"{{"jti":"x1","htm":"POST","htu":"{long}","iat":{NOW}}}"#);
        let p = raw_proof(&k, &payload);
        let events = capture(|| {
            server
                .verify_token_request(&request("POST", AS_TOKEN, &[("dpop", &p)]))
                .unwrap_err();
        });
        assert_eq!(events.len(), 1, "{}", dump(&events));
        let e = &events[0];
        assert_eq!(e.get("endpoint"), Some("token"));
        assert_eq!(e.get("status"), Some("400"));
        let claimed = e.get("claimed_htu").unwrap();
        assert_eq!(claimed.chars().count(), 256);
        assert!(
            claimed.starts_with("https://as.example.com/token??[31mINFO fake"),
            "{claimed}"
        );
        assert!(claimed.chars().all(|c| matches!(c, ' '..='~')));
    }

    #[test]
    fn unreadable_proofs_and_header_errors_still_give_one_event() {
        let counters = Arc::new(Counters::new());
        let server = as_server(&counters);
        let events = capture(|| {
            server
                .verify_token_request(&request("POST", AS_TOKEN, &[("dpop", "not.a.proof")]))
                .unwrap_err();
            server
                .verify_token_request(&request("POST", AS_TOKEN, &[]))
                .unwrap_err();
        });
        assert_eq!(events.len(), 2, "{}", dump(&events));
        assert_eq!(events[0].get("reason"), Some("malformed_base64"));
        assert_eq!(events[0].get("jkt"), None);
        assert_eq!(events[0].get("claimed_htu"), None);
        assert_eq!(events[1].get("reason"), Some("missing_proof"));
        assert_eq!(counters.snapshot().rejected, 2);
    }
}

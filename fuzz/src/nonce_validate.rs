//! `nonce_validate`: dpop-std's `StatelessNonces` against a model of when a nonce is valid.
//!
//! Structured input ([`NonceInput`], `arbitrary`): a configuration (step, window, bindings, key
//! rotation) and a sequence of operations that issue nonces (with the current key, a previous
//! key, or a different secret under the current key's id) and check nonces (issued ones,
//! mutated ones, or arbitrary strings) at arbitrary times with arbitrary bindings.
//!
//! - Nothing panics, whatever the step, window, time or text.
//! - A nonce is accepted only if it is byte-identical to one issued in this run by a key the
//!   validator knows (the HMAC cannot be forged; each run has fresh secrets, see [`RUN`]), and
//!   then exactly when the model says so: the
//!   bound thumbprint and URI match, and the check's time step is the step before the issue
//!   step (the issuer's clock ran ahead), the issue step, or one of the `window - 1` steps
//!   after it.
//! - `NonceValidator::is_valid` (what dpop-core calls) agrees with `check`.

use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::{Arbitrary, Unstructured};
use dpop_core::{HttpMethod, NonceContext, NonceValidator, Thumbprint, UnixTime, is_valid_nonce};
use dpop_std::nonce::{NONCE_LEN, NonceKey, NonceRequest, NonceSource, StatelessNonces};

/// Makes the secrets of each run unique. Nonces are stateless: one issued in an earlier run
/// (which the fuzzer can replay, having seen it in a comparison) would still be valid under the
/// same secret, but this run's model does not know it. Fresh secrets make every nonce from
/// another run invalid, whatever the secret's value, so the model (and a crash's reproduction)
/// does not depend on earlier runs.
static RUN: AtomicU64 = AtomicU64::new(0);

/// A secret unique to this run and `role`.
fn secret(run: u64, role: u8) -> [u8; 32] {
    let mut secret = [role; 32];
    secret[..8].copy_from_slice(&run.to_be_bytes());
    secret
}
const BASE: u64 = 1_700_000_000;
const URIS: [&str; 2] = ["https://api.example.com/a", "https://api.example.com/b"];

/// The structured input.
#[derive(Arbitrary, Debug)]
pub struct NonceInput {
    step: Step,
    window: Window,
    bind_thumbprint: bool,
    bind_uri: bool,
    accept_previous_key: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    Default,
    Secs(u64),
}

#[derive(Arbitrary, Debug)]
enum Window {
    Default,
    Steps(u64),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Issue {
        issuer: Issuer,
        thumbprint: Option<bool>,
        uri: Option<bool>,
        at: Time,
    },
    Check {
        nonce: Text,
        thumbprint: bool,
        uri: bool,
        at: Time,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Issuer {
    Current,
    Previous,
    Impostor,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Time {
    Near(u32),
    Before(u32),
    Far(u64),
}

impl Time {
    fn now(self) -> UnixTime {
        UnixTime::from_secs(match self {
            Self::Near(s) => BASE + u64::from(s),
            Self::Before(s) => BASE.saturating_sub(u64::from(s)),
            Self::Far(s) => s,
        })
    }
}

#[derive(Arbitrary, Debug)]
enum Text {
    Issued(u8),
    Mutated { index: u8, at: u8, byte: u8 },
    Truncated { index: u8, len: u8 },
    Extended { index: u8, tail: String },
    Raw(String),
}

struct Issued {
    text: String,
    issuer: Issuer,
    thumbprint: Option<bool>,
    uri: Option<bool>,
    now: UnixTime,
}

fn thumbprint(which: bool) -> Thumbprint {
    Thumbprint::from_bytes([if which { 0xB0 } else { 0xA0 }; 32])
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = accepted(data);
}

/// Runs the target; the number of checks that accepted a nonce.
pub fn accepted(data: &[u8]) -> usize {
    let Ok(input) = NonceInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return 0;
    };
    let configure = |s: StatelessNonces| {
        let s = match input.step {
            Step::Default => s,
            Step::Secs(n) => s.with_step(n),
        };
        let s = match input.window {
            Window::Default => s,
            Window::Steps(n) => s.with_window(n),
        };
        s.with_thumbprint_binding(input.bind_thumbprint)
            .with_uri_binding(input.bind_uri)
    };
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let (current, previous, impostor) = (secret(run, 0x42), secret(run, 0x41), secret(run, 0x43));
    let mut validator = StatelessNonces::new(NonceKey::new(2, current));
    if input.accept_previous_key {
        validator = validator.with_previous_key(NonceKey::new(1, previous));
    }
    let validator = configure(validator);
    let previous = configure(StatelessNonces::new(NonceKey::new(1, previous)));
    let impostor = configure(StatelessNonces::new(NonceKey::new(2, impostor)));
    let (step, window) = (validator.step(), validator.window());
    assert!(step >= 1 && window >= 1, "step and window are at least 1");

    let mut issued: Vec<Issued> = Vec::new();
    let mut accepted = 0;
    for op in &input.ops {
        match *op {
            Op::Issue {
                issuer,
                thumbprint: t,
                uri,
                at,
            } => {
                let now = at.now();
                let jkt = t.map(thumbprint);
                let mut request = NonceRequest::new(now);
                if let Some(jkt) = &jkt {
                    request = request.with_thumbprint(jkt);
                }
                if let Some(u) = uri {
                    request = request.with_htu(URIS[usize::from(u)]);
                }
                let source = match issuer {
                    Issuer::Current => &validator,
                    Issuer::Previous => &previous,
                    Issuer::Impostor => &impostor,
                };
                let text = source.issue(&request);
                assert_eq!(text.len(), NONCE_LEN, "nonce length");
                assert!(
                    is_valid_nonce(&text),
                    "issued nonce is not NQCHAR: {text:?}"
                );
                issued.push(Issued {
                    text,
                    issuer,
                    thumbprint: t,
                    uri,
                    now,
                });
            }
            Op::Check {
                ref nonce,
                thumbprint: t,
                uri,
                at,
            } => {
                let text = nonce_text(nonce, &issued);
                let now = at.now();
                let jkt = thumbprint(t);
                let htu = URIS[usize::from(uri)];
                let result = validator.check(&text, &jkt, htu, now);
                let context = NonceContext {
                    thumbprint: &jkt,
                    htu,
                    method: HttpMethod::GET,
                    now,
                };
                assert_eq!(
                    validator.is_valid(&text, &context),
                    result.is_ok(),
                    "is_valid and check disagree"
                );
                let _ = validator.should_refresh(&text, now);
                let _ = result.map_err(|e| (e.name(), e.to_string()));

                let origin = issued.iter().find(|i| i.text == text);
                let expected = origin.is_some_and(|i| {
                    let key_known = match i.issuer {
                        Issuer::Current => true,
                        Issuer::Previous => input.accept_previous_key,
                        Issuer::Impostor => false,
                    };
                    let thumbprint_ok =
                        !input.bind_thumbprint || i.thumbprint.is_some_and(|x| x == t);
                    let uri_ok = !input.bind_uri || i.uri.is_some_and(|x| x == uri);
                    let (issued_step, current_step) =
                        (i.now.as_secs() / step, now.as_secs() / step);
                    // One step ahead is accepted (a fleet instance whose clock just entered
                    // the next step issued it, dpop-std's nonce docs); further ahead is not.
                    let fresh = issued_step <= current_step.saturating_add(1)
                        && current_step.saturating_sub(issued_step) < window;
                    key_known && thumbprint_ok && uri_ok && fresh
                });
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "check({text:?}) = {result:?}, model says {expected}"
                );
                accepted += usize::from(expected);
            }
        }
    }
    accepted
}

/// The text of a checked nonce.
fn nonce_text(text: &Text, issued: &[Issued]) -> String {
    let pick = |index: u8| -> Option<&str> {
        (!issued.is_empty()).then(|| issued[usize::from(index) % issued.len()].text.as_str())
    };
    match text {
        Text::Issued(i) => pick(*i).unwrap_or_default().to_owned(),
        Text::Mutated { index, at, byte } => {
            let mut bytes = pick(*index).unwrap_or_default().as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = usize::from(*at) % bytes.len();
                bytes[at] = *byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Text::Truncated { index, len } => {
            let t = pick(*index).unwrap_or_default();
            t[..usize::from(*len).min(t.len())].to_owned()
        }
        Text::Extended { index, tail } => format!("{}{tail}", pick(*index).unwrap_or_default()),
        Text::Raw(s) => s.clone(),
    }
}

//! Cortex-M4F firmware (QEMU `mps2-an386`) that creates and verifies DPoP proofs with dpop-core,
//! without an allocator, and reports the peak stack of each operation over semihosting.
//!
//! The stack is measured by painting: before each operation the free stack below the caller is
//! filled with a pattern, and afterwards the lowest overwritten word gives the deepest point the
//! operation reached. Each measured closure owns its buffers (the proof, the verifier's scratch),
//! so the figure is everything the operation needs on the stack.
//!
//! This crate is allowed a few lines of `unsafe`, all in [`stack`]: painting and scanning memory
//! below the stack pointer, which no safe API can reach. The rest of the firmware, and all of
//! dpop-core, is safe code.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use dpop_core::{Algorithm, TargetUri, UnixTime};

/// The request every proof is for.
const URI: &str = "https://api.example.com/v1/items?page=2";
const ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
const NOW: u64 = 1_700_000_000;

#[entry]
fn main() -> ! {
    let algorithms: &[Algorithm] = &[
        Algorithm::Es256,
        #[cfg(feature = "es384")]
        Algorithm::Es384,
        #[cfg(feature = "es512")]
        Algorithm::Es512,
    ];
    let mut failures = 0u32;
    for &alg in algorithms {
        if !run(alg) {
            failures += 1;
        }
    }
    if failures == 0 {
        hprintln!("firmware: ok");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("firmware: {} algorithm(s) FAILED", failures);
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// Creates (feature `create`) and verifies (feature `verify`) one proof with `alg`; prints the
/// peak stack of each step. True when every step had the expected outcome.
fn run(alg: Algorithm) -> bool {
    let name = alg.name();
    let Ok(uri) = TargetUri::parse(URI) else {
        return false;
    };
    let now = UnixTime::from_secs(NOW);
    let mut ok = true;

    #[cfg(feature = "create")]
    let created = {
        // The key is made once, at start-up; the proof goes to a buffer the caller owns.
        let Some(key) = create::key(alg) else {
            return false;
        };
        let mut proof = Proof {
            buf: [0; PROOF_BUF],
            len: 0,
        };
        let mut made = false;
        let stack = stack::measure(&mut || made = create::encode(&key, uri, now, &mut proof));
        hprintln!("stack {} create: {} bytes", name, stack);
        if !made {
            hprintln!("FAIL {} create", name);
            ok = false;
        }
        made.then_some(proof)
    };
    #[cfg(feature = "verify")]
    {
        #[cfg(feature = "create")]
        let Some(proof) = created else {
            return false;
        };
        #[cfg(not(feature = "create"))]
        let proof = fixed::proof(alg);
        let mut outcome = false;
        #[cfg(feature = "own-scratch")]
        {
            let stack =
                stack::measure(&mut || outcome = verify::check(alg, proof.as_str(), uri, now));
            hprintln!("stack {} verify: {} bytes", name, stack);
            if !outcome {
                hprintln!("FAIL {} verify", name);
                ok = false;
            }
        }
        // The same verification with the scratch provided by the caller (here from this frame;
        // a device may as well keep it in a static): what the operation itself needs beyond it.
        let mut scratch = [0u8; verify::LIMITS.scratch_len()];
        let stack = stack::measure(&mut || {
            outcome = verify::check_in(alg, proof.as_str(), uri, now, &mut scratch);
        });
        hprintln!("stack {} verify (caller's scratch): {} bytes", name, stack);
        if !outcome {
            hprintln!("FAIL {} verify", name);
            ok = false;
        }
        #[cfg(feature = "default-limits")]
        {
            let stack =
                stack::measure(&mut || outcome = verify::check_default(proof.as_str(), uri, now));
            hprintln!("stack {} verify (default limits): {} bytes", name, stack);
            if !outcome {
                hprintln!("FAIL {} verify (default limits)", name);
                ok = false;
            }
        }
    }
    #[cfg(all(feature = "create", not(feature = "verify")))]
    let _ = created;
    let _ = (uri, now, name);
    ok
}

/// A proof as text, held in a fixed buffer (no allocator).
#[derive(Clone, Copy)]
struct Proof {
    buf: [u8; PROOF_BUF],
    len: usize,
}

/// Room for any ES512 proof this firmware makes (the device limit is 1 KiB).
const PROOF_BUF: usize = 1024;

impl Proof {
    #[cfg_attr(not(feature = "verify"), allow(dead_code))]
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

#[cfg(feature = "create")]
mod create {
    use dpop_core::{Algorithm, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime};

    use super::{ACCESS_TOKEN, Proof};

    /// The firmware's key: a fixed scalar (a device would keep its own in secure storage).
    pub(crate) fn key(alg: Algorithm) -> Option<SigningKey> {
        let mut scalar = [0x5Au8; 66];
        scalar[0] = 1;
        SigningKey::from_bytes(alg, scalar.get(..alg.curve().coordinate_len())?).ok()
    }

    /// Writes a proof for the firmware's request into `out`; false on any error.
    pub(crate) fn encode(
        key: &SigningKey,
        uri: TargetUri<'_>,
        now: UnixTime,
        out: &mut Proof,
    ) -> bool {
        let Ok(id) = ProofId::new("e1j2f3") else {
            return false;
        };
        match NewProof::new(HttpMethod::GET, uri, id, now)
            .with_access_token(ACCESS_TOKEN)
            .encode(key, &mut out.buf)
        {
            Ok(jws) => {
                out.len = jws.len();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(feature = "verify")]
mod verify {
    use dpop_core::{
        Algorithm, Expected, HttpMethod, Limits, TargetUri, UnixTime, Verifier,
        crypto::{VerifyAlgorithm, rustcrypto},
    };

    use super::ACCESS_TOKEN;

    /// The algorithms this build accepts, named one by one: ES256 always, ES384 and ES512 with
    /// their features.
    const ACCEPTED: &[&dyn VerifyAlgorithm] = &[
        rustcrypto::ES256_VERIFIER,
        #[cfg(feature = "es384")]
        rustcrypto::ES384_VERIFIER,
        #[cfg(feature = "es512")]
        rustcrypto::ES512_VERIFIER,
    ];

    /// The device limits: proofs up to 1 KiB.
    pub(crate) const LIMITS: Limits = Limits::DEVICE;

    /// Verifies `proof` for the firmware's request with a scratch buffer of its own, on its
    /// stack; true when the outcomes are right (see [`check_in`]).
    #[cfg(feature = "own-scratch")]
    pub(crate) fn check(alg: Algorithm, proof: &str, uri: TargetUri<'_>, now: UnixTime) -> bool {
        let mut scratch = [0u8; LIMITS.scratch_len()];
        check_in(alg, proof, uri, now, &mut scratch)
    }

    /// Verifies `proof` for the firmware's request in the caller's `scratch`, and checks that
    /// the same proof fails for another method; true when both outcomes are right.
    #[inline(never)]
    pub(crate) fn check_in(
        alg: Algorithm,
        proof: &str,
        uri: TargetUri<'_>,
        now: UnixTime,
        scratch: &mut [u8],
    ) -> bool {
        let verifier = Verifier::new(ACCEPTED).with_limits(LIMITS);
        let expected = Expected::new(HttpMethod::GET, uri).with_access_token(ACCESS_TOKEN);
        let accepted = verifier
            .verify_with_scratch(proof, &expected, now, scratch)
            .is_ok_and(|v| v.algorithm() == alg);
        let other = Expected::new(HttpMethod::POST, uri).with_access_token(ACCESS_TOKEN);
        let rejected = verifier
            .verify_with_scratch(proof, &other, now, scratch)
            .is_err();
        accepted && rejected
    }

    /// `Verifier::verify` with the default limits: scratch for the largest proof on its stack.
    #[cfg(feature = "default-limits")]
    pub(crate) fn check_default(proof: &str, uri: TargetUri<'_>, now: UnixTime) -> bool {
        let expected = Expected::new(HttpMethod::GET, uri).with_access_token(ACCESS_TOKEN);
        Verifier::new(ACCEPTED)
            .verify(proof, &expected, now)
            .is_ok()
    }
}

#[allow(unsafe_code)]
mod stack {
    //! Stack painting. The only `unsafe` in this crate: volatile writes and reads of the free
    //! stack region between the end of static RAM (`__ebss`, from cortex-m-rt's linker script)
    //! and the current stack pointer, which is memory no live object occupies.

    use core::ptr;

    const PAINT: u32 = 0xC0DE_5AFE;
    /// Words left unpainted just below the painter's own stack pointer.
    const MARGIN: u32 = 64;

    unsafe extern "C" {
        static __ebss: u32;
    }

    fn bottom() -> u32 {
        // The address of a linker symbol; nothing is read.
        (ptr::addr_of!(__ebss) as u32 + 3) & !3
    }

    #[inline(never)]
    fn paint() {
        let top = cortex_m::register::msp::read() - MARGIN;
        let mut at = bottom();
        while at < top {
            // SAFETY: `at` is word-aligned, between the end of static RAM and below the stack
            // pointer of this frame: free stack that no live object uses.
            unsafe { ptr::write_volatile(at as *mut u32, PAINT) };
            at += 4;
        }
    }

    #[inline(never)]
    fn deepest() -> u32 {
        let top = cortex_m::register::msp::read();
        let mut at = bottom();
        // SAFETY: as in `paint`: aligned words of the stack region below this frame.
        while at < top && unsafe { ptr::read_volatile(at as *const u32) } == PAINT {
            at += 4;
        }
        at
    }

    /// Runs `f` and returns the peak stack it used, in bytes, below this function's frame.
    /// `f` is called through an opaque `dyn` reference, so none of its frames can be inlined
    /// into this one (where they would be above the measured stack pointer).
    #[inline(never)]
    pub(crate) fn measure(f: &mut dyn FnMut()) -> u32 {
        paint();
        let start = cortex_m::register::msp::read();
        core::hint::black_box(f)();
        let low = deepest();
        start.saturating_sub(low)
    }
}

#[cfg(all(feature = "verify", not(feature = "create")))]
mod fixed;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("firmware: panic");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

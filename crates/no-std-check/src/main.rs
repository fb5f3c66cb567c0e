//! A `#![no_std]`, `#![no_main]` binary that links only libc and runs a create-then-verify
//! self-test of dpop-core for every curve.
//!
//! If std leaks into dpop-core's dependency tree the build fails with "duplicate lang item
//! `panic_impl`"; if alloc leaks in without the `alloc` feature, linking fails with "no global
//! memory allocator found". This is the only crate allowed a few lines of `unsafe` (libc FFI
//! and the allocator).

#![no_std]
#![no_main]

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime, Verifier,
    crypto::{VerifyAlgorithm, rustcrypto},
};

/// The algorithms this build accepts, named one by one: ES256 always, ES384 and ES512 with
/// their features.
const ACCEPTED: &[&dyn VerifyAlgorithm] = &[
    rustcrypto::ES256_VERIFIER,
    #[cfg(feature = "es384")]
    rustcrypto::ES384_VERIFIER,
    #[cfg(feature = "es512")]
    rustcrypto::ES512_VERIFIER,
];

#[link(name = "c")]
unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, n: usize) -> isize;
}

fn say(msg: &[u8]) {
    // SAFETY: `msg` is a valid, initialized byte slice for the duration of the call.
    unsafe {
        write(1, msg.as_ptr(), msg.len());
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: a static byte string.
    unsafe {
        write(2, b"panic\n".as_ptr(), 6);
    }
    loop {}
}

#[cfg(feature = "alloc")]
mod heap {
    //! A bump allocator over a static arena: enough for the `alloc` self-test.
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicUsize, Ordering};

    const ARENA: usize = 256 * 1024;

    struct Bump {
        arena: UnsafeCell<[u8; ARENA]>,
        next: AtomicUsize,
    }

    // SAFETY: allocation hands out disjoint ranges via an atomic cursor.
    unsafe impl Sync for Bump {}

    // SAFETY: every returned pointer is inside the arena, aligned, and never handed out twice.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let base = self.arena.get() as usize;
            let mut current = self.next.load(Ordering::Relaxed);
            loop {
                let start = (base + current).next_multiple_of(layout.align()) - base;
                let end = start + layout.size();
                if end > ARENA {
                    return core::ptr::null_mut();
                }
                match self
                    .next
                    .compare_exchange(current, end, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => return (base + start) as *mut u8,
                    Err(seen) => current = seen,
                }
            }
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static HEAP: Bump = Bump {
        arena: UnsafeCell::new([0; ARENA]),
        next: AtomicUsize::new(0),
    };
}

/// Signs and verifies one proof; true when every step gives the expected outcome.
fn check(alg: Algorithm) -> bool {
    let mut scalar = [0x5Au8; 66];
    scalar[0] = 1;
    let Some(scalar) = scalar.get(..alg.curve().coordinate_len()) else {
        return false;
    };
    let Ok(key) = SigningKey::from_bytes(alg, scalar) else {
        return false;
    };
    let Ok(uri) = TargetUri::parse("https://api.example.com/v1/items?page=2") else {
        return false;
    };
    let Ok(id) = ProofId::new("no-std-check") else {
        return false;
    };
    let now = UnixTime::from_secs(1_700_000_000);
    let proof = NewProof::new(HttpMethod::GET, uri, id, now).with_access_token("token");
    let mut buf = [0u8; 2048];
    let Ok(jws) = proof.encode(&key, &mut buf) else {
        return false;
    };
    let jkt = key.public_jwk().thumbprint();
    let expected = Expected::new(HttpMethod::GET, uri)
        .with_access_token("token")
        .with_bound_key(&jkt);
    let verifier = Verifier::new(ACCEPTED);
    let accepted = verifier.verify(jws, &expected, now).is_ok();
    let wrong = Expected::new(HttpMethod::POST, uri);
    let rejected = verifier.verify(jws, &wrong, now).is_err();
    #[cfg(feature = "alloc")]
    let same = proof
        .encode_to_string(&key)
        .is_ok_and(|s| s.as_str() == jws);
    #[cfg(not(feature = "alloc"))]
    let same = true;
    accepted && rejected && same
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let algs: &[Algorithm] = &[
        Algorithm::Es256,
        #[cfg(feature = "es384")]
        Algorithm::Es384,
        #[cfg(feature = "es512")]
        Algorithm::Es512,
    ];
    let mut failures = 0;
    for &alg in algs {
        if check(alg) {
            say(b"ok   ");
        } else {
            say(b"FAIL ");
            failures += 1;
        }
        say(alg.name().as_bytes());
        say(b"\n");
    }
    i32::from(failures != 0)
}

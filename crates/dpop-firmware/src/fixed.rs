//! The proof the verify-only build checks: one the create build made (same key, request and
//! time; ECDSA signing is deterministic, RFC 6979), kept here as text.

use dpop_core::Algorithm;

use super::{PROOF_BUF, Proof};

#[cfg(any(feature = "es384", feature = "es512"))]
compile_error!("the verify-only build has a fixed proof for ES256 only");

const ES256: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7ImNydiI6IlAtMjU2Iiwia3R5IjoiRUMiLCJ4IjoiWmstUjBpWEFwUGVXUUFvTXRMYW1sYVF1SkZwQkpiUENfTUw4NFh4UUM5NCIsInkiOiJWazQweGxZbGY1dnlUdG1COGJtcUNIbXJkUHRwd0wxN1R3VlVvQ2t4endZIn19.eyJqdGkiOiJlMWoyZjMiLCJodG0iOiJHRVQiLCJodHUiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS92MS9pdGVtcyIsImlhdCI6MTcwMDAwMDAwMCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.RT8NesOx3u2V3-lLMET4Pas6QIxd1z6VrpBTIoyfvDUipvFtC8P51RGhdAIz7Fg6zXdVK3IzyUDqWaCBLuQRmw";

pub(crate) fn proof(_: Algorithm) -> Proof {
    let mut buf = [0u8; PROOF_BUF];
    let len = ES256.len().min(PROOF_BUF);
    if let (Some(dst), Some(src)) = (buf.get_mut(..len), ES256.as_bytes().get(..len)) {
        dst.copy_from_slice(src);
    }
    Proof { buf, len }
}

//! A byte writer over a caller buffer, shared by the JWK, private-key and proof encoders.

use crate::base64url;
use crate::error::BufferTooSmall;

/// Appends bytes to a caller buffer, failing instead of truncating.
pub(crate) struct Writer<'b> {
    out: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `out`.
    pub(crate) fn new(out: &'b mut [u8]) -> Self {
        Self { out, len: 0 }
    }

    /// Appends `bytes`.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), BufferTooSmall> {
        let end = self.len.checked_add(bytes.len()).ok_or(BufferTooSmall)?;
        self.out
            .get_mut(self.len..end)
            .ok_or(BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends the unpadded base64url encoding of `bytes`.
    pub(crate) fn base64url(&mut self, bytes: &[u8]) -> Result<(), BufferTooSmall> {
        let rest = self.out.get_mut(self.len..).ok_or(BufferTooSmall)?;
        let n = base64url::encode(bytes, rest)
            .map_err(|_| BufferTooSmall)?
            .len();
        self.len += n;
        Ok(())
    }

    /// The written text.
    pub(crate) fn finish(self) -> Result<&'b str, BufferTooSmall> {
        let bytes = self.out.get(..self.len).ok_or(BufferTooSmall)?;
        core::str::from_utf8(bytes).map_err(|_| BufferTooSmall)
    }
}

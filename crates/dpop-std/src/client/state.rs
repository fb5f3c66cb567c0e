//! Per-origin state: the last nonce and the clock offset of each server.

use std::collections::VecDeque;

use dpop_core::consts::MAX_URI_LEN;

use super::{ClientError, OFFSET_RESOLUTION};

/// The canonical origin of `url`: `scheme://host[:port]` as dpop-core canonicalizes it (lower
/// case, default port dropped).
pub(super) fn origin_of(url: &str) -> Result<String, ClientError> {
    let mut buf = [0u8; MAX_URI_LEN];
    let canonical = dpop_core::canonicalize_uri(url, &mut buf).map_err(ClientError::InvalidUrl)?;
    let after_scheme = canonical.find("://").map_or(0, |i| i + 3);
    let end = canonical
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(canonical.len(), |i| after_scheme + i);
    Ok(canonical.get(..end).unwrap_or(canonical).to_owned())
}

/// Per-origin nonces and clock offsets, least recently used last.
#[derive(Debug)]
pub(super) struct State {
    pub(super) entries: VecDeque<OriginEntry>,
    pub(super) capacity: usize,
}

#[derive(Debug)]
pub(super) struct OriginEntry {
    pub(super) origin: String,
    pub(super) nonce: Option<String>,
    pub(super) offset: Option<i64>,
}

impl State {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
        }
    }

    pub(super) fn peek(&self, origin: &str) -> Option<&OriginEntry> {
        self.entries.iter().find(|e| e.origin == origin)
    }

    /// The entry of `origin`, moved to the front (most recently used).
    pub(super) fn entry_mut(&mut self, origin: &str) -> Option<&mut OriginEntry> {
        let index = self.entries.iter().position(|e| e.origin == origin)?;
        if index != 0 {
            let entry = self.entries.remove(index)?;
            self.entries.push_front(entry);
        }
        self.entries.front_mut()
    }

    /// The entry of `origin`, created (evicting the least recently used) when missing.
    pub(super) fn upsert(&mut self, origin: &str) -> Option<&mut OriginEntry> {
        if self.entry_mut(origin).is_none() {
            self.entries.push_front(OriginEntry {
                origin: origin.to_owned(),
                nonce: None,
                offset: None,
            });
            self.entries.truncate(self.capacity);
        }
        self.entries.front_mut()
    }

    pub(super) fn store_nonce(&mut self, origin: &str, nonce: &str) {
        if let Some(entry) = self.upsert(origin) {
            entry.nonce = Some(nonce.to_owned());
        }
    }

    pub(super) fn learn_offset(&mut self, origin: &str, measured: i64, max: u64) {
        if measured.unsigned_abs() > max {
            return;
        }
        let Some(entry) = self.upsert(origin) else {
            return;
        };
        let current = entry.offset.unwrap_or(0);
        if measured.abs_diff(current) > OFFSET_RESOLUTION.unsigned_abs() {
            entry.offset = Some(measured);
        } else if entry.offset.is_none() {
            entry.offset = Some(current);
        }
    }
}

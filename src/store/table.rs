//! Typed tables over the engine's byte keys: [`Table`] fixes a table's
//! key and value types; values are postcard-encoded; [`key`] builds
//! composite keys that keep their parts' order.

use std::marker::PhantomData;
use std::ops::Bound;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, StoreError, Tx, WriteTx};

/// A key that encodes to bytes whose order is the key's order.
pub trait KeyEnc {
    fn enc(&self) -> Vec<u8>;
}
impl KeyEnc for str {
    fn enc(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl KeyEnc for String {
    fn enc(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl KeyEnc for u64 {
    fn enc(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
}
impl KeyEnc for [u8] {
    fn enc(&self) -> Vec<u8> {
        self.to_vec()
    }
}
impl KeyEnc for Vec<u8> {
    fn enc(&self) -> Vec<u8> {
        self.clone()
    }
}

/// One table with a fixed value type.
pub struct Table<V> {
    pub name: &'static str,
    _v: PhantomData<fn() -> V>,
}

impl<V: Serialize + DeserializeOwned> Table<V> {
    pub const fn new(name: &'static str) -> Self {
        Table {
            name,
            _v: PhantomData,
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<V> {
        postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
            table: self.name,
            message: e.to_string(),
        })
    }

    pub fn get<K: KeyEnc + ?Sized>(&self, tx: &impl Tx, key: &K) -> Result<Option<V>> {
        tx.get_raw(self.name, &key.enc())?
            .map(|b| self.decode(&b))
            .transpose()
    }

    pub fn put<K: KeyEnc + ?Sized>(&self, w: &WriteTx, key: &K, value: &V) -> Result<()> {
        let bytes = postcard::to_stdvec(value).map_err(|e| StoreError::Corrupt {
            table: self.name,
            message: e.to_string(),
        })?;
        w.put_raw(self.name, &key.enc(), &bytes)
    }

    pub fn delete<K: KeyEnc + ?Sized>(&self, w: &WriteTx, key: &K) -> Result<bool> {
        w.delete_raw(self.name, &key.enc())
    }

    /// Visits values whose key starts with `prefix`, in key order or reverse.
    pub fn scan_prefix(
        &self,
        tx: &impl Tx,
        prefix: &[u8],
        reverse: bool,
        mut f: impl FnMut(&[u8], V) -> Result<bool>,
    ) -> Result<()> {
        let end = prefix_end(prefix);
        let range = (
            Bound::Included(prefix),
            match &end {
                Some(e) => Bound::Excluded(e.as_slice()),
                None => Bound::Unbounded,
            },
        );
        tx.scan_raw(self.name, range, reverse, &mut |k, v| f(k, self.decode(v)?))
    }

    /// Visits every entry.
    pub fn scan_all(
        &self,
        tx: &impl Tx,
        reverse: bool,
        f: impl FnMut(&[u8], V) -> Result<bool>,
    ) -> Result<()> {
        self.scan_prefix(tx, &[], reverse, f)
    }

    pub fn all(&self, tx: &impl Tx) -> Result<Vec<V>> {
        let mut out = Vec::new();
        self.scan_all(tx, false, |_, v| {
            out.push(v);
            Ok(true)
        })?;
        Ok(out)
    }

    pub fn len(&self, tx: &impl Tx) -> Result<u64> {
        tx.len_raw(self.name)
    }

    /// Makes sure the table exists (so that read snapshots can open it).
    pub fn ensure(&self, w: &WriteTx) -> Result<()> {
        w.ensure_raw(self.name)
    }
}

/// Index tables map a composite key to nothing.
pub type Index = Table<()>;

pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Builds composite keys: parts are joined with 0x00 so that prefixes of
/// whole parts scan correctly (strings never contain 0x00 here).
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

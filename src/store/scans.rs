//! Scanned ID files kept in the database when several instances share it
//! (PostgreSQL), so no shared disk is needed; keyed by the file's SHA-256
//! (hex), as the files under `uploads/id-scans/` are with redb. See
//! `crate::upload` for which place is used.

use super::{Result, Table, Tx, WriteTx};

pub const SCANS: Table<Vec<u8>> = Table::new("scan_files");

pub fn put(w: &WriteTx, hash: &str, bytes: &[u8]) -> Result<()> {
    SCANS.put(w, hash, &bytes.to_vec())
}

pub fn get(tx: &impl Tx, hash: &str) -> Result<Option<Vec<u8>>> {
    SCANS.get(tx, hash)
}

pub fn delete(w: &WriteTx, hash: &str) -> Result<bool> {
    SCANS.delete(w, hash)
}

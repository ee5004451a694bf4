//! The backup file around the database copy: a checksum over the whole file
//! and its sections, and optional encryption with a passphrase.
//!
//! ```text
//! MAGIC (8) | header length (u32 LE) | header (JSON) | payload | SHA-256 (32)
//! ```
//! The trailing SHA-256 covers every byte before it; the header names the
//! payload's length and its own SHA-256. Plain, the payload is the redb
//! copy. Encrypted, it is that copy cut into 1 MiB chunks, each sealed with
//! ChaCha20-Poly1305 under a key derived from the passphrase by argon2id
//! (salt in the header); each chunk's nonce is the header's random prefix
//! plus the chunk's index, and its associated data binds the header's hash,
//! the index and a last-chunk flag, so chunks cannot be swapped, dropped or
//! cut off. Reading checks everything and writes the database copy to a new
//! file only; a file with one changed byte, anywhere, is refused.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first bytes of every backup made since checksums exist.
pub const MAGIC: &[u8; 8] = b"MOTCUABK";
const FORMAT: u32 = 2;
const CHUNK: usize = 1024 * 1024;
const TAG: usize = 16;
/// argon2id cost for the backup key (stronger than for sign-ins: it runs
/// once per backup).
const KDF_M_KIB: u32 = 65_536;
const KDF_T: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the file was changed or damaged ({0}); it is not restored")]
    Damaged(String),
    #[error("the backup is encrypted: give its passphrase (stdin or MOTCUA_BACKUP_PASSPHRASE)")]
    NeedsPassphrase,
    #[error("wrong passphrase, or the file was changed")]
    WrongPassphrase,
    #[error("this file was made before backups carried a checksum")]
    Legacy,
    #[error("not a motcua backup")]
    NotABackup,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub format: u32,
    pub created_at: String,
    pub schema_version: u32,
    pub tool: String,
    pub payload_len: u64,
    pub payload_sha256: String,
    pub encryption: Option<Encryption>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Encryption {
    pub aead: String,
    pub kdf: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    pub salt: String,
    pub nonce_prefix: String,
    pub chunk: u32,
}

fn derive_key(pass: &str, e: &Encryption) -> Result<Key, EnvelopeError> {
    let salt = hex::decode(&e.salt).map_err(|_| EnvelopeError::Damaged("salt".into()))?;
    let params = argon2::Params::new(e.m_kib, e.t, e.p, Some(32))
        .map_err(|_| EnvelopeError::Damaged("key parameters".into()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    a.hash_password_into(pass.as_bytes(), &salt, &mut key)
        .map_err(|_| EnvelopeError::Damaged("key derivation".into()))?;
    Ok(Key::from(key))
}

fn nonce(prefix: &[u8], index: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&prefix[..8]);
    n[8..].copy_from_slice(&index.to_be_bytes());
    Nonce::from(n)
}

fn aad(header_hash: &[u8], index: u32, last: bool) -> Vec<u8> {
    let mut a = header_hash.to_vec();
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

/// Writes `src` (a database copy) as a backup at `dest`, encrypted when a
/// passphrase is given.
pub fn seal(
    src: &Path,
    dest: &Path,
    mut header: Header,
    passphrase: Option<&str>,
) -> Result<(), EnvelopeError> {
    let plain_len = std::fs::metadata(src)?.len();
    let enc = passphrase.map(|_| Encryption {
        aead: "chacha20poly1305".into(),
        kdf: "argon2id".into(),
        m_kib: KDF_M_KIB,
        t: KDF_T,
        p: 1,
        salt: hex::encode(crate::util::random_bytes::<16>()),
        nonce_prefix: hex::encode(crate::util::random_bytes::<8>()),
        chunk: CHUNK as u32,
    });
    header.format = FORMAT;
    header.encryption = enc.clone();
    // The payload's length is known before writing; its hash is computed
    // in a first pass (plain: over the file; sealed: over the ciphertext,
    // so the second pass seals the same chunks again deterministically).
    let chunks = plain_len.div_ceil(CHUNK as u64).max(1);
    header.payload_len = match &enc {
        None => plain_len,
        Some(_) => plain_len + chunks * TAG as u64,
    };
    let cipher = match (&enc, passphrase) {
        (Some(e), Some(p)) => Some((ChaCha20Poly1305::new(&derive_key(p, e)?), e)),
        _ => None,
    };
    // Pass 1: the payload hash (needs the header hash for the AAD, which
    // excludes the payload hash: bind the header without that field).
    header.payload_sha256 = String::new();
    let bound = Sha256::digest(serde_json::to_vec(&header).map_err(std::io::Error::other)?);
    let mut payload_hash = Sha256::new();
    for_each_chunk(src, |i, last, bytes| {
        payload_hash.update(sealed(&cipher, &bound, i, last, bytes)?);
        Ok(())
    })?;
    header.payload_sha256 = hex::encode(payload_hash.finalize());
    let head = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    let tmp = dest.with_extension("sealing");
    let mut whole = Sha256::new();
    {
        let f = std::fs::File::create(&tmp)?;
        let mut w = BufWriter::new(f);
        let mut put = |b: &[u8], w: &mut BufWriter<std::fs::File>| -> std::io::Result<()> {
            whole.update(b);
            w.write_all(b)
        };
        put(MAGIC, &mut w)?;
        put(&(head.len() as u32).to_le_bytes(), &mut w)?;
        put(&head, &mut w)?;
        for_each_chunk(src, |i, last, bytes| {
            put(&sealed(&cipher, &bound, i, last, bytes)?, &mut w)
        })?;
        let digest = whole.finalize();
        w.write_all(&digest)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dest)?;
    Ok(())
}

/// Chunk `index` as the payload holds it: sealed with the cipher (bound
/// to the header hash and its place), or as it is without one.
fn sealed<'a>(
    cipher: &Option<(ChaCha20Poly1305, &Encryption)>,
    header_hash: &[u8],
    index: u32,
    last: bool,
    bytes: &'a [u8],
) -> std::io::Result<std::borrow::Cow<'a, [u8]>> {
    let Some((c, e)) = cipher else {
        return Ok(bytes.into());
    };
    let prefix = hex::decode(&e.nonce_prefix).unwrap_or_default();
    c.encrypt(
        &nonce(&prefix, index),
        Payload {
            msg: bytes,
            aad: &aad(header_hash, index, last),
        },
    )
    .map(Into::into)
    .map_err(|_| std::io::Error::other("encryption failed"))
}

/// Calls `f(index, last, bytes)` for each chunk of `src` (one empty chunk
/// for an empty file).
fn for_each_chunk(
    src: &Path,
    mut f: impl FnMut(u32, bool, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let len = std::fs::metadata(src)?.len();
    let chunks = len.div_ceil(CHUNK as u64).max(1);
    let mut r = BufReader::new(std::fs::File::open(src)?);
    let mut buf = vec![0u8; CHUNK];
    for i in 0..chunks {
        let want = if i + 1 == chunks {
            (len - i * CHUNK as u64) as usize
        } else {
            CHUNK
        };
        r.read_exact(&mut buf[..want])?;
        f(i as u32, i + 1 == chunks, &buf[..want])?;
    }
    Ok(())
}

/// Reads the header of a backup file (without checking anything else).
pub fn header(file: &Path) -> Result<Header, EnvelopeError> {
    read_header(file).map(|(h, _)| h)
}

/// The header and its length in the file.
fn read_header(file: &Path) -> Result<(Header, usize), EnvelopeError> {
    let mut r = BufReader::new(std::fs::File::open(file)?);
    let mut magic = [0u8; 8];
    if r.read_exact(&mut magic).is_err() {
        return Err(EnvelopeError::NotABackup);
    }
    if &magic != MAGIC {
        let mut f = std::fs::File::open(file)?;
        let mut start = [0u8; 9];
        // A redb file: a backup made before checksums.
        if f.read_exact(&mut start).is_ok() && &start == b"redb\x1a\x0a\xa9\x0d\x0a" {
            return Err(EnvelopeError::Legacy);
        }
        return Err(EnvelopeError::NotABackup);
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > 64 * 1024 {
        return Err(EnvelopeError::Damaged("header length".into()));
    }
    let mut head = vec![0u8; len];
    r.read_exact(&mut head)
        .map_err(|_| EnvelopeError::Damaged("header".into()))?;
    let h = serde_json::from_slice(&head).map_err(|_| EnvelopeError::Damaged("header".into()))?;
    Ok((h, len))
}

/// Checks `file` completely and writes its database copy to `out`; on any
/// failure `out` is removed and nothing else is touched.
pub fn open(file: &Path, out: &Path, passphrase: Option<&str>) -> Result<Header, EnvelopeError> {
    let r = open_inner(file, out, passphrase);
    if r.is_err() {
        let _ = std::fs::remove_file(out);
    }
    r
}

fn open_inner(file: &Path, out: &Path, passphrase: Option<&str>) -> Result<Header, EnvelopeError> {
    let (h, head_len) = read_header(file)?;
    let total = std::fs::metadata(file)?.len();
    // Pass 1: the whole-file checksum.
    if total < 8 + 4 + 32 {
        return Err(EnvelopeError::Damaged("too short".into()));
    }
    let body_len = total - 32;
    let mut r = BufReader::new(std::fs::File::open(file)?);
    let mut whole = Sha256::new();
    let mut left = body_len;
    let mut buf = vec![0u8; 256 * 1024];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        r.read_exact(&mut buf[..n])?;
        whole.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; 32];
    r.read_exact(&mut trailer)?;
    if whole.finalize().as_slice() != trailer {
        return Err(EnvelopeError::Damaged(
            "the file's checksum does not match".into(),
        ));
    }
    if h.format != FORMAT {
        return Err(EnvelopeError::Damaged(format!("format {}", h.format)));
    }
    let payload_start = 8 + 4 + head_len as u64;
    if payload_start + h.payload_len != body_len {
        return Err(EnvelopeError::Damaged("payload length".into()));
    }
    let mut unbound = h.clone();
    unbound.payload_sha256 = String::new();
    let bound = Sha256::digest(serde_json::to_vec(&unbound).map_err(std::io::Error::other)?);
    let cipher = match (&h.encryption, passphrase) {
        (None, _) => None,
        (Some(_), None) => return Err(EnvelopeError::NeedsPassphrase),
        (Some(e), Some(p)) => {
            if e.aead != "chacha20poly1305" || e.kdf != "argon2id" || e.chunk as usize != CHUNK {
                return Err(EnvelopeError::Damaged("encryption parameters".into()));
            }
            Some((ChaCha20Poly1305::new(&derive_key(p, e)?), e.clone()))
        }
    };
    // Pass 2: the payload hash, decryption, and the copy.
    let mut r = BufReader::new(std::fs::File::open(file)?);
    std::io::copy(&mut (&mut r).take(payload_start), &mut std::io::sink())?;
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    let mut payload_hash = Sha256::new();
    match cipher {
        None => {
            let mut left = h.payload_len;
            while left > 0 {
                let n = (left as usize).min(buf.len());
                r.read_exact(&mut buf[..n])?;
                payload_hash.update(&buf[..n]);
                w.write_all(&buf[..n])?;
                left -= n as u64;
            }
        }
        Some((c, e)) => {
            let prefix = hex::decode(&e.nonce_prefix)
                .ok()
                .filter(|p| p.len() == 8)
                .ok_or_else(|| EnvelopeError::Damaged("nonce".into()))?;
            let mut left = h.payload_len;
            let mut i = 0u32;
            let mut ct = vec![0u8; CHUNK + TAG];
            while left > 0 {
                let n = (left as usize).min(CHUNK + TAG);
                if n < TAG {
                    return Err(EnvelopeError::Damaged("chunk".into()));
                }
                r.read_exact(&mut ct[..n])?;
                payload_hash.update(&ct[..n]);
                left -= n as u64;
                let last = left == 0;
                let pt = c
                    .decrypt(
                        &nonce(&prefix, i),
                        Payload {
                            msg: &ct[..n],
                            aad: &aad(&bound, i, last),
                        },
                    )
                    .map_err(|_| EnvelopeError::WrongPassphrase)?;
                w.write_all(&pt)?;
                i += 1;
            }
        }
    }
    if hex::encode(payload_hash.finalize()) != h.payload_sha256 {
        return Err(EnvelopeError::Damaged(
            "the payload's checksum does not match".into(),
        ));
    }
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header0() -> Header {
        Header {
            format: 0,
            created_at: "2026-12-05T00:00:00Z".into(),
            schema_version: 3,
            tool: "motcua test".into(),
            payload_len: 0,
            payload_sha256: String::new(),
            encryption: None,
        }
    }

    fn sample(dir: &Path, len: usize) -> std::path::PathBuf {
        let p = dir.join("plain.redb");
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn round_trips_plain_and_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(dir.path(), 2 * CHUNK + 123);
        for pass in [None, Some("mật khẩu sao lưu 2026")] {
            let dest = dir.path().join("b.bak");
            let _ = std::fs::remove_file(&dest);
            seal(&src, &dest, header0(), pass).unwrap();
            let out = dir.path().join("out.redb");
            let h = open(&dest, &out, pass).unwrap();
            assert_eq!(h.encryption.is_some(), pass.is_some());
            assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&src).unwrap());
        }
    }

    #[test]
    fn one_changed_byte_anywhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(dir.path(), CHUNK + 5000);
        for pass in [None, Some("pw-Backup#1")] {
            let dest = dir.path().join("b.bak");
            let _ = std::fs::remove_file(&dest);
            seal(&src, &dest, header0(), pass).unwrap();
            let good = std::fs::read(&dest).unwrap();
            let n = good.len();
            for pos in [0, 9, 20, 60, n / 2, n - 40, n - 1] {
                let mut bad = good.clone();
                bad[pos] ^= 0x01;
                let f = dir.path().join("bad.bak");
                std::fs::write(&f, &bad).unwrap();
                let out = dir.path().join("out.redb");
                assert!(
                    open(&f, &out, pass).is_err(),
                    "byte {pos} of {n} ({pass:?})"
                );
                assert!(!out.exists(), "nothing written for byte {pos}");
            }
        }
    }

    #[test]
    fn a_wrong_or_missing_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(dir.path(), 1000);
        let dest = dir.path().join("b.bak");
        seal(&src, &dest, header0(), Some("right-pass")).unwrap();
        let out = dir.path().join("out.redb");
        assert!(matches!(
            open(&dest, &out, None),
            Err(EnvelopeError::NeedsPassphrase)
        ));
        assert!(matches!(
            open(&dest, &out, Some("wrong-pass")),
            Err(EnvelopeError::WrongPassphrase)
        ));
        assert!(!out.exists());
    }
}

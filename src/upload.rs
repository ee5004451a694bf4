//! Uploaded files: a size cap enforced while the body streams in, file type
//! decided by content (never by name or declared type), and content-addressed
//! storage under the data dir, outside any served path.
//!
//! Only the scanned ID of staff-assisted account creation is uploaded today:
//! one `doc` (OLE2 compound file holding a `WordDocument` stream), `docx`
//! (ZIP holding `[Content_Types].xml` and `word/document.xml`, with caps on
//! entries and declared uncompressed size) or `pdf` file of at most 5 MB.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{AppError, AppResult};

/// Largest scanned ID accepted (the seed's 5 MB).
pub const MAX_SCAN_BYTES: usize = 5 * 1024 * 1024;
/// Room for the other form fields and multipart framing.
pub const FORM_OVERHEAD: usize = 64 * 1024;
/// Largest text field of a multipart form.
pub const MAX_TEXT_FIELD: usize = 4 * 1024;
/// Most parts in one multipart form.
pub const MAX_PARTS: usize = 32;
/// A docx may hold at most this many ZIP entries...
pub const DOCX_MAX_ENTRIES: usize = 2_000;
/// ...whose declared uncompressed sizes add up to at most this.
pub const DOCX_MAX_UNCOMPRESSED: u64 = 100 * 1024 * 1024;

pub const MSG_TOO_LARGE: &str = "Tệp đính kèm vượt quá dung lượng cho phép (tối đa 5 MB). Vui lòng quét lại với độ phân giải thấp hơn hoặc nén tệp rồi đính kèm lại.";
pub const MSG_WRONG_TYPE: &str = "Tệp đính kèm phải là tệp Word (.doc, .docx) hoặc PDF gồm 2 mặt CMND/CCCD. Nội dung tệp anh/chị chọn không phải định dạng này (hệ thống kiểm tra nội dung tệp, không dựa vào tên tệp).";
pub const MSG_EMPTY: &str = "Tệp đính kèm rỗng (0 byte). Vui lòng chọn lại tệp CMND/CCCD đã quét.";
pub const MSG_MISSING: &str =
    "Vui lòng đính kèm tệp CMND/CCCD đã quét (định dạng doc, docx hoặc pdf, tối đa 5 MB).";
pub const MSG_TWO_FILES: &str = "Chỉ đính kèm 1 tệp gồm cả 2 mặt CMND/CCCD. Anh/chị đã chọn nhiều hơn 1 tệp: vui lòng gộp thành 1 tệp rồi đính kèm lại.";
pub const MSG_DOCX_COMPLEX: &str = "Tệp Word (.docx) không hợp lệ hoặc quá phức tạp (quá nhiều thành phần hoặc dung lượng giải nén quá lớn). Vui lòng lưu lại thành tệp PDF rồi đính kèm.";

pub use crate::domain::ScanKind;

/// Decides the type of a scanned ID by its content.
pub fn detect(bytes: &[u8]) -> AppResult<ScanKind> {
    if bytes.is_empty() {
        return Err(AppError::field("id_scan", MSG_EMPTY));
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(ScanKind::Pdf);
    }
    if bytes.starts_with(&OLE2_MAGIC) {
        return if ole2_has_stream(bytes, "WordDocument") {
            Ok(ScanKind::Doc)
        } else {
            Err(AppError::UnsupportedType(MSG_WRONG_TYPE.into()))
        };
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return match zip_is_docx(bytes) {
            Ok(true) => Ok(ScanKind::Docx),
            Ok(false) => Err(AppError::UnsupportedType(MSG_WRONG_TYPE.into())),
            Err(ZipRefusal::TooComplex) => Err(AppError::UnsupportedType(MSG_DOCX_COMPLEX.into())),
            Err(ZipRefusal::Malformed) => Err(AppError::UnsupportedType(MSG_WRONG_TYPE.into())),
        };
    }
    Err(AppError::UnsupportedType(MSG_WRONG_TYPE.into()))
}

const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const OLE_END_OF_CHAIN: u32 = 0xFFFF_FFFE;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// True when an OLE2 compound file has a stream called `name` in its
/// directory (a Word 97–2003 document has `WordDocument`).
fn ole2_has_stream(b: &[u8], name: &str) -> bool {
    ole2_find(b, name).unwrap_or(false)
}

fn ole2_find(b: &[u8], name: &str) -> Option<bool> {
    let shift = u16_at(b, 0x1E)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let sector = 1usize << shift;
    let sector_at = |id: u32| -> Option<&[u8]> {
        let start = (id as usize).checked_add(1)?.checked_mul(sector)?;
        b.get(start..start.checked_add(sector)?)
    };
    // The FAT, from the sector list in the header (enough for any file that
    // fits the upload cap).
    let fat_sectors = u32_at(b, 0x2C)? as usize;
    let mut fat: Vec<u32> = Vec::new();
    for i in 0..fat_sectors.min(109) {
        let id = u32_at(b, 0x4C + i * 4)?;
        let s = sector_at(id)?;
        fat.extend(
            s.chunks_exact(4)
                .filter_map(|c| c.try_into().ok().map(u32::from_le_bytes)),
        );
    }
    let want: Vec<u16> = name.encode_utf16().collect();
    let mut id = u32_at(b, 0x30)?;
    let mut guard = 0;
    while id != OLE_END_OF_CHAIN {
        guard += 1;
        if guard > 4096 {
            return None;
        }
        let s = sector_at(id)?;
        for entry in s.chunks_exact(128) {
            let len = u16_at(entry, 0x40)? as usize;
            let kind = *entry.get(0x42)?;
            if kind != 2 || !(2..=64).contains(&len) {
                continue;
            }
            let units: Vec<u16> = entry[..len - 2]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            if units == want {
                return Some(true);
            }
        }
        id = *fat.get(id as usize)?;
    }
    Some(false)
}

#[derive(Debug, PartialEq, Eq)]
enum ZipRefusal {
    Malformed,
    TooComplex,
}

/// Reads the ZIP central directory (never inflating anything): a docx holds
/// `[Content_Types].xml` and `word/document.xml`. Refuses ZIP64, too many
/// entries and too much declared uncompressed data.
fn zip_is_docx(b: &[u8]) -> Result<bool, ZipRefusal> {
    const EOCD: [u8; 4] = [0x50, 0x4B, 0x05, 0x06];
    const CDH: [u8; 4] = [0x50, 0x4B, 0x01, 0x02];
    if b.len() < 22 {
        return Err(ZipRefusal::Malformed);
    }
    let lowest = b.len().saturating_sub(22 + 65_535);
    let mut at = b.len() - 22;
    let eocd = loop {
        if b[at..at + 4] == EOCD {
            break at;
        }
        if at == lowest {
            return Err(ZipRefusal::Malformed);
        }
        at -= 1;
    };
    let m = ZipRefusal::Malformed;
    let entries = u16_at(b, eocd + 10).ok_or(ZipRefusal::Malformed)? as usize;
    let cd_size = u32_at(b, eocd + 12).ok_or(ZipRefusal::Malformed)? as usize;
    let cd_offset = u32_at(b, eocd + 16).ok_or(ZipRefusal::Malformed)?;
    if cd_offset == u32::MAX || entries == 0xFFFF {
        return Err(ZipRefusal::TooComplex);
    }
    if entries > DOCX_MAX_ENTRIES {
        return Err(ZipRefusal::TooComplex);
    }
    let cd_offset = cd_offset as usize;
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > eocd) {
        return Err(m);
    }
    let mut pos = cd_offset;
    let mut total: u64 = 0;
    let (mut content_types, mut document) = (false, false);
    for _ in 0..entries {
        if b.get(pos..pos + 4) != Some(&CDH[..]) {
            return Err(ZipRefusal::Malformed);
        }
        let field = |off: usize| u32_at(b, pos + off).ok_or(ZipRefusal::Malformed);
        let field16 = |off: usize| u16_at(b, pos + off).ok_or(ZipRefusal::Malformed);
        let compressed = field(20)?;
        let uncompressed = field(24)?;
        let local = field(42)?;
        if compressed == u32::MAX || uncompressed == u32::MAX || local == u32::MAX {
            return Err(ZipRefusal::TooComplex);
        }
        if (local as usize).saturating_add(compressed as usize) > b.len() {
            return Err(ZipRefusal::Malformed);
        }
        total += u64::from(uncompressed);
        if total > DOCX_MAX_UNCOMPRESSED {
            return Err(ZipRefusal::TooComplex);
        }
        let name_len = field16(28)? as usize;
        let extra_len = field16(30)? as usize;
        let comment_len = field16(32)? as usize;
        let name = b
            .get(pos + 46..pos + 46 + name_len)
            .ok_or(ZipRefusal::Malformed)?;
        match name {
            b"[Content_Types].xml" => content_types = true,
            b"word/document.xml" => document = true,
            _ => {}
        }
        pos += 46 + name_len + extra_len + comment_len;
    }
    Ok(content_types && document)
}

/// One uploaded file, read into memory under the cap.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The last path component of a client-supplied file name, without control
/// characters, at most 120 characters (shown to staff, never used as a path).
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(120)
        .collect();
    s.trim().to_string()
}

/// The folder of scanned IDs under the data dir.
pub fn scans_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads").join("id-scans")
}

fn valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Where the file with this SHA-256 (hex) lives.
pub fn path_for(data_dir: &Path, hash: &str) -> Option<PathBuf> {
    if !valid_hash(hash) {
        return None;
    }
    Some(scans_dir(data_dir).join(&hash[..2]).join(hash))
}

/// Stores bytes content-addressed (SHA-256); returns the hash. Written to a
/// temporary name, synced, then renamed, so a crash never leaves half a file
/// under the final name. Files are readable by the owner only.
pub fn store(data_dir: &Path, bytes: &[u8]) -> std::io::Result<String> {
    let hash = crate::util::sha256_hex(bytes);
    let path = path_for(data_dir, &hash).ok_or_else(|| std::io::Error::other("bad hash"))?;
    if path.exists() {
        return Ok(hash);
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent"))?;
    crate::util::private_dir(dir)?;
    if let Some(p) = dir.parent() {
        crate::util::private_dir(p)?;
    }
    let tmp = dir.join(format!(".{}.{}.tmp", hash, crate::util::random_hex(6)));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(hash)
}

pub fn read(data_dir: &Path, hash: &str) -> std::io::Result<Vec<u8>> {
    let path = path_for(data_dir, hash).ok_or_else(|| std::io::Error::other("bad hash"))?;
    std::fs::read(path)
}

/// Deletes a stored file (no error when it is already gone).
pub fn remove(data_dir: &Path, hash: &str) {
    if let Some(p) = path_for(data_dir, hash) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove an uploaded file"),
        }
    }
}

/// Keeps an uploaded scan; returns its SHA-256 (hex). With a shared
/// database (PostgreSQL) the bytes go into it, so every instance can serve
/// them without a shared disk; otherwise into a file under the data dir
/// ([`store`]). Blocking: call it on a store pool.
pub fn save(app: &crate::app::App, bytes: &[u8]) -> std::io::Result<String> {
    if !app.store.is_shared() {
        return store(&app.cfg.data_dir, bytes);
    }
    let hash = crate::util::sha256_hex(bytes);
    app.store
        .write(|w| crate::store::scans::put(w, &hash, bytes))
        .map_err(std::io::Error::other)?;
    Ok(hash)
}

/// Reads a kept scan from the database or the data dir: both are looked
/// at, the engine's own place first, so a backup restored across engines
/// (its files land in the data dir, its records in the database) keeps
/// its scans readable. Blocking.
pub fn load(app: &crate::app::App, hash: &str) -> std::io::Result<Vec<u8>> {
    let from_db = || -> std::io::Result<Vec<u8>> {
        app.store
            .read(|r| crate::store::scans::get(r, hash))
            .map_err(std::io::Error::other)?
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    if app.store.is_shared() {
        from_db().or_else(|_| read(&app.cfg.data_dir, hash))
    } else {
        read(&app.cfg.data_dir, hash).or_else(|_| from_db())
    }
}

/// Deletes a kept scan from both places (no error when it is gone).
/// Blocking.
pub fn discard(app: &crate::app::App, hash: &str) {
    remove(&app.cfg.data_dir, hash);
    // redb keeps scans in files; its table only holds scans restored from
    // a PostgreSQL backup (a count is free there).
    let in_db = app.store.is_shared()
        || app
            .store
            .read(|r| Ok(crate::store::scans::SCANS.len(r)? > 0))
            .unwrap_or(true);
    if in_db && let Err(e) = app.store.write(|w| crate::store::scans::delete(w, hash)) {
        tracing::warn!(error = %e, "cannot remove a scan kept in the database");
    }
}

/// Copies the scans kept as files under `data_dir` into `store`'s table
/// (after `migrate` or a `restore` into PostgreSQL, whose instances read
/// scans from the database); returns how many. The files stay where they
/// are. A file whose name is not its content's hash is skipped.
pub fn import_files(store: &crate::store::Store, data_dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    let Ok(shards) = std::fs::read_dir(scans_dir(data_dir)) else {
        return Ok(0);
    };
    for shard in shards.flatten() {
        let Ok(files) = std::fs::read_dir(shard.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if !valid_hash(&name) {
                continue;
            }
            let bytes = std::fs::read(f.path())?;
            if crate::util::sha256_hex(&bytes) != name {
                tracing::warn!(file = %name, "scan file does not match its name; not imported");
                continue;
            }
            store
                .write(|w| crate::store::scans::put(w, &name, &bytes))
                .map_err(std::io::Error::other)?;
            n += 1;
        }
    }
    Ok(n)
}

/// A `Content-Disposition` value for an attachment with a UTF-8 file name.
pub fn attachment_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Test fixtures: the smallest files of each kind that pass (or fail) the
/// checks. Public so integration tests and benches can use them.
pub mod samples {
    /// A tiny valid-looking PDF.
    pub fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
    }

    /// A ZIP (stored entries) with the given names.
    pub fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for name in names {
            let data = b"<x/>";
            let offset = out.len() as u32;
            out.extend_from_slice(&[0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&0u32.to_le_bytes()); // crc (unchecked here)
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central
                .extend_from_slice(&[0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&0u32.to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&[0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0]);
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// A minimal docx as far as the type check goes.
    pub fn docx() -> Vec<u8> {
        zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"])
    }

    /// An OLE2 compound file (512-byte sectors) with one stream `name`.
    pub fn ole2(stream: &str) -> Vec<u8> {
        let mut b = vec![0u8; 512 * 3];
        b[..8].copy_from_slice(&super::OLE2_MAGIC);
        b[0x1A] = 0x3E; // minor/major version
        b[0x1C] = 0xFE;
        b[0x1D] = 0xFF;
        b[0x1E] = 9; // 512-byte sectors
        b[0x20] = 6;
        b[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes()); // one FAT sector
        b[0x30..0x34].copy_from_slice(&1u32.to_le_bytes()); // directory at sector 1
        for i in 0..109 {
            let at = 0x4C + i * 4;
            b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        b[0x4C..0x50].copy_from_slice(&0u32.to_le_bytes()); // FAT at sector 0
        // FAT (sector 0, file offset 512): sector 0 = FAT, sector 1 = end of chain.
        let fat = 512;
        for i in 0..128 {
            b[fat + i * 4..fat + i * 4 + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        b[fat..fat + 4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes());
        b[fat + 4..fat + 8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        // Directory (sector 1, file offset 1024): root entry, then the stream.
        let dir = 1024;
        let put_name = |b: &mut Vec<u8>, at: usize, name: &str, kind: u8| {
            let units: Vec<u16> = name.encode_utf16().collect();
            for (i, u) in units.iter().enumerate() {
                b[at + i * 2..at + i * 2 + 2].copy_from_slice(&u.to_le_bytes());
            }
            let len = (units.len() as u16 + 1) * 2;
            b[at + 0x40..at + 0x42].copy_from_slice(&len.to_le_bytes());
            b[at + 0x42] = kind;
        };
        put_name(&mut b, dir, "Root Entry", 5);
        put_name(&mut b, dir + 128, stream, 2);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP status the web gives an upload error.
    trait Status {
        fn status(&self) -> u16;
    }
    impl Status for AppError {
        fn status(&self) -> u16 {
            crate::web::status::status_of(self).as_u16()
        }
    }

    #[test]
    fn detects_by_content_not_name() {
        assert_eq!(detect(&samples::pdf()).unwrap(), ScanKind::Pdf);
        assert_eq!(detect(&samples::docx()).unwrap(), ScanKind::Docx);
        assert_eq!(
            detect(&samples::ole2("WordDocument")).unwrap(),
            ScanKind::Doc
        );
    }

    #[test]
    fn refuses_other_content() {
        let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
        assert_eq!(detect(&png).unwrap_err().status(), 415);
        assert_eq!(detect(b"<html>").unwrap_err().status(), 415);
        // An xlsx is a ZIP without word/document.xml.
        let xlsx = samples::zip(&["[Content_Types].xml", "xl/workbook.xml"]);
        assert_eq!(detect(&xlsx).unwrap_err().status(), 415);
        // An xls is OLE2 without a WordDocument stream.
        assert_eq!(
            detect(&samples::ole2("Workbook")).unwrap_err().status(),
            415
        );
        // Truncated files.
        assert_eq!(detect(&samples::docx()[..40]).unwrap_err().status(), 415);
        assert_eq!(
            detect(&samples::ole2("WordDocument")[..600])
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(detect(b"").unwrap_err().status(), 400);
    }

    #[test]
    fn docx_entry_cap() {
        let names: Vec<String> = (0..DOCX_MAX_ENTRIES + 1).map(|i| format!("f{i}")).collect();
        let mut refs: Vec<&str> = names.iter().map(String::as_str).collect();
        refs.push("[Content_Types].xml");
        refs.push("word/document.xml");
        let e = detect(&samples::zip(&refs)).unwrap_err();
        assert!(matches!(e, AppError::UnsupportedType(_)));
        assert!(e.to_string().contains("quá phức tạp"));
    }

    #[test]
    fn docx_uncompressed_cap() {
        let mut z = samples::docx();
        // Declare a huge uncompressed size in the first central entry.
        let cd = z
            .windows(4)
            .position(|w| w == [0x50, 0x4B, 0x01, 0x02])
            .unwrap();
        z[cd + 24..cd + 28].copy_from_slice(&(200u32 * 1024 * 1024).to_le_bytes());
        assert!(detect(&z).unwrap_err().to_string().contains("quá phức tạp"));
        z[cd + 24..cd + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(detect(&z).unwrap_err().status(), 415);
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(
            clean_file_name("C:\\scan\\CCCD mặt trước.pdf"),
            "CCCD mặt trước.pdf"
        );
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\"<b>\n.pdf"), "ab.pdf");
    }

    #[test]
    fn store_is_content_addressed_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let h1 = store(dir.path(), b"abc").unwrap();
        let h2 = store(dir.path(), b"abc").unwrap();
        assert_eq!(h1, h2);
        let p = path_for(dir.path(), &h1).unwrap();
        assert!(p.starts_with(dir.path().join("uploads")));
        assert_eq!(read(dir.path(), &h1).unwrap(), b"abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        remove(dir.path(), &h1);
        assert!(!p.exists());
        assert!(path_for(dir.path(), "../x").is_none());
    }

    #[test]
    fn disposition_is_ascii_safe() {
        let d = attachment_disposition("CCCD Nguyễn.pdf");
        assert!(d.starts_with("attachment; filename=\"CCCD_Nguy_n.pdf\""));
        assert!(d.contains("filename*=UTF-8''CCCD%20Nguy%E1%BB%85n.pdf"));
    }
}

//! The mobile-subscriber check of self-registration ("Thuê bao di động"):
//! only a subscriber whose data at the carrier matches what they typed may
//! register. Pluggable behind [`SubscriberVerifier`]; the `file` verifier
//! reads a CSV with the header `phone,id_number,full_name,birth_date`
//! (`MOTCUA_SUBSCRIBER_REGISTRY`), or, when none is configured, the demo rows
//! shipped in `data/subscribers-demo.csv`.
//!
//! A mismatch never says which field differs (see [`MISMATCH_NOTE`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use crate::config::Config;
use crate::domain::text::{fold, nfc};
use crate::domain::{BirthDate, CitizenId, PersonName, PhoneNumber};
use crate::error::AppError;

/// The seed's note, shown on the form and as the refusal of a mismatch.
pub const MISMATCH_NOTE: &str = "Chỉ các thuê bao đã khai báo thông tin chính xác với nhà mạng mới có thể đăng ký tài khoản, nếu có sai lệch thông tin vui lòng ra điểm giao dịch để cập nhật lại thông tin thuê bao";

const DEMO: &str = include_str!("../data/subscribers-demo.csv");

/// What the person typed, already parsed.
#[derive(Debug, Clone, Copy)]
pub struct SubscriberQuery<'a> {
    pub phone: &'a PhoneNumber,
    pub id_number: &'a CitizenId,
    pub full_name: &'a PersonName,
    pub birth_date: &'a BirthDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The carrier's record of this phone matches every field.
    Match,
    /// No record for the phone, or some field differs.
    Mismatch,
}

/// A source of truth about mobile subscribers.
pub trait SubscriberVerifier: Send + Sync {
    /// Compares the typed data with the carrier's record of the phone.
    /// `Err` is an operational failure (registry unreadable), not a mismatch.
    fn verify(&self, q: &SubscriberQuery<'_>) -> Result<Verdict, String>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    id_number: String,
    full_name: String,
    birth_date: chrono::NaiveDate,
}

/// The `file` verifier: a CSV loaded into memory, keyed by phone.
#[derive(Debug, Default)]
pub struct FileRegistry {
    by_phone: HashMap<String, Record>,
}

/// Names compare case-insensitively in NFC; when the carrier stored a name
/// without any diacritics (as some do), the typed one is compared
/// accent-insensitively.
fn names_match(registry: &str, typed: &str) -> bool {
    let plain = registry.is_ascii();
    if plain {
        fold(registry) == fold(typed)
    } else {
        nfc(registry).to_lowercase() == nfc(typed).to_lowercase()
    }
}

impl FileRegistry {
    /// Parses the CSV, naming the line of the first problem.
    pub fn parse(text: &str) -> Result<FileRegistry, String> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = rdr.headers().map_err(|e| format!("line 1: {e}"))?.clone();
        let want = ["phone", "id_number", "full_name", "birth_date"];
        if headers.iter().collect::<Vec<_>>() != want {
            return Err("line 1: the header must be phone,id_number,full_name,birth_date".into());
        }
        let mut by_phone = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
            let field = |n: usize| rec.get(n).unwrap_or("");
            let phone = PhoneNumber::parse(field(0)).map_err(|e| format!("line {line}: {e}"))?;
            let id = CitizenId::parse(field(1)).map_err(|e| format!("line {line}: {e}"))?;
            let name = PersonName::parse(field(2)).map_err(|e| format!("line {line}: {e}"))?;
            let dob = BirthDate::parse(field(3)).map_err(|e| format!("line {line}: {e}"))?;
            by_phone.insert(
                phone.as_str().to_string(),
                Record {
                    id_number: id.as_str().to_string(),
                    full_name: name.as_str().to_string(),
                    birth_date: dob.date(),
                },
            );
        }
        Ok(FileRegistry { by_phone })
    }

    pub fn load(path: &Path) -> Result<FileRegistry, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The demo rows shipped with the binary.
    pub fn demo() -> Result<FileRegistry, String> {
        Self::parse(DEMO).map_err(|e| format!("data/subscribers-demo.csv: {e}"))
    }

    pub fn len(&self) -> usize {
        self.by_phone.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_phone.is_empty()
    }
}

impl SubscriberVerifier for FileRegistry {
    fn verify(&self, q: &SubscriberQuery<'_>) -> Result<Verdict, String> {
        let Some(r) = self.by_phone.get(q.phone.as_str()) else {
            return Ok(Verdict::Mismatch);
        };
        let same = r.id_number == q.id_number.as_str()
            && r.birth_date == q.birth_date.date()
            && names_match(&r.full_name, q.full_name.as_str());
        Ok(if same {
            Verdict::Match
        } else {
            Verdict::Mismatch
        })
    }
}

static DEMO_REGISTRY: LazyLock<Result<Arc<FileRegistry>, String>> =
    LazyLock::new(|| FileRegistry::demo().map(Arc::new));

type Loaded = (Option<SystemTime>, u64, Arc<FileRegistry>);
static FILES: LazyLock<Mutex<HashMap<PathBuf, Loaded>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The `file` registry at `path`, read once and read again when the file
/// changes (so an operator can replace it without a restart).
fn file_registry(path: &Path) -> Result<Arc<FileRegistry>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let stamp = (meta.modified().ok(), meta.len());
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, reg)) = files.get(path).filter(|(m, len, _)| (*m, *len) == stamp) {
        return Ok(reg.clone());
    }
    let reg = Arc::new(FileRegistry::load(path)?);
    files.insert(path.to_path_buf(), (stamp.0, stamp.1, reg.clone()));
    Ok(reg)
}

/// The verifier this deployment is configured with.
pub fn verifier(cfg: &Config) -> Result<Arc<dyn SubscriberVerifier>, String> {
    match &cfg.subscriber_registry {
        Some(path) => Ok(file_registry(path)?),
        None => match &*DEMO_REGISTRY {
            Ok(r) => Ok(r.clone()),
            Err(e) => Err(e.clone()),
        },
    }
}

/// Checks the typed data against the configured registry: a mismatch is a
/// 400 with the seed's note; an unreadable registry is logged and a 500.
pub fn check(cfg: &Config, q: &SubscriberQuery<'_>) -> Result<(), AppError> {
    let v = verifier(cfg).map_err(|e| {
        tracing::error!(error = %e, "subscriber registry unavailable");
        AppError::internal(format!("subscriber registry: {e}"))
    })?;
    match v.verify(q) {
        Ok(Verdict::Match) => Ok(()),
        Ok(Verdict::Mismatch) => Err(AppError::invalid(MISMATCH_NOTE)),
        Err(e) => {
            tracing::error!(error = %e, "subscriber check failed");
            Err(AppError::internal(format!("subscriber check: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(
        phone: &'a PhoneNumber,
        id: &'a CitizenId,
        name: &'a PersonName,
        dob: &'a BirthDate,
    ) -> SubscriberQuery<'a> {
        SubscriberQuery {
            phone,
            id_number: id,
            full_name: name,
            birth_date: dob,
        }
    }

    fn check_with(reg: &FileRegistry, phone: &str, id: &str, name: &str, dob: &str) -> Verdict {
        let (p, i, n, d) = (
            PhoneNumber::parse(phone).unwrap(),
            CitizenId::parse(id).unwrap(),
            PersonName::parse(name).unwrap(),
            BirthDate::parse(dob).unwrap(),
        );
        reg.verify(&q(&p, &i, &n, &d)).unwrap()
    }

    #[test]
    fn demo_rows_parse_and_match_when_normalised() {
        let reg = FileRegistry::demo().unwrap();
        assert!(reg.len() >= 5);
        assert_eq!(
            check_with(
                &reg,
                "+84 372 123 456",
                "033090001234",
                "nguyễn  văn AN",
                "15/3/1990"
            ),
            Verdict::Match
        );
        // NFD input is the same name.
        let nfd: String =
            unicode_normalization::UnicodeNormalization::nfd("Nguyễn Văn An").collect();
        assert_eq!(
            check_with(&reg, "0372123456", "033090001234", &nfd, "15/03/1990"),
            Verdict::Match
        );
    }

    #[test]
    fn any_differing_field_is_a_mismatch() {
        let reg = FileRegistry::demo().unwrap();
        let base = ("0372123456", "033090001234", "Nguyễn Văn An", "15/03/1990");
        assert_eq!(
            check_with(&reg, "0372123457", base.1, base.2, base.3),
            Verdict::Mismatch
        );
        assert_eq!(
            check_with(&reg, base.0, "033090001235", base.2, base.3),
            Verdict::Mismatch
        );
        assert_eq!(
            check_with(&reg, base.0, base.1, "Nguyễn Văn Ân", base.3),
            Verdict::Mismatch
        );
        assert_eq!(
            check_with(&reg, base.0, base.1, base.2, "16/03/1990"),
            Verdict::Mismatch
        );
    }

    #[test]
    fn carrier_names_without_accents_match_accent_insensitively() {
        let reg = FileRegistry::parse(
            "phone,id_number,full_name,birth_date\n0911222333,123456789,NGUYEN VAN BINH,01/01/1980\n",
        )
        .unwrap();
        assert_eq!(
            check_with(
                &reg,
                "0911222333",
                "123456789",
                "Nguyễn Văn Bình",
                "01/01/1980"
            ),
            Verdict::Match
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        assert!(
            FileRegistry::parse("a,b\n")
                .unwrap_err()
                .starts_with("line 1")
        );
        let e = FileRegistry::parse(
            "phone,id_number,full_name,birth_date\n0911222333,123456789,Lê Thị Hoa,01/01/1980\n0211222333,123456789,Lê Thị Hoa,01/01/1980\n",
        )
        .unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
    }

    #[test]
    fn configured_file_is_read_and_reread_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subs.csv");
        std::fs::write(
            &path,
            "phone,id_number,full_name,birth_date\n0911222333,123456789,Lê Thị Hoa,01/01/1980\n",
        )
        .unwrap();
        let mut cfg = Config::for_tests(dir.path());
        cfg.subscriber_registry = Some(path.clone());
        let (p, i, n, d) = (
            PhoneNumber::parse("0911222333").unwrap(),
            CitizenId::parse("123456789").unwrap(),
            PersonName::parse("Lê Thị Hoa").unwrap(),
            BirthDate::parse("01/01/1980").unwrap(),
        );
        assert!(check(&cfg, &q(&p, &i, &n, &d)).is_ok());
        std::fs::write(
            &path,
            "phone,id_number,full_name,birth_date\n0911222333,123456780,Lê Thị Hoa,01/01/1980,\n",
        )
        .unwrap();
        // A different length is a different file; a broken one is a 500, not a mismatch.
        let e = check(&cfg, &q(&p, &i, &n, &d)).unwrap_err();
        assert!(matches!(e, AppError::Internal(_)));
        std::fs::write(
            &path,
            "phone,id_number,full_name,birth_date\n0911222333,123456780,Lê Thị Hoa,01/01/1980\n0911222334,123456781,Lê Văn Tư,01/01/1981\n",
        )
        .unwrap();
        let e = check(&cfg, &q(&p, &i, &n, &d)).unwrap_err();
        assert!(matches!(e, AppError::Invalid { .. }));
        assert_eq!(e.to_string(), MISMATCH_NOTE);
        cfg.subscriber_registry = Some(dir.path().join("missing.csv"));
        assert!(matches!(
            check(&cfg, &q(&p, &i, &n, &d)).unwrap_err(),
            AppError::Internal(_)
        ));
    }
}

//! The application facade: everything a transport (web page, JSON API, bot,
//! CLI) needs, built once from the config. Handlers only call it.

use std::sync::{Arc, RwLock};

use crate::auth::Hasher;
use crate::auth::throttle::{Throttle, WindowCap};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::org::UnitTree;
use crate::store::{self, Store, StoreError, meta, units};
use crate::util::Clock;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the demo unit list is invalid: {0}")]
    Units(String),
}

pub struct App {
    pub cfg: Arc<Config>,
    pub store: Store,
    tree: RwLock<Arc<UnitTree>>,
    pub hasher: Arc<Hasher>,
    /// Long scans (citizen list search, audit search, statistics) run here,
    /// below the runtime's priority; see [`App::db_heavy`].
    heavy: crate::pool::Pool,
    /// Captcha pictures (about 3 ms of CPU each) are drawn here, so that a
    /// burst of sign-in pages cannot delay cheap requests; see
    /// [`App::draw_off_runtime`].
    drawing: crate::pool::Pool,
    /// Store work of background workers (SMS delivery records, clean-up);
    /// see [`App::db_background`].
    background: crate::pool::Pool,
    pub clock: Clock,
    /// HMAC key for OTP digests.
    pub key: [u8; 32],
    /// Failed sign-ins per client IP (counters in the store, like every
    /// throttle and cap below; see docs/design/throttles.md).
    pub ip_throttle: Throttle,
    /// Failed passwords per account and client (device cookie, else IP).
    pub signin_throttle: Throttle,
    /// Failed passwords per account from clients without its device cookie:
    /// past `staff_login::BACKSTOP` they must answer a captcha.
    pub untrusted_failures: Throttle,
    /// Captcha pictures per client IP and minute.
    pub captcha_cap: WindowCap,
    /// Web chat conversations started per client IP.
    pub chat_start_cap: WindowCap,
    /// Per-staff rate limit of sensitive look-ups (and similar).
    pub action_throttle: Throttle,
    /// OTP sends of anonymous flows (registration, password reset) per
    /// client IP; see `flows::otp_flow::take_ip_send`.
    pub otp_ip_cap: WindowCap,
    pub sms_wake: tokio::sync::Notify,
    pub metrics: Metrics,
    pub templates: crate::web::templates::Templates,
    /// Proves a local CLI may ask this server for a backup (see `serve.token`).
    pub internal_token: String,
    bot: RwLock<Arc<Bot>>,
}

/// The FAQ knowledge base and its matcher, swapped as one when the office
/// publishes a version or the override folder changes.
pub struct Bot {
    pub kb: crate::helpdesk::KnowledgeBase,
    pub matcher: crate::helpdesk::Matcher,
    /// Fingerprint of `<data dir>/faq` when loaded.
    pub stamp: u64,
    /// The office's published version (0: no edits, the embedded `faq/`).
    pub version: u64,
    /// The office's edits of that version.
    pub overlay: crate::helpdesk::edit::Overlay,
    /// The same knowledge base with its placeholders (`{public_url}`…) kept:
    /// what the editor shows.
    pub raw: crate::helpdesk::KnowledgeBase,
}

/// The published version as the last instance that saw it wrote it down
/// (`<data dir>/faq-published.json`), for `motcua faq match`/`eval`, which
/// run beside a running server and cannot open its database.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct PublishedFile {
    pub version: u64,
    #[serde(default)]
    pub overlay: crate::helpdesk::edit::Overlay,
}

/// Writes `<data dir>/faq-published.json` (atomically).
pub fn write_published_file(
    data_dir: &std::path::Path,
    version: u64,
    overlay: &crate::helpdesk::edit::Overlay,
) {
    let path = data_dir.join("faq-published.json");
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_vec(&serde_json::json!({
        "version": version, "overlay": overlay,
    }))
    .unwrap_or_default();
    let r = std::fs::write(&tmp, body).and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot write faq-published.json");
    }
}

impl Bot {
    pub fn answer_vars(cfg: &Config) -> crate::helpdesk::AnswerVars {
        crate::helpdesk::AnswerVars {
            public_url: cfg.public_url.clone(),
            office_phone: cfg.office_phone.clone(),
            office_email: cfg.office_email.clone(),
        }
    }

    /// The knowledge base for the command line: the embedded one, the
    /// `<data dir>/faq` overrides, and the office's published version as
    /// `serve` last wrote it down.
    pub fn load(cfg: &Config) -> Bot {
        let p = Self::read_published(cfg);
        Bot::build(cfg, p.version, p.overlay)
    }

    /// Builds the knowledge base of a published version, logging each
    /// broken file (or edit) with its name and line.
    pub fn build(cfg: &Config, version: u64, overlay: crate::helpdesk::edit::Overlay) -> Bot {
        use crate::helpdesk::edit;
        let dir = cfg.data_dir.join("faq");
        let stamp = crate::helpdesk::dir_stamp(&dir);
        let (kb, errors) = edit::build(&Self::answer_vars(cfg), Some(&dir), &overlay);
        for e in &errors {
            tracing::warn!(error = %e, "FAQ file skipped");
        }
        let (raw, _) = edit::build(&edit::raw_vars(), Some(&dir), &overlay);
        let matcher = crate::helpdesk::Matcher::new(&kb);
        Bot {
            kb,
            matcher,
            stamp,
            version,
            overlay,
            raw,
        }
    }

    pub fn published_path(cfg: &Config) -> std::path::PathBuf {
        cfg.data_dir.join("faq-published.json")
    }

    fn read_published(cfg: &Config) -> PublishedFile {
        match std::fs::read(Self::published_path(cfg)) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "faq-published.json is unreadable; using the built-in knowledge base");
                PublishedFile::default()
            }),
            Err(_) => PublishedFile::default(),
        }
    }

    /// Writes the version down for the command line (atomically).
    pub fn write_published(&self, cfg: &Config) {
        write_published_file(&cfg.data_dir, self.version, &self.overlay);
    }

    /// The published version in the store (version 0 when none, or when it
    /// cannot be read: the bot then keeps working on the built-in content).
    pub fn from_store(cfg: &Config, store: &Store) -> Bot {
        let latest = store.read(crate::store::faq::latest);
        let (version, overlay) = match latest {
            Ok(Some(v)) => match v.overlay() {
                Ok(o) => (v.version, o),
                Err(e) => {
                    tracing::error!(error = %e, "the published FAQ version is unreadable; using the built-in knowledge base");
                    (v.version, Default::default())
                }
            },
            Ok(None) => (0, Default::default()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the published FAQ version");
                (0, Default::default())
            }
        };
        Bot::build(cfg, version, overlay)
    }
}

const DEMO_UNITS: &str = include_str!("../data/demo-units.csv");

impl App {
    /// Opens the data folder and the database, seeding the demo unit tree
    /// into an empty database.
    pub fn open(cfg: Config) -> Result<Arc<App>, StartError> {
        // Owner-only folders (0700), also for a data dir made before.
        crate::util::private_dir(&cfg.data_dir)
            .and_then(|()| crate::util::tighten_dirs(&cfg.data_dir))
            .map_err(|source| StartError::DataDir {
                path: cfg.data_dir.clone(),
                source,
            })?;
        let store = Store::open(&cfg.db_path())?;
        let key = store.write(meta::secret_key)?;
        let now = chrono::Utc::now().timestamp();
        let seeded = store.write(|w| {
            if units::UNITS.len(w)? > 0 || meta::get_flag(w, "units_seeded")?.is_some() {
                return Ok(false);
            }
            let rows = parse_units_csv(DEMO_UNITS).map_err(|e| StoreError::Db(e.to_string()))?;
            import_units(w, &rows, now)?;
            meta::set_flag(w, "units_seeded", b"1")?;
            Ok::<_, StoreError>(true)
        })?;
        if seeded {
            tracing::info!("loaded the demo unit tree (Hưng Yên)");
        }
        let tree = Arc::new(UnitTree::new(store.read(units::all)?));
        let hasher = Hasher::new(cfg.argon2_m_kib);
        let bot = Bot::from_store(&cfg, &store);
        bot.write_published(&cfg);
        Ok(Arc::new(App {
            cfg: Arc::new(cfg),
            store: store.clone(),
            tree: RwLock::new(tree),
            hasher,
            heavy: crate::pool::Pool::new("scan", crate::pool::cores(), HEAVY_NICE, false),
            drawing: crate::pool::Pool::new("draw", crate::pool::cores(), HEAVY_NICE, false),
            background: crate::pool::Pool::new("background", 1, HEAVY_NICE, false),
            clock: Clock::default(),
            key,
            ip_throttle: Throttle::new(store.clone(), "signin_ip", 20),
            signin_throttle: Throttle::new(
                store.clone(),
                "signin_client",
                crate::auth::throttle::FREE_FAILURES,
            ),
            untrusted_failures: Throttle::new(store.clone(), "signin_untrusted", u32::MAX),
            captcha_cap: WindowCap::new(
                store.clone(),
                "captcha_ip",
                crate::captcha::PER_IP_PER_MINUTE,
                60,
            ),
            chat_start_cap: WindowCap::new(
                store.clone(),
                "chat_start_ip",
                crate::channels::web::NEW_PER_WINDOW,
                crate::channels::web::WINDOW_SECS,
            ),
            action_throttle: Throttle::new(store.clone(), "action", 30),
            otp_ip_cap: WindowCap::new(
                store.clone(),
                "otp_ip",
                crate::otp::PER_IP_HOUR,
                crate::flows::otp_flow::IP_WINDOW,
            ),
            sms_wake: tokio::sync::Notify::new(),
            metrics: Metrics::default(),
            templates: crate::web::templates::Templates::new(),
            internal_token: crate::util::random_token(),
            bot: RwLock::new(Arc::new(bot)),
        }))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn tree(&self) -> Arc<UnitTree> {
        self.tree.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn bot(&self) -> Arc<Bot> {
        self.bot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads the knowledge base when another instance published a
    /// version (the newest version number in the store, polled every
    /// second by `workers`) or `<data dir>/faq` changed; true if it did.
    pub fn reload_bot_if_changed(&self) -> bool {
        let stamp = crate::helpdesk::dir_stamp(&self.cfg.data_dir.join("faq"));
        let version = match self.store.read(crate::store::faq::latest_number) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the published FAQ version");
                return false;
            }
        };
        let cur = self.bot();
        if stamp == cur.stamp && version == cur.version {
            return false;
        }
        let bot = Arc::new(Bot::from_store(&self.cfg, &self.store));
        tracing::info!(
            entries = bot.kb.entries().len(),
            version = bot.version,
            "FAQ knowledge base reloaded"
        );
        self.set_bot(bot);
        true
    }

    /// Puts a knowledge base in use: the next question (any channel) is
    /// answered with it.
    /// Versions only move forward: a reload that read the store just
    /// before a publish cannot put the older version back.
    pub fn set_bot(&self, bot: Arc<Bot>) {
        let mut cur = self.bot.write().unwrap_or_else(|e| e.into_inner());
        if bot.version < cur.version {
            return;
        }
        bot.write_published(&self.cfg);
        *cur = bot;
    }

    pub fn reload_tree(&self) -> AppResult<()> {
        let t = Arc::new(UnitTree::new(self.store.read(units::all)?));
        *self.tree.write().unwrap_or_else(|e| e.into_inner()) = t;
        Ok(())
    }

    /// Runs blocking store work off the async runtime.
    pub async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .map_err(|e| AppError::Internal(format!("task failed: {e}")))?
    }

    /// Like [`App::db`], for reads that may scan a large part of a table:
    /// they run on a pool of one thread per core at [`HEAVY_NICE`], so that
    /// fifty staff searching "Nguyễn" over a million accounts slow each other
    /// down, not the portal pages and the chat.
    pub async fn db_heavy<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        self.db_on(&self.heavy, f).await
    }

    /// Runs `f` on one of the store pools below the runtime's priority.
    async fn db_on<T: Send + 'static>(
        self: &Arc<Self>,
        pool: &crate::pool::Pool,
        f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let app = self.clone();
        pool.run(move || f(&app)).await.unwrap_or_else(|| {
            Err(AppError::Internal(format!(
                "a task on the {} pool failed",
                pool.name()
            )))
        })
    }
}

impl App {
    /// Like [`App::db`], for the store work of background workers (the SMS
    /// queue, clean-up): one thread below the runtime's priority, so that
    /// what a flood of sign-ins leaves behind (an SMS to record per
    /// sign-in) is done in the cycles pages and chat do not need. Nobody
    /// waits at a screen for it.
    pub async fn db_background<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        self.db_on(&self.background, f).await
    }

    /// Runs CPU-heavy work that is not a store scan (drawing a captcha) on
    /// its own pool below the runtime's priority; `None` if it panicked.
    pub async fn draw_off_runtime<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.drawing.run(f).await
    }
}

/// The niceness of the scan, drawing and background pools' threads (Linux).
pub const HEAVY_NICE: i32 = 5;

/// One row of a units CSV: `code,parent_code,name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub line: usize,
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
}

/// Parses a units CSV (header `code,parent_code,name`), reporting the line of
/// the first problem. Parents must come before their children.
pub fn parse_units_csv(text: &str) -> Result<Vec<UnitRow>, String> {
    parse_units_csv_with(text, &[])
}

/// Like [`parse_units_csv`], where parents may also be `known` codes (units
/// already in the database).
pub fn parse_units_csv_with(text: &str, known: &[String]) -> Result<Vec<UnitRow>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    let want = ["code", "parent_code", "name"];
    if headers.iter().map(str::trim).collect::<Vec<_>>() != want {
        return Err("line 1: the header must be code,parent_code,name".into());
    }
    let mut rows: Vec<UnitRow> = vec![];
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
        let code = rec.get(0).unwrap_or("").trim().to_string();
        let parent = rec.get(1).unwrap_or("").trim().to_string();
        let name = crate::domain::unit::UnitName::parse(rec.get(2).unwrap_or(""))
            .map_err(|e| format!("line {line}: {e}"))?;
        if code.is_empty() {
            return Err(format!("line {line}: the code is empty"));
        }
        if rows.iter().any(|r| r.code == code) {
            return Err(format!("line {line}: the code {code} appears twice"));
        }
        if !parent.is_empty() && !rows.iter().any(|r| r.code == parent) && !known.contains(&parent)
        {
            return Err(format!(
                "line {line}: the parent {parent} is neither on an earlier line nor an existing unit"
            ));
        }
        rows.push(UnitRow {
            line,
            code,
            parent_code: (!parent.is_empty()).then_some(parent),
            name: name.as_str().to_string(),
        });
    }
    Ok(rows)
}

/// What an import would change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    pub added: Vec<String>,
    pub renamed: Vec<(String, String, String)>,
    pub moved: Vec<(String, String)>,
    pub unchanged: usize,
}

/// Compares rows with the units already stored (matched by code).
pub fn plan_import(existing: &[units::Unit], rows: &[UnitRow]) -> ImportPlan {
    let by_code: std::collections::HashMap<&str, &units::Unit> =
        existing.iter().map(|u| (u.code.as_str(), u)).collect();
    let by_id: std::collections::HashMap<u64, &units::Unit> =
        existing.iter().map(|u| (u.id, u)).collect();
    let mut plan = ImportPlan::default();
    for r in rows {
        match by_code.get(r.code.as_str()) {
            None => plan.added.push(format!("{} {}", r.code, r.name)),
            Some(u) => {
                let mut same = true;
                if u.name != r.name {
                    plan.renamed
                        .push((r.code.clone(), u.name.clone(), r.name.clone()));
                    same = false;
                }
                let old_parent = u.parent.and_then(|p| by_id.get(&p)).map(|p| p.code.clone());
                if old_parent != r.parent_code {
                    plan.moved.push((
                        r.code.clone(),
                        r.parent_code.clone().unwrap_or_else(|| "(gốc)".into()),
                    ));
                    same = false;
                }
                if same {
                    plan.unchanged += 1;
                }
            }
        }
    }
    plan
}

pub fn import_units(w: &crate::store::WriteTx, rows: &[UnitRow], now: i64) -> store::Result<()> {
    let mut by_code: std::collections::HashMap<String, u64> =
        units::all(w)?.into_iter().map(|u| (u.code, u.id)).collect();
    for r in rows {
        let parent = r.parent_code.as_ref().and_then(|p| by_code.get(p).copied());
        match by_code.get(&r.code).copied() {
            Some(id) => {
                if let Some(mut u) = units::get(w, id)? {
                    u.name = r.name.clone();
                    u.parent = parent;
                    units::put(w, &u)?;
                }
            }
            None => {
                let u = units::insert(w, Some(r.code.clone()), &r.name, parent, now)?;
                by_code.insert(u.code, u.id);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_units_parse_and_have_both_kinds() {
        let rows = parse_units_csv(DEMO_UNITS).unwrap();
        assert!(rows.len() >= 10);
        let eligible = rows
            .iter()
            .filter(|r| crate::domain::unit::is_one_stop_eligible(&r.name))
            .count();
        assert!(eligible >= 5 && eligible < rows.len());
    }

    #[test]
    fn import_plan_shows_adds_renames_and_moves() {
        let existing = vec![
            units::Unit {
                id: 1,
                code: "A".into(),
                name: "Tỉnh A".into(),
                parent: None,
                created_at: 0,
            },
            units::Unit {
                id: 2,
                code: "B".into(),
                name: "Huyện B".into(),
                parent: Some(1),
                created_at: 0,
            },
            units::Unit {
                id: 3,
                code: "C".into(),
                name: "Xã C".into(),
                parent: Some(2),
                created_at: 0,
            },
        ];
        let rows = parse_units_csv("code,parent_code,name\nA,,Tỉnh A\nB,A,Huyện B mới\nC,A,Xã C\nD,B,Bộ phận một cửa UBND huyện B\n").unwrap();
        let plan = plan_import(&existing, &rows);
        assert_eq!(
            plan.added,
            vec!["D Bộ phận một cửa UBND huyện B".to_string()]
        );
        assert_eq!(
            plan.renamed,
            vec![("B".into(), "Huyện B".into(), "Huyện B mới".into())]
        );
        assert_eq!(plan.moved, vec![("C".into(), "A".into())]);
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn bad_units_csv_names_the_line() {
        let e = parse_units_csv("code,parent_code,name\nA,,Tỉnh\nB,X,Huyện\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = parse_units_csv("code,parent_code,name\nA,,Tỉnh\nA,,Lại\n").unwrap_err();
        assert!(e.contains("twice"), "{e}");
        assert!(parse_units_csv("id,name\n").is_err());
    }
}

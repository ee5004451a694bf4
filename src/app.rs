//! The application facade: everything a transport (web page, JSON API, bot,
//! CLI) needs, built once from the config. Handlers only call it.

use std::sync::{Arc, RwLock};

use crate::auth::Hasher;
use crate::auth::throttle::{Throttle, WindowCap};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::org::UnitTree;
use crate::store::{Store, StoreError, meta, units};
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
    /// `store::units::version` when `tree` was loaded.
    tree_version: std::sync::atomic::AtomicU64,
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
    /// past `sign_in::BACKSTOP` they must answer a captcha.
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
    /// This process as a holder of leases and job claims (`store::lease`).
    pub instance: crate::store::lease::Lease,
    /// Wakes the bot channels' delivery workers (see [`OutboxWake`]).
    pub outbox_wake: OutboxWake,
    pub metrics: Metrics,
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
            portal_signin: cfg.portal_signin,
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
        let store = Store::open_at(&cfg.db_path(), cfg.database_url.as_deref())?;
        let key = store.write(meta::secret_key)?;
        let now = chrono::Utc::now().timestamp();
        let seeded = store.write(|w| {
            if units::UNITS.len(w)? > 0 || meta::get_flag(w, "units_seeded")?.is_some() {
                return Ok(false);
            }
            let rows =
                crate::flows::unit_import::parse_units_csv(crate::flows::unit_import::DEMO_UNITS)
                    .map_err(|e| StoreError::Db(e.to_string()))?;
            crate::flows::unit_import::import_units(w, &rows, now)?;
            meta::set_flag(w, "units_seeded", b"1")?;
            Ok::<_, StoreError>(true)
        })?;
        if seeded {
            tracing::info!("loaded the demo unit tree (Hưng Yên)");
        }
        let (all_units, tree_version) = store.read(|r| Ok((units::all(r)?, units::version(r)?)))?;
        let tree = Arc::new(UnitTree::new(all_units));
        let hasher = Hasher::new(cfg.argon2_m_kib);
        let bot = Bot::from_store(&cfg, &store);
        bot.write_published(&cfg);
        Ok(Arc::new(App {
            cfg: Arc::new(cfg),
            store: store.clone(),
            tree: RwLock::new(tree),
            tree_version: std::sync::atomic::AtomicU64::new(tree_version),
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
                crate::flows::chat::NEW_PER_WINDOW,
                crate::flows::chat::WINDOW_SECS,
            ),
            action_throttle: Throttle::new(store.clone(), "action", 30),
            otp_ip_cap: WindowCap::new(
                store.clone(),
                "otp_ip",
                crate::otp::PER_IP_HOUR,
                crate::flows::otp_flow::IP_WINDOW,
            ),
            sms_wake: tokio::sync::Notify::new(),
            instance: crate::store::lease::Lease::mine(&crate::util::random_hex(8), 0),
            metrics: Metrics::default(),
            outbox_wake: OutboxWake::default(),
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
        let (all, version) = self
            .store
            .read(|r| Ok((units::all(r)?, units::version(r)?)))?;
        let t = Arc::new(UnitTree::new(all));
        *self.tree.write().unwrap_or_else(|e| e.into_inner()) = t;
        self.tree_version
            .store(version, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Reloads the unit tree when another process sharing the database
    /// changed a unit (one point read when nothing changed); true when it
    /// reloaded.
    pub fn reload_tree_if_changed(&self) -> AppResult<bool> {
        let stored = self.store.read(units::version)?;
        if stored == self.tree_version.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(false);
        }
        self.reload_tree()?;
        Ok(true)
    }

    /// Runs blocking store work off the async runtime.
    pub async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .map_err(|e| AppError::internal_from("task failed", e))?
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
            Err(AppError::internal(format!(
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

/// One wake-up signal per bot channel, telling its delivery worker that a
/// message is waiting. A `watch` (not a `Notify`): a worker busy when the
/// signal comes still sees it at its next wait.
pub struct OutboxWake([tokio::sync::watch::Sender<u64>; 3]);

impl Default for OutboxWake {
    fn default() -> Self {
        OutboxWake(std::array::from_fn(|_| tokio::sync::watch::Sender::new(0)))
    }
}

impl OutboxWake {
    fn slot(ch: crate::domain::Channel) -> usize {
        use crate::domain::Channel;
        match ch {
            Channel::Web => 0,
            Channel::Telegram => 1,
            Channel::Zalo => 2,
        }
    }

    pub fn wake(&self, ch: crate::domain::Channel) {
        self.0[Self::slot(ch)].send_modify(|v| *v = v.wrapping_add(1));
    }

    pub fn subscribe(&self, ch: crate::domain::Channel) -> tokio::sync::watch::Receiver<u64> {
        self.0[Self::slot(ch)].subscribe()
    }
}

//! Command line: `motcua serve`, `motcua admin ...`, `motcua backup`, ...

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "motcua",
    version,
    about = "One-stop citizen accounts for public service offices: web console, citizen portal, JSON API, support bot, in one binary."
)]
pub struct Cli {
    /// Settings file (TOML). Default: <data dir>/motcua.toml when present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything (web, API, bots, SMS delivery) until SIGINT/SIGTERM.
    Serve,
    /// Administration from the command line (with the server stopped).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy everything stateful (database and uploads) into FILE; works
    /// while `serve` runs (it asks the running server).
    Backup {
        #[arg(long)]
        out: PathBuf,
        /// Encrypt with a passphrase (MOTCUA_BACKUP_PASSPHRASE, or read
        /// from stdin).
        #[arg(long)]
        encrypt: bool,
    },
    /// Check FILE (checksums; the passphrase of an encrypted one, from
    /// MOTCUA_BACKUP_PASSPHRASE or stdin), then restore it into the data
    /// dir (stop `serve` first).
    Restore {
        file: PathBuf,
        /// Restore a backup made before backups carried a checksum.
        #[arg(long)]
        unverified: bool,
    },
    /// Move this data dir's embedded database (and its uploads' records)
    /// into a PostgreSQL database, in one transaction, with a progress bar.
    /// Refuses a target that already holds data. Stop `serve` first; then
    /// start it with MOTCUA_DATABASE_URL set to the same URL.
    Migrate {
        /// postgres://user:pass@host:port/db
        #[arg(long)]
        to: String,
    },
    /// The support bot's FAQ matcher.
    Faq {
        #[command(subcommand)]
        command: FaqCommand,
    },
    /// The unit tree.
    Units {
        #[command(subcommand)]
        command: UnitsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum FaqCommand {
    /// Read questions (one per line) from stdin; print one JSON object per
    /// line: {"q", "intent" (id or null), "score"}.
    Match {
        /// Also print the answer.
        #[arg(long)]
        answer: bool,
    },
    /// Score the matcher on JSON lines {"q", "intent": id or null}.
    Eval { file: PathBuf },
    /// Write the current knowledge base (the embedded faq/ plus the
    /// office's published edits and <data dir>/faq overrides) into DIR in
    /// faq/'s format; the questions staff assigned go to eval/office.jsonl.
    /// DIR must be new or empty.
    Export { dir: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum UnitsCommand {
    /// Load a province's unit tree from a CSV with the header
    /// `code,parent_code,name` (parents before children; matched by code).
    Import {
        file: PathBuf,
        /// Only show what would change.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create (or reset) a province admin. The password is read from stdin.
    CreateSuperadmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        phone: String,
    },
    /// Print a one-time link: without --username, to create the first
    /// province admin; with it, to sign that staff member in once without
    /// an OTP (e.g. with the outbox SMS provider).
    SetupLink {
        #[arg(long)]
        username: Option<String>,
    },
}

pub fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("motcua: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Command::Faq { command } = &cli.command {
        return match faq(&cfg, command) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("motcua: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("motcua: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve => serve(cfg).await,
            Command::Admin { command } => admin(cfg, command).await,
            Command::Backup { out, encrypt } => backup(cfg, out, encrypt).await,
            Command::Restore { file, unverified } => restore(cfg, file, unverified).await,
            Command::Migrate { to } => migrate(cfg, &to),
            Command::Faq { .. } => Ok(()),
            Command::Units {
                command: UnitsCommand::Import { file, dry_run },
            } => units_import(cfg, file, dry_run),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("motcua: {}", crate::error::chain(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn serve(cfg: Config) -> CliResult {
    // Fail fast on a broken subscriber registry rather than at the first
    // registration.
    crate::subscriber::verifier(&cfg).map_err(|e| format!("MOTCUA_SUBSCRIBER_REGISTRY: {e}"))?;
    let app = App::open(cfg)?;
    let listener = tokio::net::TcpListener::bind(app.cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", app.cfg.listen))?;
    let addr = listener.local_addr()?;
    if let Some(link) = crate::flows::setup::setup_link_if_needed(&app)? {
        println!(
            "\nNo province admin exists yet. Open this one-time link to create one (valid 24 hours):\n\n    {link}\n"
        );
    }
    if !app.cfg.captcha {
        tracing::warn!("captcha is OFF (MOTCUA_CAPTCHA=off): for local testing only");
    }
    tracing::info!(%addr, data_dir = %app.cfg.data_dir.display(), public_url = %app.cfg.public_url, "motcua listening");
    println!("motcua listening on http://{addr}");
    let token_file = app.cfg.data_dir.join("serve.token");
    let connect = if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    std::fs::write(&token_file, format!("{}\n{connect}\n", app.internal_token))?;
    crate::store::restrict_permissions(&token_file);
    let r = run_until_signal(app.clone(), listener, shutdown_signal()).await;
    let _ = std::fs::remove_file(&token_file);
    r
}

/// Runs the server and the background workers until `stop` resolves.
pub async fn run_until_signal(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> CliResult {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let workers = crate::workers::spawn(app.clone(), rx);
    crate::web::serve(app.clone(), listener, stop).await?;
    let _ = tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    tracing::info!("motcua stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn admin(cfg: Config, command: AdminCommand) -> CliResult {
    let app = App::open(cfg)?;
    match command {
        AdminCommand::CreateSuperadmin { username, phone } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            match crate::flows::setup::create_superadmin(&app, &username, &phone, &password).await {
                Ok(created) => {
                    println!(
                        "{} province admin '{}'. Sign in at {}/quan-tri",
                        if created { "Created" } else { "Reset" },
                        username.trim().to_lowercase(),
                        app.cfg.public_url
                    );
                    Ok(())
                }
                Err(e) => {
                    let detail = e
                        .field_map()
                        .map(|f| f.values().cloned().collect::<Vec<_>>().join(" "))
                        .unwrap_or_default();
                    Err(format!("{e} {detail}").trim().to_string().into())
                }
            }
        }
        AdminCommand::SetupLink { username } => {
            let link = crate::flows::setup::new_setup_link(&app, username.as_deref())
                .map_err(|e| e.to_string())?;
            let hours = if username.is_some() {
                crate::flows::setup::SIGNIN_LINK_TTL / 3600
            } else {
                crate::flows::setup::SETUP_TTL / 3600
            };
            let what = if username.is_some() {
                "One-time sign-in link"
            } else {
                "One-time setup link"
            };
            let unit = if hours == 1 { "hour" } else { "hours" };
            println!("{what} (valid {hours} {unit}):\n\n    {link}\n");
            Ok(())
        }
    }
}

/// The backup passphrase: `MOTCUA_BACKUP_PASSPHRASE`, else one line of
/// stdin (asked for on stderr).
fn passphrase(cfg: &Config, why: &str) -> Result<String, String> {
    if let Some(p) = &cfg.backup_passphrase {
        return Ok(p.clone());
    }
    eprint!("{why}: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the passphrase: {e}"))?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err("no passphrase given (stdin or MOTCUA_BACKUP_PASSPHRASE)".into());
    }
    Ok(p)
}

async fn backup(cfg: Config, out: PathBuf, encrypt: bool) -> CliResult {
    if out.exists() {
        return Err(format!("{} already exists; choose a new file", out.display()).into());
    }
    if cfg.database_url.is_none() && !cfg.db_path().exists() {
        return Err(format!(
            "there is no database at {} (check MOTCUA_DATA_DIR or --config)",
            cfg.db_path().display()
        )
        .into());
    }
    let pass = if encrypt {
        let p = passphrase(&cfg, "Backup passphrase")?;
        if p.chars().count() < 12 {
            return Err("the passphrase must have at least 12 characters".into());
        }
        Some(p)
    } else {
        None
    };
    let progress = crate::backup::Progress::new("Copying uploaded files", false);
    // A PostgreSQL snapshot is consistent while servers run.
    let opened = crate::store::Store::open_at(&cfg.db_path(), cfg.database_url.as_deref());
    match opened {
        Ok(store) => {
            let s = crate::backup::create(
                &store,
                &cfg.uploads_dir(),
                &out,
                &progress,
                pass.as_deref(),
            )?;
            println!(
                "Backup written to {} ({} records, {} files{})",
                out.display(),
                s.records,
                s.files,
                if encrypt { ", encrypted" } else { "" }
            );
            Ok(())
        }
        Err(crate::store::StoreError::InUse { .. }) => {
            online_backup(&cfg, &out, pass.as_deref()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Asks the running server (which holds the database) for a backup, proving
/// local access with the token it wrote into the data dir.
async fn online_backup(cfg: &Config, out: &std::path::Path, pass: Option<&str>) -> CliResult {
    let token_file = cfg.data_dir.join("serve.token");
    let text = std::fs::read_to_string(&token_file).map_err(|e| format!("the database is in use, and {} cannot be read ({e}): is `motcua serve` running from this data dir?", token_file.display()))?;
    let mut lines = text.lines();
    let token = lines.next().unwrap_or("").trim().to_string();
    let addr = lines.next().unwrap_or("").trim().to_string();
    eprintln!("The server is running: asking it for a consistent backup...");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3600))
        .build()?;
    let mut resp = client
        .post(format!("http://{addr}/internal/backup"))
        .header("x-motcua-token", token)
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("the server refused the backup: {}", resp.status()).into());
    }
    let total = resp.content_length().unwrap_or(0);
    let progress = crate::backup::Progress::new("Receiving backup (bytes)", false);
    let tmp = out.with_extension("partial");
    let mut f = std::fs::File::create(&tmp)?;
    crate::store::restrict_permissions(&tmp);
    let mut done = 0u64;
    while let Some(chunk) = resp.chunk().await? {
        std::io::Write::write_all(&mut f, &chunk)?;
        done += chunk.len() as u64;
        progress.update(done, total);
    }
    f.sync_all()?;
    drop(f);
    crate::backup::verify(&tmp, None)?;
    match pass {
        Some(p) => {
            let r = crate::backup::reseal(&tmp, out, p);
            let _ = std::fs::remove_file(&tmp);
            r?;
        }
        None => std::fs::rename(&tmp, out)?,
    }
    crate::store::restrict_permissions(out);
    println!(
        "Backup written to {} ({done} bytes{})",
        out.display(),
        if pass.is_some() { ", encrypted" } else { "" }
    );
    Ok(())
}

async fn restore(cfg: Config, file: PathBuf, unverified: bool) -> CliResult {
    let progress = crate::backup::Progress::new("Restoring uploaded files", false);
    let in_use = |e: crate::backup::BackupError| match e {
        crate::backup::BackupError::Store(crate::store::StoreError::InUse { .. }) => {
            "the database is in use: stop `motcua serve` first".to_string()
        }
        other => other.to_string(),
    };
    let pass = if unverified {
        eprintln!(
            "Restoring {} WITHOUT a checksum (a backup made before checksums existed).",
            file.display()
        );
        None
    } else {
        let pass = match crate::backup::is_encrypted(&file) {
            Some(true) => Some(passphrase(&cfg, "Passphrase of the backup")?),
            _ => None,
        };
        let (created, version) = crate::backup::verify(&file, pass.as_deref()).map_err(|e| {
            let hint = if e.to_string().contains("before backups carried a checksum") {
                " (to restore such an old backup anyway: motcua restore --unverified FILE)"
            } else {
                ""
            };
            format!("{e}{hint}")
        })?;
        println!(
            "{} is a motcua backup made {created} (schema {version}); its checksums are right.",
            file.display()
        );
        pass
    };
    let db = database_for_restore(&cfg, &progress)?;
    let s = if unverified {
        crate::backup::restore_unverified(&file, &cfg.data_dir, &progress, db.as_ref())
    } else {
        crate::backup::restore(
            &file,
            &cfg.data_dir,
            &progress,
            pass.as_deref(),
            db.as_ref(),
        )
    }
    .map_err(in_use)?;
    if let Some(db) = &db {
        // PostgreSQL instances read scans from the database.
        crate::upload::import_files(db, &cfg.data_dir)?;
    }
    println!(
        "Restored {} records and {} files into {}",
        s.records,
        s.files,
        match &cfg.database_url {
            Some(url) => crate::store::pg::redact(url),
            None => cfg.data_dir.display().to_string(),
        }
    );
    Ok(())
}

/// With MOTCUA_DATABASE_URL, the PostgreSQL database a restore replaces;
/// when it holds data, that data is first saved as a backup in the data dir
/// (the redb restore keeps the old file the same way).
fn database_for_restore(
    cfg: &Config,
    progress: &crate::backup::Progress,
) -> Result<Option<crate::store::Store>, Box<dyn std::error::Error>> {
    let Some(url) = &cfg.database_url else {
        return Ok(None);
    };
    let store = crate::store::Store::open_postgres(url, &cfg.db_path())?;
    if store.holds_data()? {
        crate::util::private_dir(&cfg.data_dir)?;
        let keep = cfg.data_dir.join(format!(
            "motcua-before-restore-{}.bak",
            chrono::Utc::now().format("%Y%m%d%H%M%S")
        ));
        crate::backup::create(&store, &cfg.uploads_dir(), &keep, progress, None)?;
        eprintln!(
            "The database held data: saved it first to {}",
            keep.display()
        );
    }
    Ok(Some(store))
}

/// `motcua migrate --to URL`: the redb database of this data dir into an
/// empty PostgreSQL database.
fn migrate(cfg: Config, to: &str) -> CliResult {
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err("--to expects postgres://user:pass@host:port/db".into());
    }
    let path = cfg.db_path();
    if !path.exists() {
        return Err(format!(
            "there is no database at {} (check MOTCUA_DATA_DIR or --config)",
            path.display()
        )
        .into());
    }
    let source = crate::store::Store::open(&path).map_err(|e| match e {
        crate::store::StoreError::InUse { .. } => {
            "the database is in use: stop `motcua serve` first".to_string()
        }
        other => crate::error::chain(&other),
    })?;
    let target = crate::store::Store::open_postgres(to, &path)?;
    if target.holds_data()? {
        return Err(format!(
            "{} already holds data; migrate only into an empty database",
            crate::store::pg::redact(to)
        )
        .into());
    }
    let progress = crate::backup::Progress::new("Copying records", false);
    let n = source.copy_into(&target, |done, total| progress.update(done, total))?;
    let scans = crate::upload::import_files(&target, &cfg.data_dir)?;
    println!(
        "Copied {n} records and {scans} scanned IDs into {}. Start the server (one or several) with MOTCUA_DATABASE_URL set to that URL.",
        crate::store::pg::redact(to),
    );
    Ok(())
}

fn units_import(cfg: Config, file: PathBuf, dry_run: bool) -> CliResult {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let text = text.trim_start_matches('\u{feff}');
    let store =
        crate::store::Store::open_at(&cfg.db_path(), cfg.database_url.as_deref()).map_err(|e| {
            match e {
                crate::store::StoreError::InUse { .. } => {
                    "the database is in use: stop `motcua serve` first".to_string()
                }
                other => other.to_string(),
            }
        })?;
    let existing = store.read(crate::store::units::all)?;
    let known: Vec<String> = existing.iter().map(|u| u.code.clone()).collect();
    let rows = crate::flows::unit_import::parse_units_csv_with(text, &known)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let plan = crate::flows::unit_import::plan_import(&existing, &rows);
    for a in &plan.added {
        println!("+ add     {a}");
    }
    for (code, old, new) in &plan.renamed {
        println!("~ rename  {code}: {old} -> {new}");
    }
    for (code, parent) in &plan.moved {
        println!("~ move    {code} under {parent}");
    }
    println!(
        "{} to add, {} to rename, {} to move, {} unchanged ({} rows read)",
        plan.added.len(),
        plan.renamed.len(),
        plan.moved.len(),
        plan.unchanged,
        rows.len()
    );
    if dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(());
    }
    let now = chrono::Utc::now().timestamp();
    store.write(|w| {
        crate::flows::unit_import::import_units(w, &rows, now)?;
        crate::store::audit::record(
            w,
            now,
            "cli",
            "units_import",
            &file.display().to_string(),
            "local",
            &format!("{} rows", rows.len()),
        )?;
        crate::store::meta::set_flag(w, "units_seeded", b"1")
    })?;
    println!("Imported.");
    Ok(())
}

/// `faq match` / `faq eval`: no database, no runtime; the knowledge base
/// includes `<data dir>/faq` overrides.
fn faq(cfg: &Config, command: &FaqCommand) -> CliResult {
    if let FaqCommand::Export { dir } = command {
        return faq_export(cfg, dir);
    }
    let bot = crate::app::Bot::load(cfg);
    match command {
        FaqCommand::Match { answer } => {
            let stdin = std::io::stdin();
            crate::helpdesk::run_match(
                &bot.kb,
                &bot.matcher,
                stdin.lock(),
                std::io::stdout().lock(),
                *answer,
            )?;
        }
        FaqCommand::Export { .. } => {}
        FaqCommand::Eval { file } => {
            let f = std::fs::File::open(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            crate::helpdesk::run_eval(
                &bot.kb,
                &bot.matcher,
                std::io::BufReader::new(f),
                std::io::stdout().lock(),
            )?;
        }
    }
    Ok(())
}

/// `faq export DIR`: the published version from the database (or, while
/// `serve` holds the database, from the copy it keeps in
/// `faq-published.json`, without the office's eval cases).
fn faq_export(cfg: &Config, dir: &std::path::Path) -> CliResult {
    use crate::helpdesk::{EvalCase, edit};
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(format!(
            "{} is not empty: choose a new or empty folder",
            dir.display()
        )
        .into());
    }
    let db = cfg.db_path();
    let (version, overlay, cases) = if db.exists() || cfg.database_url.is_some() {
        match crate::store::Store::open_at(&db, cfg.database_url.as_deref()) {
            Ok(store) => {
                let (latest, cases) = store
                    .read(|r| Ok((crate::store::faq::latest(r)?, crate::store::faq::cases(r)?)))?;
                let (v, o) = match latest {
                    Some(v) => (v.version, v.overlay()?),
                    None => (0, edit::Overlay::default()),
                };
                let cases: Vec<EvalCase> = cases
                    .into_iter()
                    .map(|c| EvalCase {
                        q: c.q,
                        intent: c.intent,
                    })
                    .collect();
                (v, o, cases)
            }
            Err(crate::store::StoreError::InUse { .. }) => {
                eprintln!(
                    "note: `motcua serve` holds the database; exporting the published version it wrote down, without the office's eval cases (stop the server to include them)"
                );
                let bot = crate::app::Bot::load(cfg);
                (bot.version, bot.overlay, Vec::new())
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (0, edit::Overlay::default(), Vec::new())
    };
    let files = edit::export(Some(&cfg.data_dir.join("faq")), &overlay, &cases);
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let intents = files
        .iter()
        .filter(|(r, _)| r.ends_with(".md") && !r.contains('/') && r != "README.md")
        .count();
    println!(
        "Wrote {} files ({intents} intents, published version {version}) to {}",
        files.len(),
        dir.display()
    );
    Ok(())
}

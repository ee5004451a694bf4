//! SMS delivery from the durable queue in the database.
//!
//! Messages are queued inside the transaction of the action that causes them
//! (so an acknowledged action always has its SMS), then this worker delivers
//! them: `outbox` keeps them for admins to read; a gateway ([`Provider`]:
//! `http`, `esms`, `speedsms`, one module each) sends them, and its answer
//! decides what follows: accepted; retried with backoff (network, 5xx);
//! given up (an invalid or blocked number); or held for
//! [`CONFIG_RETRY_SECS`] and shown to the province admin (bad key,
//! unregistered brandname or template, no balance).
//! A dead gateway only delays the queue; no user request waits on it.

pub mod budget;
pub mod esms;
pub mod http;
pub mod provider;
pub mod receipts;
pub mod speedsms;
pub mod template;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::config::{Config, SmsProvider};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::sms::{self, SmsJob};
use crate::store::{Tx, sms_templates};
use crate::util::mask_digits;
pub use provider::{Message, Outcome, Provider};

/// The values every template may use: the office's name and phone, and
/// the public address.
pub fn office_vars(cfg: &Config) -> template::Vars {
    template::Vars::new()
        .with(template::TEN_DON_VI.name, cfg.office_name.clone())
        .with(template::SO_TONG_DAI.name, cfg.office_phone.clone())
        .with(template::DIA_CHI.name, cfg.public_url.clone())
}

/// The text and "bỏ dấu" switch in use for template `id`: the office's
/// edit, else the default.
pub fn current_template(tx: &impl Tx, id: template::Id) -> crate::store::Result<(String, bool)> {
    let def = id.def();
    Ok(match sms_templates::get(tx, def.key)? {
        Some(s) => (s.text, s.unaccent),
        None => (def.default_text.to_string(), false),
    })
}

/// What the day's budget looks like (dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetToday {
    pub limit: Option<u64>,
    pub used: u64,
    pub level: budget::Level,
}

pub fn budget_today(app: &App, tx: &impl Tx) -> crate::store::Result<BudgetToday> {
    let limit = app.cfg.sms.daily_limit;
    let used = sms::segments_on(tx, app.now())?;
    Ok(BudgetToday {
        limit,
        used,
        level: budget::level(limit, used),
    })
}

/// The refusal of a citizen's request past the day's budget (429 with
/// `Retry-After` until the next local day).
pub fn budget_refusal(now: i64) -> AppError {
    AppError::Limited {
        message: budget::REFUSAL.into(),
        retry_after: budget::until_next_day(now),
    }
}

/// Whether a citizen's message of `segments` still fits today's budget;
/// the refusal otherwise (nothing written).
pub fn check_budget(app: &App, tx: &impl Tx, segments: u64, now: i64) -> AppResult<()> {
    let used = sms::segments_on(tx, now)?;
    if budget::allows(
        app.cfg.sms.daily_limit,
        template::Initiator::Citizen,
        used,
        segments,
    ) {
        Ok(())
    } else {
        Metrics::inc(&app.metrics.sms_budget_refusals_total);
        Err(budget_refusal(now))
    }
}

/// Whether a citizen-initiated message of template `id` (rendered with
/// sample values: an OTP's code always has 6 digits) fits today's budget;
/// for paths that must answer the same whether or not a message really
/// goes (an unknown account, a decoy registration).
pub fn check_template_budget(app: &App, tx: &impl Tx, id: template::Id, now: i64) -> AppResult<()> {
    if app.cfg.sms.daily_limit.is_none() {
        return Ok(());
    }
    let (text, unaccent) = current_template(tx, id)?;
    let vars = id.def().sample_vars(&office_vars(&app.cfg));
    let out = template::outgoing(&text, &vars, unaccent, app.cfg.sms.unicode);
    check_budget(app, tx, text::cost(&out).segments as u64, now)
}

/// Renders template `id` with the office's values, the OTP's minutes and
/// `vars`, and queues it to `to` in the caller's transaction. A
/// citizen-initiated message past the day's budget is refused (429,
/// nothing queued: the caller's transaction then changes nothing).
pub fn queue(
    app: &App,
    w: &crate::store::WriteTx,
    id: template::Id,
    to: &str,
    vars: &template::Vars,
    now: i64,
) -> AppResult<u64> {
    let def = id.def();
    let (text, unaccent) = current_template(w, id)?;
    let mut all =
        office_vars(&app.cfg).with(template::PHUT.name, (crate::otp::TTL / 60).to_string());
    for (k, v) in vars.iter() {
        all.set(k, v);
    }
    // The per-template switch is applied here; `MOTCUA_SMS_UNICODE=off`
    // by the worker (so the stored text is what the template made).
    let stored = template::outgoing(&text, &all, unaccent, true);
    let segments = text::cost(&text::for_sending(&stored, app.cfg.sms.unicode)).segments as u64;
    if def.initiator != template::Initiator::Staff {
        check_budget(app, w, segments, now)?;
    }
    let job = sms::enqueue(
        w,
        &sms::Outgoing {
            to,
            text: &stored,
            kind: def.kind,
            initiator: def.initiator,
            segments,
        },
        now,
    )?;
    Metrics::inc(&app.metrics.sms_queued_total);
    Ok(job)
}

/// A message that met a configuration error is tried again after this
/// long (the admin has to fix a setting or top up the account first).
pub const CONFIG_RETRY_SECS: i64 = 600;

/// The gateway of these settings (`None` for the outbox).
pub fn gateway(cfg: &Config) -> Option<Box<dyn Provider>> {
    let s = &cfg.sms;
    match cfg.sms_provider {
        SmsProvider::Outbox => None,
        SmsProvider::Http => Some(Box::new(http::HttpRelay {
            url: cfg.sms_http_url.clone().unwrap_or_default(),
        })),
        SmsProvider::Esms => Some(Box::new(esms::Esms {
            url: s.esms_url.clone(),
            api_key: s.esms_api_key.clone(),
            secret_key: s.esms_secret_key.clone(),
            brandname: s.esms_brandname.clone(),
        })),
        SmsProvider::SpeedSms => Some(Box::new(speedsms::SpeedSms {
            url: s.speedsms_url.clone(),
            token: s.speedsms_token.clone(),
            sender: s.speedsms_sender.clone(),
        })),
    }
}

/// Where a provider reports delivery, when receipts are on.
pub fn callback_url(cfg: &Config) -> Option<String> {
    let secret = cfg.sms.callback_secret.as_ref()?;
    Some(format!(
        "{}/webhooks/sms/{}/{secret}",
        cfg.public_url,
        cfg.sms_provider.name()
    ))
}

/// Delay before retry number `attempts` (1-based), in seconds.
pub fn backoff(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(10);
    (2i64 << exp).min(300)
}

pub struct Worker {
    app: Arc<App>,
    client: reqwest::Client,
    gateway: Option<Arc<dyn Provider>>,
}

impl Worker {
    pub fn new(app: Arc<App>) -> Worker {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let gateway = gateway(&app.cfg).map(Arc::from);
        Worker {
            app,
            client,
            gateway,
        }
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let sleep_for = match self.tick().await {
                Ok(Some(next)) => (next - self.app.now()).clamp(0, 5),
                Ok(None) => 5,
                Err(e) => {
                    tracing::error!(error = %e, "sms worker");
                    5
                }
            };
            // Messages queued meanwhile go out together in the next tick
            // (one store write for all of them, not one each).
            tokio::select! {
                _ = tokio::time::sleep(GATHER) => {}
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = self.app.sms_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(sleep_for as u64 * 1000 + 50)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Claims what is due (so another instance on the same database does
    /// not send it too), delivers it, records every outcome in one write,
    /// and returns when the next job is due. The store work runs on the
    /// background pool ([`App::db_background`]).
    pub async fn tick(&self) -> crate::error::AppResult<Option<i64>> {
        let now = self.app.now();
        let (jobs, next) = self
            .app
            .db_background(move |app| {
                let me = &app.instance;
                // Read first: an idle tick writes nothing.
                let (work, next) = app
                    .store
                    .read(|r| Ok((sms::claimable(r, me, now)?, sms::next_due_at(r)?)))?;
                if !work {
                    return Ok((vec![], next));
                }
                Ok(app.store.write(|w| {
                    Ok::<_, crate::store::StoreError>((
                        sms::claim(w, me, now, BATCH)?,
                        sms::next_due_at(w)?,
                    ))
                })?)
            })
            .await?;
        if jobs.is_empty() {
            return Ok(next);
        }
        let mut handles = vec![];
        for job in jobs {
            let (app, client, gw) = (self.app.clone(), self.client.clone(), self.gateway.clone());
            handles.push(tokio::spawn(async move {
                let result = attempt(&app, &client, gw.as_deref(), &job).await;
                (job, result)
            }));
        }
        let mut outcomes = vec![];
        for h in handles {
            // A task that panicked leaves its job due: it is tried again.
            if let Ok(o) = h.await {
                outcomes.push(o);
            }
        }
        // A gateway has the text once it accepted it; the outbox is where
        // admins read it, so it keeps it (scrubbed later by clean-up).
        let scrub = self.app.cfg.sms_provider != SmsProvider::Outbox;
        let provider = self.app.cfg.sms_provider.name();
        let explain = {
            let gw = self.gateway.clone();
            move |code: &str| match &gw {
                Some(g) => g.explain(code),
                None => provider::explain_common(code),
            }
        };
        self.app
            .db_background(move |app| {
                let now = app.now();
                Ok(app.store.write(|w| {
                    for (job, result) in &outcomes {
                        if let Outcome::Config { code } = &result.outcome
                            && sms::note_config_error(w, provider, code, &explain(code), now)?
                        {
                            tracing::error!(provider, code = %code, "sms provider refuses: configuration error (shown on the SMS page; retried every {CONFIG_RETRY_SECS} s)");
                        }
                        record(w, provider, job, result, now, scrub)?;
                    }
                    sms::next_due_at(w)
                })?)
            })
            .await
    }
}

/// How many due messages one tick takes.
const BATCH: usize = 50;

/// The pause after each tick: during a flood of sign-ins, each tick sends
/// what queued meanwhile instead of waking once per message. An OTP waits
/// this much longer at most, far less than the SMS network adds.
const GATHER: Duration = Duration::from_millis(50);

/// What one attempt did: the provider's outcome and what it cost.
pub struct Attempt {
    pub outcome: Outcome,
    pub segments: u32,
}

/// One delivery attempt; logs (masked number, kind, code — never the
/// text) and counts it.
async fn attempt(
    app: &App,
    client: &reqwest::Client,
    gateway: Option<&dyn Provider>,
    job: &SmsJob,
) -> Attempt {
    let out_text = text::for_sending(&job.text, app.cfg.sms.unicode);
    let cost = text::cost(&out_text);
    let segments = cost.segments as u32;
    let outcome = match gateway {
        None => {
            // Never the text: it may hold a code or a password.
            tracing::info!(id = job.id, to = %mask_digits(&job.to), kind = %job.kind, "sms kept in the outbox (province admins read it at Tin nhắn SMS)");
            Outcome::Accepted { id: None }
        }
        Some(g) => {
            let msg = Message {
                uid: job.uid.clone(),
                to: job.to.clone(),
                unicode: cost.encoding == text::Encoding::Ucs2,
                text: out_text,
                callback_url: callback_url(&app.cfg),
            };
            g.send(client, &msg).await
        }
    };
    match &outcome {
        Outcome::Accepted { .. } => Metrics::inc(&app.metrics.sms_delivered_total),
        Outcome::Retry { code } => {
            Metrics::inc(&app.metrics.sms_attempt_failures_total);
            tracing::warn!(id = job.id, to = %mask_digits(&job.to), attempts = job.attempts + 1, code = %code, "sms delivery failed, will retry");
        }
        Outcome::GiveUp { code } => {
            Metrics::inc(&app.metrics.sms_attempt_failures_total);
            tracing::warn!(id = job.id, to = %mask_digits(&job.to), code = %code, "sms cannot be delivered to this number, given up");
        }
        Outcome::Config { code } => {
            Metrics::inc(&app.metrics.sms_attempt_failures_total);
            tracing::debug!(id = job.id, to = %mask_digits(&job.to), code = %code, "sms held: provider configuration error");
        }
    }
    Attempt { outcome, segments }
}

/// Records one attempt's outcome in the caller's transaction.
fn record(
    w: &crate::store::WriteTx,
    provider: &str,
    job: &SmsJob,
    result: &Attempt,
    now: i64,
    scrub: bool,
) -> crate::store::Result<()> {
    use crate::store::stats;
    match &result.outcome {
        Outcome::Accepted { id } => {
            sms::mark_sent(w, job.id, now, scrub)?;
            if provider != "outbox" {
                sms::record_accepted(w, job.id, provider, id.as_deref(), result.segments)?;
                sms::clear_config_error(w, provider)?;
            }
            stats::bump_by(w, now, "sms_segments", &job.kind, result.segments as u64)?;
            stats::bump(w, now, "sms_delivered", &job.kind)
        }
        Outcome::Retry { code } => {
            sms::record_code(w, job.id, provider, code)?;
            sms::mark_failed(w, job.id, code, now + backoff(job.attempts + 1))?;
            stats::bump(w, now, "sms_failed_attempts", &job.kind)
        }
        Outcome::Config { code } => {
            sms::record_code(w, job.id, provider, code)?;
            sms::mark_failed(w, job.id, code, now + CONFIG_RETRY_SECS)?;
            stats::bump(w, now, "sms_failed_attempts", &job.kind)
        }
        Outcome::GiveUp { code } => {
            sms::record_code(w, job.id, provider, code)?;
            sms::mark_gave_up(w, job.id, code)?;
            stats::bump(w, now, "sms_given_up", &job.kind)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(1), 2);
        assert_eq!(super::backoff(2), 4);
        assert_eq!(super::backoff(5), 32);
        assert_eq!(super::backoff(30), 300);
    }
}

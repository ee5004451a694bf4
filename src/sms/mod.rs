//! SMS delivery from the durable queue in the database.
//!
//! Messages are queued inside the transaction of the action that causes them
//! (so an acknowledged action always has its SMS), then this worker delivers
//! them: `outbox` keeps them for admins to read, `http` POSTs
//! `{"id","to","text"}` to the gateway and retries with backoff until a 2xx.
//! A dead gateway only delays the queue; no user request waits on it.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::config::SmsProvider;
use crate::metrics::Metrics;
use crate::store::sms::{self, SmsJob};
use crate::util::mask_digits;

/// Delay before retry number `attempts` (1-based), in seconds.
pub fn backoff(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(10);
    (2i64 << exp).min(300)
}

pub struct Worker {
    app: Arc<App>,
    client: reqwest::Client,
}

impl Worker {
    pub fn new(app: Arc<App>) -> Worker {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Worker { app, client }
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

    /// Delivers what is due, records every outcome in one write, and
    /// returns when the next job is due. The store work runs on the
    /// background pool ([`App::db_background`]).
    pub async fn tick(&self) -> crate::error::AppResult<Option<i64>> {
        let now = self.app.now();
        let (jobs, next) = self
            .app
            .db_background(move |app| {
                Ok(app
                    .store
                    .read(|r| Ok((sms::due(r, now, BATCH)?, sms::next_due_at(r)?)))?)
            })
            .await?;
        if jobs.is_empty() {
            return Ok(next);
        }
        let mut handles = vec![];
        for job in jobs {
            let (app, client) = (self.app.clone(), self.client.clone());
            handles.push(tokio::spawn(async move {
                let result = attempt(&app, &client, &job).await;
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
        let scrub = self.app.cfg.sms_provider == SmsProvider::Http;
        self.app
            .db_background(move |app| {
                let now = app.now();
                Ok(app.store.write(|w| {
                    for (job, result) in &outcomes {
                        record(w, job, result, now, scrub)?;
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

/// One delivery attempt; logs and counts it.
async fn attempt(app: &App, client: &reqwest::Client, job: &SmsJob) -> Result<(), String> {
    let result: Result<(), String> = match app.cfg.sms_provider {
        SmsProvider::Outbox => {
            // Never the text: it may hold a code or a password.
            tracing::info!(id = job.id, to = %mask_digits(&job.to), kind = %job.kind, "sms kept in the outbox (province admins read it at Tin nhắn SMS)");
            Ok(())
        }
        SmsProvider::Http => {
            let url = app.cfg.sms_http_url.clone().unwrap_or_default();
            let body = serde_json::json!({"id": job.uid, "to": job.to, "text": job.text});
            match client.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("gateway answered {}", r.status())),
                Err(e) => Err(format!("gateway unreachable: {}", e.without_url())),
            }
        }
    };
    match &result {
        Ok(()) => Metrics::inc(&app.metrics.sms_delivered_total),
        Err(e) => {
            Metrics::inc(&app.metrics.sms_attempt_failures_total);
            tracing::warn!(id = job.id, attempts = job.attempts + 1, error = %e, "sms delivery failed, will retry");
        }
    }
    result
}

/// Records one attempt's outcome in the caller's transaction.
fn record(
    w: &redb::WriteTransaction,
    job: &SmsJob,
    result: &Result<(), String>,
    now: i64,
    scrub: bool,
) -> crate::store::Result<()> {
    match result {
        Ok(()) => {
            sms::mark_sent(w, job.id, now, scrub)?;
            crate::store::stats::bump(w, now, "sms_delivered", &job.kind)
        }
        Err(e) => {
            sms::mark_failed(w, job.id, e, now + backoff(job.attempts + 1))?;
            crate::store::stats::bump(w, now, "sms_failed_attempts", &job.kind)
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

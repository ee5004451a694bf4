//! Read-only queries behind console pages, `/metrics` and `/healthz`: the
//! web layer asks here instead of reading the store. Each runs on a store
//! pool (scans on the heavy one) and checks who may ask.

use std::sync::Arc;

use crate::app::App;
use crate::domain::Permission;
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::accounts::{self, Account};
use crate::store::audit::{self, AuditEntry, AuditFilter};
use crate::store::sms::{self, Health, Receipt, SmsJob};
use crate::store::stats::{self, Row};

fn superadmin(actor: &Actor) -> AppResult<()> {
    if actor.account.superadmin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The audit log (province admin), newest first, at most `limit` entries.
pub async fn audit_log(
    app: &Arc<App>,
    actor: &Actor,
    filter: AuditFilter,
    limit: usize,
) -> AppResult<Vec<AuditEntry>> {
    superadmin(actor)?;
    app.db_heavy(move |app| Ok(app.store.read(|r| audit::search(r, &filter, limit))?))
        .await
}

/// The last `limit` SMS with their delivery reports, and the provider's
/// configuration error if it has one (province admin).
pub async fn sms_log(
    app: &Arc<App>,
    actor: &Actor,
    limit: usize,
) -> AppResult<(Vec<(SmsJob, Option<Receipt>)>, Option<Health>)> {
    superadmin(actor)?;
    let provider = app.cfg.sms_provider.name();
    app.db(move |app| {
        Ok(app.store.read(|r| {
            let jobs = sms::recent(r, limit)?
                .into_iter()
                .map(|j| {
                    let rec = sms::receipt(r, j.id)?;
                    Ok((j, rec))
                })
                .collect::<crate::store::Result<Vec<_>>>()?;
            Ok((jobs, sms::config_error(r, provider)?))
        })?)
    })
    .await
}

/// Daily rows of a statistics metric between two days (`YYYYMMDD`),
/// for a staff member holding `stats.view`. Blocking: call it inside a
/// store-pool closure (the statistics page reads several metrics at once).
pub fn stats_rows(
    app: &App,
    actor: &Actor,
    metric: &str,
    from: &str,
    to: &str,
) -> AppResult<Vec<Row>> {
    if !actor.account.has_any(Permission::StatsView) {
        return Err(AppError::Forbidden);
    }
    Ok(app.store.read(|t| stats::range(t, metric, from, to))?)
}

/// Accounts by username, in order (`None` where there is none), for pages
/// that show people next to their requests. The caller has already
/// decided the actor may see these requests.
pub async fn accounts_named(app: &Arc<App>, names: Vec<String>) -> AppResult<Vec<Option<Account>>> {
    app.db(move |app| {
        Ok(app.store.read(|r| {
            names
                .iter()
                .map(|n| accounts::get(r, n))
                .collect::<crate::store::Result<Vec<_>>>()
        })?)
    })
    .await
}

/// One account by username (see [`accounts_named`]).
pub async fn account_named(app: &Arc<App>, name: &str) -> AppResult<Option<Account>> {
    Ok(accounts_named(app, vec![name.to_string()])
        .await?
        .pop()
        .flatten())
}

/// Gauges for `/metrics`: SMS waiting, units, bot messages waiting per
/// channel.
pub struct Gauges {
    pub sms_due: u64,
    pub units: u64,
    pub outbox: Vec<(&'static str, u64)>,
}

pub async fn gauges(app: &Arc<App>) -> Gauges {
    app.db(|app| {
        Ok(app.store.read(|r| {
            Ok(Gauges {
                sms_due: sms::DUE.len(r)?,
                units: crate::store::units::UNITS.len(r)?,
                outbox: crate::domain::Channel::ALL
                    .iter()
                    .map(|c| Ok((c.as_str(), crate::store::outbox::pending(r, *c)?)))
                    .collect::<crate::store::Result<Vec<_>>>()?,
            })
        })?)
    })
    .await
    .unwrap_or(Gauges {
        sms_due: 0,
        units: 0,
        outbox: vec![],
    })
}

/// Whether the store answers (one point read: `/healthz`).
pub fn store_reachable(app: &App) -> bool {
    app.store.read(crate::store::meta::schema_version).is_ok()
}

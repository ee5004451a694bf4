//! Background work started with `serve`: SMS delivery and clean-up.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::App;
use crate::auth::session::{ABSOLUTE_SECS, IDLE_SECS};
use crate::store::{flows, lease, sessions};

pub fn spawn(app: Arc<App>, stop: tokio::sync::watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let sms = tokio::spawn(crate::sms::Worker::new(app.clone()).run(stop.clone()));
    let mut v = vec![sms];
    if app.cfg.backup_every_hours > 0 {
        v.push(tokio::spawn(backup_loop(app.clone(), stop.clone())));
    }
    v.push(tokio::spawn(faq_watch_loop(app.clone(), stop.clone())));
    v.extend(crate::channels::spawn(app.clone(), stop.clone()));
    v.push(tokio::spawn(cleanup_loop(app, stop)));
    v
}

async fn cleanup_loop(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = app.now();
        let r = app
            .db_background(move |app| {
                Ok(app.store.write(|w| {
                    let f = flows::purge_expired(w, now)?.len();
                    let s = sessions::purge_expired(w, now - IDLE_SECS, now - ABSOLUTE_SECS)?;
                    // Outbox texts with codes or passwords stay readable 15 minutes.
                    crate::store::sms::scrub_before(w, now - 15 * 60)?;
                    crate::store::throttles::purge_expired(w, now)?;
                    crate::store::captchas::purge_expired(w, now)?;
                    Ok::<_, crate::store::StoreError>((f, s))
                })?)
            })
            .await;
        if let Err(e) = crate::flows::citizen_accounts::sweep(&app).await {
            tracing::warn!(error = %e, "expired citizen-account requests not swept");
        }
        match r {
            Ok((f, s)) if f + s > 0 => {
                tracing::debug!(flows = f, sessions = s, "expired records removed")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cleanup failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Scheduled backups: every minute an instance asks whether the period
/// has come ([`lease::claim_period`], kept in the database), so the
/// schedule survives restarts and, with several instances on one
/// database, exactly one of them writes each backup.
async fn backup_loop(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = (app.cfg.backup_every_hours * 3600) as i64;
    loop {
        let keep = app.cfg.backup_keep;
        let r = app
            .db(move |app| {
                let now = app.now();
                let mine = app
                    .store
                    .write(|w| lease::claim_period(w, "backup", every, now))?;
                if !mine {
                    return Ok(None);
                }
                crate::backup::scheduled(
                    &app.store,
                    &app.cfg.data_dir,
                    keep,
                    app.cfg.backup_passphrase.as_deref(),
                )
                .map(Some)
                .map_err(|e| crate::error::AppError::internal_from("failed", e))
            })
            .await;
        match r {
            Ok(Some(p)) => tracing::info!(file = %p.display(), "scheduled backup written"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Runs `duty` while this process holds the lease `name` (see
/// [`lease`]): it waits while another instance holds it, renews it every
/// [`lease::RENEW_SECS`], and stops the duty (its own stop signal fires)
/// when a renewal finds the lease taken by another instance. A duty that
/// ends by itself gives the lease up. On redb (one process per database)
/// the duty simply runs.
pub async fn under_lease<F, Fut>(
    app: Arc<App>,
    name: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    duty: F,
) where
    F: Fn(tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if !app.store.is_shared() {
        duty(stop).await;
        return;
    }
    let renew = Duration::from_secs(lease::RENEW_SECS);
    loop {
        while !take_lease(&app, name).await {
            tokio::select! {
                _ = tokio::time::sleep(renew) => {}
                _ = stop.changed() => return,
            }
        }
        tracing::info!(duty = name, "this instance took the duty");
        let (tx, rx) = tokio::sync::watch::channel(false);
        let work = duty(rx);
        tokio::pin!(work);
        loop {
            tokio::select! {
                _ = &mut work => {
                    release_lease(&app, name).await;
                    return;
                }
                _ = tokio::time::sleep(renew) => {
                    if !take_lease(&app, name).await {
                        tracing::warn!(duty = name, "lease lost to another instance; duty stopped here");
                        let _ = tx.send(true);
                        work.as_mut().await;
                        break;
                    }
                }
                _ = stop.changed() => {
                    let _ = tx.send(true);
                    work.as_mut().await;
                    release_lease(&app, name).await;
                    return;
                }
            }
        }
    }
}

/// Takes (or renews) the lease `name` for this instance (`App::instance`);
/// false while another live instance holds it, or when the database does
/// not answer.
pub async fn take_lease(app: &Arc<App>, name: &'static str) -> bool {
    app.db(move |a| {
        let now = chrono::Utc::now().timestamp();
        let me = a.instance.until(now + lease::TTL_SECS);
        Ok(a.store.write(|w| lease::take(w, name, &me, now))?)
    })
    .await
    .is_ok_and(|r| r.is_ok())
}

/// Gives the lease `name` up when this instance holds it.
pub async fn release_lease(app: &Arc<App>, name: &'static str) {
    let _ = app
        .db(move |a| {
            let holder = a.instance.holder.clone();
            Ok(a.store.write(|w| lease::release(w, name, &holder))?)
        })
        .await;
}

/// Picks up a knowledge-base version published by another instance (it
/// polls the newest version number in the store twice a second: one point
/// read; with the rebuild, a new version is in use within a second) and
/// edited FAQ files in `<data dir>/faq`, without a restart. The instance
/// that publishes swaps its own knowledge base at once. On a shared
/// database the unit tree is checked the same way (`units::version`).
async fn faq_watch_loop(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        let a = app.clone();
        let _ = tokio::task::spawn_blocking(move || a.reload_bot_if_changed()).await;
        // Units changed by another process on the same PostgreSQL database.
        if app.store.is_shared() {
            let a = app.clone();
            if let Ok(Err(e)) =
                tokio::task::spawn_blocking(move || a.reload_tree_if_changed()).await
            {
                tracing::warn!(error = %e, "cannot check the unit tree's version");
            }
        }
    }
}

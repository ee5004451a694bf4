//! Bot channels: transports only. Each turns what a citizen sent into a
//! `flows::chat::Incoming` and renders the flow's answers for its medium;
//! the conversation logic is the same everywhere (`flows::chat`).
//!
//! Outgoing Telegram and Zalo messages go through the durable queue in
//! redb (`store::outbox`). Each channel has its own worker, HTTP client and
//! due list, so a channel that is down only delays itself. Verified webhook
//! events are written to an inbox first, acknowledged, then processed in
//! the background (and again after a restart if the process stopped
//! between the two).

pub mod telegram;
pub mod web;
pub mod zalo;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::domain::{Button, Channel};
use crate::flows::chat;
use crate::store::conversations as conv;
use crate::store::outbox::{self, OutJob, OutStatus};

/// Starts the channel workers that the settings enable.
pub fn spawn(app: Arc<App>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut v = vec![];
    match telegram::Telegram::shared(&app.cfg) {
        Ok(Some(tg)) => {
            v.push(tokio::spawn(run_outbox(
                app.clone(),
                Transport::Telegram(tg.clone()),
                stop.clone(),
            )));
            if app.cfg.telegram_webhook_secret.is_some() {
                v.push(tokio::spawn(telegram::register_webhook(
                    app.clone(),
                    tg,
                    stop.clone(),
                )));
            } else {
                // One instance polls at a time: getUpdates callers take
                // each other's updates.
                let a = app.clone();
                v.push(tokio::spawn(crate::workers::under_lease(
                    app.clone(),
                    "telegram-poll",
                    stop.clone(),
                    move |stop| telegram::poll(a.clone(), tg.clone(), stop),
                )));
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "Telegram channel not started"),
    }
    if let Some(z) = zalo::Zalo::from_config(&app) {
        v.push(tokio::spawn(run_outbox(
            app.clone(),
            Transport::Zalo(Arc::new(z)),
            stop.clone(),
        )));
    }
    v.push(tokio::spawn(inbox_loop(app, stop)));
    v
}

/// Why a send failed.
#[derive(Debug)]
pub enum SendError {
    /// Try again later (after `after` seconds when the service said so).
    Retry { error: String, after: Option<i64> },
    /// The service refused the message for good.
    Permanent(String),
}

/// The outgoing side of a channel.
#[derive(Clone)]
pub enum Transport {
    Telegram(Arc<telegram::Telegram>),
    Zalo(Arc<zalo::Zalo>),
}

impl Transport {
    fn channel(&self) -> Channel {
        match self {
            Transport::Telegram(_) => Channel::Telegram,
            Transport::Zalo(_) => Channel::Zalo,
        }
    }

    async fn send(&self, app: &Arc<App>, job: &OutJob) -> Result<(), SendError> {
        match self {
            Transport::Telegram(t) => t.send(job).await,
            Transport::Zalo(z) => z.send(app, job).await,
        }
    }
}

/// Chats served at once by one channel worker.
const PARALLEL_CHATS: usize = 16;

/// Drains one channel's queue until `stop`: due jobs grouped by chat, each
/// chat's messages in order, chats in parallel; a failure retries with
/// backoff and holds that chat's later messages behind it.
pub async fn run_outbox(app: Arc<App>, t: Transport, mut stop: watch::Receiver<bool>) {
    let ch = t.channel();
    let mut rx = app.outbox_wake.subscribe(ch);
    let sem = Arc::new(Semaphore::new(PARALLEL_CHATS));
    tracing::info!(channel = ch.as_str(), "channel delivery started");
    loop {
        rx.mark_unchanged();
        let next = match outbox_tick(&app, &t, &sem).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(channel = ch.as_str(), error = %e, "channel delivery");
                None
            }
        };
        let wait = match next {
            Some(at) => (at - app.now()).clamp(0, 5),
            None => 5,
        };
        if wait == 0 && next.is_some() {
            continue;
        }
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64 * 1000 + 20)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn outbox_tick(
    app: &Arc<App>,
    t: &Transport,
    sem: &Arc<Semaphore>,
) -> crate::error::AppResult<Option<i64>> {
    let ch = t.channel();
    let now = app.now();
    let jobs = app
        .db(move |app| {
            let me = &app.instance;
            // Read first: an idle tick writes nothing.
            if !app.store.read(|r| outbox::claimable(r, ch, me, now))? {
                return Ok(vec![]);
            }
            Ok(app
                .store
                .write(|w| outbox::claim(w, ch, me, now, CLAIM_BATCH))?)
        })
        .await?;
    let mut by_chat: Vec<(String, Vec<OutJob>)> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    for j in jobs {
        match index.get(&j.peer) {
            Some(i) => by_chat[*i].1.push(j),
            None => {
                index.insert(j.peer.clone(), by_chat.len());
                by_chat.push((j.peer.clone(), vec![j]));
            }
        }
    }
    let mut handles = vec![];
    for (_, jobs) in by_chat {
        let (app, t, sem) = (app.clone(), t.clone(), sem.clone());
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            send_chat(&app, &t, jobs).await;
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    app.db(move |app| Ok(app.store.read(|r| outbox::next_due_at(r, ch))?))
        .await
}

/// Jobs one round claims; with [`PARALLEL_CHATS`] at a time, a round ends
/// well within a claim even when every send waits for its timeout.
const CLAIM_BATCH: usize = 64;

/// Sends one claimed chat's messages in order; stops at the first failure,
/// or when the claim is about to run out (the rest are due again when it
/// has), and frees the chat with the last write.
async fn send_chat(app: &Arc<App>, t: &Transport, jobs: Vec<OutJob>) {
    let ch = t.channel();
    let Some(peer) = jobs.first().map(|j| j.peer.clone()) else {
        return;
    };
    for (i, job) in jobs.iter().enumerate() {
        if app.now() >= job.next_attempt_at - outbox::CLAIM_MARGIN_SECS {
            return;
        }
        let result = t.send(app, job).await;
        let now = app.now();
        let id = job.id;
        let attempts = job.attempts + 1;
        let rest: Vec<u64> = jobs[i + 1..].iter().map(|j| j.id).collect();
        let failed = result.is_err();
        let peer = peer.clone();
        let r = app
            .db(move |app| {
                Ok(app.store.write(|w| {
                    if failed || rest.is_empty() {
                        outbox::release_chat(w, ch, &peer)?;
                    }
                    match &result {
                        Ok(()) => {
                            outbox::mark_sent(w, id, now)?;
                            crate::store::stats::bump(w, now, "bot_messages_sent", ch.as_str())
                        }
                        Err(e) => {
                            let (error, after, permanent) = match e {
                                SendError::Retry { error, after } => {
                                    (error.as_str(), *after, false)
                                }
                                SendError::Permanent(error) => (error.as_str(), None, true),
                            };
                            let retry_at =
                                now + after.unwrap_or_else(|| crate::sms::backoff(attempts));
                            let status = outbox::mark_failed(w, id, error, retry_at, permanent)?;
                            if status == Some(OutStatus::Dead) {
                                tracing::warn!(
                                    channel = ch.as_str(),
                                    id,
                                    error,
                                    "channel message given up"
                                );
                            } else {
                                tracing::warn!(
                                    channel = ch.as_str(),
                                    id,
                                    attempts,
                                    error,
                                    "channel message failed, will retry"
                                );
                            }
                            for later in &rest {
                                outbox::postpone(w, *later, retry_at)?;
                            }
                            Ok(())
                        }
                    }
                })?)
            })
            .await;
        if let Err(e) = r {
            tracing::error!(channel = ch.as_str(), error = %e, "cannot record channel delivery");
            return;
        }
        if failed {
            return;
        }
    }
}

/// Processes webhook events left in the inbox (after a restart), and
/// forgets old event ids now and then.
async fn inbox_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut round: u64 = 0;
    loop {
        let pending = app
            .db(|app| Ok(app.store.read(|r| conv::inbox_pending(r, 100))?))
            .await
            .unwrap_or_default();
        for id in pending {
            process_inbox(&app, id).await;
        }
        if round.is_multiple_of(120) {
            let before = app.now() - 7 * 86_400;
            let _ = app
                .db(move |app| Ok(app.store.write(|w| conv::purge_seen(w, before))?))
                .await;
        }
        round += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Stores a verified webhook event; true when it is safely kept.
pub async fn accept_event(app: &Arc<App>, ch: Channel, payload: Vec<u8>) -> Option<u64> {
    let now = app.now();
    match app
        .db(move |app| Ok(app.store.write(|w| conv::inbox_put(w, ch, &payload, now))?))
        .await
    {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(channel = ch.as_str(), error = %e, "cannot keep a webhook event");
            None
        }
    }
}

/// Turns one inbox event into conversation turns, then drops it.
/// Redelivery is harmless: the flow ignores an event id it has seen.
pub async fn process_inbox(app: &Arc<App>, id: u64) {
    let ev = match app
        .db(move |app| Ok(app.store.read(|r| conv::inbox_get(r, id))?))
        .await
    {
        Ok(Some(ev)) => ev,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a webhook event");
            return;
        }
    };
    let incoming = match ev.channel {
        Channel::Zalo => zalo::incoming(&ev.payload),
        Channel::Telegram => telegram::incoming_from_json(app, &ev.payload).await,
        Channel::Web => None,
    };
    if let Some(inc) = incoming
        && let Err(e) = chat::receive(app, inc).await
    {
        tracing::warn!(channel = ev.channel.as_str(), error = %e, "webhook event not processed");
    }
    let _ = app
        .db(move |app| Ok(app.store.write(|w| conv::inbox_delete(w, id))?))
        .await;
}

/// `**bold**` as Telegram HTML, everything else escaped.
pub fn to_html(text: &str) -> String {
    let esc = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::with_capacity(esc.len());
    let mut open = false;
    let parts: Vec<&str> = esc.split("**").collect();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        out.push_str(p);
        if i + 1 < n {
            // An unpaired last marker stays as text.
            if !open && i + 2 >= n {
                out.push_str("**");
            } else {
                out.push_str(if open { "</b>" } else { "<b>" });
                open = !open;
            }
        }
    }
    out
}

/// Plain text (for Zalo): `**` markers dropped, buttons as a numbered list
/// the citizen answers with a number.
pub fn to_plain(text: &str, buttons: &[Button], lang: &str) -> String {
    let mut out = text.replace("**", "");
    if !buttons.is_empty() {
        out.push_str(if lang == "en" {
            "\n\nReply with a number to choose:"
        } else {
            "\n\nAnh/chị nhắn số tương ứng để chọn:"
        });
        for (i, b) in buttons.iter().enumerate() {
            out.push_str(&format!("\n{}. {}", i + 1, b.label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_becomes_html_and_text_is_escaped() {
        assert_eq!(
            to_html("Bấm **Quên mật khẩu** <ngay> & chờ"),
            "Bấm <b>Quên mật khẩu</b> &lt;ngay&gt; &amp; chờ"
        );
        assert_eq!(to_html("a ** b"), "a ** b");
        assert_eq!(to_html("**x** và **y"), "<b>x</b> và **y");
    }

    #[test]
    fn plain_text_lists_the_buttons() {
        let b = vec![
            Button {
                id: "a".into(),
                label: "Quên mật khẩu".into(),
            },
            Button {
                id: "handoff".into(),
                label: "Gặp cán bộ hỗ trợ".into(),
            },
        ];
        let t = to_plain("Bấm **Đăng nhập**.", &b, "vi");
        assert!(t.starts_with("Bấm Đăng nhập."));
        assert!(t.ends_with("1. Quên mật khẩu\n2. Gặp cán bộ hỗ trợ"));
    }
}

//! What the portal's anonymous OTP journeys (registration, password reset)
//! share: a flow that lives a fixed time, a code sent at the start and
//! again on request after the cooldown (each send counted against the IP
//! cap and the day's SMS budget), the code step with its wrong-code count
//! and expiry ([`otp_flow`](super::otp_flow)), the checks before the new
//! password, and the notices sent without a code.
//!
//! Each journey is a [`Journey`] value; what differs (the form of step 1,
//! whom a code goes to, what the password creates) stays in its module.

use std::sync::Arc;

use crate::app::App;
use crate::domain::PhoneNumber;
use crate::error::{AppError, AppResult};
use crate::flows::otp_flow::{live_flow, take_ip_send, take_ip_send_in, verify_flow_otp};
use crate::sms::template::{Id as Template, THOI_GIAN, Vars};
use crate::store::WriteTx;
use crate::store::flows::Flow;
use crate::util;

/// One OTP journey: its flow kind, lifetime, code template and messages.
#[derive(Debug)]
pub struct Journey {
    pub kind: &'static str,
    /// A flow must be finished this long after it starts (seconds).
    pub ttl: i64,
    /// The SMS template of its codes (and of its IP and budget checks).
    pub template: Template,
    /// Issues a new code of a flow on request (see [`Journey::resend`]).
    pub issue: Issue,
    /// Whether its answers show the (masked) phone the code went to.
    pub shows_phone: bool,
    /// The 409 of a resend after the code was accepted.
    pub already_verified: &'static str,
    /// The 409 of the password step before the code was accepted.
    pub not_verified: &'static str,
}

/// Issues a flow's code (again) inside the write that saves it.
pub type Issue = fn(&App, &WriteTx, &mut Flow, i64) -> AppResult<()>;

/// A live flow as the pages and the API show it.
#[derive(Debug, Clone)]
pub struct Started {
    pub flow_id: String,
    /// Masked; empty where the journey does not show the phone.
    pub phone_masked: String,
    /// Seconds until a new code may be asked for.
    pub resend_in: i64,
    /// Seconds until the flow expires.
    pub expires_in: i64,
}

impl Journey {
    /// A new flow of this journey, started `now` from `ip`.
    pub fn new_flow(
        &self,
        now: i64,
        username: Option<String>,
        phone: Option<String>,
        payload: Vec<u8>,
        ip: &str,
    ) -> Flow {
        Flow {
            username,
            phone,
            payload,
            ip: ip.to_string(),
            ..Flow::new(util::random_token(), self.kind, now, now + self.ttl)
        }
    }

    pub fn started(&self, flow: &Flow, now: i64) -> Started {
        Started {
            flow_id: flow.id.clone(),
            phone_masked: flow
                .phone
                .as_deref()
                .filter(|_| self.shows_phone)
                .and_then(|p| PhoneNumber::parse(p).ok())
                .map(|p| p.masked())
                .unwrap_or_default(),
            resend_in: flow.otp.as_ref().map_or(0, |o| o.resend_wait(now)),
            expires_in: (flow.expires_at - now).max(0),
        }
    }

    /// Step 1 around the journey's own `work` (run on the blocking pool
    /// with `now` and the client's IP; it creates the flow and issues its
    /// code): first the IP cap and the day's SMS budget, last a wake-up of
    /// the SMS worker.
    pub async fn start(
        &self,
        app: &Arc<App>,
        ip: &str,
        work: impl FnOnce(&App, i64, String) -> AppResult<Started> + Send + 'static,
    ) -> AppResult<Started> {
        let now = app.now();
        take_ip_send(app, ip, self.template, now)?;
        let ip = ip.to_string();
        let r = app.db(move |app| work(app, now, ip)).await?;
        app.sms_wake.notify_one();
        Ok(r)
    }

    /// A new code after the cooldown (the old one stops working), issued
    /// by the journey's `issue`; 409 once the code was accepted.
    pub async fn resend(&'static self, app: &Arc<App>, flow_id: &str) -> AppResult<Started> {
        let now = app.now();
        let flow_id = flow_id.to_string();
        let r = app
            .db(move |app| {
                app.store.write(|w| {
                    let mut flow = live_flow(w, &flow_id, self.kind, now)?;
                    if flow.verified {
                        return Err(AppError::Conflict(self.already_verified.into()));
                    }
                    take_ip_send_in(app, w, &flow.ip, self.template, now)?;
                    (self.issue)(app, w, &mut flow, now)?;
                    Ok(self.started(&flow, now))
                })
            })
            .await?;
        app.sms_wake.notify_one();
        Ok(r)
    }

    /// What the pages show for a live flow (410 otherwise): the flow and
    /// whether its code was accepted.
    pub async fn describe(
        &'static self,
        app: &Arc<App>,
        flow_id: &str,
    ) -> AppResult<(Started, bool)> {
        let now = app.now();
        let flow_id = flow_id.to_string();
        app.db(move |app| {
            let flow = app
                .store
                .read(|r| Ok(live_flow(r, &flow_id, self.kind, now)))??;
            Ok((self.started(&flow, now), flow.verified))
        })
        .await
    }

    /// Step 2: the code.
    pub async fn verify_otp(&self, app: &Arc<App>, flow_id: &str, code: &str) -> AppResult<()> {
        verify_flow_otp(app, flow_id, self.kind, code).await
    }

    /// The live flow whose code was accepted, read `now` before the
    /// password step (410 when gone, 409 before the code).
    pub async fn verified_flow(
        &'static self,
        app: &Arc<App>,
        flow_id: &str,
        now: i64,
    ) -> AppResult<Flow> {
        let flow_id = flow_id.to_string();
        let flow = app
            .db(move |app| {
                app.store
                    .read(|r| Ok(live_flow(r, &flow_id, self.kind, now)))?
            })
            .await?;
        if !flow.verified {
            return Err(self.not_verified());
        }
        Ok(flow)
    }

    /// The 409 of the password step before the code was accepted.
    pub fn not_verified(&self) -> AppError {
        AppError::Conflict(self.not_verified.into())
    }
}

/// Queues a notice (`template` with the time) to `phone`; past the day's
/// SMS budget it is skipped, as the journey's answers must not change.
pub fn queue_notice(
    app: &App,
    w: &WriteTx,
    template: Template,
    phone: &str,
    now: i64,
) -> AppResult<()> {
    match crate::sms::queue(
        app,
        w,
        template,
        phone,
        &Vars::new().with(THOI_GIAN.name, util::fmt_time(now)),
        now,
    ) {
        Err(AppError::Limited { .. }) => Ok(()),
        r => r.map(|_| ()),
    }
}

//! The durable SMS queue.

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::lease::Lease;
use super::{Index, Result, Table, Tx, meta, stats};
use crate::sms::template::Initiator;

pub const SMS: Table<SmsJob> = Table::new("sms");
/// (next_attempt_at BE, id BE) → () for jobs still to send.
pub const DUE: Index = Table::new("sms_due");
/// id → the claim (holder, host, process, until) of a job being sent.
pub const CLAIMS: Table<Lease> = Table::new("sms_claims");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmsStatus {
    Pending,
    Sent,
    /// The provider said this message can never go (invalid or blocked
    /// number). New variants go last: stored jobs keep their meaning.
    GaveUp,
}

/// What the provider said about a job, and the final status its delivery
/// receipt reported (kept apart from [`SmsJob`] so that stored jobs keep
/// their format).
pub const RECEIPTS: Table<Receipt> = Table::new("webhooks::sms");
/// `<provider>\0<provider's message id>` → job id, for receipts.
pub const BY_PROVIDER_ID: Table<u64> = Table::new("sms_by_provider_id");
/// `provider` → the last configuration error, until a message goes out.
pub const HEALTH: Table<Health> = Table::new("sms_health");

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub provider: String,
    /// The provider's message id (eSMS `SMSID`, SpeedSMS `tranId`).
    pub provider_id: Option<String>,
    /// The provider's last error code, if any.
    pub code: Option<String>,
    /// Segments the text cost when accepted.
    pub segments: u32,
    /// The final status from the delivery receipt: `Some(true)`
    /// delivered, `Some(false)` failed, `None` not reported (yet).
    pub delivered: Option<bool>,
    pub reported_at: Option<i64>,
}

/// A configuration error of the SMS provider, shown to the province admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub provider: String,
    pub code: String,
    /// Vietnamese explanation for the admin.
    pub message: String,
    pub since: i64,
    pub last_at: i64,
    /// Messages that met it since `since`.
    pub count: u64,
}

fn provider_key(provider: &str, id: &str) -> String {
    format!("{provider}\0{id}")
}

/// Records that the provider accepted job `id` as its message `provider_id`.
pub fn record_accepted(
    w: &WriteTx,
    id: u64,
    provider: &str,
    provider_id: Option<&str>,
    segments: u32,
) -> Result<()> {
    let mut r = RECEIPTS.get(w, &id)?.unwrap_or_default();
    r.provider = provider.to_string();
    r.provider_id = provider_id.map(str::to_string);
    r.code = None;
    r.segments = segments;
    RECEIPTS.put(w, &id, &r)?;
    if let Some(pid) = provider_id {
        BY_PROVIDER_ID.put(w, &provider_key(provider, pid), &id)?;
    }
    Ok(())
}

/// Records the provider's error code for job `id`.
pub fn record_code(w: &WriteTx, id: u64, provider: &str, code: &str) -> Result<()> {
    let mut r = RECEIPTS.get(w, &id)?.unwrap_or_default();
    r.provider = provider.to_string();
    r.code = Some(code.chars().take(40).collect());
    RECEIPTS.put(w, &id, &r)
}

/// Applies a delivery receipt; returns the job it was for (None when the
/// provider's id is unknown, or the receipt was already applied).
pub fn apply_receipt(
    w: &WriteTx,
    provider: &str,
    provider_id: &str,
    delivered: bool,
    now: i64,
) -> Result<Option<SmsJob>> {
    let Some(id) = BY_PROVIDER_ID.get(w, &provider_key(provider, provider_id))? else {
        return Ok(None);
    };
    let mut r = RECEIPTS.get(w, &id)?.unwrap_or_default();
    if r.delivered.is_some() {
        return Ok(None);
    }
    r.delivered = Some(delivered);
    r.reported_at = Some(now);
    RECEIPTS.put(w, &id, &r)?;
    SMS.get(w, &id)
}

/// Marks a job that can never go: out of the queue, kept for the record.
pub fn mark_gave_up(w: &WriteTx, id: u64, error: &str) -> Result<()> {
    CLAIMS.delete(w, &id)?;
    if let Some(mut j) = SMS.get(w, &id)? {
        DUE.delete(w, &due_key(j.next_attempt_at, id))?;
        j.attempts += 1;
        j.last_error = Some(error.chars().take(300).collect());
        j.status = SmsStatus::GaveUp;
        SMS.put(w, &id, &j)?;
    }
    Ok(())
}

/// Notes a configuration error; returns true when it is new (first of its
/// code), so the log says it once.
pub fn note_config_error(
    w: &WriteTx,
    provider: &str,
    code: &str,
    message: &str,
    now: i64,
) -> Result<bool> {
    let old = HEALTH.get(w, provider)?;
    let (new, h) = match old {
        Some(mut h) if h.code == code => {
            h.last_at = now;
            h.count += 1;
            (false, h)
        }
        _ => (
            true,
            Health {
                provider: provider.to_string(),
                code: code.to_string(),
                message: message.to_string(),
                since: now,
                last_at: now,
                count: 1,
            },
        ),
    };
    HEALTH.put(w, provider, &h)?;
    Ok(new)
}

/// Clears the configuration error once a message went out.
pub fn clear_config_error(w: &WriteTx, provider: &str) -> Result<()> {
    HEALTH.delete(w, provider).map(|_| ())
}

/// The provider's standing configuration error, if any.
pub fn config_error(tx: &impl Tx, provider: &str) -> Result<Option<Health>> {
    HEALTH.get(tx, provider)
}

/// The receipt of job `id`, if the provider said anything.
pub fn receipt(tx: &impl Tx, id: u64) -> Result<Option<Receipt>> {
    RECEIPTS.get(tx, &id)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsJob {
    pub id: u64,
    /// Unique id sent to the gateway (idempotency on retries).
    pub uid: String,
    pub to: String,
    pub text: String,
    /// What the message is for (otp, password, notice) — for statistics.
    pub kind: String,
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub status: SmsStatus,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    /// Who caused it (the daily budget lets only staff-initiated messages
    /// through once spent). Added in schema 3: postcard does not skip a
    /// missing trailing field, so older jobs are rewritten by
    /// [`migrate_v3`]; `Unknown` for them.
    #[serde(default)]
    pub initiator: Initiator,
}

/// A job as schema 2 stored it (before [`SmsJob::initiator`]).
#[derive(Debug, Clone, Deserialize)]
struct SmsJobV2 {
    id: u64,
    uid: String,
    to: String,
    text: String,
    kind: String,
    created_at: i64,
    attempts: u32,
    next_attempt_at: i64,
    status: SmsStatus,
    sent_at: Option<i64>,
    last_error: Option<String>,
}

/// Schema 2 → 3: every stored job gains its initiator (`Unknown`). In
/// batches, so a long history does not sit in memory at once.
pub fn migrate_v3(w: &WriteTx) -> Result<u64> {
    use std::ops::Bound;
    const BATCH: usize = 5_000;
    let mut start: Vec<u8> = vec![];
    let mut n = 0u64;
    loop {
        let mut batch: Vec<SmsJobV2> = vec![];
        let mut bad = None;
        w.scan_raw(
            SMS.name,
            (Bound::Included(start.as_slice()), Bound::Unbounded),
            false,
            &mut |_, v| {
                match postcard::from_bytes::<SmsJobV2>(v) {
                    Ok(j) => batch.push(j),
                    Err(e) => bad = Some(e.to_string()),
                }
                Ok(bad.is_none() && batch.len() < BATCH)
            },
        )?;
        if let Some(message) = bad {
            return Err(super::StoreError::Corrupt {
                table: SMS.name,
                message,
            });
        }
        for o in &batch {
            let job = SmsJob {
                id: o.id,
                uid: o.uid.clone(),
                to: o.to.clone(),
                text: o.text.clone(),
                kind: o.kind.clone(),
                created_at: o.created_at,
                attempts: o.attempts,
                next_attempt_at: o.next_attempt_at,
                status: o.status,
                sent_at: o.sent_at,
                last_error: o.last_error.clone(),
                initiator: Initiator::Unknown,
            };
            SMS.put(w, &o.id, &job)?;
            n += 1;
        }
        match batch.last() {
            Some(last) if batch.len() == BATCH => {
                start = (last.id + 1).to_be_bytes().to_vec();
            }
            _ => return Ok(n),
        }
    }
}

fn due_key(at: i64, id: u64) -> Vec<u8> {
    let mut k = (at.max(0) as u64).to_be_bytes().to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// `0xxxxxxxxx`.
    pub to: &'a str,
    pub text: &'a str,
    /// `otp`, `password`, `notice`.
    pub kind: &'a str,
    pub initiator: Initiator,
    /// What the text costs as it will be sent (counted in the day's
    /// budget now: every queued message is sent).
    pub segments: u64,
}

/// Day counter of queued segments, per initiator (`stats_daily`).
pub const QUEUED_SEGMENTS: &str = "sms_queued_segments";

fn initiator_dim(i: Initiator) -> &'static str {
    match i {
        Initiator::Staff => "staff",
        Initiator::Citizen => "citizen",
        Initiator::Unknown => "unknown",
    }
}

/// Segments queued on the local day of `at`, all initiators.
pub fn segments_on(tx: &impl Tx, at: i64) -> Result<u64> {
    let mut n = 0;
    for i in [Initiator::Staff, Initiator::Citizen, Initiator::Unknown] {
        n += stats::get(tx, at, QUEUED_SEGMENTS, initiator_dim(i))?;
    }
    Ok(n)
}

/// Queues a message in the caller's transaction: it is sent only if that
/// transaction commits, and is never lost once it has. Counts its
/// segments in the day's total. (The budget rule is the caller's:
/// `sms::queue`.)
pub fn enqueue(w: &WriteTx, m: &Outgoing<'_>, now: i64) -> Result<u64> {
    let id = meta::next_id(w, "sms")?;
    let job = SmsJob {
        id,
        uid: format!("{}-{}", id, crate::util::random_hex(8)),
        to: m.to.to_string(),
        text: m.text.to_string(),
        kind: m.kind.to_string(),
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        status: SmsStatus::Pending,
        sent_at: None,
        last_error: None,
        initiator: m.initiator,
    };
    SMS.put(w, &id, &job)?;
    DUE.put(w, &due_key(now, id), &())?;
    stats::bump_by(
        w,
        now,
        QUEUED_SEGMENTS,
        initiator_dim(m.initiator),
        m.segments,
    )?;
    Ok(id)
}

/// Jobs due at `now`, oldest first.
pub fn due(tx: &impl Tx, now: i64, limit: usize) -> Result<Vec<SmsJob>> {
    let mut ids = vec![];
    DUE.scan_all(tx, false, |k, ()| {
        let at = u64::from_be_bytes(k[..8].try_into().unwrap_or_default()) as i64;
        if at > now || ids.len() >= limit {
            return Ok(false);
        }
        ids.push(u64::from_be_bytes(k[8..16].try_into().unwrap_or_default()));
        Ok(true)
    })?;
    let mut out = vec![];
    for id in ids {
        if let Some(j) = SMS.get(tx, &id)? {
            out.push(j);
        }
    }
    Ok(out)
}

/// How long a claim keeps a job from other instances: longer than an
/// attempt can take (the HTTP client gives up after 10 s).
pub const CLAIM_SECS: i64 = 30;

/// Claims up to `limit` jobs due at `now` for one delivery round, oldest
/// first: each moves [`CLAIM_SECS`] ahead in the due index, so another
/// instance sharing the database does not take it too (writes are
/// serialised, so two claims never overlap). The round settles each job
/// (sent, failed, given up); a claim left unsettled — its instance died —
/// runs out and the job is due again, with the same `uid`, which a gateway
/// that dedups (eSMS's `RequestId`) answers as already accepted.
///
/// Each claim is also recorded with its holder ([`CLAIMS`]): a claim whose
/// holder was a process on this host that no longer exists is released at
/// once (a restart after a crash sends at once, and with redb, where one
/// process has the file, that is every claim left by a crash).
pub fn claim(w: &WriteTx, me: &Lease, now: i64, limit: usize) -> Result<Vec<SmsJob>> {
    let mut free = vec![];
    CLAIMS.scan_all(w, false, |k, c| {
        if c.is_left_for(me, now) {
            free.push((k.to_vec(), c.until));
        }
        Ok(true)
    })?;
    for (k, until) in free {
        CLAIMS.delete(w, k.as_slice())?;
        let Ok(id) = <[u8; 8]>::try_from(k.as_slice()).map(u64::from_be_bytes) else {
            continue;
        };
        if let Some(mut j) = SMS.get(w, &id)?
            && j.status == SmsStatus::Pending
            && j.next_attempt_at == until
            && until > now
        {
            DUE.delete(w, &due_key(until, id))?;
            j.next_attempt_at = now;
            DUE.put(w, &due_key(now, id), &())?;
            SMS.put(w, &id, &j)?;
        }
    }
    let until = now + CLAIM_SECS;
    let mut jobs = due(w, now, limit)?;
    for j in &mut jobs {
        DUE.delete(w, &due_key(j.next_attempt_at, j.id))?;
        j.next_attempt_at = until;
        DUE.put(w, &due_key(until, j.id), &())?;
        SMS.put(w, &j.id, j)?;
        CLAIMS.put(w, &j.id, &me.until(until))?;
    }
    Ok(jobs)
}

/// Whether [`claim`] has anything to do for `me` at `now`: a due job, or a
/// claim left by another holder. A read, so that an idle worker does not
/// write.
pub fn claimable(tx: &impl Tx, me: &Lease, now: i64) -> Result<bool> {
    if next_due_at(tx)?.is_some_and(|at| at <= now) {
        return Ok(true);
    }
    let mut left = false;
    CLAIMS.scan_all(tx, false, |_, c| {
        left = c.is_left_for(me, now);
        Ok(!left)
    })?;
    Ok(left)
}

/// The earliest time a pending job is due, if any.
pub fn next_due_at(tx: &impl Tx) -> Result<Option<i64>> {
    let mut at = None;
    DUE.scan_all(tx, false, |k, ()| {
        at = Some(u64::from_be_bytes(k[..8].try_into().unwrap_or_default()) as i64);
        Ok(false)
    })?;
    Ok(at)
}

/// What replaces a secret-bearing text once it is no longer needed.
pub const SCRUBBED: &str = "[Nội dung có mã bảo mật đã được xóa sau khi gửi]";

/// True for messages that carry a code or a password.
pub fn is_secret_kind(kind: &str) -> bool {
    matches!(kind, "otp" | "password")
}

/// Marks a job delivered; with `scrub`, a text carrying a secret is
/// replaced (the gateway has it; the database need not keep it).
pub fn mark_sent(w: &WriteTx, id: u64, now: i64, scrub: bool) -> Result<()> {
    CLAIMS.delete(w, &id)?;
    if let Some(mut j) = SMS.get(w, &id)? {
        DUE.delete(w, &due_key(j.next_attempt_at, id))?;
        if scrub && is_secret_kind(&j.kind) {
            j.text = SCRUBBED.to_string();
        }
        j.status = SmsStatus::Sent;
        j.sent_at = Some(now);
        j.attempts += 1;
        j.last_error = None;
        SMS.put(w, &id, &j)?;
    }
    Ok(())
}

pub fn mark_failed(w: &WriteTx, id: u64, error: &str, retry_at: i64) -> Result<()> {
    CLAIMS.delete(w, &id)?;
    if let Some(mut j) = SMS.get(w, &id)? {
        DUE.delete(w, &due_key(j.next_attempt_at, id))?;
        j.attempts += 1;
        j.last_error = Some(error.chars().take(300).collect());
        j.next_attempt_at = retry_at;
        DUE.put(w, &due_key(retry_at, id), &())?;
        SMS.put(w, &id, &j)?;
    }
    Ok(())
}

/// Newest first.
pub fn recent(tx: &impl Tx, limit: usize) -> Result<Vec<SmsJob>> {
    let mut out = vec![];
    SMS.scan_all(tx, true, |_, j| {
        out.push(j);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// Scrubs secret-bearing texts of delivered messages created before
/// `before` (the outbox keeps them readable for a short while only).
pub fn scrub_before(w: &WriteTx, before: i64) -> Result<usize> {
    let mut ids = vec![];
    SMS.scan_all(w, true, |_, j| {
        if j.created_at < before && j.status == SmsStatus::Sent && is_secret_kind(&j.kind) {
            if j.text == SCRUBBED {
                return Ok(false);
            }
            ids.push(j.id);
        }
        Ok(true)
    })?;
    for id in &ids {
        if let Some(mut j) = SMS.get(w, id)? {
            j.text = SCRUBBED.to_string();
            SMS.put(w, id, &j)?;
        }
    }
    Ok(ids.len())
}

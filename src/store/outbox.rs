//! The durable queue of outgoing channel messages (Telegram, Zalo), modelled
//! on the SMS queue: a job is written in the transaction of the event that
//! causes it, and a per-channel due index lets each channel's worker take
//! only its own jobs (a channel that is down never delays another).
//! Also the channel credentials that change at run time (Zalo tokens).

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::lease::Lease;
use super::{Index, Result, Table, Tx, meta};
use crate::domain::{Button, Channel};

pub const OUTBOX: Table<OutJob> = Table::new("chat_outbox");
/// (channel byte, next_attempt_at BE, id BE) → () for jobs still to send.
pub const DUE: Index = Table::new("chat_outbox_due");
/// (channel byte, peer) → the claim on that chat's messages being sent.
pub const CLAIMED_CHATS: Table<ChatClaim> = Table::new("chat_outbox_claims");

/// Who sends a chat's claimed messages, until when, and which they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatClaim {
    pub by: Lease,
    pub jobs: Vec<u64>,
}
/// name → tokens kept across restarts (e.g. "zalo").
pub const TOKENS: Table<StoredTokens> = Table::new("channel_tokens");

/// Attempts before a job is given up (about a day with the capped backoff).
pub const MAX_ATTEMPTS: u32 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutStatus {
    Pending,
    Sent,
    /// Given up after [`MAX_ATTEMPTS`] or a permanent refusal.
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutJob {
    pub id: u64,
    pub channel: Channel,
    /// Telegram chat id / Zalo user id.
    pub peer: String,
    pub conversation: String,
    pub text: String,
    pub buttons: Vec<Button>,
    /// "vi" or "en": the language of the words a channel adds.
    pub lang: String,
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub status: OutStatus,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// SHA-256 of the configured tokens these were derived from: when the
    /// operator configures new ones, the configured ones win again.
    pub source: String,
    pub updated_at: i64,
}

fn due_key(channel: Channel, at: i64, id: u64) -> Vec<u8> {
    let mut k = vec![channel.byte()];
    k.extend_from_slice(&(at.max(0) as u64).to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn parse_due(k: &[u8]) -> Option<(i64, u64)> {
    let at = u64::from_be_bytes(k.get(1..9)?.try_into().ok()?) as i64;
    let id = u64::from_be_bytes(k.get(9..17)?.try_into().ok()?);
    Some((at, id))
}

/// What to send and where.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub channel: Channel,
    pub peer: &'a str,
    pub conversation: &'a str,
    pub text: &'a str,
    pub buttons: Vec<Button>,
    pub lang: &'a str,
}

/// Queues a message in the caller's transaction.
pub fn enqueue(w: &WriteTx, new: NewJob<'_>, now: i64) -> Result<u64> {
    let NewJob {
        channel,
        peer,
        conversation,
        text,
        buttons,
        lang,
    } = new;
    let id = meta::next_id(w, "chat_outbox")?;
    let job = OutJob {
        id,
        channel,
        peer: peer.to_string(),
        conversation: conversation.to_string(),
        text: text.to_string(),
        buttons,
        lang: lang.to_string(),
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        status: OutStatus::Pending,
        sent_at: None,
        last_error: None,
    };
    OUTBOX.put(w, &id, &job)?;
    DUE.put(w, &due_key(channel, now, id), &())?;
    Ok(id)
}

/// Jobs of `channel` due at `now`, oldest first.
pub fn due(tx: &impl Tx, channel: Channel, now: i64, limit: usize) -> Result<Vec<OutJob>> {
    let mut ids = vec![];
    DUE.scan_prefix(tx, &[channel.byte()], false, |k, ()| {
        let Some((at, id)) = parse_due(k) else {
            return Ok(true);
        };
        if at > now || ids.len() >= limit {
            return Ok(false);
        }
        ids.push(id);
        Ok(true)
    })?;
    let mut out = vec![];
    for id in ids {
        if let Some(j) = OUTBOX.get(tx, &id)? {
            out.push(j);
        }
    }
    Ok(out)
}

/// How long a claim keeps a chat's jobs from other instances. A round
/// stops sending a chat [`CLAIM_MARGIN_SECS`] before its claim runs out.
pub const CLAIM_SECS: i64 = 30;
pub const CLAIM_MARGIN_SECS: i64 = 5;

fn chat_key(channel: Channel, peer: &str) -> Vec<u8> {
    let mut k = vec![channel.byte()];
    k.extend_from_slice(peer.as_bytes());
    k
}

/// Claims up to `limit` due jobs of `channel` for one delivery round, by
/// chat: a chat whose messages another round (of this or another instance
/// sharing the database) holds is skipped, so each chat's messages go out
/// in order, once. The claimed jobs move [`CLAIM_SECS`] ahead in the due
/// index; the round settles them one by one ([`mark_sent`],
/// [`mark_failed`], [`postpone`]) and frees the chat ([`release_chat`]).
/// A claim its instance never settled (it died) runs out, and the jobs are
/// due again. Writes are serialised, so two claims never overlap.
///
/// A claim whose holder was a process on this host that no longer exists
/// is released at once (a restart after a crash answers at once).
pub fn claim(
    w: &WriteTx,
    channel: Channel,
    me: &Lease,
    now: i64,
    limit: usize,
) -> Result<Vec<OutJob>> {
    let mut free = vec![];
    CLAIMED_CHATS.scan_prefix(w, &[channel.byte()], false, |k, c| {
        if c.by.is_left_for(me, now) {
            free.push((k.to_vec(), c));
        }
        Ok(true)
    })?;
    for (k, c) in free {
        CLAIMED_CHATS.delete(w, k.as_slice())?;
        if c.by.until <= now {
            continue; // its jobs are due again already
        }
        for id in c.jobs {
            if let Some(j) = OUTBOX.get(w, &id)?
                && j.status == OutStatus::Pending
                && j.next_attempt_at == c.by.until
            {
                postpone(w, id, now)?;
            }
        }
    }
    let until = now + CLAIM_SECS;
    let mut out = vec![];
    let mut busy: std::collections::HashSet<String> = Default::default();
    let mut mine: std::collections::HashMap<String, Vec<u64>> = Default::default();
    for mut j in due(w, channel, now, limit)? {
        if busy.contains(&j.peer) {
            continue;
        }
        if !mine.contains_key(&j.peer) {
            if CLAIMED_CHATS
                .get(w, &chat_key(channel, &j.peer))?
                .is_some_and(|c| !c.by.is_free_for(me, now))
            {
                busy.insert(j.peer.clone());
                continue;
            }
            mine.insert(j.peer.clone(), vec![]);
        }
        DUE.delete(w, &due_key(channel, j.next_attempt_at, j.id))?;
        j.next_attempt_at = until;
        DUE.put(w, &due_key(channel, until, j.id), &())?;
        OUTBOX.put(w, &j.id, &j)?;
        if let Some(ids) = mine.get_mut(&j.peer) {
            ids.push(j.id);
        }
        out.push(j);
    }
    for (peer, jobs) in mine {
        let c = ChatClaim {
            by: me.until(until),
            jobs,
        };
        CLAIMED_CHATS.put(w, &chat_key(channel, &peer), &c)?;
    }
    Ok(out)
}

/// Whether [`claim`] has anything to do for `me` at `now`: a due job of
/// `channel`, or a chat claim left by another holder. A read, so that an
/// idle worker does not write.
pub fn claimable(tx: &impl Tx, channel: Channel, me: &Lease, now: i64) -> Result<bool> {
    if next_due_at(tx, channel)?.is_some_and(|at| at <= now) {
        return Ok(true);
    }
    let mut left = false;
    CLAIMED_CHATS.scan_prefix(tx, &[channel.byte()], false, |_, c| {
        left = c.by.is_left_for(me, now);
        Ok(!left)
    })?;
    Ok(left)
}

/// Frees a chat claimed by [`claim`] once its round is done with it.
pub fn release_chat(w: &WriteTx, channel: Channel, peer: &str) -> Result<()> {
    CLAIMED_CHATS.delete(w, &chat_key(channel, peer))?;
    Ok(())
}

/// When the next job of `channel` is due, if any.
pub fn next_due_at(tx: &impl Tx, channel: Channel) -> Result<Option<i64>> {
    let mut at = None;
    DUE.scan_prefix(tx, &[channel.byte()], false, |k, ()| {
        at = parse_due(k).map(|(a, _)| a);
        Ok(false)
    })?;
    Ok(at)
}

/// Jobs of `channel` still waiting.
pub fn pending(tx: &impl Tx, channel: Channel) -> Result<u64> {
    let mut n = 0;
    DUE.scan_prefix(tx, &[channel.byte()], false, |_, ()| {
        n += 1;
        Ok(true)
    })?;
    Ok(n)
}

pub fn mark_sent(w: &WriteTx, id: u64, now: i64) -> Result<()> {
    if let Some(mut j) = OUTBOX.get(w, &id)? {
        DUE.delete(w, &due_key(j.channel, j.next_attempt_at, id))?;
        j.status = OutStatus::Sent;
        j.sent_at = Some(now);
        j.attempts += 1;
        j.last_error = None;
        OUTBOX.put(w, &id, &j)?;
    }
    Ok(())
}

/// Records a failed attempt: the job is due again at `retry_at`, or dead
/// when `permanent` or out of attempts. Returns the new status.
pub fn mark_failed(
    w: &WriteTx,
    id: u64,
    error: &str,
    retry_at: i64,
    permanent: bool,
) -> Result<Option<OutStatus>> {
    let Some(mut j) = OUTBOX.get(w, &id)? else {
        return Ok(None);
    };
    DUE.delete(w, &due_key(j.channel, j.next_attempt_at, id))?;
    j.attempts += 1;
    j.last_error = Some(error.chars().take(300).collect());
    if permanent || j.attempts >= MAX_ATTEMPTS {
        j.status = OutStatus::Dead;
    } else {
        j.next_attempt_at = retry_at;
        DUE.put(w, &due_key(j.channel, retry_at, id), &())?;
    }
    OUTBOX.put(w, &id, &j)?;
    Ok(Some(j.status))
}

/// Moves a pending job to `at` without counting an attempt (keeps a chat's
/// messages in order behind one that failed).
pub fn postpone(w: &WriteTx, id: u64, at: i64) -> Result<()> {
    if let Some(mut j) = OUTBOX.get(w, &id)?
        && j.status == OutStatus::Pending
    {
        DUE.delete(w, &due_key(j.channel, j.next_attempt_at, id))?;
        j.next_attempt_at = at;
        DUE.put(w, &due_key(j.channel, at, id), &())?;
        OUTBOX.put(w, &id, &j)?;
    }
    Ok(())
}

pub fn get(tx: &impl Tx, id: u64) -> Result<Option<OutJob>> {
    OUTBOX.get(tx, &id)
}

pub fn tokens(tx: &impl Tx, name: &str) -> Result<Option<StoredTokens>> {
    TOKENS.get(tx, name)
}

pub fn set_tokens(w: &WriteTx, name: &str, t: &StoredTokens) -> Result<()> {
    TOKENS.put(w, name, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};

    #[test]
    fn channels_have_separate_due_lists() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let (a, b) = s
            .write(|w| {
                let job = |channel, peer| NewJob {
                    channel,
                    peer,
                    conversation: "c",
                    text: "x",
                    buttons: vec![],
                    lang: "vi",
                };
                let a = enqueue(w, job(Channel::Telegram, "1"), 100)?;
                let b = enqueue(w, job(Channel::Zalo, "2"), 50)?;
                Ok::<_, StoreError>((a, b))
            })
            .unwrap();
        let tg = s.read(|r| due(r, Channel::Telegram, 100, 10)).unwrap();
        assert_eq!(tg.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a]);
        assert!(
            s.read(|r| due(r, Channel::Telegram, 99, 10))
                .unwrap()
                .is_empty()
        );
        s.write(|w| {
            mark_failed(w, b, "down", 200, false)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(
            s.read(|r| next_due_at(r, Channel::Zalo)).unwrap(),
            Some(200)
        );
        assert_eq!(
            s.read(|r| next_due_at(r, Channel::Telegram)).unwrap(),
            Some(100)
        );
        s.write(|w| {
            mark_sent(w, a, 101)?;
            mark_failed(w, b, "refused", 300, true)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(s.read(|r| pending(r, Channel::Telegram)).unwrap(), 0);
        assert_eq!(s.read(|r| pending(r, Channel::Zalo)).unwrap(), 0);
        assert_eq!(
            s.read(|r| get(r, b)).unwrap().unwrap().status,
            OutStatus::Dead
        );
    }
}

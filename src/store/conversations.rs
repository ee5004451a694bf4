//! Bot conversations, their messages, support requests (tickets) handed to
//! a person, questions the bot could not answer, and the inbound-event
//! inbox of the webhook channels. One model for every channel: a channel is
//! only a transport (see `flows::chat`).

use serde::{Deserialize, Serialize};

use super::{WriteTx, counters};
use crate::domain::{Button, Channel, TicketStatus};

use super::{Index, Result, Table, Tx, key, meta};

/// id → conversation.
pub const CONVERSATIONS: Table<Conversation> = Table::new("chat_conversations");
/// (channel, peer) → conversation id, for channels that know the chat.
pub const PEERS: Table<String> = Table::new("chat_peers");
/// (conversation id, seq BE) → message.
pub const MESSAGES: Table<Message> = Table::new("chat_messages");
/// id BE → support request.
pub const TICKETS: Table<Ticket> = Table::new("support_tickets");
/// (status byte, id BE) → ().
pub const TICKETS_BY_STATUS: Index = Table::new("support_tickets_status");
/// id BE → a question the bot could not answer (redacted).
pub const UNANSWERED: Table<Unanswered> = Table::new("bot_unanswered");
/// (channel, event id) → time first seen: drops redelivered events.
pub const SEEN: Table<i64> = Table::new("chat_seen");
/// id BE → a verified webhook event not yet processed.
pub const INBOX: Table<InboxEvent> = Table::new("chat_inbox");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub channel: Channel,
    /// The chat on the channel (Telegram chat id, Zalo user id); empty for web.
    pub peer: String,
    /// "vi" or "en": the language of the last question.
    pub lang: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub next_seq: u64,
    /// The current step of a guided troubleshooting dialog.
    pub step: Option<String>,
    /// The buttons of the last bot message (a typed number picks one).
    pub last_suggestions: Vec<Button>,
    /// The open support request: while set, a person handles the chat and
    /// the bot stays quiet.
    pub ticket: Option<u64>,
    /// A resolved request waiting for the citizen's 1–5 rating.
    pub awaiting_rating: Option<u64>,
    /// A rated request whose optional comment may come next.
    pub awaiting_comment: Option<u64>,
    /// A unit the citizen named (routes a handoff there).
    pub unit: Option<u64>,
    /// Per-chat rate limit: window start, messages in it, warned once.
    pub rl_window: i64,
    pub rl_count: u32,
    pub rl_warned: bool,
}

impl Conversation {
    pub fn new(id: String, channel: Channel, peer: String, lang: &str, now: i64) -> Conversation {
        Conversation {
            id,
            channel,
            peer,
            lang: lang.to_string(),
            created_at: now,
            updated_at: now,
            next_seq: 1,
            step: None,
            last_suggestions: vec![],
            ticket: None,
            awaiting_rating: None,
            awaiting_comment: None,
            unit: None,
            rl_window: now,
            rl_count: 0,
            rl_warned: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sender {
    Citizen,
    Bot,
    /// A staff member (username).
    Staff(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub seq: u64,
    pub at: i64,
    pub from: Sender,
    /// Empty when `withheld`.
    pub text: String,
    pub suggestions: Vec<Button>,
    /// The citizen's text looked like it held a password or an OTP and was
    /// not stored.
    pub withheld: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    pub conversation: String,
    pub channel: Channel,
    /// The unit that handles it (staff with `support.manage` there see it).
    pub unit: u64,
    pub status: TicketStatus,
    pub created_at: i64,
    pub updated_at: i64,
    /// The staff member who took it (username).
    pub assignee: Option<String>,
    /// The citizen's last question before the handoff, redacted.
    pub summary: String,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub rated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unanswered {
    pub id: u64,
    pub at: i64,
    pub channel: Channel,
    /// Redacted (ID numbers, phones, codes, e-mails, passwords replaced).
    pub text: String,
    pub lang: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEvent {
    pub id: u64,
    pub channel: Channel,
    pub received_at: i64,
    /// The raw event body, already verified.
    pub payload: Vec<u8>,
}

fn peer_key(channel: Channel, peer: &str) -> Vec<u8> {
    key(&[&[channel.byte()], peer.as_bytes()])
}

fn msg_key(conv: &str, seq: u64) -> Vec<u8> {
    key(&[conv.as_bytes(), &seq.to_be_bytes()])
}

fn status_key(s: TicketStatus, id: u64) -> Vec<u8> {
    let mut k = vec![s.byte()];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn get(tx: &impl Tx, id: &str) -> Result<Option<Conversation>> {
    CONVERSATIONS.get(tx, id)
}

pub fn by_peer(tx: &impl Tx, channel: Channel, peer: &str) -> Result<Option<Conversation>> {
    match PEERS.get(tx, &peer_key(channel, peer))? {
        Some(id) => get(tx, &id),
        None => Ok(None),
    }
}

pub fn put(w: &WriteTx, c: &Conversation) -> Result<()> {
    if !c.peer.is_empty() {
        PEERS.put(w, &peer_key(c.channel, &c.peer), &c.id)?;
    }
    CONVERSATIONS.put(w, c.id.as_str(), c)
}

/// Appends a message and advances the conversation's sequence (the caller
/// saves the conversation).
pub fn append(
    w: &WriteTx,
    c: &mut Conversation,
    at: i64,
    from: Sender,
    text: &str,
    suggestions: Vec<Button>,
    withheld: bool,
) -> Result<Message> {
    let m = Message {
        seq: c.next_seq,
        at,
        from,
        text: text.to_string(),
        suggestions,
        withheld,
    };
    MESSAGES.put(w, &msg_key(&c.id, m.seq), &m)?;
    c.next_seq += 1;
    c.updated_at = at;
    Ok(m)
}

/// Messages of a conversation after `after` (a seq), oldest first, at most `limit`.
pub fn messages(tx: &impl Tx, conv: &str, after: u64, limit: usize) -> Result<Vec<Message>> {
    let mut prefix = conv.as_bytes().to_vec();
    prefix.push(0);
    let mut out = vec![];
    MESSAGES.scan_prefix(tx, &prefix, false, |_, m| {
        if m.seq > after {
            out.push(m);
        }
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

pub fn ticket(tx: &impl Tx, id: u64) -> Result<Option<Ticket>> {
    TICKETS.get(tx, &id)
}

/// Saves a ticket, keeping the status index in step with `old_status`.
/// Saves a ticket, keeping the status index and the count of new tickets
/// per unit in step with the stored version.
pub fn put_ticket(w: &WriteTx, t: &Ticket) -> Result<()> {
    let old = TICKETS.get(w, &t.id)?;
    if let Some(old) = &old {
        TICKETS_BY_STATUS.delete(w, &status_key(old.status, t.id))?;
        if old.status == TicketStatus::New {
            counters::add(w, counters::TICKETS_NEW, old.unit, -1)?;
        }
    }
    if t.status == TicketStatus::New {
        counters::add(w, counters::TICKETS_NEW, t.unit, 1)?;
    }
    TICKETS_BY_STATUS.put(w, &status_key(t.status, t.id), &())?;
    TICKETS.put(w, &t.id, t)
}

/// Recounts the new tickets per unit (a migration step).
pub fn rebuild_counters(w: &WriteTx) -> Result<()> {
    let units: Vec<u64> = tickets_with(w, TicketStatus::New, usize::MAX)?
        .iter()
        .map(|t| t.unit)
        .collect();
    counters::rebuild(w, counters::TICKETS_NEW, units)
}

pub fn new_ticket_id(w: &WriteTx) -> Result<u64> {
    meta::next_id(w, "support_ticket")
}

/// Tickets with a status, newest first.
pub fn tickets_with(tx: &impl Tx, status: TicketStatus, limit: usize) -> Result<Vec<Ticket>> {
    let mut ids = vec![];
    TICKETS_BY_STATUS.scan_prefix(tx, &[status.byte()], true, |k, ()| {
        if let Ok(b) = <[u8; 8]>::try_from(&k[1..]) {
            ids.push(u64::from_be_bytes(b));
        }
        Ok(ids.len() < limit)
    })?;
    let mut out = vec![];
    for id in ids {
        if let Some(t) = ticket(tx, id)? {
            out.push(t);
        }
    }
    Ok(out)
}

/// Every ticket, newest first, at most `limit`.
pub fn tickets_recent(tx: &impl Tx, limit: usize) -> Result<Vec<Ticket>> {
    let mut out = vec![];
    TICKETS.scan_all(tx, true, |_, t| {
        out.push(t);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

pub fn record_unanswered(
    w: &WriteTx,
    at: i64,
    channel: Channel,
    redacted: &str,
    lang: &str,
) -> Result<u64> {
    let id = meta::next_id(w, "bot_unanswered")?;
    UNANSWERED.put(
        w,
        &id,
        &Unanswered {
            id,
            at,
            channel,
            text: redacted.chars().take(300).collect(),
            lang: lang.to_string(),
        },
    )?;
    Ok(id)
}

/// Unanswered questions since `since`, newest first, at most `limit`.
pub fn unanswered_since(tx: &impl Tx, since: i64, limit: usize) -> Result<Vec<Unanswered>> {
    let mut out = vec![];
    UNANSWERED.scan_all(tx, true, |_, u| {
        if u.at < since {
            return Ok(false);
        }
        out.push(u);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// Marks an event id as seen; false when it was seen before.
pub fn first_sighting(w: &WriteTx, channel: Channel, event: &str, now: i64) -> Result<bool> {
    let k = key(&[&[channel.byte()], event.as_bytes()]);
    if SEEN.get(w, &k)?.is_some() {
        return Ok(false);
    }
    SEEN.put(w, &k, &now)?;
    Ok(true)
}

/// Forgets event ids seen before `before` (redeliveries come within minutes).
pub fn purge_seen(w: &WriteTx, before: i64) -> Result<usize> {
    let mut old = vec![];
    SEEN.scan_all(w, false, |k, at| {
        if at < before {
            old.push(k.to_vec());
        }
        Ok(old.len() < 10_000)
    })?;
    for k in &old {
        SEEN.delete(w, k)?;
    }
    Ok(old.len())
}

pub fn inbox_put(w: &WriteTx, channel: Channel, payload: &[u8], now: i64) -> Result<u64> {
    let id = meta::next_id(w, "chat_inbox")?;
    INBOX.put(
        w,
        &id,
        &InboxEvent {
            id,
            channel,
            received_at: now,
            payload: payload.to_vec(),
        },
    )?;
    Ok(id)
}

pub fn inbox_get(tx: &impl Tx, id: u64) -> Result<Option<InboxEvent>> {
    INBOX.get(tx, &id)
}

pub fn inbox_delete(w: &WriteTx, id: u64) -> Result<bool> {
    INBOX.delete(w, &id)
}

/// Events still waiting (after a restart), oldest first.
pub fn inbox_pending(tx: &impl Tx, limit: usize) -> Result<Vec<u64>> {
    let mut out = vec![];
    INBOX.scan_all(tx, false, |_, e| {
        out.push(e.id);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};

    #[test]
    fn conversation_messages_and_ticket_index() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        s.write(|w| {
            let mut c = Conversation::new("c1".into(), Channel::Telegram, "42".into(), "vi", 10);
            append(w, &mut c, 10, Sender::Citizen, "xin chào", vec![], false)?;
            append(w, &mut c, 11, Sender::Bot, "Chào anh/chị", vec![], false)?;
            put(w, &c)?;
            let mut t = Ticket {
                id: new_ticket_id(w)?,
                conversation: "c1".into(),
                channel: Channel::Telegram,
                unit: 2,
                status: TicketStatus::New,
                created_at: 12,
                updated_at: 12,
                assignee: None,
                summary: String::new(),
                resolved_at: None,
                resolved_by: None,
                rating: None,
                comment: None,
                rated_at: None,
            };
            put_ticket(w, &t)?;
            t.status = TicketStatus::Done;
            put_ticket(w, &t)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let c = s
            .read(|r| by_peer(r, Channel::Telegram, "42"))
            .unwrap()
            .unwrap();
        assert_eq!(c.next_seq, 3);
        let m = s.read(|r| messages(r, "c1", 1, 10)).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].from, Sender::Bot);
        assert!(
            s.read(|r| tickets_with(r, TicketStatus::New, 10))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.read(|r| tickets_with(r, TicketStatus::Done, 10))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn events_are_seen_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let (a, b, c) = s
            .write(|w| {
                Ok::<_, StoreError>((
                    first_sighting(w, Channel::Zalo, "m1", 5)?,
                    first_sighting(w, Channel::Zalo, "m1", 6)?,
                    first_sighting(w, Channel::Telegram, "m1", 6)?,
                ))
            })
            .unwrap();
        assert!(a && !b && c);
        assert_eq!(s.write(|w| purge_seen(w, 6)).unwrap(), 1);
    }
}

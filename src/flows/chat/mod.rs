//! The support conversation, channel-agnostic: a web chat, Telegram and
//! Zalo all call [`receive`] with what the citizen sent and get the same
//! answer, handoff or rating behaviour. Each call is one redb transaction
//! that stores the citizen's message (unless it looked like it held a
//! password or an OTP), the bot's reply, the outgoing channel message
//! (durable queue) and the statistics together.
//!
//! Staff work on support requests (tickets) through [`staff_reply`],
//! [`set_status`] and the read functions below, scoped to the units where
//! they hold `support.manage` (others get "not found").

mod staff;
#[cfg(test)]
mod tests;
mod texts;
mod units;

pub use staff::{is_web_conversation, ratings, set_status, staff_reply, ticket_detail, tickets};
pub use texts::{rating_prompt, staff_prefix, truncate};
pub use units::{default_unit, named_unit};

use std::sync::Arc;

use serde::Serialize;

use crate::app::{App, Bot};
use crate::domain::{Button, Channel, TicketStatus};
use crate::error::{AppError, AppResult};
use crate::helpdesk;
use crate::helpdesk::{HANDOFF, Lang};
use crate::org::UnitTree;
use crate::store::conversations::{self as conv, Conversation, Sender, Ticket};
use crate::store::{StoreError, outbox, stats};

use texts::{command, from_reply, help, lang_of, pick, rate_limited_text, typed_rating, welcome};

/// New conversations one client IP may start per window (web chat).
pub const NEW_PER_WINDOW: u32 = 60;
pub const WINDOW_SECS: i64 = 600;

/// Longest citizen message kept and matched (longer ones are truncated).
pub const MAX_TEXT: usize = 1000;
/// Longest staff reply.
pub const MAX_STAFF_TEXT: usize = 2000;
/// Per-chat rate limit: at most `RATE_LIMIT` messages per `RATE_WINDOW` seconds.
pub const RATE_WINDOW: i64 = 60;
pub const RATE_LIMIT: u32 = 15;

/// Button ids besides intents, tree steps and `handoff`.
pub const RATE_PREFIX: &str = "rate:";
pub const COMMENT_SKIP: &str = "comment:skip";

/// Topics shown by /start.
const MAIN_TOPICS: &[&str] = &[
    "self-register",
    "register-at-office",
    "login-how",
    "forgot-password",
    "otp-not-received",
    "lost-phone",
];

/// What the citizen sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// A button (suggestion id), or `n:<index>` of the last buttons.
    Button(String),
    Start,
    Help,
    Handoff,
}

#[derive(Debug, Clone)]
pub struct Incoming {
    pub channel: Channel,
    /// The chat on the channel; empty for web.
    pub peer: String,
    /// Web: the conversation to continue.
    pub conversation_id: Option<String>,
    pub input: Input,
    /// The interface's language, for buttons and commands (a typed question
    /// is answered in its own language).
    pub lang: Option<Lang>,
    /// The channel's id of the event: a redelivered event is ignored.
    pub event_id: Option<String>,
    /// Web: a unit chosen for a handoff.
    pub unit: Option<u64>,
}

impl Incoming {
    pub fn new(channel: Channel, peer: &str, input: Input) -> Incoming {
        Incoming {
            channel,
            peer: peer.to_string(),
            conversation_id: None,
            input,
            lang: None,
            event_id: None,
            unit: None,
        }
    }
}

/// The bot's answer, in the shape every channel renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotReply {
    pub text: String,
    pub intent: Option<String>,
    pub suggestions: Vec<Button>,
    pub handoff_offered: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub conversation_id: String,
    /// `None` when the bot stays quiet (a person handles the chat, or a
    /// repeated rate-limit hit).
    pub reply: Option<BotReply>,
    /// The support request opened (or already open) by a handoff.
    pub ticket: Option<u64>,
    /// A person handles the conversation now.
    pub person: bool,
    /// The event had been processed before.
    pub duplicate: bool,
}

/// True when the bot could not answer a question (the "not sure" reply, or
/// the welcome reply to something that is not a greeting).
fn unanswered(bot: &Bot, question: &str, r: &helpdesk::Reply, lang: Lang) -> bool {
    if r.intent.is_some() || r.sensitive {
        return false;
    }
    let unsure = bot
        .kb
        .entries()
        .first()
        .map(|e| helpdesk::not_sure(&bot.kb, &[e.id.as_str()], lang).text);
    if unsure.as_deref() == Some(r.text.as_str()) {
        return true;
    }
    if r.text != helpdesk::not_sure(&bot.kb, &[], lang).text {
        return false;
    }
    let folded = helpdesk::fold(question);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let greeting = ["chao", "hello", "hi", "alo", "hey", "xin", "helo"];
    let is_greeting = words.len() <= 5 && words.iter().any(|w| greeting.contains(w));
    !words.is_empty() && !is_greeting
}

/// Queues a message for the conversation's channel (web reads its
/// messages directly). Returns true when something was queued.
fn deliver(
    w: &crate::store::WriteTx,
    c: &Conversation,
    text: &str,
    suggestions: &[Button],
    now: i64,
) -> Result<bool, StoreError> {
    if c.channel == Channel::Web || c.peer.is_empty() {
        return Ok(false);
    }
    outbox::enqueue(
        w,
        outbox::NewJob {
            channel: c.channel,
            peer: &c.peer,
            conversation: &c.id,
            text,
            buttons: suggestions.to_vec(),
            lang: &c.lang,
        },
        now,
    )?;
    Ok(true)
}

/// What [`apply`] decided, inside the transaction.
struct Applied {
    outcome: Outcome,
    queued: bool,
}

/// Handles one message from a citizen on any channel.
pub async fn receive(app: &Arc<App>, inc: Incoming) -> AppResult<Outcome> {
    let channel = inc.channel;
    let applied = app
        .db(move |app| {
            let bot = app.bot();
            let tree = app.tree();
            let now = app.now();
            app.store.write(|w| apply(w, &bot, &tree, inc.clone(), now))
        })
        .await?;
    if applied.queued {
        app.outbox_wake.wake(channel);
    }
    Ok(applied.outcome)
}

fn open_ticket(
    w: &crate::store::WriteTx,
    tree: &UnitTree,
    c: &mut Conversation,
    unit: Option<u64>,
    now: i64,
) -> Result<(u64, bool), AppError> {
    if let Some(id) = c.ticket
        && let Some(t) = conv::ticket(w, id)?
        && t.status != TicketStatus::Done
    {
        return Ok((id, false));
    }
    let unit = unit
        .filter(|u| tree.eligible(*u))
        .or(c.unit)
        .or_else(|| default_unit(tree))
        .ok_or_else(|| AppError::internal("no unit to route a support request to"))?;
    // The last thing the citizen asked, for the list in the console.
    let summary = conv::messages(w, &c.id, c.next_seq.saturating_sub(40), 40)?
        .into_iter()
        .rev()
        .find(|m| m.from == Sender::Citizen && !m.withheld && !m.text.starts_with('/'))
        .map(|m| truncate(&helpdesk::redact(&m.text), 200))
        .unwrap_or_default();
    let id = conv::new_ticket_id(w)?;
    let t = Ticket {
        id,
        conversation: c.id.clone(),
        channel: c.channel,
        unit,
        status: TicketStatus::New,
        created_at: now,
        updated_at: now,
        assignee: None,
        summary,
        resolved_at: None,
        resolved_by: None,
        rating: None,
        comment: None,
        rated_at: None,
    };
    conv::put_ticket(w, &t)?;
    stats::bump(w, now, "handoffs", c.channel.as_str())?;
    c.ticket = Some(id);
    c.step = None;
    c.awaiting_rating = None;
    c.awaiting_comment = None;
    Ok((id, true))
}

fn handoff_reply(tree: &UnitTree, t: u64, unit: u64, fresh: bool, lang: Lang) -> BotReply {
    let unit = tree.name(unit);
    let text = match (lang, fresh) {
        (Lang::Vi, true) => format!(
            "Yêu cầu hỗ trợ số {t} của anh/chị đã được chuyển tới cán bộ của {unit}. \
             Cán bộ sẽ trả lời ngay trong cuộc trò chuyện này (trong giờ hành chính). \
             Trong lúc chờ, anh/chị có thể nhắn thêm thông tin, nhưng không gửi mật khẩu hay mã OTP."
        ),
        (Lang::Vi, false) => format!(
            "Yêu cầu hỗ trợ số {t} của anh/chị đang chờ cán bộ của {unit} xử lý. \
             Anh/chị vui lòng chờ, cán bộ sẽ trả lời ngay trong cuộc trò chuyện này."
        ),
        (Lang::En, true) => format!(
            "Your support request no. {t} has been passed to the staff of {unit}. \
             A staff member will answer in this chat (during office hours). \
             Meanwhile you may add details, but never send your password or OTP code."
        ),
        (Lang::En, false) => format!(
            "Your support request no. {t} is waiting for the staff of {unit}. \
             Please wait: a staff member will answer in this chat."
        ),
    };
    BotReply {
        text,
        intent: None,
        suggestions: vec![],
        handoff_offered: false,
    }
}

fn find_or_create(
    w: &crate::store::WriteTx,
    inc: &Incoming,
    lang: Lang,
    now: i64,
) -> Result<Conversation, StoreError> {
    let found = match (&inc.conversation_id, inc.channel) {
        (Some(id), Channel::Web) => conv::get(w, id)?.filter(|c| c.channel == Channel::Web),
        (_, Channel::Web) => None,
        (_, ch) => conv::by_peer(w, ch, &inc.peer)?,
    };
    Ok(found.unwrap_or_else(|| {
        Conversation::new(
            crate::util::random_token(),
            inc.channel,
            inc.peer.clone(),
            lang.code(),
            now,
        )
    }))
}

fn apply(
    w: &crate::store::WriteTx,
    bot: &Bot,
    tree: &Arc<UnitTree>,
    mut inc: Incoming,
    now: i64,
) -> Result<Applied, AppError> {
    if let Some(ev) = &inc.event_id
        && !conv::first_sighting(w, inc.channel, ev, now)?
    {
        return Ok(Applied {
            outcome: Outcome {
                conversation_id: String::new(),
                reply: None,
                ticket: None,
                person: false,
                duplicate: true,
            },
            queued: false,
        });
    }
    // Typed commands work on every channel.
    if let Input::Text(t) = &inc.input
        && let Some(cmd) = command(t)
    {
        inc.input = cmd;
    }
    let hint = inc.lang.unwrap_or_default();
    let mut c = find_or_create(w, &inc, hint, now)?;
    let mut lang = inc.lang.unwrap_or_else(|| lang_of(&c.lang));

    // Per-chat rate limit.
    if now - c.rl_window >= RATE_WINDOW {
        c.rl_window = now;
        c.rl_count = 0;
        c.rl_warned = false;
    }
    c.rl_count += 1;
    if c.rl_count > RATE_LIMIT {
        let retry_after = (c.rl_window + RATE_WINDOW - now).max(1);
        if c.channel == Channel::Web {
            return Err(AppError::Limited {
                message: rate_limited_text(lang),
                retry_after,
            });
        }
        let mut queued = false;
        let reply = if c.rl_warned {
            None
        } else {
            c.rl_warned = true;
            let text = rate_limited_text(lang);
            queued = deliver(w, &c, &text, &[], now)?;
            Some(BotReply {
                text,
                intent: None,
                suggestions: vec![],
                handoff_offered: false,
            })
        };
        conv::put(w, &c)?;
        return Ok(Applied {
            outcome: Outcome {
                conversation_id: c.id.clone(),
                reply,
                ticket: c.ticket,
                person: c.ticket.is_some(),
                duplicate: false,
            },
            queued,
        });
    }

    let person = c.ticket.is_some();
    // A typed number picks one of the last buttons (not while a person
    // handles the chat: then everything goes to them).
    if !person && let Input::Text(t) = &inc.input {
        let n: Option<usize> = t.trim().parse().ok();
        if let Some(n) = n
            && n >= 1
            && n <= c.last_suggestions.len()
            && (c.awaiting_rating.is_none() || typed_rating(t).is_none())
        {
            inc.input = Input::Button(c.last_suggestions[n - 1].id.clone());
        }
    }
    if let Input::Button(id) = &inc.input
        && let Some(i) = id.strip_prefix("n:").and_then(|i| i.parse::<usize>().ok())
        && let Some(b) = c.last_suggestions.get(i)
    {
        inc.input = Input::Button(b.id.clone());
    }

    // The citizen's side of the exchange, as stored.
    let (shown, withheld, sensitive) = match &inc.input {
        Input::Text(t) => {
            let t = truncate(t.trim(), MAX_TEXT);
            let sensitive = helpdesk::looks_sensitive(&t);
            (
                if sensitive { String::new() } else { t },
                sensitive,
                sensitive,
            )
        }
        Input::Button(id) => {
            let label = c
                .last_suggestions
                .iter()
                .find(|b| &b.id == id)
                .map(|b| b.label.clone())
                .unwrap_or_else(|| id.clone());
            (label, false, false)
        }
        Input::Start => ("/start".into(), false, false),
        Input::Help => ("/help".into(), false, false),
        Input::Handoff => ("/nguoi".into(), false, false),
    };
    if let Input::Text(t) = &inc.input
        && !t.trim().is_empty()
    {
        lang = bot.matcher.detect_lang(t);
        c.lang = lang.code().to_string();
    } else if let Some(l) = inc.lang {
        c.lang = l.code().to_string();
    }
    conv::append(w, &mut c, now, Sender::Citizen, &shown, vec![], withheld)?;
    if !sensitive
        && c.unit.is_none()
        && let Input::Text(t) = &inc.input
    {
        c.unit = named_unit(tree, t);
    }

    let is_handoff = matches!(&inc.input, Input::Handoff)
        || matches!(&inc.input, Input::Button(b) if b == HANDOFF);
    let mut ticket_out = None;
    let reply: Option<BotReply> = if person {
        // A person handles the chat: the bot stays quiet, except for the
        // safety warning and an explicit request for a person.
        let tid = c.ticket.unwrap_or_default();
        if let Some(mut t) = conv::ticket(w, tid)? {
            if t.status == TicketStatus::AwaitingReply {
                t.status = TicketStatus::InProgress;
            }
            t.updated_at = now;
            conv::put_ticket(w, &t)?;
            ticket_out = Some(t.id);
            if is_handoff {
                Some(handoff_reply(tree, t.id, t.unit, false, lang))
            } else if sensitive {
                Some(BotReply {
                    text: helpdesk::sensitive_warning(lang).to_string(),
                    intent: None,
                    suggestions: vec![],
                    handoff_offered: false,
                })
            } else {
                None
            }
        } else {
            c.ticket = None;
            None
        }
    } else {
        if is_handoff {
            let (tid, fresh) = open_ticket(w, tree, &mut c, inc.unit, now)?;
            ticket_out = Some(tid);
            let unit = conv::ticket(w, tid)?.map(|t| t.unit).unwrap_or_default();
            Some(handoff_reply(tree, tid, unit, fresh, lang))
        } else {
            Some(bot_turn(
                w, bot, &mut c, &inc.input, &shown, sensitive, lang, now,
            )?)
        }
    };

    let mut queued = false;
    if let Some(r) = &reply {
        conv::append(
            w,
            &mut c,
            now,
            Sender::Bot,
            &r.text,
            r.suggestions.clone(),
            false,
        )?;
        c.last_suggestions = r.suggestions.clone();
        queued = deliver(w, &c, &r.text, &r.suggestions, now)?;
    }
    if c.ticket.is_some() {
        c.last_suggestions.clear();
    }
    conv::put(w, &c)?;
    Ok(Applied {
        outcome: Outcome {
            conversation_id: c.id.clone(),
            reply,
            ticket: ticket_out,
            person: c.ticket.is_some(),
            duplicate: false,
        },
        queued,
    })
}

/// The bot's answer when no person handles the chat.
#[allow(clippy::too_many_arguments)]
fn bot_turn(
    w: &crate::store::WriteTx,
    bot: &Bot,
    c: &mut Conversation,
    input: &Input,
    text: &str,
    sensitive: bool,
    lang: Lang,
    now: i64,
) -> Result<BotReply, AppError> {
    match input {
        Input::Start => {
            c.step = None;
            Ok(welcome(bot, c.channel, lang))
        }
        Input::Help => Ok(help(lang)),
        Input::Handoff => Err(AppError::internal("handoff handled by the caller")),
        Input::Button(id) if id.starts_with(RATE_PREFIX) => {
            let n = id[RATE_PREFIX.len()..].parse::<u8>().ok();
            Ok(rate(w, c, n, lang, now)?)
        }
        Input::Button(id) if id == COMMENT_SKIP => {
            c.awaiting_comment = None;
            Ok(BotReply {
                text: pick(
                    lang,
                    "Cảm ơn anh/chị. Nếu còn thắc mắc, anh/chị cứ nhắn cho tôi nhé.",
                    "Thank you. If you have any other question, just send it.",
                ),
                intent: None,
                suggestions: vec![],
                handoff_offered: false,
            })
        }
        Input::Button(id) => match helpdesk::select(&bot.kb, id, lang) {
            Some(r) => {
                c.step = id.starts_with("tree:").then(|| id.clone());
                Ok(from_reply(r))
            }
            None => Ok(welcome(bot, c.channel, lang)),
        },
        Input::Text(_) if c.awaiting_rating.is_some() && typed_rating(text).is_some() => {
            Ok(rate(w, c, typed_rating(text), lang, now)?)
        }
        Input::Text(_) if c.awaiting_comment.is_some() && !sensitive && !text.is_empty() => {
            let tid = c.awaiting_comment.take().unwrap_or_default();
            if let Some(mut t) = conv::ticket(w, tid)? {
                t.comment = Some(truncate(&helpdesk::redact(text), 500));
                conv::put_ticket(w, &t)?;
            }
            Ok(BotReply {
                text: pick(
                    lang,
                    "Cảm ơn góp ý của anh/chị. Chúc anh/chị một ngày tốt lành!",
                    "Thank you for your feedback. Have a nice day!",
                ),
                intent: None,
                suggestions: vec![],
                handoff_offered: false,
            })
        }
        Input::Text(original) => {
            // Match on the full text (secrets are stripped by the brain);
            // only what is stored is withheld.
            let q = truncate(original.trim(), MAX_TEXT);
            let r = helpdesk::reply(&bot.kb, &bot.matcher, &q);
            let dim = r.intent.clone().unwrap_or_else(|| "abstain".into());
            stats::bump(w, now, "bot_questions", &dim)?;
            if unanswered(bot, &q, &r, lang) {
                let red = helpdesk::redact(&q);
                conv::record_unanswered(w, now, c.channel, &red, lang.code())?;
            }
            c.step = None;
            Ok(from_reply(r))
        }
    }
}

fn rate(
    w: &crate::store::WriteTx,
    c: &mut Conversation,
    n: Option<u8>,
    lang: Lang,
    now: i64,
) -> Result<BotReply, AppError> {
    let Some(n) = n.filter(|n| (1..=5).contains(n)) else {
        return Ok(BotReply {
            text: pick(
                lang,
                "Anh/chị vui lòng chọn một số từ 1 đến 5.",
                "Please choose a number from 1 to 5.",
            ),
            intent: None,
            suggestions: c.last_suggestions.clone(),
            handoff_offered: false,
        });
    };
    let tid = c.awaiting_rating.take();
    let ticket = match tid {
        Some(id) => conv::ticket(w, id)?,
        None => None,
    };
    let Some(mut t) = ticket.filter(|t| t.status == TicketStatus::Done && t.rating.is_none())
    else {
        return Ok(BotReply {
            text: pick(
                lang,
                "Cảm ơn anh/chị. Hiện không có yêu cầu hỗ trợ nào đang chờ đánh giá.",
                "Thank you. There is no support request waiting for a rating.",
            ),
            intent: None,
            suggestions: vec![],
            handoff_offered: false,
        });
    };
    t.rating = Some(n);
    t.rated_at = Some(now);
    conv::put_ticket(w, &t)?;
    stats::bump(w, now, "ratings", &n.to_string())?;
    c.awaiting_comment = Some(t.id);
    Ok(BotReply {
        text: match lang {
            Lang::Vi => format!(
                "Cảm ơn anh/chị đã đánh giá {n}/5. Nếu muốn, anh/chị có thể nhắn thêm góp ý ngay trong tin nhắn tiếp theo, hoặc bấm **Bỏ qua**."
            ),
            Lang::En => format!(
                "Thank you for your rating of {n}/5. If you like, send a comment in your next message, or tap **Skip**."
            ),
        },
        intent: None,
        suggestions: vec![Button {
            id: COMMENT_SKIP.into(),
            label: pick(lang, "Bỏ qua", "Skip"),
        }],
        handoff_offered: false,
    })
}

/// Web: opens a support request for a conversation (idempotent while one
/// is open).
pub async fn handoff(app: &Arc<App>, conversation_id: &str, unit: Option<u64>) -> AppResult<u64> {
    let id = conversation_id.to_string();
    let exists = app
        .db(move |app| Ok(app.store.read(|r| conv::get(r, &id))?))
        .await?
        .is_some();
    if !exists {
        return Err(AppError::NotFound(
            "Không tìm thấy cuộc trò chuyện. Anh/chị vui lòng bắt đầu lại.".into(),
        ));
    }
    let mut inc = Incoming::new(Channel::Web, "", Input::Handoff);
    inc.conversation_id = Some(conversation_id.to_string());
    inc.unit = unit;
    let out = receive(app, inc).await?;
    out.ticket
        .ok_or_else(|| AppError::internal("handoff opened no ticket"))
}

//! The staff side of support requests: the lists, a reply, status changes
//! and ratings, scoped to the units where the actor holds `support.manage`.

use std::sync::Arc;

use crate::app::App;
use crate::domain::{Channel, Permission, TicketStatus};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::org::UnitTree;
use crate::store::accounts::Account;
use crate::store::conversations::{self as conv, Conversation, Message, Sender, Ticket};
use crate::store::{StoreError, WriteTx, audit};

use super::texts::{lang_of, rating_prompt, staff_prefix};
use super::{MAX_STAFF_TEXT, deliver};

fn can_see(tree: &UnitTree, a: &Account, t: &Ticket) -> bool {
    tree.allows(a, Permission::SupportManage, t.unit)
}

fn not_found() -> AppError {
    AppError::NotFound("Không tìm thấy yêu cầu hỗ trợ.".into())
}

/// Requests visible to the staff member: with `status`, or all; newest first.
pub async fn tickets(
    app: &Arc<App>,
    actor: &Actor,
    status: Option<TicketStatus>,
) -> AppResult<Vec<Ticket>> {
    if !actor.account.has_any(Permission::SupportManage) {
        return Err(AppError::Forbidden);
    }
    let account = actor.account.clone();
    app.db(move |app| {
        let tree = app.tree();
        let all = app.store.read(|r| match status {
            Some(s) => conv::tickets_with(r, s, 5000),
            None => conv::tickets_recent(r, 5000),
        })?;
        Ok(all
            .into_iter()
            .filter(|t| can_see(&tree, &account, t))
            .collect())
    })
    .await
}

/// One request with its whole conversation.
pub async fn ticket_detail(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
) -> AppResult<(Ticket, Conversation, Vec<Message>)> {
    let account = actor.account.clone();
    app.db(move |app| {
        let tree = app.tree();
        app.store
            .read(|r| {
                let Some(t) = conv::ticket(r, id)?.filter(|t| can_see(&tree, &account, t)) else {
                    return Ok(Err(not_found()));
                };
                let Some(c) = conv::get(r, &t.conversation)? else {
                    return Ok(Err(not_found()));
                };
                let m = conv::messages(r, &c.id, 0, 2000)?;
                Ok::<_, StoreError>(Ok((t, c, m)))
            })
            .map_err(AppError::from)?
    })
    .await
}

/// A staff member answers a request: the text reaches the citizen in the
/// same channel; the request waits for the citizen's reply.
pub async fn staff_reply(app: &Arc<App>, actor: &Actor, id: u64, text: &str) -> AppResult<()> {
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(AppError::field("text", "Vui lòng nhập nội dung trả lời."));
    }
    if text.chars().count() > MAX_STAFF_TEXT {
        return Err(AppError::field(
            "text",
            format!("Nội dung trả lời dài quá {MAX_STAFF_TEXT} ký tự."),
        ));
    }
    change_ticket(
        app,
        actor,
        id,
        "Yêu cầu này đã xong, không gửi thêm trả lời được.",
        ("support.reply", String::new()),
        move |w, t, account, now| {
            let mut c = conv::get(w, &t.conversation)?.ok_or_else(not_found)?;
            conv::append(
                w,
                &mut c,
                now,
                Sender::Staff(account.username.clone()),
                &text,
                vec![],
                false,
            )?;
            let lang = lang_of(&c.lang);
            let queued = deliver(w, &c, &format!("{}{}", staff_prefix(lang), text), &[], now)?;
            conv::put(w, &c)?;
            t.status = TicketStatus::AwaitingReply;
            t.updated_at = now;
            if t.assignee.is_none() {
                t.assignee = Some(account.username.clone());
            }
            Ok(queued.then_some(c.channel))
        },
    )
    .await
}

/// Changes a request's status. "Đã xong" hands the chat back to the bot
/// and asks the citizen for a 1–5 rating in the same channel.
pub async fn set_status(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    status: TicketStatus,
) -> AppResult<()> {
    change_ticket(
        app,
        actor,
        id,
        "Yêu cầu này đã xong.",
        ("support.status", status.as_str().to_string()),
        move |w, t, account, now| {
            t.status = status;
            t.updated_at = now;
            if status == TicketStatus::InProgress || t.assignee.is_none() {
                t.assignee = Some(account.username.clone());
            }
            let mut queued = None;
            if status == TicketStatus::Done {
                t.resolved_at = Some(now);
                t.resolved_by = Some(account.username.clone());
                if let Some(mut c) = conv::get(w, &t.conversation)? {
                    let lang = lang_of(&c.lang);
                    c.ticket = None;
                    c.awaiting_rating = Some(id);
                    c.awaiting_comment = None;
                    let p = rating_prompt(id, lang);
                    conv::append(
                        w,
                        &mut c,
                        now,
                        Sender::Bot,
                        &p.text,
                        p.suggestions.clone(),
                        false,
                    )?;
                    c.last_suggestions = p.suggestions.clone();
                    if deliver(w, &c, &p.text, &p.suggestions, now)? {
                        queued = Some(c.channel);
                    }
                    conv::put(w, &c)?;
                }
            }
            Ok(queued)
        },
    )
    .await
}

/// One change to request `id` by `actor`, in one write: the request if
/// the actor may see it (404 otherwise) and it is not done (409 `done`),
/// then `change` (which returns the channel of a message it queued), the
/// request saved and the change audited as `action` with its detail; then
/// that channel's delivery is woken.
async fn change_ticket(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    done: &'static str,
    (action, detail): (&'static str, String),
    change: impl Fn(&WriteTx, &mut Ticket, &Account, i64) -> AppResult<Option<Channel>> + Send + 'static,
) -> AppResult<()> {
    let account = actor.account.clone();
    let ip = actor.ip.clone();
    let channel = app
        .db(move |app| {
            let tree = app.tree();
            let now = app.now();
            app.store.write(|w| {
                let mut t = conv::ticket(w, id)?
                    .filter(|t| can_see(&tree, &account, t))
                    .ok_or_else(not_found)?;
                if t.status == TicketStatus::Done {
                    return Err(AppError::Conflict(done.into()));
                }
                let queued = change(w, &mut t, &account, now)?;
                conv::put_ticket(w, &t)?;
                audit::record(
                    w,
                    now,
                    &account.username,
                    action,
                    &format!("yêu cầu hỗ trợ #{id}"),
                    &ip,
                    &detail,
                )?;
                Ok::<_, AppError>(queued)
            })
        })
        .await?;
    if let Some(ch) = channel {
        app.outbox_wake.wake(ch);
    }
    Ok(())
}

/// Rated requests in the units where the staff member may process surveys.
pub async fn ratings(app: &Arc<App>, actor: &Actor) -> AppResult<Vec<Ticket>> {
    if !actor.account.has_any(Permission::SurveyProcess) {
        return Err(AppError::Forbidden);
    }
    let account = actor.account.clone();
    app.db(move |app| {
        let tree = app.tree();
        let done = app
            .store
            .read(|r| conv::tickets_with(r, TicketStatus::Done, 10_000))?;
        Ok(done
            .into_iter()
            .filter(|t| t.rating.is_some())
            .filter(|t| tree.allows(&account, Permission::SurveyProcess, t.unit))
            .collect())
    })
    .await
}

/// Whether `id` names a conversation of the web chat (a browser resuming
/// its conversation).
pub async fn is_web_conversation(app: &Arc<App>, id: String) -> bool {
    app.db(move |app| Ok(app.store.read(|r| conv::get(r, &id))?))
        .await
        .ok()
        .flatten()
        .is_some_and(|c| c.channel == Channel::Web)
}

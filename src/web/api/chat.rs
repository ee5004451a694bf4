//! The support bot over the JSON API (api.md): `POST /chat`,
//! `POST /chat/{conversation_id}/handoff`, and (added) `GET
//! /chat/{conversation_id}/messages` for staff replies and the rating
//! question. Anonymous: no cookie or CSRF token is involved; the
//! conversation id is the capability (see `channels::web`).

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::app::App;
use crate::channels::web;
use crate::domain::{Button, Channel};
use crate::error::AppError;
use crate::flows::chat::{self, Incoming, Input};
use crate::helpdesk;
use crate::web::api::{ApiResult, Created};

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatRequest {
    /// The conversation to continue; omit to start one.
    pub conversation_id: Option<String>,
    /// The citizen's message (empty with no conversation: the greeting).
    #[oai(default)]
    pub text: String,
    /// A pressed suggestion (its `id`) instead of typed text.
    pub suggestion_id: Option<String>,
    /// The page language (`vi` or `en`) for greetings and buttons; typed
    /// questions are answered in their own language.
    pub lang: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatSuggestion {
    pub id: String,
    pub label: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatReply {
    /// Plain text; `**…**` marks button names to show in bold. Empty while
    /// a person handles the conversation (the bot stays quiet).
    pub text: String,
    pub intent: Option<String>,
    pub suggestions: Vec<ChatSuggestion>,
    pub handoff_offered: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatResponse {
    pub conversation_id: String,
    pub reply: ChatReply,
    /// A staff member handles the conversation now.
    pub handled_by_person: bool,
    /// The open support request, if any.
    pub ticket_id: Option<u64>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatTicket {
    pub ticket_id: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatMessage {
    pub seq: u64,
    /// `citizen`, `bot` or `staff`.
    pub from: String,
    pub text: String,
    pub suggestions: Vec<ChatSuggestion>,
    /// The citizen's message looked like it held a password or OTP and was not stored.
    pub withheld: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChatMessages {
    pub items: Vec<ChatMessage>,
    pub handled_by_person: bool,
    /// `new`, `in_progress`, `awaiting_reply` or `done`.
    pub ticket_status: Option<String>,
}

fn suggestions(b: Vec<Button>) -> Vec<ChatSuggestion> {
    b.into_iter()
        .map(|b| ChatSuggestion {
            id: b.id,
            label: b.label,
        })
        .collect()
}

async fn known(app: &Arc<App>, id: &Option<String>) -> bool {
    let Some(id) = id.clone() else {
        return false;
    };
    if id.len() > 100 {
        return false;
    }
    crate::flows::chat::is_web_conversation(app, id).await
}

pub struct ChatApi;

#[OpenApi]
impl ChatApi {
    /// Asks the support bot. Returns the answer with suggestions; a
    /// conversation handled by a person gets an empty reply.
    #[oai(path = "/chat", method = "post")]
    async fn chat(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<ChatRequest>,
    ) -> ApiResult<Json<ChatResponse>> {
        let b = body.0;
        let exists = known(app, &b.conversation_id).await;
        if !exists {
            web::allow_new(app, &crate::web::client_ip(req))?;
        }
        let input = match (&b.suggestion_id, b.text.trim()) {
            (Some(id), _) if !id.trim().is_empty() => Input::Button(id.trim().to_string()),
            (_, "") if !exists => Input::Start,
            (_, "") => {
                return Err(AppError::field("text", "Vui lòng nhập câu hỏi.").into());
            }
            (_, t) => Input::Text(t.chars().take(4 * chat::MAX_TEXT).collect()),
        };
        let mut inc = Incoming::new(Channel::Web, "", input);
        inc.conversation_id = b.conversation_id.filter(|_| exists);
        inc.lang = b.lang.as_deref().map(helpdesk::lang_from_code);
        let out = chat::receive(app, inc).await?;
        let reply = match out.reply {
            Some(r) => ChatReply {
                text: r.text,
                intent: r.intent,
                suggestions: suggestions(r.suggestions),
                handoff_offered: r.handoff_offered,
            },
            None => ChatReply {
                text: String::new(),
                intent: None,
                suggestions: vec![],
                handoff_offered: false,
            },
        };
        Ok(Json(ChatResponse {
            conversation_id: out.conversation_id,
            reply,
            handled_by_person: out.person,
            ticket_id: out.ticket,
        }))
    }

    /// Hands the conversation to a person: it becomes a support request in
    /// the console (the same request while one is open).
    #[oai(path = "/chat/:conversation_id/handoff", method = "post")]
    async fn handoff(
        &self,
        Data(app): Data<&Arc<App>>,
        conversation_id: Path<String>,
        /// A one-stop unit to send the request to (default: the province's centre or the place named in the chat).
        unit_id: Query<Option<u64>>,
    ) -> ApiResult<Created<ChatTicket>> {
        let id = chat::handoff(app, &conversation_id, unit_id.0).await?;
        Ok(Created::Created(Json(ChatTicket { ticket_id: id })))
    }

    /// Messages of a web conversation after `after` (a `seq`): staff
    /// replies and the rating question arrive this way.
    #[oai(path = "/chat/:conversation_id/messages", method = "get")]
    async fn messages(
        &self,
        Data(app): Data<&Arc<App>>,
        conversation_id: Path<String>,
        after: Query<Option<u64>>,
    ) -> ApiResult<Json<ChatMessages>> {
        let p = web::poll(app, &conversation_id, after.0.unwrap_or(0)).await?;
        Ok(Json(ChatMessages {
            items: p
                .messages
                .into_iter()
                .map(|m| ChatMessage {
                    seq: m.seq,
                    from: m.from.to_string(),
                    text: m.text,
                    suggestions: suggestions(m.suggestions),
                    withheld: m.withheld,
                })
                .collect(),
            handled_by_person: p.person,
            ticket_status: p.ticket_status.map(|s| s.as_str().to_string()),
        }))
    }
}

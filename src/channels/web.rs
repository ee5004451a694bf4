//! The web chat (portal and console widget, `web/static/chat.js`) over
//! `/api/v1/chat`. The conversation id, 256 random bits kept in the
//! browser tab, is the only thing that links requests to a conversation:
//! no cookie is read, so there is no ambient authority for a cross-site
//! request to abuse (see docs/design/webhooks.md). Staff replies and the
//! rating question reach the widget through `GET /chat/{id}/messages`.

use std::sync::Arc;

use crate::app::App;
use crate::domain::{Button, TicketStatus};
use crate::error::{AppError, AppResult};
use crate::store::conversations::{self as conv, Message, Sender};

pub use crate::flows::chat::{NEW_PER_WINDOW, WINDOW_SECS};

/// Counts a new conversation from `ip`; refuses when the IP started too
/// many lately (each one is a row in the database). Counted in the store
/// (`App::chat_start_cap`), so a restart does not reset it.
pub fn allow_new(app: &Arc<App>, ip: &str) -> AppResult<()> {
    let now = app.now();
    app.chat_start_cap
        .take(ip, now)
        .map_err(|retry_after| AppError::Limited {
            message: "Anh/chị đã mở quá nhiều cuộc trò chuyện. Vui lòng thử lại sau ít phút."
                .into(),
            retry_after,
        })
}

/// A message as the widget shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebMessage {
    pub seq: u64,
    /// "citizen", "bot" or "staff".
    pub from: &'static str,
    pub text: String,
    pub suggestions: Vec<Button>,
    pub withheld: bool,
}

impl From<Message> for WebMessage {
    fn from(m: Message) -> WebMessage {
        WebMessage {
            seq: m.seq,
            from: match m.from {
                Sender::Citizen => "citizen",
                Sender::Bot => "bot",
                // The citizen sees "support staff", not who.
                Sender::Staff(_) => "staff",
            },
            text: m.text,
            suggestions: m.suggestions,
            withheld: m.withheld,
        }
    }
}

/// What the widget polls for.
#[derive(Debug, Clone)]
pub struct Poll {
    pub messages: Vec<WebMessage>,
    /// A person handles the conversation.
    pub person: bool,
    /// The open (or last) request's status.
    pub ticket_status: Option<TicketStatus>,
}

/// Messages after `after` in a web conversation.
pub async fn poll(app: &Arc<App>, id: &str, after: u64) -> AppResult<Poll> {
    let id = id.to_string();
    app.db(move |app| {
        app.store
            .read(|r| {
                let Some(c) =
                    conv::get(r, &id)?.filter(|c| c.channel == crate::domain::Channel::Web)
                else {
                    return Ok(Err(AppError::NotFound(
                        "Không tìm thấy cuộc trò chuyện. Anh/chị vui lòng bắt đầu lại.".into(),
                    )));
                };
                let messages = conv::messages(r, &id, after, 200)?
                    .into_iter()
                    .map(WebMessage::from)
                    .collect();
                let status = match c.ticket.or(c.awaiting_rating) {
                    Some(t) => conv::ticket(r, t)?.map(|t| t.status),
                    None => None,
                };
                Ok::<_, crate::store::StoreError>(Ok(Poll {
                    messages,
                    person: c.ticket.is_some(),
                    ticket_status: status,
                }))
            })
            .map_err(AppError::from)?
    })
    .await
}

/// A bot message as the web chat widget shows it (`web/static/chat.js`,
/// `richText`): lines, `**bold**`, and links, escaped; for the console's
/// preview.
pub fn message_html(text: &str) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    // Links as chat.js finds them: http(s)://, up to a space or `)`, not
    // ending in punctuation.
    fn linked(part: &str, out: &mut String) {
        let mut rest = part;
        while let Some(i) = rest
            .find("http://")
            .into_iter()
            .chain(rest.find("https://"))
            .min()
        {
            out.push_str(&esc(&rest[..i]));
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| c.is_whitespace() || c == ')')
                .unwrap_or(tail.len());
            let mut url = &tail[..end];
            while url.ends_with(['.', ',', ';', '!', '?', ')']) {
                url = &url[..url.len() - 1];
            }
            let scheme = if url.starts_with("https://") { 8 } else { 7 };
            if url.len() <= scheme {
                out.push_str(&esc(&tail[..scheme.min(tail.len())]));
                rest = &tail[scheme.min(tail.len())..];
                continue;
            }
            out.push_str(&format!(
                "<a href=\"{}\" rel=\"noopener\">{}</a>",
                esc(url),
                esc(url)
            ));
            rest = &tail[url.len()..];
        }
        out.push_str(&esc(rest));
    }
    let mut out = String::new();
    for (li, line) in text.split('\n').enumerate() {
        if li > 0 {
            out.push_str("<br>");
        }
        let parts: Vec<&str> = line.split("**").collect();
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 1 && i < parts.len() - 1 {
                out.push_str("<strong>");
                linked(part, &mut out);
                out.push_str("</strong>");
            } else if i % 2 == 1 {
                out.push_str("**");
                linked(part, &mut out);
            } else {
                linked(part, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod preview_tests {
    #[test]
    fn the_widget_s_rendering() {
        assert_eq!(
            super::message_html("Bấm **Quên mật khẩu** tại https://dvc.vn/a.\n<b>x</b> **y"),
            "Bấm <strong>Quên mật khẩu</strong> tại <a href=\"https://dvc.vn/a\" rel=\"noopener\">https://dvc.vn/a</a>.<br>&lt;b&gt;x&lt;/b&gt; **y"
        );
    }
}

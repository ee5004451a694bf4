//! What the bot says in either language: the welcome and help replies,
//! buttons, the rating prompt, and the commands and ratings typed as text.

use crate::app::Bot;
use crate::domain::{Button, Channel};
use crate::helpdesk;
use crate::helpdesk::{HANDOFF, Lang};

use super::{BotReply, Input, MAIN_TOPICS, RATE_PREFIX};

pub(super) fn lang_of(code: &str) -> Lang {
    helpdesk::lang_from_code(code)
}

pub(super) fn pick(lang: Lang, vi: &str, en: &str) -> String {
    match lang {
        Lang::Vi => vi.to_string(),
        Lang::En => en.to_string(),
    }
}

fn buttons(s: &[helpdesk::Suggestion]) -> Vec<Button> {
    s.iter()
        .map(|s| Button {
            id: s.id.clone(),
            label: s.label.clone(),
        })
        .collect()
}

pub(super) fn from_reply(r: helpdesk::Reply) -> BotReply {
    BotReply {
        suggestions: buttons(&r.suggestions),
        text: r.text,
        intent: r.intent,
        handoff_offered: r.handoff_offered,
    }
}

fn handoff_button(lang: Lang) -> Button {
    Button {
        id: HANDOFF.to_string(),
        label: helpdesk::handoff_label(lang).to_string(),
    }
}

/// Cuts a text to `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

pub(super) fn welcome(bot: &Bot, channel: Channel, lang: Lang) -> BotReply {
    let mut suggestions: Vec<Button> = MAIN_TOPICS
        .iter()
        .filter_map(|id| bot.kb.entry(id))
        .map(|e| Button {
            id: e.id.clone(),
            label: match lang {
                Lang::Vi => e.title_vi.clone(),
                Lang::En => e.title_en.clone(),
            },
        })
        .collect();
    suggestions.push(handoff_button(lang));
    let command = if channel == Channel::Web {
        ""
    } else {
        match lang {
            Lang::Vi => " (hoặc nhắn /nguoi)",
            Lang::En => " (or send /nguoi)",
        }
    };
    let text = match lang {
        Lang::Vi => format!(
            "Xin chào! Tôi là trợ lý tự động hỗ trợ tài khoản trên Cổng Dịch vụ công quốc gia. \
             Anh/chị hãy nhắn câu hỏi (ví dụ: \"không nhận được mã OTP\") hoặc chọn một chủ đề dưới đây. \
             Khi cần gặp cán bộ hỗ trợ, anh/chị bấm **Gặp cán bộ hỗ trợ**{command}.\n\
             Vì an toàn, anh/chị không gửi mật khẩu hay mã OTP cho bất kỳ ai."
        ),
        Lang::En => format!(
            "Hello! I am the automatic assistant for National Public Service Portal accounts. \
             Send your question (for example: \"I did not get the OTP\") or pick a topic below. \
             To reach a staff member, tap **Talk to a person**{command}.\n\
             For your safety, never send your password or OTP code to anyone."
        ),
    };
    BotReply {
        text,
        intent: None,
        suggestions,
        handoff_offered: true,
    }
}

pub(super) fn help(lang: Lang) -> BotReply {
    let text = pick(
        lang,
        "Cách dùng trợ lý:\n\
         • Nhắn câu hỏi bằng tiếng Việt (có dấu hoặc không dấu) hoặc tiếng Anh.\n\
         • Bấm nút, hoặc nhắn số thứ tự của nút, để chọn chủ đề gợi ý.\n\
         • Nhắn /nguoi để gặp cán bộ hỗ trợ.\n\
         • Nhắn /start để xem các chủ đề chính.\n\
         Vì an toàn, anh/chị không gửi mật khẩu hay mã OTP cho bất kỳ ai.",
        "How to use this assistant:\n\
         • Send your question in Vietnamese or English.\n\
         • Tap a button, or send its number, to pick a suggested topic.\n\
         • Send /nguoi to talk to a staff member.\n\
         • Send /start to see the main topics.\n\
         For your safety, never send your password or OTP code to anyone.",
    );
    BotReply {
        text,
        intent: None,
        suggestions: vec![handoff_button(lang)],
        handoff_offered: true,
    }
}

pub(super) fn rate_limited_text(lang: Lang) -> String {
    pick(
        lang,
        "Anh/chị đang gửi tin nhắn hơi nhanh. Vui lòng đợi khoảng một phút rồi gửi tiếp, tôi sẽ trả lời ngay.",
        "You are sending messages a little fast. Please wait about a minute, then send again and I will answer.",
    )
}

/// The rating question sent when a request is resolved, with buttons 1–5.
pub fn rating_prompt(ticket: u64, lang: Lang) -> BotReply {
    let labels_vi = [
        "Rất không hài lòng",
        "Không hài lòng",
        "Bình thường",
        "Hài lòng",
        "Rất hài lòng",
    ];
    let labels_en = [
        "Very unsatisfied",
        "Unsatisfied",
        "Neutral",
        "Satisfied",
        "Very satisfied",
    ];
    let suggestions = (1..=5)
        .map(|n| Button {
            id: format!("{RATE_PREFIX}{n}"),
            label: format!(
                "{n} – {}",
                match lang {
                    Lang::Vi => labels_vi[n - 1],
                    Lang::En => labels_en[n - 1],
                }
            ),
        })
        .collect();
    let text = match lang {
        Lang::Vi => format!(
            "Yêu cầu hỗ trợ số {ticket} của anh/chị đã được xử lý xong. \
             Anh/chị vui lòng đánh giá mức độ hài lòng với hỗ trợ vừa nhận, từ 1 (rất không hài lòng) đến 5 (rất hài lòng), \
             bằng cách bấm nút hoặc nhắn một số từ 1 đến 5."
        ),
        Lang::En => format!(
            "Your support request no. {ticket} has been resolved. \
             Please rate the help you received from 1 (very unsatisfied) to 5 (very satisfied): tap a button or send a number from 1 to 5."
        ),
    };
    BotReply {
        text,
        intent: None,
        suggestions,
        handoff_offered: false,
    }
}

/// A label put before a staff member's message on Telegram and Zalo.
pub fn staff_prefix(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "👤 Cán bộ hỗ trợ:\n",
        Lang::En => "👤 Support staff:\n",
    }
}

/// `/start`, `/help`, `/nguoi` typed as text (also `/start@BotName`).
pub(super) fn command(text: &str) -> Option<Input> {
    let t = text.trim();
    let cmd = t.strip_prefix('/')?;
    let cmd = cmd.split([' ', '@']).next().unwrap_or("").to_lowercase();
    match cmd.as_str() {
        "start" => Some(Input::Start),
        "help" | "trogiup" | "huongdan" => Some(Input::Help),
        "nguoi" | "gapnguoi" | "canbo" | "human" | "person" => Some(Input::Handoff),
        _ => None,
    }
}

/// A rating typed as text: "5", "4 sao", "3/5", "5⭐".
pub(super) fn typed_rating(text: &str) -> Option<u8> {
    let t = helpdesk::fold(text);
    let t = t
        .trim_end_matches("sao")
        .trim_end_matches("/5")
        .trim_end_matches(" 5")
        .trim();
    match t {
        "1" | "2" | "3" | "4" | "5" => t.parse().ok(),
        _ => None,
    }
}

//! The words of the support chat shared by every layer: the channels a
//! citizen writes on, the buttons under a bot message, the states of a
//! request handed to a person.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Web,
    Telegram,
    Zalo,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Web, Channel::Telegram, Channel::Zalo];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Telegram => "telegram",
            Channel::Zalo => "zalo",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Channel::Web => "Trò chuyện trên web",
            Channel::Telegram => "Telegram",
            Channel::Zalo => "Zalo OA",
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Channel::Web => 1,
            Channel::Telegram => 2,
            Channel::Zalo => 3,
        }
    }

    pub fn from_byte(b: u8) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.byte() == b)
    }
}

/// A button under a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    /// Mới: nobody has answered yet.
    New,
    /// Đang xử lý: a staff member is on it, or the citizen wrote again.
    InProgress,
    /// Chờ phản hồi: staff answered, waiting for the citizen.
    AwaitingReply,
    /// Đã xong.
    Done,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [
        TicketStatus::New,
        TicketStatus::InProgress,
        TicketStatus::AwaitingReply,
        TicketStatus::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::AwaitingReply => "awaiting_reply",
            TicketStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        TicketStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            TicketStatus::New => "Mới",
            TicketStatus::InProgress => "Đang xử lý",
            TicketStatus::AwaitingReply => "Chờ phản hồi",
            TicketStatus::Done => "Đã xong",
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            TicketStatus::New => 1,
            TicketStatus::InProgress => 2,
            TicketStatus::AwaitingReply => 3,
            TicketStatus::Done => 4,
        }
    }
}

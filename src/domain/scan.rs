//! The kinds of file a scanned ID may be (decided by content: `upload::detect`).

use serde::{Deserialize, Serialize};

/// The type of a scanned ID file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanKind {
    Pdf,
    Doc,
    Docx,
}

impl ScanKind {
    pub fn mime(&self) -> &'static str {
        match self {
            ScanKind::Pdf => "application/pdf",
            ScanKind::Doc => "application/msword",
            ScanKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }

    pub fn ext(&self) -> &'static str {
        match self {
            ScanKind::Pdf => "pdf",
            ScanKind::Doc => "doc",
            ScanKind::Docx => "docx",
        }
    }
}

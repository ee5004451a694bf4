//! Reading the multipart body of the ID-scan upload: the transport's part.
//! It hands plain bytes and text fields to the upload rules (`upload`),
//! refusing while the body streams in once a part passes its cap.

use tokio::io::AsyncReadExt;

use crate::error::{AppError, AppResult};
use crate::upload::{
    FORM_OVERHEAD, FilePart, MAX_PARTS, MAX_SCAN_BYTES, MAX_TEXT_FIELD, MSG_TOO_LARGE,
    MSG_TWO_FILES, clean_file_name,
};

/// A multipart form: text fields, and the file of the one file field.
#[derive(Debug, Default)]
pub struct MultipartForm {
    pub fields: Vec<(String, String)>,
    pub file: Option<FilePart>,
}

impl MultipartForm {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self, k: &str) -> String {
        self.get(k).unwrap_or("").to_string()
    }

    /// The counter's request for a citizen account (the console page and
    /// the API post the same form).
    pub fn citizen_request(self) -> crate::flows::citizen_accounts::NewRequest {
        crate::flows::citizen_accounts::NewRequest {
            id_number: self.text("id_number"),
            full_name: self.text("full_name"),
            birth_date: self.text("birth_date"),
            phone: self.text("phone"),
            email: self.text("email"),
            unit_id: self.text("unit_id"),
            file: self.file,
        }
    }
}

/// Reads at most `cap` bytes; `Ok(None)` when there was more.
async fn read_capped(
    reader: impl tokio::io::AsyncRead + Send,
    cap: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let reader = std::pin::pin!(reader);
    let mut out = Vec::new();
    let mut limited = reader.take(cap as u64 + 1);
    limited.read_to_end(&mut out).await?;
    if out.len() > cap {
        Ok(None)
    } else {
        Ok(Some(out))
    }
}

/// Reads a multipart form whose only file is `file_field`, refusing while
/// the body streams in once the file passes `MAX_SCAN_BYTES` (a too-long
/// declared body is refused before anything is read). An empty file input
/// (what a browser sends when no file was chosen) counts as no file.
pub async fn read_multipart(
    mut mp: poem::web::Multipart,
    content_length: Option<u64>,
    file_field: &str,
) -> AppResult<MultipartForm> {
    if content_length.is_some_and(|n| n > (MAX_SCAN_BYTES + FORM_OVERHEAD) as u64) {
        return Err(AppError::TooLarge(MSG_TOO_LARGE.into()));
    }
    let bad = || AppError::invalid("Dữ liệu biểu mẫu gửi lên không hợp lệ, vui lòng thử lại.");
    let mut form = MultipartForm::default();
    let mut parts = 0;
    while let Some(field) = mp.next_field().await.map_err(|_| bad())? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(bad());
        }
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        if name == file_field || file_name.is_some() {
            if name != file_field {
                // A file in a field we do not expect: one file only.
                return Err(AppError::field("id_scan", MSG_TWO_FILES));
            }
            let data = read_capped(field.into_async_read(), MAX_SCAN_BYTES)
                .await
                .map_err(|_| bad())?
                .ok_or_else(|| AppError::TooLarge(MSG_TOO_LARGE.into()))?;
            let file_name = file_name.unwrap_or_default();
            if data.is_empty() && file_name.is_empty() {
                continue; // an empty file input
            }
            if form.file.is_some() {
                return Err(AppError::field("id_scan", MSG_TWO_FILES));
            }
            form.file = Some(FilePart {
                file_name: clean_file_name(&file_name),
                bytes: data,
            });
        } else {
            let data = read_capped(field.into_async_read(), MAX_TEXT_FIELD)
                .await
                .map_err(|_| bad())?
                .ok_or_else(|| AppError::TooLarge("Một trường dữ liệu quá dài.".into()))?;
            let text = String::from_utf8(data).map_err(|_| bad())?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

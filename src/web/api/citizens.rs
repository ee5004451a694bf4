//! JSON API: staff-assisted citizen accounts (seed part I), per api.md
//! "Staff-assisted citizen accounts". Permission `citizen_accounts.create`;
//! accounts and requests outside the caller's units are 404.

use std::sync::Arc;

use poem::web::Data;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::app::App;
use crate::flows::citizen_accounts::{self as ca, ListFilter, RequestView};
use crate::store::citizens::CitizenRecord;
use crate::upload;
use crate::web::api::{ApiResult, Created, OtpRequest, staff_actor};

/// The multipart body of a new request: the fields of the seed's form and
/// the scanned ID (`id_scan`). Read as a stream; the file is refused once it
/// passes 5 MB.
pub struct ScanForm {
    multipart: poem::web::Multipart,
    content_length: Option<u64>,
}

fn string_schema(format: Option<&'static str>, description: &'static str) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        format,
        description: Some(description),
        ..MetaSchema::new("string")
    }))
}

impl Payload for ScanForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: vec![
                "id_number",
                "full_name",
                "birth_date",
                "phone",
                "unit_id",
                "id_scan",
            ],
            properties: vec![
                (
                    "id_number",
                    string_schema(None, "Số CMND (9 số) hoặc CCCD (12 số)"),
                ),
                ("full_name", string_schema(None, "Họ và tên")),
                ("birth_date", string_schema(None, "Ngày sinh dd/mm/yyyy")),
                (
                    "phone",
                    string_schema(None, "Số điện thoại di động của chính công dân"),
                ),
                ("email", string_schema(None, "Email (không bắt buộc)")),
                (
                    "unit_id",
                    string_schema(None, "Đơn vị một cửa (GET /staff/me/units, selectable)"),
                ),
                (
                    "id_scan",
                    string_schema(
                        Some("binary"),
                        "Một tệp doc, docx hoặc pdf gồm 2 mặt CMND/CCCD, tối đa 5 MB (kiểm tra theo nội dung)",
                    ),
                ),
            ],
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for ScanForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let content_length = request
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(ScanForm {
            multipart: poem::web::Multipart::from_request(request, body).await?,
            content_length,
        })
    }
}

poem_openapi::impl_apirequest_for_payload!(ScanForm,);

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenItem {
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    /// Full name of the staff member who created the account.
    pub created_by: String,
    pub created_by_username: String,
    pub unit: String,
    pub unit_id: u64,
    /// dd/mm/yyyy HH:MM (Vietnam time)
    pub created_at: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenList {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub items: Vec<CitizenItem>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenLookupOut {
    pub exists: bool,
    #[oai(skip_serializing_if_is_none)]
    pub phone_masked: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub message: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenRequestCreated {
    pub request_id: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenRequestOut {
    pub request_id: String,
    pub code: String,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone_masked: String,
    pub email: Option<String>,
    pub unit_id: u64,
    pub unit: String,
    pub staff_name: String,
    pub created_at: String,
    pub otp_sent: bool,
    /// Seconds until a new OTP may be sent.
    pub resend_in: i64,
    /// Seconds the current OTP stays valid.
    pub otp_valid_for: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenOtpSent {
    pub phone_masked: String,
    pub expires_in: i64,
    pub resend_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenAccountCreated {
    pub id_number: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenOut {
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit_id: u64,
    pub unit: String,
    pub created_by: String,
    pub created_by_username: String,
    pub created_at: String,
    pub id_scan_type: String,
    pub id_scan_size: u64,
    pub id_scan_name: String,
}

/// A downloaded file (always as an attachment; `nosniff` is on every response).
#[derive(ApiResponse)]
pub enum CitizenFileOut {
    #[oai(status = 200)]
    File(
        Binary<Vec<u8>>,
        #[oai(header = "Content-Type")] String,
        #[oai(header = "Content-Disposition")] String,
    ),
}

fn file(mime: &str, name: &str, bytes: Vec<u8>) -> CitizenFileOut {
    CitizenFileOut::File(
        Binary(bytes),
        mime.to_string(),
        upload::attachment_disposition(name),
    )
}

fn request_out(v: RequestView, app: &App) -> CitizenRequestOut {
    let unit = app.tree().name(v.data.unit);
    CitizenRequestOut {
        request_id: v.id,
        code: v.data.code,
        id_number: v.data.id_number,
        full_name: v.data.full_name,
        birth_date: v.data.birth_date,
        phone_masked: v.phone_masked,
        email: v.data.email,
        unit_id: v.data.unit,
        unit,
        staff_name: v.data.staff_name,
        created_at: crate::util::fmt_time(v.data.created_at),
        otp_sent: v.otp_sent,
        resend_in: v.resend_in,
        otp_valid_for: v.otp_valid_for,
    }
}

fn citizen_out(r: CitizenRecord, app: &App) -> CitizenOut {
    let unit = app.tree().name(r.unit);
    CitizenOut {
        id_number: r.id_number,
        full_name: r.full_name,
        birth_date: r.birth_date,
        phone: r.phone,
        email: r.email,
        unit_id: r.unit,
        unit: if unit.is_empty() { r.unit_name } else { unit },
        created_by: r.created_by_name,
        created_by_username: r.created_by,
        created_at: crate::util::fmt_time(r.created_at),
        id_scan_type: r.scan.kind.ext().to_string(),
        id_scan_size: r.scan.size,
        id_scan_name: r.scan.file_name,
    }
}

pub struct CitizenAccountsApi;

#[OpenApi]
impl CitizenAccountsApi {
    /// Accounts created by staff in the caller's units, newest first. Name
    /// search ignores case and diacritics (whole words); phone accepts any
    /// format of a Vietnamese mobile number; dates are dd/mm/yyyy.
    #[oai(path = "/citizen-accounts", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        name: Query<Option<String>>,
        phone: Query<Option<String>>,
        id_number: Query<Option<String>>,
        created_by: Query<Option<String>>,
        unit_id: Query<Option<String>>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        page: Query<Option<String>>,
        per_page: Query<Option<String>>,
    ) -> ApiResult<Json<CitizenList>> {
        let actor = staff_actor(app, req).await?;
        let f = ListFilter {
            name: name.0,
            phone: phone.0,
            id_number: id_number.0,
            created_by: created_by.0,
            unit_id: unit_id.0,
            from: from.0,
            to: to.0,
            page: page.0,
            per_page: per_page.0,
        };
        let p = ca::list(app, &actor, &f).await?;
        Ok(Json(CitizenList {
            total: p.total,
            page: p.page,
            per_page: p.per_page,
            items: p
                .items
                .into_iter()
                .map(|i| CitizenItem {
                    id_number: i.id_number,
                    full_name: i.full_name,
                    birth_date: i.birth_date,
                    phone: i.phone,
                    created_by: i.created_by,
                    created_by_username: i.created_by_username,
                    unit: i.unit,
                    unit_id: i.unit_id,
                    created_at: i.created_at,
                })
                .collect(),
        }))
    }

    /// Is there already an account with this CMND/CCCD? Audited;
    /// rate-limited per staff member (429 with Retry-After).
    #[oai(path = "/citizen-accounts/lookup", method = "get")]
    async fn lookup(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id_number: Query<Option<String>>,
    ) -> ApiResult<Json<CitizenLookupOut>> {
        let actor = staff_actor(app, req).await?;
        let l = ca::lookup(app, &actor, id_number.0.as_deref().unwrap_or("")).await?;
        Ok(Json(CitizenLookupOut {
            exists: l.exists,
            message: l.exists.then(|| ca::MSG_EXISTS.to_string()),
            phone_masked: l.phone_masked,
        }))
    }

    /// One account created by staff (audited).
    #[oai(path = "/citizen-accounts/:id_number", method = "get")]
    async fn account(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id_number: Path<String>,
    ) -> ApiResult<Json<CitizenOut>> {
        let actor = staff_actor(app, req).await?;
        let rec = ca::account(app, &actor, &id_number).await?;
        ca::note_view(app, &actor, &rec).await?;
        Ok(Json(citizen_out(rec, app)))
    }

    /// The scanned ID of an account, as an attachment (audited).
    #[oai(path = "/citizen-accounts/:id_number/id-scan", method = "get")]
    async fn account_scan(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id_number: Path<String>,
    ) -> ApiResult<CitizenFileOut> {
        let actor = staff_actor(app, req).await?;
        let rec = ca::account(app, &actor, &id_number).await?;
        let (rec, bytes) = ca::scan_file(app, &actor, rec).await?;
        let name = format!("CMND-CCCD-{}.{}", rec.request_code, rec.scan.kind.ext());
        Ok(file(rec.scan.kind.mime(), &name, bytes))
    }

    /// The request form of an account, regenerated as PDF (audited).
    #[oai(path = "/citizen-accounts/:id_number/form.pdf", method = "get")]
    async fn account_form(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id_number: Path<String>,
    ) -> ApiResult<CitizenFileOut> {
        let actor = staff_actor(app, req).await?;
        let rec = ca::account(app, &actor, &id_number).await?;
        let (name, pdf) = ca::account_pdf(app, &actor, rec).await?;
        Ok(file("application/pdf", &name, pdf))
    }

    /// Step 1: the request (multipart, with the scanned ID). Expires after 1 hour.
    #[oai(path = "/citizen-account-requests", method = "post")]
    async fn create_request(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: ScanForm,
    ) -> ApiResult<Created<CitizenRequestCreated>> {
        let actor = staff_actor(app, req).await?;
        let form =
            crate::web::multipart::read_multipart(body.multipart, body.content_length, "id_scan")
                .await?;
        let input = form.citizen_request();
        let id = ca::create_request(app, &actor, input).await?;
        Ok(Created::Created(Json(CitizenRequestCreated {
            request_id: id,
        })))
    }

    /// A request in progress (its owner only).
    #[oai(path = "/citizen-account-requests/:id", method = "get")]
    async fn get_request(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
    ) -> ApiResult<Json<CitizenRequestOut>> {
        let actor = staff_actor(app, req).await?;
        let v = ca::get_request(app, &actor, &id).await?;
        Ok(Json(request_out(v, app)))
    }

    /// Step 2: the filled request form (Giấy đề nghị tạo tài khoản) as PDF.
    #[oai(path = "/citizen-account-requests/:id/form.pdf", method = "get")]
    async fn request_form(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
    ) -> ApiResult<CitizenFileOut> {
        let actor = staff_actor(app, req).await?;
        let (name, pdf) = ca::request_pdf(app, &actor, &id).await?;
        Ok(file("application/pdf", &name, pdf))
    }

    /// Step 2: sends the OTP to the citizen's phone (or a new one after the
    /// cooldown; only the latest works).
    #[oai(path = "/citizen-account-requests/:id/otp", method = "post")]
    async fn send_otp(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
    ) -> ApiResult<Json<CitizenOtpSent>> {
        let actor = staff_actor(app, req).await?;
        let v = ca::send_otp(app, &actor, &id).await?;
        Ok(Json(CitizenOtpSent {
            phone_masked: v.phone_masked,
            expires_in: v.otp_valid_for,
            resend_in: v.resend_in,
        }))
    }

    /// Step 3: the latest OTP creates the account; the password goes to the
    /// citizen by SMS.
    #[oai(path = "/citizen-account-requests/:id/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
        body: Json<OtpRequest>,
    ) -> ApiResult<Created<CitizenAccountCreated>> {
        let actor = staff_actor(app, req).await?;
        let rec = ca::confirm(app, &actor, &id, &body.otp).await?;
        Ok(Created::Created(Json(CitizenAccountCreated {
            id_number: rec.id_number,
        })))
    }
}

//! The JSON API at /api/v1 (poem-openapi), per shared/spec/api.md.

pub mod access;
pub mod chat;
pub mod citizens;
pub mod faq;
pub mod portal;

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Endpoint, EndpointExt, Request, Response};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService};

use crate::app::App;
use crate::domain::{Permission, PermissionSet};
use crate::error::AppError;
use crate::flows::sign_in::Audience;
use crate::flows::{Actor, admin, sign_in, staff_units};

#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[oai(skip_serializing_if_is_none)]
    pub fields: Option<HashMap<String, String>>,
}

#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Every error response of the API.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// Invalid input.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in, or wrong credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Not found.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflict with existing data.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The flow has expired.
    #[oai(status = 410)]
    Gone(Json<ErrorBody>),
    /// Too large.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// Wrong file type.
    #[oai(status = 415)]
    UnsupportedType(Json<ErrorBody>),
    /// Rate limited; retry after the given seconds.
    #[oai(status = 429)]
    Limited(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
    /// Unexpected failure.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database cannot be reached for the moment; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = crate::web::status::status_of(&e);
        let body = Json(ErrorBody {
            error: ErrorDetail {
                code: crate::web::status::code_of(&e).to_string(),
                message: crate::web::status::message_of(&e),
                fields: e.field_map().map(|m| m.clone().into_iter().collect()),
            },
        });
        let retry_after = e.retry_after().unwrap_or(0).to_string();
        match status {
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(body),
            StatusCode::BAD_REQUEST => ApiError::BadRequest(body),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(body),
            StatusCode::FORBIDDEN => ApiError::Forbidden(body),
            StatusCode::NOT_FOUND => ApiError::NotFound(body),
            StatusCode::CONFLICT => ApiError::Conflict(body),
            StatusCode::GONE => ApiError::Gone(body),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedType(body),
            StatusCode::TOO_MANY_REQUESTS => ApiError::Limited(body, retry_after),
            _ => ApiError::Internal(body),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Request-parsing errors (bad JSON, missing fields, wrong content type) get
/// the same JSON shape as every other error.
pub fn error_mapping(ep: impl Endpoint + 'static) -> impl Endpoint {
    ep.catch_all_error(|e: poem::Error| async move {
        if !e.has_source() {
            return e.into_response();
        }
        let status = e.status();
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "Không tìm thấy địa chỉ yêu cầu.".to_string()),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "Phương thức không được hỗ trợ.".to_string(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "Kiểu dữ liệu gửi lên không được hỗ trợ.".to_string(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "Dữ liệu gửi lên quá lớn.".to_string()),
            s if s.is_server_error() => (
                "internal",
                "Hệ thống đang gặp sự cố, vui lòng thử lại sau.".to_string(),
            ),
            _ => (
                "invalid_input",
                format!("Dữ liệu gửi lên không hợp lệ: {e}"),
            ),
        };
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        Response::builder()
            .status(status)
            .content_type("application/json; charset=utf-8")
            .body(body.to_string())
    })
}

pub type AllApis = (
    Api,
    super::api::citizens::CitizenAccountsApi,
    super::api::portal::PortalApi,
    super::api::access::AccessApi,
    super::api::chat::ChatApi,
    super::api::faq::FaqApi,
);

pub fn service(public_url: &str) -> OpenApiService<AllApis, ()> {
    OpenApiService::new(
        (
            Api,
            super::api::citizens::CitizenAccountsApi,
            super::api::portal::PortalApi,
            super::api::access::AccessApi,
            super::api::chat::ChatApi,
            super::api::faq::FaqApi,
        ), "motcua API", env!("CARGO_PKG_VERSION"))
        .description("Citizen accounts for one-stop public service offices. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}. Send `Authorization: Bearer <token>` from a sign-in.")
        .server(format!("{public_url}/api/v1"))
}

/// A readable API page built on the server from the OpenAPI document (no
/// scripts, so the CSP holds).
pub fn docs_page(spec_json: &str) -> String {
    let spec: serde_json::Value = serde_json::from_str(spec_json).unwrap_or_default();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, ops) in paths {
            if let Some(ops) = ops.as_object() {
                for (method, op) in ops {
                    rows.push_str(&format!(
                        "<tr><td><code>{}</code></td><td><code>/api/v1{}</code></td><td>{}</td></tr>",
                        esc(&method.to_uppercase()),
                        esc(path),
                        esc(op["summary"].as_str().unwrap_or(""))
                    ));
                }
            }
        }
    }
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>API motcua</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main class=\"content portal-content\"><h1>API motcua v1</h1><p>Tài liệu máy đọc: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI 3). Lỗi trả về dạng <code>{{\"error\": {{\"code\", \"message\", \"fields\"}}}}</code>.</p><table class=\"grid\"><thead><tr><th>Phương thức</th><th>Đường dẫn</th><th>Mô tả</th></tr></thead><tbody>{rows}</tbody></table></main></body></html>"
    )
}

pub async fn staff_actor(app: &Arc<App>, req: &Request) -> ApiResult<Actor> {
    let actor = super::ctx::current(app, req, true)
        .await
        .ok_or(AppError::Unauthorized)?;
    check_csrf(app, req)?;
    if actor.account.must_change_password {
        return Err(AppError::Forbidden.into());
    }
    Ok(actor)
}

/// Cookie-authenticated writes must carry, in `X-CSRF-Token`, the token the
/// server derived for this session (the `_csrf` of its pages); bearer clients
/// need not.
pub fn check_csrf(app: &App, req: &Request) -> ApiResult<()> {
    if req.method().is_safe() || super::ctx::bearer(req).is_some() {
        return Ok(());
    }
    let header = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if super::ctx::csrf_ok(app, req, header) {
        Ok(())
    } else {
        Err(AppError::Forbidden.into())
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginStarted {
    pub flow_id: String,
    pub phone_masked: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OtpRequest {
    pub otp: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenResponse {
    pub token: String,
    pub must_change_password: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResendResponse {
    pub phone_masked: String,
    pub expires_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnitOut {
    pub id: u64,
    pub name: String,
    pub code: String,
    pub parent_id: Option<u64>,
    pub eligible: bool,
    pub depth: u32,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewUnit {
    pub name: String,
    pub parent_id: Option<u64>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RenameUnit {
    pub name: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreatedUnit {
    pub id: u64,
    pub eligible: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewStaffRequest {
    pub username: String,
    pub full_name: String,
    pub id_number: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit_ids: Vec<u64>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StaffOut {
    pub username: String,
    pub full_name: String,
    pub phone_masked: String,
    pub unit_ids: Vec<u64>,
    pub must_change_password: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GrantsRequest {
    pub unit_id: u64,
    pub permissions: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GrantOut {
    pub unit_id: u64,
    pub permissions: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MeOut {
    pub username: String,
    pub full_name: String,
    pub phone_masked: String,
    pub superadmin: bool,
    pub must_change_password: bool,
    pub grants: Vec<GrantOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyUnit {
    pub id: u64,
    pub name: String,
    pub eligible: bool,
    pub selectable: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnitReason {
    pub code: String,
    pub message: String,
    pub fixer: String,
    pub units: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyUnits {
    pub items: Vec<MyUnit>,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<UnitReason>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordChange {
    pub current_password: String,
    pub password: String,
    pub password_confirm: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Ok_ {
    pub ok: bool,
}

#[derive(ApiResponse)]
pub enum Created<T: poem_openapi::types::ToJSON + Send + Sync> {
    #[oai(status = 201)]
    Created(Json<T>),
}

fn parse_perms(list: &[String]) -> Result<PermissionSet, AppError> {
    let mut set = PermissionSet::empty();
    let mut bad = vec![];
    for p in list {
        match Permission::parse(p) {
            Ok(p) => {
                set.insert(p);
            }
            Err(_) => bad.push(p.clone()),
        }
    }
    if bad.is_empty() {
        Ok(set)
    } else {
        Err(AppError::field(
            "permissions",
            format!("Quyền không hợp lệ: {}.", bad.join(", ")),
        ))
    }
}

fn mask(p: &str) -> String {
    crate::domain::phone::mask(p)
}

/// Sign-in step 2 for API clients: the OTP, then a bearer session instead
/// of the cookie one.
pub(crate) async fn bearer_sign_in(
    app: &Arc<App>,
    req: &Request,
    flow_id: &str,
    otp: &str,
    audience: Audience,
) -> ApiResult<Json<TokenResponse>> {
    let s = sign_in::verify(app, flow_id, otp, &super::client_ip(req), audience).await?;
    let must = s.account.must_change_password;
    let token = sign_in::to_bearer(app, s, audience).await?;
    Ok(Json(TokenResponse {
        token,
        must_change_password: must,
    }))
}

pub struct Api;

#[OpenApi]
impl Api {
    /// Staff sign-in, step 1: password. An OTP goes to the staff member's phone.
    #[oai(path = "/staff/login", method = "post")]
    async fn sign_in(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<LoginRequest>,
    ) -> ApiResult<Json<LoginStarted>> {
        let client = sign_in::Client {
            ip: super::client_ip(req),
            device_cookie: super::ctx::device_cookie(app, req),
            captcha_passed: false,
        };
        let s = sign_in::start_from(
            app,
            &body.username,
            &body.password,
            &client,
            Audience::Console,
        )
        .await?;
        Ok(Json(LoginStarted {
            flow_id: s.flow_id,
            phone_masked: s.phone_masked,
        }))
    }

    /// Staff sign-in, step 2: the OTP. Returns a bearer token.
    #[oai(path = "/staff/login/:flow_id/otp", method = "post")]
    async fn sign_in_otp(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<OtpRequest>,
    ) -> ApiResult<Json<TokenResponse>> {
        bearer_sign_in(app, req, &flow_id, &body.otp, Audience::Console).await
    }

    /// Staff sign-in: send a new OTP (after the cooldown).
    #[oai(path = "/staff/login/:flow_id/otp/resend", method = "post")]
    async fn sign_in_resend(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
    ) -> ApiResult<Json<ResendResponse>> {
        let s = sign_in::resend(app, &flow_id, Audience::Console).await?;
        Ok(Json(ResendResponse {
            phone_masked: s.phone_masked,
            expires_in: crate::otp::TTL,
        }))
    }

    /// Ends the current session.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, req: &Request, Data(app): Data<&Arc<App>>) -> ApiResult<Json<Ok_>> {
        let token = super::ctx::bearer(req)
            .or_else(|| super::ctx::session_token(app, req))
            .ok_or(AppError::Unauthorized)?;
        check_csrf(app, req)?;
        sign_in::sign_out(app, &token).await?;
        Ok(Json(Ok_ { ok: true }))
    }

    /// The signed-in staff member.
    #[oai(path = "/staff/me", method = "get")]
    async fn staff_me(&self, req: &Request, Data(app): Data<&Arc<App>>) -> ApiResult<Json<MeOut>> {
        let actor = super::ctx::current(app, req, true)
            .await
            .ok_or(AppError::Unauthorized)?;
        let a = actor.account;
        Ok(Json(MeOut {
            phone_masked: mask(&a.phone),
            grants: a
                .grants
                .iter()
                .map(|g| GrantOut {
                    unit_id: g.unit,
                    permissions: g.perms.iter().map(|p| p.as_str().to_string()).collect(),
                })
                .collect(),
            username: a.username,
            full_name: a.full_name,
            superadmin: a.superadmin,
            must_change_password: a.must_change_password,
        }))
    }

    /// Units this staff member may choose when creating a citizen account; when none, the reason.
    #[oai(path = "/staff/me/units", method = "get")]
    async fn staff_me_units(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<MyUnits>> {
        let actor = staff_actor(app, req).await?;
        let su = staff_units::for_staff(app, &actor.account);
        Ok(Json(MyUnits {
            items: su
                .units
                .into_iter()
                .map(|u| MyUnit {
                    id: u.id,
                    name: u.name,
                    eligible: u.eligible,
                    selectable: u.selectable,
                })
                .collect(),
            reason: su.reason.map(|r| UnitReason {
                code: r.code.to_string(),
                message: r.message,
                fixer: r.fixer,
                units: r.units,
            }),
        }))
    }

    /// Changes the signed-in person's password (ends their other sessions).
    #[oai(path = "/me/password", method = "post")]
    async fn me_password(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<PasswordChange>,
    ) -> ApiResult<Json<TokenResponse>> {
        let actor = match super::ctx::current(app, req, true).await {
            Some(a) => a,
            None => super::ctx::current(app, req, false)
                .await
                .ok_or(AppError::Unauthorized)?,
        };
        check_csrf(app, req)?;
        let token = admin::change_password(
            app,
            &actor,
            &body.current_password,
            &body.password,
            &body.password_confirm,
        )
        .await?;
        Ok(Json(TokenResponse {
            token,
            must_change_password: false,
        }))
    }

    /// The unit tree (for staff; admins see all units).
    #[oai(path = "/units", method = "get")]
    async fn units(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<Vec<UnitOut>>> {
        let _actor = staff_actor(app, req).await?;
        let rows = app.tree().rows();
        Ok(Json(
            rows.into_iter()
                .map(|r| UnitOut {
                    id: r.id,
                    name: r.name,
                    code: r.code,
                    parent_id: r.parent,
                    eligible: r.eligible,
                    depth: r.depth as u32,
                })
                .collect(),
        ))
    }

    /// Creates a unit under a parent where the caller may add users.
    #[oai(path = "/units", method = "post")]
    async fn create_unit(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<NewUnit>,
    ) -> ApiResult<Created<CreatedUnit>> {
        let actor = staff_actor(app, req).await?;
        let u = admin::create_unit(app, &actor, &body.name, body.parent_id).await?;
        Ok(Created::Created(Json(CreatedUnit {
            id: u.id,
            eligible: crate::domain::unit::is_one_stop_eligible(&u.name),
        })))
    }

    /// Renames a unit.
    #[oai(path = "/units/:id", method = "put")]
    async fn rename_unit(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<u64>,
        body: Json<RenameUnit>,
    ) -> ApiResult<Json<CreatedUnit>> {
        let actor = staff_actor(app, req).await?;
        let u = admin::rename_unit(app, &actor, *id, &body.name).await?;
        Ok(Json(CreatedUnit {
            id: u.id,
            eligible: crate::domain::unit::is_one_stop_eligible(&u.name),
        }))
    }

    /// Creates a staff account; the temporary password is sent by SMS.
    #[oai(path = "/staff", method = "post")]
    async fn create_staff(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<NewStaffRequest>,
    ) -> ApiResult<Created<StaffOut>> {
        let actor = staff_actor(app, req).await?;
        let b = body.0;
        let a = admin::create_staff(
            app,
            &actor,
            admin::NewStaff {
                username: b.username,
                full_name: b.full_name,
                id_number: b.id_number,
                phone: b.phone,
                email: b.email,
                unit_ids: b.unit_ids,
            },
        )
        .await?;
        Ok(Created::Created(Json(StaffOut {
            phone_masked: mask(&a.phone),
            username: a.username,
            full_name: a.full_name,
            unit_ids: a.units,
            must_change_password: a.must_change_password,
        })))
    }

    /// Staff accounts the caller may manage.
    #[oai(path = "/staff", method = "get")]
    async fn list_staff(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<Vec<StaffOut>>> {
        let actor = staff_actor(app, req).await?;
        if !actor.account.has_any(Permission::UsersCreate) {
            return Err(AppError::Forbidden.into());
        }
        let list = admin::visible_staff(app, &actor.account).await?;
        Ok(Json(
            list.into_iter()
                .map(|a| StaffOut {
                    phone_masked: mask(&a.phone),
                    username: a.username,
                    full_name: a.full_name,
                    unit_ids: a.units,
                    must_change_password: a.must_change_password,
                })
                .collect(),
        ))
    }

    /// Sets a staff member's permissions on one unit (exactly the given list).
    #[oai(path = "/staff/:username/grants", method = "put")]
    async fn set_grants(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        username: Path<String>,
        body: Json<GrantsRequest>,
    ) -> ApiResult<Json<GrantOut>> {
        let actor = staff_actor(app, req).await?;
        let perms = parse_perms(&body.permissions)?;
        let a = admin::set_grants(app, &actor, &username, body.unit_id, perms).await?;
        Ok(Json(GrantOut {
            unit_id: body.unit_id,
            permissions: a
                .grant_on(body.unit_id)
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        }))
    }
}

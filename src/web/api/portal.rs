//! JSON API: citizen self-service (seed part II), per api.md "Citizen
//! self-service": captcha, registration, sign-in, password reset.

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::app::App;
use crate::domain::{CitizenId, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::sign_in::Audience;
use crate::flows::{password_reset, registration, sign_in};
use crate::web::api::{
    ApiResult, Created, LoginStarted, OtpRequest, TokenResponse, bearer_sign_in,
};

/// A request accepted for processing (202).
#[derive(ApiResponse)]
pub enum Accepted<T: ToJSON + Send + Sync> {
    #[oai(status = 202)]
    Accepted(Json<T>),
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CaptchaOut {
    pub captcha_id: String,
    /// A `data:image/png;base64,...` URL.
    pub image: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RegistrationRequest {
    /// `citizen` (or `business`, not offered here).
    pub kind: String,
    /// `mobile` (or `social_insurance`, `usb_token`, `sim_signature`, not offered here).
    pub method: String,
    pub id_number: String,
    pub full_name: String,
    /// dd/mm/yyyy
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub captcha_id: String,
    pub captcha: String,
    pub consent: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RegistrationStarted {
    pub flow_id: String,
    pub phone_masked: String,
    /// Seconds until a new code may be asked for.
    pub resend_in: i64,
    /// Seconds until the flow expires.
    pub expires_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PortalOtpAccepted {
    pub verified: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PortalNewPassword {
    pub password: String,
    pub password_confirm: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Registered {
    /// The username of the new account: the ID number.
    pub username: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PortalLoginRequest {
    /// The ID number (CMND/CCCD), or a staff username.
    pub username: String,
    pub password: String,
    pub captcha_id: String,
    pub captcha: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PortalOtpResent {
    pub phone_masked: String,
    /// Seconds the new code is valid.
    pub expires_in: i64,
    /// Seconds until another code may be asked for.
    pub resend_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordResetRequest {
    pub username: String,
    pub captcha_id: String,
    pub captcha: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordResetStarted {
    pub flow_id: String,
    /// Seconds until a new code may be asked for.
    pub resend_in: i64,
    /// Seconds until the flow expires.
    pub expires_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ResetResent {
    /// Seconds the new code is valid.
    pub expires_in: i64,
    /// Seconds until another code may be asked for.
    pub resend_in: i64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordResetDone {
    pub ok: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CitizenMe {
    pub full_name: String,
    pub id_number_masked: Option<String>,
    pub phone_masked: String,
    pub birth_date: Option<String>,
    pub email: Option<String>,
    pub must_change_password: bool,
}

/// Portal sign-in, step 1: captcha (always consumed, checked before anything
/// else so a wrong one costs no OTP), then the password (same answer for an
/// unknown user, a wrong password and a locked account), then an OTP by SMS.
pub async fn sign_in_start(
    app: &Arc<App>,
    username: &str,
    password: &str,
    captcha_id: &str,
    captcha: &str,
    ip: &str,
) -> AppResult<sign_in::Started> {
    let mut fields = sign_in::blank_fields(username, password);
    if let Err(e) = crate::captcha::verify(app, captcha_id, captcha).await {
        fields.insert("captcha".to_string(), e.0);
    }
    if fields.len() == 1 && fields.contains_key("captcha") {
        return Err(AppError::field(
            "captcha",
            fields.remove("captcha").unwrap_or_default(),
        ));
    }
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    sign_in::start(app, username, password, ip, Audience::Portal).await
}

fn masked_phone(p: &str) -> String {
    PhoneNumber::parse(p)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".into())
}

pub fn masked_id(id: &str) -> String {
    CitizenId::parse(id)
        .map(|i| i.masked())
        .unwrap_or_else(|_| "***".into())
}

pub struct PortalApi;

#[OpenApi]
impl PortalApi {
    /// A new image captcha (single use, valid 10 minutes).
    #[oai(path = "/captcha", method = "get")]
    async fn captcha(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<CaptchaOut>> {
        let c = crate::captcha::new_challenge(app, &crate::web::client_ip(req)).await?;
        Ok(Json(CaptchaOut {
            captcha_id: c.id,
            image: c.image,
        }))
    }

    /// Self-registration, step 1: the form. An OTP goes to the phone (the
    /// same answer when the ID number already has an account).
    #[oai(path = "/registrations", method = "post")]
    async fn register(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<RegistrationRequest>,
    ) -> ApiResult<Accepted<RegistrationStarted>> {
        let b = body.0;
        let s = registration::start(
            app,
            registration::NewRegistration {
                kind: b.kind,
                method: b.method,
                id_number: b.id_number,
                full_name: b.full_name,
                birth_date: b.birth_date,
                phone: b.phone,
                email: b.email,
                captcha_id: b.captcha_id,
                captcha: b.captcha,
                consent: b.consent,
            },
            &crate::web::client_ip(req),
        )
        .await?;
        Ok(Accepted::Accepted(Json(RegistrationStarted {
            flow_id: s.flow_id,
            phone_masked: s.phone_masked,
            resend_in: s.resend_in,
            expires_in: s.expires_in,
        })))
    }

    /// Self-registration, step 2: the OTP.
    #[oai(path = "/registrations/:flow_id/otp", method = "post")]
    async fn register_otp(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<OtpRequest>,
    ) -> ApiResult<Json<PortalOtpAccepted>> {
        registration::JOURNEY
            .verify_otp(app, &flow_id, &body.otp)
            .await?;
        Ok(Json(PortalOtpAccepted { verified: true }))
    }

    /// Self-registration: a new OTP after the cooldown (the old one stops working).
    #[oai(path = "/registrations/:flow_id/otp/resend", method = "post")]
    async fn register_resend(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
    ) -> ApiResult<Accepted<PortalOtpResent>> {
        let s = registration::JOURNEY.resend(app, &flow_id).await?;
        Ok(Accepted::Accepted(Json(PortalOtpResent {
            phone_masked: s.phone_masked,
            expires_in: crate::otp::TTL,
            resend_in: s.resend_in,
        })))
    }

    /// Self-registration, step 3: the password. Creates the account.
    #[oai(path = "/registrations/:flow_id/password", method = "post")]
    async fn register_password(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<PortalNewPassword>,
    ) -> ApiResult<Created<Registered>> {
        let username = registration::set_password(
            app,
            &flow_id,
            &body.password,
            &body.password_confirm,
            &crate::web::client_ip(req),
        )
        .await?;
        Ok(Created::Created(Json(Registered { username })))
    }

    /// Portal sign-in, step 1: username (ID number), password and captcha.
    /// An OTP goes to the account's phone.
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<PortalLoginRequest>,
    ) -> ApiResult<Json<LoginStarted>> {
        let s = sign_in_start(
            app,
            &body.username,
            &body.password,
            &body.captcha_id,
            &body.captcha,
            &crate::web::client_ip(req),
        )
        .await?;
        Ok(Json(LoginStarted {
            flow_id: s.flow_id,
            phone_masked: s.phone_masked,
        }))
    }

    /// Portal sign-in, step 2: the OTP. Returns a bearer token.
    #[oai(path = "/login/:flow_id/otp", method = "post")]
    async fn login_otp(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<OtpRequest>,
    ) -> ApiResult<Json<TokenResponse>> {
        bearer_sign_in(app, req, &flow_id, &body.otp, Audience::Portal).await
    }

    /// Portal sign-in: a new OTP after the cooldown.
    #[oai(path = "/login/:flow_id/otp/resend", method = "post")]
    async fn login_resend(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
    ) -> ApiResult<Accepted<PortalOtpResent>> {
        let s = sign_in::resend(app, &flow_id, Audience::Portal).await?;
        Ok(Accepted::Accepted(Json(PortalOtpResent {
            phone_masked: s.phone_masked,
            expires_in: crate::otp::TTL,
            resend_in: s.resend_in,
        })))
    }

    /// Quên mật khẩu, step 1: username and captcha. The same answer whether
    /// or not the account exists; an OTP goes to the registered phone.
    #[oai(path = "/password-resets", method = "post")]
    async fn reset(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<PasswordResetRequest>,
    ) -> ApiResult<Accepted<PasswordResetStarted>> {
        let s = password_reset::start(
            app,
            &body.username,
            &body.captcha_id,
            &body.captcha,
            &crate::web::client_ip(req),
        )
        .await?;
        Ok(Accepted::Accepted(Json(PasswordResetStarted {
            flow_id: s.flow_id,
            resend_in: s.resend_in,
            expires_in: s.expires_in,
        })))
    }

    /// Quên mật khẩu, step 2: the OTP.
    #[oai(path = "/password-resets/:flow_id/otp", method = "post")]
    async fn reset_otp(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<OtpRequest>,
    ) -> ApiResult<Json<PortalOtpAccepted>> {
        password_reset::JOURNEY
            .verify_otp(app, &flow_id, &body.otp)
            .await?;
        Ok(Json(PortalOtpAccepted { verified: true }))
    }

    /// Quên mật khẩu: a new OTP after the cooldown.
    #[oai(path = "/password-resets/:flow_id/otp/resend", method = "post")]
    async fn reset_resend(
        &self,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
    ) -> ApiResult<Accepted<ResetResent>> {
        let s = password_reset::JOURNEY.resend(app, &flow_id).await?;
        Ok(Accepted::Accepted(Json(ResetResent {
            expires_in: crate::otp::TTL,
            resend_in: s.resend_in,
        })))
    }

    /// Quên mật khẩu, step 3: the new password. Ends every session of the
    /// account and SMSes a notice.
    #[oai(path = "/password-resets/:flow_id/password", method = "post")]
    async fn reset_password(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        flow_id: Path<String>,
        body: Json<PortalNewPassword>,
    ) -> ApiResult<Json<PasswordResetDone>> {
        password_reset::set_password(
            app,
            &flow_id,
            &body.password,
            &body.password_confirm,
            &crate::web::client_ip(req),
        )
        .await?;
        Ok(Json(PasswordResetDone { ok: true }))
    }

    /// The signed-in citizen (portal session), with the ID number and phone masked.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, req: &Request, Data(app): Data<&Arc<App>>) -> ApiResult<Json<CitizenMe>> {
        let actor = crate::web::ctx::current(app, req, false)
            .await
            .ok_or(AppError::Unauthorized)?;
        let a = actor.account;
        Ok(Json(CitizenMe {
            id_number_masked: a.id_number.as_deref().map(masked_id),
            phone_masked: masked_phone(&a.phone),
            full_name: a.full_name,
            birth_date: a.birth_date,
            email: a.email,
            must_change_password: a.must_change_password,
        }))
    }
}

//! The pages of the portal's OTP journeys (registration, password reset;
//! `flows::otp_journey`): the code step (page, typed code, resend), the
//! password page, and the expired page. One set of handlers serves both:
//! each route carries its journey's [`OtpSteps`] as request data.
//! The code page itself is shared with sign-in.

use std::sync::Arc;

use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::{PFramed, fields_of, frame, info, other_error, query};
use crate::app::App;
use crate::error::AppError;
use crate::flows::otp_journey::Journey;
use crate::web::ctx::{FormData, redirect, status_of};
use crate::web::extract::CsrfForm;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(OtpPage = "portal/otp.html" { note: Val, sent_label: Val, phone_masked: Val, action: Val, resend_action: Val, resend_in: Val, error: Val, notice: Val, flow: Val, login_links: Val, back: Val, back_text: Val });
page_type!(PasswordPage = "portal/password.html" { heading: Val, lead: Val, action: Val, button: Val, fields: Val, error: Val });

/// One journey's step pages: where they live and what they say.
#[derive(Debug, Clone, Copy)]
pub(super) struct OtpSteps {
    pub journey: &'static Journey,
    /// The code step is `{code_base}/{flow}`, its resend `…/gui-lai`.
    pub code_base: &'static str,
    /// The password step is `{password_base}/{flow}`.
    pub password_base: &'static str,
    /// Said above the (masked) phone on the code page.
    pub sent_label: &'static str,
    /// A paragraph under it, if any.
    pub note: Option<&'static str>,
    /// The password page: its heading, the lead once the code was
    /// accepted, and its button.
    pub password_heading: &'static str,
    pub password_lead: &'static str,
    pub password_button: &'static str,
    /// The page of a flow that is gone: heading, paragraphs, the way back.
    pub expired_heading: &'static str,
    pub expired_paragraphs: &'static [&'static str],
    pub expired_link: (&'static str, &'static str),
}

/// What the code page shows.
pub(super) struct CodeView<'a> {
    pub sent_label: &'a str,
    pub note: Option<&'a str>,
    pub phone_masked: &'a str,
    /// The step's URL without the flow (`/dang-nhap/xac-thuc`).
    pub base: &'a str,
    pub flow: &'a str,
    pub resend_in: i64,
    /// Sign-in's links to other methods (and no way back home).
    pub login_links: bool,
}

/// The code page (`portal/otp.html`) with `error`, if any.
pub(super) fn code_page(
    app: &App,
    req: &Request,
    view: &CodeView<'_>,
    error: Option<&AppError>,
) -> Response {
    let notice = query(req, "gui-lai").map(|_| "Đã gửi lại mã OTP. Mã cũ không còn hiệu lực.");
    let back = (!view.login_links).then_some("/");
    let CodeView { base, flow, .. } = *view;
    let ctx = PFramed(
        frame(None, "Xác thực mã OTP"),
        page_ctx!(OtpPage {
            note => view.note,
            sent_label => view.sent_label,
            phone_masked => view.phone_masked,
            action => format!("{base}/{flow}"),
            resend_action => format!("{base}/{flow}/gui-lai"),
            resend_in => view.resend_in,
            error => error.map(otp_error_text),
            notice => notice,
            flow => flow,
            login_links => view.login_links,
            back => back,
            back_text => "Hủy và về trang chủ",
        }),
    );
    ctx.render_after(app, req, error)
}

/// The message of an OTP error (its `otp` field when there is one).
fn otp_error_text(e: &AppError) -> String {
    e.field_map()
        .and_then(|f| f.get("otp").cloned())
        .unwrap_or_else(|| e.to_string())
}

/// The password step's form: the new password twice, and who sent it.
pub(super) struct NewPassword {
    pub password: String,
    pub confirm: String,
    pub ip: String,
}

impl NewPassword {
    pub fn of(req: &Request, form: &FormData) -> NewPassword {
        NewPassword {
            password: form.text("password"),
            confirm: form.text("password_confirm"),
            ip: crate::web::client_ip(req),
        }
    }
}

/// The six OTP boxes arrive as d0..d5 (no script) or joined in `otp`.
pub(super) fn typed_otp(form: &FormData) -> String {
    let joined = form.text("otp");
    if !joined.trim().is_empty() {
        return joined;
    }
    (0..6).map(|i| form.text(&format!("d{i}"))).collect()
}

impl OtpSteps {
    /// The page of a flow that is gone (`e`'s status).
    pub fn expired(&self, app: &App, req: &Request, e: &AppError) -> Response {
        info(
            app,
            req,
            None,
            status_of(e),
            self.expired_heading,
            self.expired_paragraphs,
            &[],
            false,
            &[self.expired_link],
        )
    }

    fn code_url(&self, flow: &str) -> String {
        format!("{}/{flow}", self.code_base)
    }

    fn password_url(&self, flow: &str) -> String {
        format!("{}/{flow}", self.password_base)
    }

    /// The code step of `flow` with `error`, if any; the password step once
    /// the code was accepted, the expired page once the flow is gone.
    async fn code_view(
        &self,
        app: &Arc<App>,
        req: &Request,
        flow: &str,
        error: Option<&AppError>,
    ) -> Response {
        match self.journey.describe(app, flow).await {
            Ok((_, true)) => redirect(&self.password_url(flow)),
            Ok((s, false)) => code_page(
                app,
                req,
                &CodeView {
                    sent_label: self.sent_label,
                    note: self.note,
                    phone_masked: &s.phone_masked,
                    base: self.code_base,
                    flow,
                    resend_in: s.resend_in,
                    login_links: false,
                },
                error,
            ),
            Err(e) => self.expired(app, req, &e),
        }
    }

    /// The password page of `flow` (its lead only before an error).
    pub fn password_page(
        &self,
        app: &App,
        req: &Request,
        flow: &str,
        error: Option<&AppError>,
    ) -> Response {
        let ctx = PFramed(
            frame(None, self.password_heading),
            page_ctx!(PasswordPage {
                heading => self.password_heading,
                lead => error.is_none().then_some(self.password_lead),
                action => self.password_url(flow),
                button => self.password_button,
                fields => fields_of(error),
                error => other_error(error),
            }),
        );
        ctx.render_after(app, req, error)
    }

    /// What the password step answers: `done` once the password is set,
    /// the expired page for a flow that is gone, the password page with
    /// the error otherwise.
    pub fn after_password(
        &self,
        app: &App,
        req: &Request,
        flow: &str,
        done: Result<Response, AppError>,
    ) -> Response {
        match done {
            Ok(page) => page,
            Err(e @ AppError::Gone(_)) => self.expired(app, req, &e),
            Err(e) => self.password_page(app, req, flow, Some(&e)),
        }
    }

    /// What a failed step answers: the expired page for a flow that is
    /// gone, the code step with the error otherwise.
    async fn failed(&self, app: &Arc<App>, req: &Request, flow: &str, e: AppError) -> Response {
        match e {
            AppError::Gone(_) => self.expired(app, req, &e),
            e => self.code_view(app, req, flow, Some(&e)).await,
        }
    }
}

#[handler]
pub(super) async fn code_step(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
    Data(steps): Data<&OtpSteps>,
) -> Response {
    steps.code_view(app, req, &flow, None).await
}

#[handler]
pub(super) async fn code_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
    Data(steps): Data<&OtpSteps>,
) -> Response {
    match steps
        .journey
        .verify_otp(app, &flow, &typed_otp(&form))
        .await
    {
        Ok(()) => redirect(&steps.password_url(&flow)),
        Err(e) => steps.failed(app, req, &flow, e).await,
    }
}

#[handler]
pub(super) async fn resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
    Data(steps): Data<&OtpSteps>,
) -> Response {
    match steps.journey.resend(app, &flow).await {
        Ok(_) => redirect(&format!("{}?gui-lai=1", steps.code_url(&flow))),
        Err(e) => steps.failed(app, req, &flow, e).await,
    }
}

#[handler]
pub(super) async fn password_step(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
    Data(steps): Data<&OtpSteps>,
) -> Response {
    match steps.journey.describe(app, &flow).await {
        Ok((_, true)) => steps.password_page(app, req, &flow, None),
        Ok((_, false)) => redirect(&steps.code_url(&flow)),
        Err(e) => steps.expired(app, req, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_boxes_or_joined_field() {
        let f = FormData(vec![
            ("d0".into(), "1".into()),
            ("d1".into(), "2".into()),
            ("d5".into(), "6".into()),
        ]);
        assert_eq!(typed_otp(&f), "126");
        let f = FormData(vec![
            ("otp".into(), "123456".into()),
            ("d0".into(), "9".into()),
        ]);
        assert_eq!(typed_otp(&f), "123456");
    }
}

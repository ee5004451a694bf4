//! Typed extractors for page handlers: who is signed in and the checked
//! form. A handler names what it needs in its arguments; the redirect to
//! sign in, the forced password change and the CSRF check happen here, in
//! one place, before the handler runs.

use std::sync::Arc;

use poem::{Error, FromRequest, Request, RequestBody, Response, Result};
use serde::de::DeserializeOwned;

use super::ctx::{self, FormData, MAX_FORM, redirect};
use crate::app::App;
use crate::error::AppError;
use crate::flows::Actor;

/// The app the router attached to every request.
fn app_of(req: &Request) -> Result<Arc<App>> {
    req.data::<Arc<App>>()
        .cloned()
        .ok_or_else(|| Error::from_string("no app", poem::http::StatusCode::INTERNAL_SERVER_ERROR))
}

/// The signed-in person of `audience`, or the redirect: to its sign-in
/// page, or to its password page while a temporary password must be
/// changed first.
async fn signed_in(req: &Request, console: bool) -> Result<Actor> {
    let app = app_of(req)?;
    let (password, sign_in) = if console {
        ("/quan-tri/doi-mat-khau", "/quan-tri/dang-nhap")
    } else {
        ("/tai-khoan/doi-mat-khau", "/dang-nhap")
    };
    match ctx::current(&app, req, console).await {
        Some(a) if a.account.must_change_password && req.original_uri().path() != password => {
            Err(Error::from_response(redirect(password)))
        }
        Some(a) => Ok(a),
        None => Err(Error::from_response(redirect(sign_in))),
    }
}

/// A staff member signed in to the console.
pub struct StaffActor(pub Actor);

impl<'a> FromRequest<'a> for StaffActor {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        signed_in(req, true).await.map(StaffActor)
    }
}

/// A citizen signed in to the portal.
pub struct CitizenActor(pub Actor);

impl<'a> FromRequest<'a> for CitizenActor {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        signed_in(req, false).await.map(CitizenActor)
    }
}

/// An urlencoded form whose CSRF token checked out (see `ctx::csrf_ok`),
/// decoded into `T` (unknown fields, `_csrf` among them, are ignored). A
/// refused form is answered with the page of the site it was posted to.
pub struct CsrfForm<T>(pub T);

impl<'a, T: DeserializeOwned + Send> FromRequest<'a> for CsrfForm<T> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> Result<Self> {
        let app = app_of(req)?;
        let body = body.take()?;
        match read_checked(&app, req, body).await {
            Ok(t) => Ok(CsrfForm(t)),
            Err(e) => Err(Error::from_response(refused(&app, req, &e).await)),
        }
    }
}

/// Reads an urlencoded body of at most `MAX_FORM` bytes, checks its CSRF
/// token and decodes it.
pub async fn read_checked<T: DeserializeOwned>(
    app: &App,
    req: &Request,
    body: poem::Body,
) -> Result<T, AppError> {
    let bytes = body
        .into_bytes_limit(MAX_FORM)
        .await
        .map_err(|_| AppError::TooLarge("Dữ liệu gửi lên quá lớn.".into()))?;
    let invalid = || AppError::invalid("Dữ liệu biểu mẫu không hợp lệ.");
    let pairs: FormData = serde_urlencoded::from_bytes(&bytes).map_err(|_| invalid())?;
    if !ctx::csrf_ok(app, req, pairs.get("_csrf")) {
        return Err(AppError::Forbidden);
    }
    serde_urlencoded::from_bytes(&bytes).map_err(|_| invalid())
}

/// The page for a refused form: the console's message page in its frame,
/// or the portal's.
async fn refused(app: &Arc<App>, req: &Request, e: &AppError) -> Response {
    if req.original_uri().path().starts_with("/quan-tri") {
        let actor = ctx::current(app, req, true).await;
        super::console::error_page(app, req, actor.as_ref(), e)
    } else {
        super::portal::form_error(app, req, e)
    }
}

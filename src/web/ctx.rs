//! Request context shared by pages and the API: who is signed in, the CSRF
//! token, form bodies, rendering.

use std::sync::Arc;

use poem::http::{StatusCode, header};
use poem::{Request, Response};

use crate::app::App;
use crate::auth::session;
use crate::error::AppError;
use crate::flows::Actor;
use crate::util;

pub const CSRF_COOKIE: &str = "mc_csrf";
/// Largest urlencoded form body accepted.
pub const MAX_FORM: usize = 64 * 1024;

pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn bearer(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// The signed-in person, from the bearer header or the session cookie.
/// `console` selects which kind of session is acceptable.
pub async fn current(app: &Arc<App>, req: &Request, console: bool) -> Option<Actor> {
    let token = bearer(req).or_else(|| cookie(req, session::COOKIE))?;
    let now = app.now();
    let t2 = token.clone();
    let found = app
        .db(move |app| Ok(session::resolve(&app.store, &t2, now)?))
        .await
        .ok()
        .flatten()?;
    let (s, account) = found;
    if s.console != console {
        return None;
    }
    Some(Actor {
        account,
        ip: super::client_ip(req),
        token: Some(token),
        console,
    })
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session::COOKIE,
        session::ABSOLUTE_SECS,
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie() -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        session::COOKIE
    )
}

/// The CSRF token of this browser (double-submit cookie), and whether the
/// cookie must be set on the response.
pub fn csrf_token(req: &Request) -> (String, bool) {
    match cookie(req, CSRF_COOKIE).filter(|c| c.len() == 43) {
        Some(c) => (c, false),
        None => (util::random_token(), true),
    }
}

pub fn csrf_cookie(token: &str) -> String {
    format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")
}

/// A parsed urlencoded form.
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    pub fn text(&self, k: &str) -> String {
        self.get(k).unwrap_or("").to_string()
    }
    pub fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Reads a form body and checks its CSRF token against the cookie.
pub async fn read_form(req: &Request, body: poem::Body) -> Result<FormData, AppError> {
    let bytes = body
        .into_bytes_limit(MAX_FORM)
        .await
        .map_err(|_| AppError::TooLarge("Dữ liệu gửi lên quá lớn.".into()))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| AppError::invalid("Dữ liệu biểu mẫu không hợp lệ."))?;
    let form = FormData(pairs);
    let cookie = cookie(req, CSRF_COOKIE);
    let sent = form.get("_csrf");
    match (cookie, sent) {
        (Some(c), Some(s)) if !c.is_empty() && util::ct_eq(c.as_bytes(), s.as_bytes()) => Ok(form),
        _ => Err(AppError::Forbidden),
    }
}

pub fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .finish()
}

pub fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = cookie.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Renders template `name` with the context that `make` builds from the
/// request's CSRF token, and sets the CSRF cookie when it is new.
pub fn render_with(
    app: &App,
    req: &Request,
    name: &str,
    status: StatusCode,
    make: impl FnOnce(String) -> minijinja::Value,
) -> Response {
    let (csrf, set) = csrf_token(req);
    let merged = make(csrf.clone());
    let r = match app.templates.render(name, merged) {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            fallback_error_page()
        }
    };
    if set {
        with_cookie(r, &csrf_cookie(&csrf))
    } else {
        r
    }
}

/// The 500 page when a template itself failed: self-contained (no
/// template, no script), in Vietnamese, with a way back.
pub fn fallback_error_page() -> Response {
    const HTML: &str = "<!doctype html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Hệ thống đang gặp sự cố – Cổng Dịch vụ công</title>\n<link rel=\"stylesheet\" href=\"/static/portal.css\">\n</head>\n<body>\n<main id=\"main\" class=\"content\">\n<section class=\"card narrow\">\n<h1>Hệ thống đang gặp sự cố</h1>\n<p>Hệ thống đang gặp sự cố, vui lòng thử lại sau ít phút. Nếu vẫn không được, vui lòng liên hệ bộ phận một cửa.</p>\n<p><a class=\"button\" href=\"/\">Về trang chủ</a></p>\n</section>\n</main>\n</body>\n</html>\n";
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .content_type("text/html; charset=utf-8")
        .body(HTML)
}

pub fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// Any serialisable value as a template value.
pub fn v<T: serde::Serialize>(x: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

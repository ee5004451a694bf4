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

/// The pre-session cookie: a random value (HttpOnly) that binds the CSRF
/// token of a browser without a session (sign-in, registration, setup link).
/// Under an https public URL every cookie gets the `__Host-` prefix (see
/// [`cookie_name`]).
pub const CSRF_COOKIE: &str = "mc_csrf";
/// The device cookie: set after a successful sign-in, it lets that browser
/// keep signing in while strangers' failures throttle their own clients
/// (see `flows::sign_in` and docs/design/throttles.md).
pub const DEVICE_COOKIE: &str = "mc_device";
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

/// Whether cookies are `Secure` and `__Host-` prefixed: the public URL is https.
pub fn secure(app: &App) -> bool {
    app.cfg.public_url.starts_with("https://")
}

/// The name of cookie `base` as set and read: `__Host-<base>` under https.
pub fn cookie_name(secure: bool, base: &str) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of this app's cookie `base` (by its prefixed name under https).
pub fn app_cookie(app: &App, req: &Request, base: &str) -> Option<String> {
    cookie(req, &cookie_name(secure(app), base)).filter(|v| !v.is_empty())
}

/// The session token of the cookie.
pub fn session_token(app: &App, req: &Request) -> Option<String> {
    app_cookie(app, req, session::COOKIE).filter(|t| t.len() <= 100)
}

/// The signed-in person, from the bearer header or the session cookie.
/// `console` selects which kind of session is acceptable.
pub async fn current(app: &Arc<App>, req: &Request, console: bool) -> Option<Actor> {
    let token = bearer(req).or_else(|| session_token(app, req))?;
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

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and under
/// https `Secure` with the `__Host-` name.
pub fn set_cookie(secure: bool, base: &str, value: &str, max_age: Option<i64>) -> String {
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict{}{}",
        cookie_name(secure, base),
        max_age
            .map(|a| format!("; Max-Age={a}"))
            .unwrap_or_default(),
        if secure { "; Secure" } else { "" }
    )
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    set_cookie(secure, session::COOKIE, token, Some(session::ABSOLUTE_SECS))
}

pub fn clear_session_cookie(secure: bool) -> String {
    set_cookie(secure, session::COOKIE, "", Some(0))
}

fn b64(mac: [u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// The CSRF token the server derives for a session token.
pub fn csrf_for_session(app: &App, session_token: &str) -> String {
    b64(util::hmac_sha256(
        &app.key,
        &[b"csrf", b"session", session_token.as_bytes()],
    ))
}

/// The CSRF token the server derives for a pre-session cookie value.
fn csrf_for_pre(app: &App, pre: &str) -> String {
    b64(util::hmac_sha256(
        &app.key,
        &[b"csrf", b"pre", pre.as_bytes()],
    ))
}

fn pre_value(app: &App, req: &Request) -> Option<String> {
    app_cookie(app, req, CSRF_COOKIE).filter(|c| c.len() == 43)
}

/// The CSRF token of this browser: the HMAC (server key) of its session
/// token, or without a session of its pre-session cookie; and the
/// pre-session cookie to set when the browser has neither.
pub fn csrf_token(app: &App, req: &Request) -> (String, Option<String>) {
    if let Some(t) = session_token(app, req) {
        return (csrf_for_session(app, &t), None);
    }
    if let Some(p) = pre_value(app, req) {
        return (csrf_for_pre(app, &p), None);
    }
    let p = util::random_token();
    let set = set_cookie(secure(app), CSRF_COOKIE, &p, None);
    (csrf_for_pre(app, &p), Some(set))
}

/// Whether `sent` is a token the server derived from this browser's session
/// or pre-session cookie. Equal cookie/form pairs the server never issued,
/// and tokens of other sessions, fail.
pub fn csrf_ok(app: &App, req: &Request, sent: Option<&str>) -> bool {
    let Some(sent) = sent.filter(|s| !s.is_empty()) else {
        return false;
    };
    let by_session = session_token(app, req)
        .is_some_and(|t| util::ct_eq(csrf_for_session(app, &t).as_bytes(), sent.as_bytes()));
    let by_pre = pre_value(app, req)
        .is_some_and(|p| util::ct_eq(csrf_for_pre(app, &p).as_bytes(), sent.as_bytes()));
    by_session || by_pre
}

/// The raw device cookie of this browser (checked by the sign-in flow).
pub fn device_cookie(app: &App, req: &Request) -> Option<String> {
    app_cookie(app, req, DEVICE_COOKIE).filter(|v| v.len() <= 200)
}

/// The device cookie to set on a page of a signed-in browser that has
/// none (a read of the session; only until the cookie is there).
fn device_cookie_to_set(app: &App, req: &Request) -> Option<String> {
    let token = session_token(app, req)?;
    if app_cookie(app, req, DEVICE_COOKIE).is_some() {
        return None;
    }
    let username = session::username_of(&app.store, &token).ok().flatten()?;
    let v = crate::auth::device::issue(&app.key, &username);
    // A year: it only marks the browser where this person signed in.
    Some(set_cookie(
        secure(app),
        DEVICE_COOKIE,
        &v,
        Some(365 * 86400),
    ))
}

/// A parsed urlencoded form.
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for FormData {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(FormData)
    }
}

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

/// Reads a form body and checks its CSRF token (see [`csrf_ok`]); the
/// handlers' way is the `extract::CsrfForm` argument.
pub async fn read_form(req: &Request, body: poem::Body) -> Result<FormData, AppError> {
    let app = req
        .data::<Arc<App>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no app in the request"))?;
    super::extract::read_checked(&app, req, body).await
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

/// Where a sign-in lands, with its session cookie: the forced password
/// change after a temporary password (`change_password`), else `home`.
pub fn signed_in(
    app: &App,
    signed: &crate::flows::sign_in::SignedIn,
    home: &str,
    change_password: &str,
) -> Response {
    let to = if signed.account.must_change_password {
        change_password
    } else {
        home
    };
    with_cookie(redirect(to), &session_cookie(&signed.token, secure(app)))
}

/// Renders template `name` with the context that `make` builds from the
/// request's CSRF token, and sets the pre-session cookie when it is new (and
/// the device cookie on the first page after a sign-in).
pub fn render_with(
    app: &App,
    req: &Request,
    name: &str,
    status: StatusCode,
    make: impl FnOnce(String) -> minijinja::Value,
) -> Response {
    let (csrf, set) = csrf_token(app, req);
    let merged = make(csrf);
    let r = match super::templates::shared().render(name, merged) {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            fallback_error_page()
        }
    };
    let r = match set {
        Some(c) => with_cookie(r, &c),
        None => r,
    };
    match device_cookie_to_set(app, req) {
        Some(c) => with_cookie(r, &c),
        None => r,
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

pub use super::status::status_of;

/// Any serialisable value as a template value.
pub fn v<T: serde::Serialize>(x: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

//! HTTP: the citizen portal, the staff console, the JSON API, static files,
//! health and metrics. A thin transport over `flows`.

pub mod api;
pub mod audit_labels;
pub mod console;
pub mod ctx;
pub mod extract;
pub mod multipart;
pub mod portal;
pub mod status;
pub mod svg;
pub mod templates;
pub mod view;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::EmbeddedFilesEndpoint;
use poem::http::{HeaderValue, StatusCode, header};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::middleware::AddData;
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route, Server, get,
    handler,
};

use crate::app::App;
use crate::metrics::Metrics;

/// Every page type with its samples, for the template tests.
#[cfg(test)]
mod metrics_tests {
    #[test]
    fn metrics_need_the_token_or_loopback() {
        use super::metrics_allowed as ok;
        assert!(ok(None, None, true));
        assert!(!ok(None, None, false));
        assert!(!ok(None, Some("x"), false));
        assert!(ok(Some("s3cret"), Some("s3cret"), false));
        assert!(!ok(Some("s3cret"), Some("wrong"), true));
        assert!(!ok(Some("s3cret"), None, true));
    }
}

#[cfg(test)]
pub fn registered_pages() -> Vec<view::check::Registered> {
    let mut all = Vec::new();
    all.extend(console::pages());
    all.extend(console::citizens::pages());
    all.extend(console::sms_templates::pages());
    all.extend(console::stats::pages());
    all.extend(console::support::pages());
    all.extend(console::faq::pages());
    all.extend(portal::pages());
    all.extend(portal::access_request::pages());
    all
}

#[derive(rust_embed::Embed)]
#[folder = "web/static/"]
pub struct Static;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Every route of the product.
pub fn routes(app: Arc<App>) -> impl Endpoint {
    let api = api::service(&app.cfg.public_url);
    let spec = api.spec_endpoint();
    let docs_html = api::docs_page(&api.spec());
    let app2 = app.clone();
    Route::new()
        .nest("/api/v1", api::error_mapping(api.into_endpoint()))
        .at("/api/v1/openapi.json", spec)
        .at(
            "/api/docs",
            get(poem::endpoint::make_sync(move |_| {
                poem::web::Html(docs_html.clone())
            })),
        )
        .at("/healthz", get(healthz))
        .at("/internal/backup", poem::post(internal_backup))
        .at("/metrics", get(metrics))
        .at("/webhooks/zalo", poem::post(webhooks::zalo))
        .at("/webhooks/telegram", poem::post(webhooks::telegram))
        .at(
            "/webhooks/sms/:provider/:secret",
            get(webhooks::sms::receipt).post(webhooks::sms::receipt),
        )
        .nest("/static", EmbeddedFilesEndpoint::<Static>::new())
        .nest("/quan-tri", console::routes())
        .nest(
            "/tai-khoan/de-nghi-cap-quyen",
            portal::access_request::routes(),
        )
        .nest("/", portal::routes().around(portal::bind_flows))
        .with(AddData::new(app2))
        .with(poem::middleware::CatchPanic::new())
        .around(move |ep, mut req| {
            let app = app.clone();
            async move {
                // What an error page needs of the request (who is signed in,
                // the CSRF cookie, the client address), kept in case the
                // handler or the router fails: a few headers, not all.
                let page = is_page_path(req.uri().path()).then(|| {
                    let mut copy = Request::builder()
                        .method(req.method().clone())
                        .uri(req.uri().clone())
                        .finish();
                    for name in [header::COOKIE, header::AUTHORIZATION] {
                        for v in req.headers().get_all(&name) {
                            copy.headers_mut().append(name.clone(), v.clone());
                        }
                    }
                    if let Some(v) = req.headers().get("x-forwarded-for") {
                        copy.headers_mut().insert("x-forwarded-for", v.clone());
                    }
                    copy
                });
                if let Err(r) = cap_body(&app, &mut req).await {
                    let r = match page {
                        Some(copy) => error_as_page(&app, copy, Ok(r)).await,
                        None => Ok(r),
                    };
                    return Ok(harden(&app, r));
                }
                let res = ep.call(req).await;
                let res = match page {
                    Some(copy) => error_as_page(&app, copy, res).await,
                    None => res,
                };
                Ok(harden(&app, res))
            }
        })
}

/// Caps every request body that is not an upload: a body declared larger
/// than `MOTCUA_MAX_JSON_BYTES` is refused before a byte of it is read, a
/// chunked one is read up to the cap and no further. Uploads (multipart)
/// stream through `upload` with caps of their own; webhooks read theirs.
/// So memory per request stays at the cap, whatever a client sends.
async fn cap_body(app: &App, req: &mut Request) -> Result<(), Response> {
    use poem::http::Method;
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Ok(());
    }
    let path = req.uri().path();
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart || path.starts_with("/webhooks/") {
        return Ok(());
    }
    let cap = app.cfg.max_json_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = || {
        let e = crate::error::AppError::TooLarge(format!(
            "Dữ liệu gửi lên quá lớn (tối đa {} KB).",
            cap / 1024
        ));
        let mut r = Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .content_type("application/json; charset=utf-8")
            .body(status::body_of(&e).to_string());
        // The rest of the body is not read: the connection is not reused.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let body = req.take_body();
    match body.into_bytes_limit(cap).await {
        Ok(bytes) => {
            req.set_body(bytes);
            Ok(())
        }
        Err(_) => Err(too_large()),
    }
}

/// Paths answered with HTML pages (everything but the API, webhooks,
/// static files and the machine endpoints).
fn is_page_path(path: &str) -> bool {
    !["/api/", "/static/", "/webhooks/", "/internal/"]
        .iter()
        .any(|p| path.starts_with(p))
        && !matches!(path, "/healthz" | "/metrics")
}

/// A router or framework error on a page path (unknown URL, wrong method,
/// a panic) becomes a Vietnamese page in the site's frame, with the right
/// status. Pages that handlers rendered themselves pass unchanged.
async fn error_as_page(
    app: &Arc<App>,
    mut req: Request,
    res: poem::Result<Response>,
) -> poem::Result<Response> {
    // An extractor's answer (a redirect to sign in, a refused form's page)
    // arrives as an error carrying its response: judge it like any other.
    let res = match res {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let status = res.status();
    if html || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    req.extensions_mut().insert(app.clone());
    let (heading, message) = match status.as_u16() {
        404 => (
            "Không tìm thấy trang",
            "Trang anh/chị tìm không tồn tại hoặc đã được chuyển đi. Vui lòng kiểm tra lại địa chỉ.",
        ),
        405 => (
            "Không thực hiện được",
            "Địa chỉ này không hỗ trợ thao tác vừa gửi. Vui lòng quay lại và thực hiện lại.",
        ),
        403 => (
            "Không có quyền truy cập",
            "Anh/chị không có quyền thực hiện thao tác này.",
        ),
        413 => ("Dữ liệu quá lớn", "Dữ liệu gửi lên quá lớn."),
        503 => ("Hệ thống tạm thời gián đoạn", status::UNAVAILABLE_MESSAGE),
        s if s >= 500 => (
            "Hệ thống đang gặp sự cố",
            "Hệ thống đang gặp sự cố, vui lòng thử lại sau ít phút.",
        ),
        _ => (
            "Không thực hiện được",
            "Yêu cầu không hợp lệ. Vui lòng quay lại và thực hiện lại.",
        ),
    };
    let console = req.uri().path().starts_with("/quan-tri");
    Ok(if console {
        let actor = ctx::current(app, &req, true).await;
        let p = console::MessagePage {
            heading: heading.into(),
            message: message.into(),
            link: Some("/quan-tri".into()),
            link_text: "Về trang chủ quản trị".into(),
        };
        console::message(app, &req, actor.as_ref(), status, &p)
    } else {
        let actor = ctx::current(app, &req, false).await;
        portal::message(app, &req, actor.as_ref(), status, heading, message)
    })
}

/// Security headers on every response; errors rendered as responses.
fn harden(app: &App, res: poem::Result<Response>) -> Response {
    Metrics::inc(&app.metrics.http_requests_total);
    let mut res = match res {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if res.status().is_server_error() {
        Metrics::inc(&app.metrics.http_errors_total);
    }
    let h = res.headers_mut();
    let set = |h: &mut poem::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(h, "cross-origin-opener-policy", "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    res
}

/// How long `/healthz` waits for a PostgreSQL database to answer.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[handler]
async fn healthz(poem::web::Data(app): poem::web::Data<&Arc<App>>) -> Response {
    // One point read (a read transaction and one key: microseconds, never
    // a wait on a writer or a flush), done right here for redb: through the
    // blocking pool it would also measure two thread hand-offs, which is
    // what slows down first when the cores are busy. A PostgreSQL read is a
    // network round trip that may wait for a connection: on the blocking
    // pool, bounded by HEALTH_TIMEOUT.
    let ok = if app.store.is_shared() {
        let probe = app.db(|a| Ok(crate::flows::reports::store_reachable(a)));
        matches!(
            tokio::time::timeout(HEALTH_TIMEOUT, probe).await,
            Ok(Ok(true))
        )
    } else {
        crate::flows::reports::store_reachable(app)
    };
    if ok {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

/// Who may read `/metrics`: with `MOTCUA_METRICS_TOKEN` set, whoever sends
/// `Authorization: Bearer <token>`; without it, loopback clients only.
pub fn metrics_allowed(token: Option<&str>, bearer: Option<&str>, peer_is_loopback: bool) -> bool {
    match token {
        Some(t) => bearer.is_some_and(|b| crate::util::ct_eq(b.as_bytes(), t.as_bytes())),
        None => peer_is_loopback,
    }
}

#[handler]
async fn metrics(req: &Request, poem::web::Data(app): poem::web::Data<&Arc<App>>) -> Response {
    let loopback = req
        .remote_addr()
        .as_socket_addr()
        .is_some_and(|a| a.ip().is_loopback());
    let bearer = ctx::bearer(req);
    if !metrics_allowed(
        app.cfg.metrics_token.as_deref(),
        bearer.as_deref(),
        loopback,
    ) {
        let status = if app.cfg.metrics_token.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        return (status, "metrics: not allowed from here").into_response();
    }
    let mut out = String::new();
    app.metrics.render(&mut out);
    let crate::flows::reports::Gauges {
        sms_due: queued,
        units,
        outbox,
    } = crate::flows::reports::gauges(app).await;
    out.push_str("# HELP motcua_chat_outbox_pending Bot messages waiting per channel\n# TYPE motcua_chat_outbox_pending gauge\n");
    for (c, n) in outbox {
        out.push_str(&format!(
            "motcua_chat_outbox_pending{{channel=\"{c}\"}} {n}\n"
        ));
    }
    out.push_str(&format!(
        "# HELP motcua_sms_pending Messages waiting in the SMS queue\n# TYPE motcua_sms_pending gauge\nmotcua_sms_pending {queued}\n# HELP motcua_units Units in the tree\n# TYPE motcua_units gauge\nmotcua_units {units}\n"
    ));
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

/// Serves on an already-bound listener until `shutdown` resolves; in-flight
/// requests get up to 10 seconds to finish.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    let _ = acceptor.local_addr();
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes(app), shutdown, Some(Duration::from_secs(10)))
        .await
}

/// Client IP: the peer address; behind a reverse proxy (with
/// `MOTCUA_TRUST_PROXY=on`) the last address the proxy appended to
/// `X-Forwarded-For`.
pub fn client_ip(req: &Request) -> String {
    let trust = req.data::<Arc<App>>().is_some_and(|a| a.cfg.trust_proxy);
    if trust
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    match req.remote_addr().as_socket_addr() {
        Some(a) => a.ip().to_string(),
        None => "unknown".into(),
    }
}

/// A consistent backup streamed to the local CLI (`motcua backup` while the
/// server runs). Only from loopback, only with the token of `serve.token`.
#[handler]
async fn internal_backup(
    req: &Request,
    poem::web::Data(app): poem::web::Data<&Arc<App>>,
) -> Response {
    // Same machine: loopback, or the server's own address when it listens
    // on a LAN address.
    let local_ip = req.local_addr().as_socket_addr().map(|a| a.ip());
    let loopback = req
        .remote_addr()
        .as_socket_addr()
        .is_some_and(|a| a.ip().is_loopback() || Some(a.ip()) == local_ip);
    let token = req
        .headers()
        .get("x-motcua-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !loopback || !crate::util::ct_eq(token.as_bytes(), app.internal_token.as_bytes()) {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    let dir = app.cfg.data_dir.join("backups");
    let tmp = dir.join(format!(".online-{}.redb", crate::util::random_hex(8)));
    let t2 = tmp.clone();
    let made = app
        .db(move |app| {
            crate::util::private_dir(&dir)
                .map_err(|e| crate::error::AppError::internal_from("failed", e))?;
            crate::backup::create(
                &app.store,
                &app.cfg.uploads_dir(),
                &t2,
                &crate::backup::Progress::new("", true),
                // Plain over loopback: `motcua backup --encrypt` seals it
                // with the passphrase on the operator's side.
                None,
            )
            .map_err(|e| crate::error::AppError::internal_from("failed", e))
        })
        .await;
    if let Err(e) = made {
        tracing::error!(error = %e, "online backup failed");
        let _ = std::fs::remove_file(&tmp);
        return (StatusCode::INTERNAL_SERVER_ERROR, "backup failed").into_response();
    }
    let file = match tokio::fs::File::open(&tmp).await {
        Ok(f) => f,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "backup failed").into_response(),
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    // The open handle keeps the data readable; the name goes now (on
    // Windows, where that fails, `backup::scheduled` removes leftovers).
    let _ = std::fs::remove_file(&tmp);
    tracing::info!(bytes = len, "online backup sent");
    Response::builder()
        .content_type("application/octet-stream")
        .header("content-length", len.to_string())
        .body(poem::Body::from_async_read(file))
}

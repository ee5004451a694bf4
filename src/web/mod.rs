//! HTTP: the citizen portal, the staff console, the JSON API, static files,
//! health and metrics. A thin transport over `flows`.

pub mod api;
pub mod api_citizens;
pub mod api_portal;
pub mod console;
pub mod console_citizens;
pub mod ctx;
pub mod portal;
pub mod templates;

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
        .at("/metrics", get(metrics))
        .nest("/static", EmbeddedFilesEndpoint::<Static>::new())
        .nest("/quan-tri", console::routes())
        .nest("/", portal::routes())
        .with(AddData::new(app2))
        .around(move |ep, req| {
            let app = app.clone();
            async move { Ok(harden(&app, ep.call(req).await)) }
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

#[handler]
async fn healthz(poem::web::Data(app): poem::web::Data<&Arc<App>>) -> Response {
    let ok = app
        .db(|app| Ok(app.store.read(crate::store::meta::schema_version)?))
        .await
        .is_ok();
    if ok {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

#[handler]
async fn metrics(poem::web::Data(app): poem::web::Data<&Arc<App>>) -> Response {
    let mut out = String::new();
    app.metrics.render(&mut out);
    let (queued, units) = app
        .db(|app| {
            Ok(app.store.read(|r| {
                let due = crate::store::sms::DUE.len(r)?;
                let units = crate::store::units::UNITS.len(r)?;
                Ok((due, units))
            })?)
        })
        .await
        .unwrap_or((0, 0));
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

/// Client IP: the peer address (no proxy headers are trusted).
pub fn client_ip(req: &Request) -> String {
    match req.remote_addr().as_socket_addr() {
        Some(a) => a.ip().to_string(),
        None => "unknown".into(),
    }
}

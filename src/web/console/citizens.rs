//! Console: Quản trị hệ thống → Tạo tài khoản công dân (seed part I): the
//! list with the seed's filters, Thêm mới (look-up, form with the scanned
//! ID), the request (download the form, send the OTP, create the account),
//! an account's details and downloads.

use std::sync::Arc;

use minijinja::context;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path, Query};
use poem::{Body, FromRequest, Request, Response, Route, get, handler, post};

use crate::app::App;
use crate::domain::Permission;
use crate::error::AppError;
use crate::flows::citizen_accounts::{self as ca, ListFilter};
use crate::flows::{Actor, staff_units};
use crate::store::citizens::CitizenRecord;
use crate::upload;
use crate::util;
use crate::web::console::{Framed, error_page, frame};
use crate::web::ctx::FormData;
use crate::web::ctx::{redirect, status_of, v};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::{Fields, Val, render};
use crate::{page_ctx, page_type};

const BASE: &str = "/quan-tri/tao-tai-khoan-cong-dan";
const TITLE: &str = "Tạo tài khoản công dân";

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list_page))
        .at("/them-moi", get(new_page).post(create_submit))
        .at("/them-moi/tra-cuu", post(lookup_submit))
        .at("/yeu-cau/:id", get(request_page))
        .at("/yeu-cau/:id/giay-de-nghi.pdf", get(request_pdf))
        .at("/yeu-cau/:id/gui-otp", post(send_otp))
        .at("/yeu-cau/:id/tao-tai-khoan", post(confirm))
        .at("/yeu-cau/:id/huy", post(cancel))
        .at("/tai-khoan/:seq", get(detail_page))
        .at("/tai-khoan/:seq/cmnd-cccd", get(scan_download))
        .at("/tai-khoan/:seq/giay-de-nghi.pdf", get(form_download))
}

fn file_response(mime: &str, name: &str, bytes: Vec<u8>) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type(mime)
        .header(
            header::CONTENT_DISPOSITION,
            upload::attachment_disposition(name),
        )
        .header("x-content-type-options", "nosniff")
        .body(bytes)
}

/// The page for an actor who holds the permission nowhere: 403 with the
/// reason and who can fix it.
async fn no_permission(app: &Arc<App>, req: &Request, actor: &Actor) -> Response {
    let units = staff_units::for_staff(app, &actor.account);
    let p = page_ctx!(CitizenListPage {
        forbidden => true, reason => v(&units.reason), filter => context! {},
        filter_units => Vec::<u8>::new(),
        items => Vec::<u8>::new(), total => 0, page => 1, pages => 1,
        first_index => 0, prev_link => None::<String>, next_link => None::<String>,
        error => None::<String>, fields => Fields::new(),
    });
    render(
        app,
        req,
        StatusCode::FORBIDDEN,
        &frame(app, Some(actor), TITLE, "citizen").await,
        &p,
    )
}

fn may_use(actor: &Actor) -> bool {
    actor.account.has_any(Permission::CitizenAccountsCreate)
}

/// The query string of a filter without the page (for pager links).
fn filter_query(f: &ListFilter) -> String {
    let mut g = f.clone();
    g.page = None;
    serde_urlencoded::to_string(&g).unwrap_or_default()
}

#[handler]
async fn list_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(f): Query<ListFilter>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !may_use(&actor) {
        return no_permission(app, req, &actor).await;
    }
    let units = staff_units::for_staff(app, &actor.account);
    let filter_units = ca::filter_units(app, &actor);
    let (list, error, fields, status) = match ca::list(app, &actor, &f).await {
        Ok(l) => (Some(l), None, None, StatusCode::OK),
        Err(e) => {
            let s = status_of(&e);
            (None, Some(e.to_string()), e.field_map().cloned(), s)
        }
    };
    let (items, total, page_no, pages, per_page) = match &list {
        Some(l) => (v(&l.items), l.total, l.page, l.pages, l.per_page),
        None => (v(&Vec::<u8>::new()), 0, 1, 1, ca::DEFAULT_PER_PAGE),
    };
    let q = filter_query(&f);
    let mut frame = crate::web::console::frame(app, Some(&actor), TITLE, "citizen").await;
    if req.uri().query().is_some_and(|q| q.contains("da_huy=1")) {
        frame.flash =
            Some("Đã hủy yêu cầu tạo tài khoản. Mã OTP đã gửi không còn hiệu lực.".into());
    }
    let p = page_ctx!(CitizenListPage {
        forbidden => false,
        reason => v(&units.reason),
        filter => v(&f), filter_units => v(&filter_units),
        items => items, total => total, page => page_no, pages => pages,
        first_index => (page_no - 1) * per_page,
        prev_link => (page_no > 1).then(|| format!("{BASE}?{q}&page={}", page_no - 1)),
        next_link => (page_no < pages).then(|| format!("{BASE}?{q}&page={}", page_no + 1)),
        error => error, fields => fields.unwrap_or_default(),
    });
    render(app, req, status, &frame, &p)
}

/// Context of the Thêm mới page. `form` = the values typed so far; with
/// `show_form` the full form follows the look-up.
#[allow(clippy::too_many_arguments)]
async fn new_ctx(
    app: &Arc<App>,
    actor: &Actor,
    show_form: bool,
    form: minijinja::Value,
    lookup: Option<&ca::Lookup>,
    error: Option<String>,
    fields: Option<std::collections::BTreeMap<String, String>>,
) -> Framed<CitizenNewPage> {
    let units = staff_units::for_staff(app, &actor.account);
    let selectable: Vec<&staff_units::UnitChoice> =
        units.units.iter().filter(|u| u.selectable).collect();
    Framed(
        frame(app, Some(actor), TITLE, "citizen").await,
        page_ctx!(CitizenNewPage {
            show_form => show_form, form => form, lookup => v(&lookup), error => error, fields => fields.unwrap_or_default(),
            units => v(&selectable), reason => v(&units.reason),
            staff => context! {
                full_name => actor.account.full_name.clone(),
                phone => actor.account.phone.clone(),
                now => util::fmt_time(app.now()),
            },
            max_mb => upload::MAX_SCAN_BYTES / (1024 * 1024),
        }),
    )
}

#[handler]
async fn new_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !may_use(&actor) {
        return no_permission(app, req, &actor).await;
    }
    let ctx = new_ctx(app, &actor, false, context! {}, None, None, None).await;
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn lookup_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !may_use(&actor) {
        return no_permission(app, req, &actor).await;
    }
    let id = form.text("id_number");
    match ca::lookup(app, &actor, &id).await {
        Ok(l) => {
            let show = !l.exists;
            let ctx = new_ctx(
                app,
                &actor,
                show,
                context! { id_number => l.id_number.clone() },
                Some(&l),
                None,
                None,
            )
            .await;
            ctx.render(app, req, StatusCode::OK)
        }
        Err(e) => {
            let ctx = new_ctx(
                app,
                &actor,
                false,
                context! { id_number => id },
                None,
                Some(e.to_string()),
                e.field_map().cloned(),
            )
            .await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[handler]
async fn create_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    body: Body,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !may_use(&actor) {
        return no_permission(app, req, &actor).await;
    }
    let content_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = poem::RequestBody::new(body);
    let mp = match poem::web::Multipart::from_request(req, &mut body).await {
        Ok(m) => m,
        Err(_) => {
            let e = AppError::invalid("Biểu mẫu phải được gửi kèm tệp (multipart/form-data).");
            return error_page(app, req, Some(&actor), &e);
        }
    };
    let form = match crate::web::multipart::read_multipart(mp, content_length, "id_scan").await {
        Ok(f) => f,
        Err(e) => {
            let ctx = new_ctx(
                app,
                &actor,
                true,
                context! {},
                None,
                Some(e.to_string()),
                e.field_map().cloned(),
            )
            .await;
            return ctx.render(app, req, status_of(&e));
        }
    };
    if !crate::web::ctx::csrf_ok(app, req, form.get("_csrf")) {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let typed = context! {
        id_number => form.text("id_number"), full_name => form.text("full_name"),
        birth_date => form.text("birth_date"), phone => form.text("phone"),
        email => form.text("email"), unit_id => form.text("unit_id"),
    };
    let input = form.citizen_request();
    match ca::create_request(app, &actor, input).await {
        Ok(id) => redirect(&format!("{BASE}/yeu-cau/{id}")),
        Err(e) => {
            let mut fields = e.field_map().cloned().unwrap_or_default();
            match &e {
                AppError::TooLarge(m) | AppError::UnsupportedType(m) => {
                    fields.insert("id_scan".into(), m.clone());
                }
                _ => {}
            }
            let ctx = new_ctx(
                app,
                &actor,
                true,
                typed,
                None,
                Some(e.to_string()),
                Some(fields),
            )
            .await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct RequestQuery {
    sent: Option<String>,
}

/// A failed step of request `id`: the error page when the request is gone
/// or not the actor's, else its page again with the error.
async fn step_failed(
    app: &Arc<App>,
    req: &Request,
    actor: &Actor,
    id: &str,
    e: AppError,
) -> Response {
    match e {
        AppError::Gone(_) | AppError::NotFound(_) | AppError::Forbidden => {
            error_page(app, req, Some(actor), &e)
        }
        e => {
            render_request(
                app,
                req,
                actor,
                id,
                None,
                Some((status_of(&e), e.to_string())),
            )
            .await
        }
    }
}

async fn render_request(
    app: &Arc<App>,
    req: &Request,
    actor: &Actor,
    id: &str,
    flash: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Response {
    match ca::get_request(app, actor, id).await {
        Ok(r) => {
            let status = error.as_ref().map_or(StatusCode::OK, |e| e.0);
            let unit_name = app.tree().name(r.data.unit);
            let mut fr = frame(app, Some(actor), TITLE, "citizen").await;
            fr.flash = flash.map(|f| f.to_string());
            let p = page_ctx!(CitizenRequestPage {
                r => v(&r), unit_name => unit_name, created => util::fmt_time(r.data.created_at),
                base => format!("{BASE}/yeu-cau/{}", r.id),
                error => error.map(|e| e.1),
                size_kb => r.data.scan.size.div_ceil(1024),
            });
            render(app, req, status, &fr, &p)
        }
        Err(e) => error_page(app, req, Some(actor), &e),
    }
}

#[handler]
async fn request_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    Query(q): Query<RequestQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let flash = q
        .sent
        .map(|_| "Đã gửi mã OTP tới số điện thoại của công dân.".to_string());
    render_request(app, req, &actor, &id, flash, None).await
}

#[handler]
async fn request_pdf(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match ca::request_pdf(app, &actor, &id).await {
        Ok((name, pdf)) => file_response("application/pdf", &name, pdf),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn send_otp(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match ca::send_otp(app, &actor, &id).await {
        Ok(_) => redirect(&format!("{BASE}/yeu-cau/{id}?sent=1")),
        Err(e) => step_failed(app, req, &actor, &id, e).await,
    }
}

#[handler]
async fn cancel(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match ca::cancel(app, &actor, &id).await {
        Ok(()) => redirect(&format!("{BASE}?da_huy=1")),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn confirm(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match ca::confirm(app, &actor, &id, &form.text("otp")).await {
        Ok(rec) => redirect(&format!("{BASE}/tai-khoan/{}?moi=1", rec.seq)),
        Err(e @ AppError::Conflict(_)) => {
            let p = crate::web::console::MessagePage {
                heading: "Công dân đã có tài khoản".into(),
                message: e.to_string(),
                link: Some(BASE.into()),
                link_text: "Về danh sách".into(),
            };
            crate::web::console::message(app, req, Some(&actor), StatusCode::CONFLICT, &p)
        }
        Err(e) => step_failed(app, req, &actor, &id, e).await,
    }
}

async fn record_by_seq(
    app: &Arc<App>,
    actor: &Actor,
    seq: &str,
) -> Result<CitizenRecord, AppError> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| AppError::NotFound("Không tìm thấy tài khoản công dân.".into()))?;
    ca::account_by_seq(app, actor, seq).await
}

#[derive(serde::Deserialize, Default)]
struct DetailQuery {
    moi: Option<String>,
}

#[handler]
async fn detail_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(seq): Path<String>,
    Query(q): Query<DetailQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let rec = match record_by_seq(app, &actor, &seq).await {
        Ok(r) => r,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    if let Err(e) = ca::note_view(app, &actor, &rec).await {
        return error_page(app, req, Some(&actor), &e);
    }
    let phone_masked = crate::domain::phone::mask(&rec.phone);
    let unit_name = {
        let n = app.tree().name(rec.unit);
        if n.is_empty() {
            rec.unit_name.clone()
        } else {
            n
        }
    };
    let p = page_ctx!(CitizenDetailPage {
        rec => v(&rec), created => util::fmt_time(rec.created_at), unit_name => unit_name,
        just_created => q.moi.is_some(), phone_masked => phone_masked,
        base => format!("{BASE}/tai-khoan/{}", rec.seq),
        scan_kind => rec.scan.kind.ext().to_uppercase(), size_kb => rec.scan.size.div_ceil(1024),
        portal_url => app.cfg.public_url.clone(),
    });
    render(
        app,
        req,
        StatusCode::OK,
        &frame(app, Some(&actor), TITLE, "citizen").await,
        &p,
    )
}

#[handler]
async fn scan_download(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(seq): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let rec = match record_by_seq(app, &actor, &seq).await {
        Ok(r) => r,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    match ca::scan_file(app, &actor, rec).await {
        Ok((rec, bytes)) => file_response(
            rec.scan.kind.mime(),
            &format!("CMND-CCCD-{}.{}", rec.request_code, rec.scan.kind.ext()),
            bytes,
        ),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn form_download(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(seq): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let rec = match record_by_seq(app, &actor, &seq).await {
        Ok(r) => r,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    match ca::account_pdf(app, &actor, rec).await {
        Ok((name, pdf)) => file_response("application/pdf", &name, pdf),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

page_type!(CitizenListPage = "console/citizen_accounts.html" {
    forbidden: Val, reason: Val, filter: Val, filter_units: Val, items: Val, total: Val,
    page: Val, pages: Val, first_index: Val, prev_link: Val, next_link: Val, error: Val, fields: Val,
});
page_type!(CitizenNewPage = "console/citizen_new.html" {
    show_form: Val, form: Val, lookup: Val, error: Val, fields: Val, units: Val, reason: Val,
    staff: Val, max_mb: Val,
});
page_type!(CitizenRequestPage = "console/citizen_request.html" {
    r: Val, unit_name: Val, created: Val, base: Val, error: Val, size_kb: Val,
});
page_type!(CitizenDetailPage = "console/citizen_detail.html" {
    rec: Val, created: Val, unit_name: Val, just_created: Val, phone_masked: Val, base: Val,
    scan_kind: Val, size_kb: Val, portal_url: Val,
});

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<crate::web::view::check::Registered> {
    use crate::web::console::sample_frame;
    use crate::web::view::check::register;
    vec![
        register::<CitizenListPage, crate::web::view::ConsoleShell>(sample_frame()),
        register::<CitizenNewPage, crate::web::view::ConsoleShell>(sample_frame()),
        register::<CitizenRequestPage, crate::web::view::ConsoleShell>(sample_frame()),
        register::<CitizenDetailPage, crate::web::view::ConsoleShell>(sample_frame()),
    ]
}

//! Console: Thống kê (permission `stats.view`, scoped to units): tables,
//! server-drawn SVG charts, CSV export of each table.

use crate::web::extract::StaffActor;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Request, Response, Route, get, handler};

use crate::app::App;
use crate::domain::Permission;
use crate::error::AppError;
use crate::flows::Actor;
use crate::store::stats;
use crate::web::console::{Framed, error_page, frame};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(stats_page))
        .at("/:table", get(csv_export))
}

#[derive(serde::Deserialize, Default, Clone)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Day,
    Week,
    Month,
}

struct Range {
    from: NaiveDate,
    to: NaiveDate,
    group: Group,
}

fn parse_range(q: &RangeQuery, today: NaiveDate) -> Result<Range, AppError> {
    let parse = |s: &Option<String>, field: &str| -> Result<Option<NaiveDate>, AppError> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%d/%m/%Y")
                .map(Some)
                .map_err(|_| AppError::field(field, "Ngày phải theo định dạng dd/mm/yyyy.")),
        }
    };
    let to = parse(&q.to, "to")?.unwrap_or(today);
    let from = parse(&q.from, "from")?.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(AppError::field("from", "Từ ngày phải trước Đến ngày."));
    }
    if (to - from).num_days() > 366 * 3 {
        return Err(AppError::field("from", "Khoảng thời gian tối đa là 3 năm."));
    }
    let group = match q.group.as_deref() {
        Some("week") => Group::Week,
        Some("month") => Group::Month,
        _ => Group::Day,
    };
    Ok(Range { from, to, group })
}

fn bucket(day: &str, g: Group) -> String {
    let Ok(d) = NaiveDate::parse_from_str(day, "%Y%m%d") else {
        return day.to_string();
    };
    match g {
        Group::Day => d.format("%d/%m/%Y").to_string(),
        Group::Week => {
            let monday = d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64);
            format!("Tuần {}", monday.format("%d/%m/%Y"))
        }
        Group::Month => d.format("%m/%Y").to_string(),
    }
}

/// Every bucket label of the range, in order (so empty periods show as 0).
fn buckets(r: &Range) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut d = r.from;
    while d <= r.to {
        let b = bucket(&d.format("%Y%m%d").to_string(), r.group);
        if out.last() != Some(&b) {
            out.push(b);
        }
        d += chrono::Duration::days(1);
    }
    out
}

/// A table of the page: title, header, rows (and an optional chart).
#[derive(serde::Serialize, Clone)]
struct Table {
    id: &'static str,
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: Option<String>,
}

struct Scope {
    units: Vec<u64>,
    province: bool,
}

fn scope(app: &App, actor: &Actor) -> Scope {
    let tree = app.tree();
    let units = tree.units_with(&actor.account, Permission::StatsView);
    let province = actor.account.superadmin
        || tree
            .rows()
            .iter()
            .filter(|r| r.parent.is_none())
            .any(|r| units.contains(&r.id));
    Scope { units, province }
}

fn series(rows: &[stats::Row], r: &Range, keep: impl Fn(&str) -> bool) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows.iter().filter(|x| keep(&x.dim)) {
        *m.entry(bucket(&row.day, r.group)).or_default() += row.count;
    }
    buckets(r)
        .into_iter()
        .map(|b| (b.clone(), m.get(&b).copied().unwrap_or(0)))
        .collect()
}

fn tables(app: &App, actor: &Actor, r: &Range) -> Result<Vec<Table>, AppError> {
    let sc = scope(app, actor);
    let tree = app.tree();
    let (from, to) = (
        r.from.format("%Y%m%d").to_string(),
        r.to.format("%Y%m%d").to_string(),
    );
    let get = |metric: &str| crate::flows::reports::stats_rows(app, actor, metric, &from, &to);
    let in_scope = |unit: &str| unit.parse::<u64>().is_ok_and(|u| sc.units.contains(&u));
    let mut out = vec![];

    let by_unit = get("accounts_created_unit")?;
    let per_period = series(&by_unit, r, in_scope);
    out.push(Table {
        id: "tai-khoan-theo-thoi-gian",
        title: "Tài khoản công dân do cán bộ tạo, theo thời gian".into(),
        header: vec!["Thời gian".into(), "Số tài khoản".into()],
        rows: per_period
            .iter()
            .map(|(k, v)| vec![k.clone(), v.to_string()])
            .collect(),
        chart: Some(crate::web::svg::bars(
            "Tài khoản công dân do cán bộ tạo",
            &per_period,
        )),
    });
    let mut units: BTreeMap<String, u64> = BTreeMap::new();
    for row in by_unit.iter().filter(|x| in_scope(&x.dim)) {
        let name = row.dim.parse().map(|u| tree.name(u)).unwrap_or_default();
        *units.entry(name).or_default() += row.count;
    }
    out.push(Table {
        id: "tai-khoan-theo-don-vi",
        title: "Tài khoản công dân theo đơn vị".into(),
        header: vec!["Đơn vị".into(), "Số tài khoản".into()],
        rows: units
            .into_iter()
            .map(|(k, v)| vec![k, v.to_string()])
            .collect(),
        chart: None,
    });
    let mut staff: BTreeMap<(String, String), u64> = BTreeMap::new();
    for row in get("accounts_created_staff")? {
        let (unit, who) = row.dim.split_once(':').unwrap_or(("", row.dim.as_str()));
        if in_scope(unit) {
            let name = unit.parse().map(|u| tree.name(u)).unwrap_or_default();
            *staff.entry((who.to_string(), name)).or_default() += row.count;
        }
    }
    out.push(Table {
        id: "tai-khoan-theo-can-bo",
        title: "Tài khoản công dân theo cán bộ tạo".into(),
        header: vec!["Cán bộ".into(), "Đơn vị".into(), "Số tài khoản".into()],
        rows: staff
            .into_iter()
            .map(|((w, u), v)| vec![w, u, v.to_string()])
            .collect(),
        chart: None,
    });

    if sc.province {
        let reg = series(&get("registrations")?, r, |_| true);
        let signins = get("sign_ins")?;
        let portal = series(&signins, r, |d| d == "portal");
        let console = series(&signins, r, |d| d == "console");
        out.push(Table {
            id: "dang-ky-dang-nhap",
            title: "Đăng ký và đăng nhập".into(),
            header: vec![
                "Thời gian".into(),
                "Tự đăng ký".into(),
                "Đăng nhập Cổng".into(),
                "Đăng nhập quản trị".into(),
            ],
            rows: reg
                .iter()
                .zip(&portal)
                .zip(&console)
                .map(|(((k, a), (_, b)), (_, c))| {
                    vec![k.clone(), a.to_string(), b.to_string(), c.to_string()]
                })
                .collect(),
            chart: Some(crate::web::svg::bars("Tự đăng ký tài khoản", &reg)),
        });
        let sent = series(&get("otp_sent")?, r, |_| true);
        let ok = series(&get("otp_verified")?, r, |_| true);
        let expired = series(&get("otp_expired")?, r, |_| true);
        let failed = series(&get("otp_failed")?, r, |_| true);
        let delivered = series(&get("sms_delivered")?, r, |_| true);
        let sms_fail = series(&get("sms_failed_attempts")?, r, |_| true);
        out.push(Table {
            id: "otp-sms",
            title: "Mã OTP và tin nhắn SMS".into(),
            header: [
                "Thời gian",
                "OTP đã gửi",
                "OTP đúng",
                "OTP hết hạn",
                "OTP sai",
                "SMS gửi thành công",
                "Lần gửi SMS lỗi",
            ]
            .map(String::from)
            .to_vec(),
            rows: (0..sent.len())
                .map(|i| {
                    vec![
                        sent[i].0.clone(),
                        sent[i].1.to_string(),
                        ok[i].1.to_string(),
                        expired[i].1.to_string(),
                        failed[i].1.to_string(),
                        delivered[i].1.to_string(),
                        sms_fail[i].1.to_string(),
                    ]
                })
                .collect(),
            chart: Some(crate::web::svg::bars("Mã OTP đã gửi", &sent)),
        });
        out.extend(receipt_tables(
            &get("sms_receipt")?,
            &get("sms_receipt_prefix")?,
            r,
        ));
        let questions = get("bot_questions")?;
        let mut intents: BTreeMap<String, u64> = BTreeMap::new();
        for q in &questions {
            *intents.entry(q.dim.clone()).or_default() += q.count;
        }
        let total: u64 = intents.values().sum();
        let abstain = intents.get("abstain").copied().unwrap_or(0);
        let handoffs: u64 = get("handoffs")?.iter().map(|x| x.count).sum();
        let ratings = get("ratings")?;
        let (n, sum) = ratings.iter().fold((0u64, 0u64), |(n, s), x| {
            (n + x.count, s + x.count * x.dim.parse::<u64>().unwrap_or(0))
        });
        let mut rows: Vec<Vec<String>> = intents
            .iter()
            .map(|(k, v)| {
                vec![
                    if k == "abstain" {
                        "(chưa trả lời được)".into()
                    } else {
                        k.clone()
                    },
                    v.to_string(),
                ]
            })
            .collect();
        rows.push(vec!["Tổng số câu hỏi".into(), total.to_string()]);
        rows.push(vec![
            "Tỷ lệ chưa trả lời được".into(),
            if total > 0 {
                format!("{:.1}%", abstain as f64 * 100.0 / total as f64)
            } else {
                "—".into()
            },
        ]);
        rows.push(vec!["Chuyển cho cán bộ".into(), handoffs.to_string()]);
        rows.push(vec![
            "Mức hài lòng trung bình (1–5)".into(),
            if n > 0 {
                format!("{:.2} ({n} phiếu)", sum as f64 / n as f64)
            } else {
                "—".into()
            },
        ]);
        out.push(Table {
            id: "tro-ly-ao",
            title: "Trợ lý hỗ trợ: câu hỏi theo chủ đề".into(),
            header: vec!["Chủ đề".into(), "Số câu hỏi".into()],
            rows,
            chart: None,
        });
    }
    Ok(out)
}

/// The delivered share of reported messages, or "—" without reports.
fn delivered_rate(delivered: u64, failed: u64) -> String {
    match delivered + failed {
        0 => "—".into(),
        n => format!("{:.1}%", delivered as f64 * 100.0 / n as f64),
    }
}

/// Delivery receipts of the SMS provider: delivered and failed per period
/// and per mobile network (by the number's prefix), with the delivered rate.
fn receipt_tables(by_day: &[stats::Row], by_prefix: &[stats::Row], r: &Range) -> [Table; 2] {
    let delivered = series(by_day, r, |d| d == "delivered");
    let failed = series(by_day, r, |d| d == "failed");
    let header = |first: &str| {
        [first, "Đã đến máy", "Không đến được", "Tỷ lệ đến máy"]
            .map(String::from)
            .to_vec()
    };
    let mut carriers: BTreeMap<crate::domain::Carrier, (u64, u64)> = BTreeMap::new();
    for row in by_prefix {
        let (prefix, outcome) = row.dim.split_once(':').unwrap_or((row.dim.as_str(), ""));
        let e = carriers
            .entry(crate::domain::Carrier::of(prefix))
            .or_default();
        match outcome {
            "delivered" => e.0 += row.count,
            "failed" => e.1 += row.count,
            _ => {}
        }
    }
    let (all_d, all_f) = carriers
        .values()
        .fold((0, 0), |(a, b), (d, f)| (a + d, b + f));
    let mut by_carrier: Vec<Vec<String>> = carriers
        .iter()
        .map(|(c, (d, f))| {
            vec![
                c.label().to_string(),
                d.to_string(),
                f.to_string(),
                delivered_rate(*d, *f),
            ]
        })
        .collect();
    if !by_carrier.is_empty() {
        by_carrier.push(vec![
            "Tổng cộng".into(),
            all_d.to_string(),
            all_f.to_string(),
            delivered_rate(all_d, all_f),
        ]);
    }
    [
        Table {
            id: "sms-den-may",
            title: "Tin nhắn SMS đến máy người nhận (theo báo cáo của nhà cung cấp)".into(),
            header: header("Thời gian"),
            rows: delivered
                .iter()
                .zip(&failed)
                .map(|((k, d), (_, f))| {
                    vec![
                        k.clone(),
                        d.to_string(),
                        f.to_string(),
                        delivered_rate(*d, *f),
                    ]
                })
                .collect(),
            chart: Some(crate::web::svg::bars(
                "SMS đã đến máy người nhận",
                &delivered,
            )),
        },
        Table {
            id: "sms-theo-nha-mang",
            title: "Tin nhắn SMS đến máy người nhận, theo nhà mạng".into(),
            header: header("Nhà mạng"),
            rows: by_carrier,
            chart: None,
        },
    ]
}

fn today(app: &App) -> NaiveDate {
    chrono::DateTime::from_timestamp(app.now() + 7 * 3600, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

fn allowed(actor: &Actor) -> Result<(), AppError> {
    if actor.account.has_any(Permission::StatsView) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[handler]
async fn stats_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<RangeQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = allowed(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    let (range, error) = match parse_range(&q, today(app)) {
        Ok(r) => (r, None),
        Err(e) => (
            parse_range(&RangeQuery::default(), today(app)).unwrap_or(Range {
                from: today(app),
                to: today(app),
                group: Group::Day,
            }),
            Some(e.to_string()),
        ),
    };
    let a2 = actor.clone();
    let tabs = {
        let app2 = app.clone();
        let r2 = Range {
            from: range.from,
            to: range.to,
            group: range.group,
        };
        app.db_heavy(move |_| tables(&app2, &a2, &r2)).await
    };
    let tabs = match tabs {
        Ok(t) => t,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let qs = format!(
        "from={}&to={}&group={}",
        range.from.format("%d/%m/%Y"),
        range.to.format("%d/%m/%Y"),
        match range.group {
            Group::Day => "day",
            Group::Week => "week",
            Group::Month => "month",
        }
    );
    let ctx = Framed(
        frame(app, Some(&actor), "Thống kê", "stats").await,
        page_ctx!(StatsPage {
            tables => crate::web::ctx::v(&tabs),
            from => range.from.format("%d/%m/%Y").to_string(),
            to => range.to.format("%d/%m/%Y").to_string(),
            group => match range.group { Group::Day => "day", Group::Week => "week", Group::Month => "month" },
            qs => qs,
            error => error,
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

fn csv_field(s: &str) -> String {
    // Quote, and defuse spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[handler]
async fn csv_export(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(table): Path<String>,
    Query(q): Query<RangeQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = allowed(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    let Some(id) = table.strip_suffix(".csv").map(str::to_string) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    let range = match parse_range(&q, today(app)) {
        Ok(r) => r,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let app2 = app.clone();
    let a2 = actor.clone();
    let tabs = match app.db_heavy(move |_| tables(&app2, &a2, &range)).await {
        Ok(t) => t,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let Some(t) = tabs.into_iter().find(|t| t.id == id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    let mut body = String::from("\u{feff}");
    body.push_str(
        &t.header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    body.push_str("\r\n");
    for row in &t.rows {
        body.push_str(
            &row.iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        body.push_str("\r\n");
    }
    Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"thong-ke-{id}.csv\""),
        )
        .body(body)
        .into_response()
}

page_type!(StatsPage = "console/stats.html" { tables: Val, from: Val, to: Val, group: Val, qs: Val, error: Val });

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<crate::web::view::check::Registered> {
    use crate::web::view::check::register;
    vec![register::<StatsPage, crate::web::view::ConsoleShell>(
        crate::web::console::sample_frame(),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_day_week_month() {
        let d = |s| NaiveDate::parse_from_str(s, "%d/%m/%Y").unwrap();
        let r = Range {
            from: d("28/10/2026"),
            to: d("03/11/2026"),
            group: Group::Day,
        };
        assert_eq!(buckets(&r).len(), 7);
        let r = Range {
            group: Group::Month,
            ..r
        };
        assert_eq!(
            buckets(&r),
            vec!["10/2026".to_string(), "11/2026".to_string()]
        );
        assert_eq!(bucket("20261104", Group::Week), "Tuần 02/11/2026");
    }

    #[test]
    fn range_is_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let q = |f: &str, t: &str| RangeQuery {
            from: Some(f.into()),
            to: Some(t.into()),
            group: None,
        };
        assert!(parse_range(&q("01/11/2026", "26/11/2026"), today).is_ok());
        assert!(parse_range(&q("27/11/2026", "26/11/2026"), today).is_err());
        assert!(parse_range(&q("1-11-2026", ""), today).is_err());
        let r = parse_range(&RangeQuery::default(), today).unwrap();
        assert_eq!((r.to - r.from).num_days(), 29);
    }

    #[test]
    fn receipts_by_period_and_network_with_the_delivered_rate() {
        let row = |day: &str, dim: &str, count| stats::Row {
            day: day.into(),
            dim: dim.into(),
            count,
        };
        let d = |s| NaiveDate::parse_from_str(s, "%d/%m/%Y").unwrap();
        let r = Range {
            from: d("25/11/2026"),
            to: d("26/11/2026"),
            group: Group::Day,
        };
        let by_day = [
            row("20261126", "delivered", 19),
            row("20261126", "failed", 1),
        ];
        let by_prefix = [
            row("20261126", "098:delivered", 10),
            row("20261126", "035:delivered", 5),
            row("20261126", "035:failed", 1),
            row("20261126", "091:delivered", 4),
        ];
        let [days, nets] = receipt_tables(&by_day, &by_prefix, &r);
        assert_eq!(days.rows[0], vec!["25/11/2026", "0", "0", "—"]);
        assert_eq!(days.rows[1], vec!["26/11/2026", "19", "1", "95.0%"]);
        assert_eq!(nets.rows[0], vec!["Viettel", "15", "1", "93.8%"]);
        assert_eq!(nets.rows[1], vec!["Vinaphone", "4", "0", "100.0%"]);
        assert_eq!(nets.rows[2], vec!["Tổng cộng", "19", "1", "95.0%"]);
    }

    #[test]
    fn csv_defuses_formulas() {
        assert_eq!(csv_field("=SUM(A1)"), "\"'=SUM(A1)\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}

//! Statistics page (issue 7): scoped, charts as SVG, CSV export.

use crate::helpers::*;

async fn get_page(t: &TestApp, token: &str, path: &str) -> (u16, String, String) {
    let r = t.console_get(token, path).await;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn stats_show_counts_charts_and_csv_in_scope() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    // The admin's sign-in produced an OTP and a console sign-in today.
    let (s, _, html) = get_page(&t, &admin, "/quan-tri/thong-ke").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("<svg") && html.contains("Mã OTP và tin nhắn SMS"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    let (s, ct, csv) = get_page(&t, &admin, "/quan-tri/thong-ke/otp-sms.csv").await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"));
    assert!(csv.starts_with('\u{feff}'));
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .format("%d/%m/%Y")
        .to_string();
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("\"{today}\"")))
        .unwrap_or_else(|| panic!("no row for {today}: {csv}"));
    let cells: Vec<&str> = line.split(',').collect();
    assert_eq!(cells[1], "\"1\"", "one OTP sent today: {line}");
    assert_eq!(cells[2], "\"1\"", "one OTP verified today: {line}");
    // Bad dates: a clear message, still 200 with defaults; CSV refuses.
    let (s, _, html) = get_page(&t, &admin, "/quan-tri/thong-ke?from=31/02/2026").await;
    assert_eq!(s, 200);
    assert!(html.contains("dd/mm/yyyy"));
    let (s, _, _) = get_page(&t, &admin, "/quan-tri/thong-ke/otp-sms.csv?from=xx").await;
    assert_eq!(s, 400);
    let (s, _, _) = get_page(&t, &admin, "/quan-tri/thong-ke/khong-co.csv").await;
    assert_eq!(s, 404);
    // Without stats.view: refused. A district's stats.view: no province tables.
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let plain = t
        .staff_with(&admin, "cbnostats", "0372777001", "033090001212", unit, &[])
        .await;
    let (s, _, _) = get_page(&t, &plain, "/quan-tri/thong-ke").await;
    assert_eq!(s, 403);
    let district = t.unit_id("UBND huyện Văn Lâm").await;
    let viewer = t
        .staff_with(
            &admin,
            "cbstats",
            "0372777002",
            "033090001313",
            district,
            &["stats.view"],
        )
        .await;
    let (s, _, html) = get_page(&t, &viewer, "/quan-tri/thong-ke").await;
    assert_eq!(s, 200);
    assert!(html.contains("Tài khoản công dân theo đơn vị"));
    assert!(
        !html.contains("Mã OTP và tin nhắn SMS"),
        "province-wide tables are not for a district"
    );
    let (s, _, _) = get_page(&t, &viewer, "/quan-tri/thong-ke/otp-sms.csv").await;
    assert_eq!(s, 404);
}

//! Foundation: sign-in, units, staff, grants, permissions, SMS, OTP.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn healthz_metrics_openapi() {
    let t = spawn_app().await;
    let r = t.http.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("motcua_http_requests_total"));
    let (s, spec) = t.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(spec["paths"]["/staff/login"].is_object(), "{spec}");
    let docs = t.http.get(t.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/api/v1/staff/login"));
}

#[tokio::test]
async fn admin_signs_in_with_password_then_otp() {
    let t = spawn_app().await;
    let token = t.admin_token().await;
    let (s, me) = t.get_json("/api/v1/staff/me", Some(&token)).await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], ADMIN);
    assert_eq!(me["phone_masked"], "091*****01");
}

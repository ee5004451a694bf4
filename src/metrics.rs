//! Counters exposed at /metrics in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident: $help:literal),* $(,)?) => {
        #[derive(Debug, Default)]
        pub struct Metrics { $(pub $name: AtomicU64,)* }
        impl Metrics {
            pub fn render(&self, out: &mut String) {
                $(
                    let _ = writeln!(out, "# HELP motcua_{} {}", stringify!($name), $help);
                    let _ = writeln!(out, "# TYPE motcua_{} counter", stringify!($name));
                    let _ = writeln!(out, "motcua_{} {}", stringify!($name), self.$name.load(Ordering::Relaxed));
                )*
            }
        }
    };
}

counters! {
    http_requests_total: "HTTP requests served",
    http_errors_total: "HTTP responses with status >= 500",
    sign_ins_total: "Completed sign-ins",
    sign_in_failures_total: "Failed password checks",
    otp_sent_total: "OTP codes issued",
    otp_verified_total: "OTP codes accepted",
    otp_failed_total: "Wrong OTP codes typed",
    sms_queued_total: "SMS messages queued",
    sms_delivered_total: "SMS messages accepted by the provider",
    sms_attempt_failures_total: "SMS delivery attempts that failed",
    sms_budget_refusals_total: "Citizen requests refused because the daily SMS budget was spent",
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

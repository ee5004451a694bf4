//! motcua: citizen accounts for one-stop public service offices.
//!
//! See docs/architecture.md for the map of modules.

pub mod app;
pub mod auth;
pub mod backup;
pub mod captcha;
pub mod channels;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod flows;
pub mod helpdesk;
pub mod metrics;
pub mod org;
pub mod otp;
pub mod pdf;
pub mod pool;
pub mod sms;
pub mod store;
pub mod subscriber;
pub mod telemetry;
pub mod upload;
pub mod util;
pub mod web;
pub mod workers;

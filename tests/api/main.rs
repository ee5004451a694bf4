#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The one integration-test binary (cheap linking): real server on port 0,
//! real redb in a temp dir, real HTTP clients against local fakes of the
//! outside services, real headless Chromium for pages.

mod engine;
mod helpers;

mod access;
mod access_requests;
mod backup;
mod browser;
mod chat;
mod citizen_accounts;
mod crash;
mod faq_editor;
mod foundation;
mod hardening;
mod instances;
mod limits;
mod logs;
mod pagewalk;
mod portal;
mod postgres;
mod robustness;
mod sms_providers;
mod sms_templates;
mod stats;
mod telegram;
mod walkthrough;
mod webdriver;
mod zalo;

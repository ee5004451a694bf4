//! First start: a one-time setup link for the first province admin, and the
//! CLI's `admin create-superadmin`.

use std::sync::Arc;

use crate::app::App;
use crate::auth::session;
use crate::domain::password::rules_message as password_error;
use crate::domain::username::parse as parse_username;
use crate::domain::{Password, PasswordContext, PersonName, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::sign_in::SignedIn;
use crate::store::accounts::Account;
use crate::store::accounts::{self, Origin};
use crate::store::flows::{FLOWS, Flow};
use crate::store::{StoreError, WriteTx, audit};
use crate::util;

/// How long a link to create the first admin stays valid.
pub const SETUP_TTL: i64 = 24 * 3600;
/// How long a link that signs an existing admin in once stays valid.
pub const SIGNIN_LINK_TTL: i64 = 3600;

fn has_superadmin(app: &App) -> AppResult<bool> {
    Ok(app
        .store
        .read(|r| Ok(accounts::all(r)?.iter().any(|a| a.superadmin)))?)
}

/// When no province admin exists yet, makes a fresh one-time setup link
/// (earlier links stop working) and returns its URL.
pub fn setup_link_if_needed(app: &App) -> AppResult<Option<String>> {
    if has_superadmin(app)? {
        return Ok(None);
    }
    Ok(Some(new_setup_link(app, None)?))
}

/// A one-time link printed on the server's terminal. Without a username it
/// creates the first province admin; with one it signs that existing staff
/// member in once without an OTP (the operator at the server is trusted —
/// this is how an outbox-mode deployment gets its admin in).
pub fn new_setup_link(app: &App, username: Option<&str>) -> AppResult<String> {
    let token = util::random_token();
    let now = app.now();
    let username = username.map(|u| u.trim().to_lowercase());
    if let Some(u) = &username {
        let a = app.store.read(|r| accounts::get(r, u))?;
        if !a.is_some_and(|a| a.is_staff() && !a.disabled) {
            return Err(AppError::NotFound(format!("no staff account named {u}")));
        }
    }
    let kind = if username.is_some() {
        "signin_link"
    } else {
        "setup"
    };
    app.store.write(|w| {
        let mut old = vec![];
        FLOWS.scan_all(w, false, |_, f| {
            if f.kind == kind {
                old.push(f.id);
            }
            Ok(true)
        })?;
        for id in old {
            FLOWS.delete(w, &id)?;
        }
        let id = util::sha256_hex(token.as_bytes());
        FLOWS.put(
            w,
            &id,
            &Flow {
                username: username.clone(),
                ..Flow::new(
                    id.clone(),
                    kind,
                    now,
                    now + if username.is_some() {
                        SIGNIN_LINK_TTL
                    } else {
                        SETUP_TTL
                    },
                )
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(format!("{}/quan-tri/thiet-lap/{token}", app.cfg.public_url))
}

/// What a link is: `None` when unusable, `Some(None)` to create the first
/// admin, `Some(Some(username))` to sign that person in.
pub async fn link_kind(app: &Arc<App>, token: &str) -> Option<Option<String>> {
    let id = util::sha256_hex(token.as_bytes());
    let now = app.now();
    app.db(move |app| Ok(app.store.read(|r| FLOWS.get(r, &id))?))
        .await
        .ok()
        .flatten()
        .filter(|f| (f.kind == "setup" || f.kind == "signin_link") && f.expires_at >= now)
        .map(|f| f.username)
}

/// Uses a sign-in link once.
pub async fn complete_signin(app: &Arc<App>, token: &str, ip: &str) -> AppResult<SignedIn> {
    let id = util::sha256_hex(token.as_bytes());
    let now = app.now();
    let ip = ip.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            let f = match FLOWS.get(w, &id)? {
                Some(f) if f.kind == "signin_link" && f.expires_at >= now => f,
                _ => {
                    return Err(AppError::Gone(
                        "Liên kết đăng nhập đã được sử dụng hoặc đã hết hạn.".into(),
                    ));
                }
            };
            FLOWS.delete(w, &id)?;
            let username = f.username.unwrap_or_default();
            let a = accounts::get(w, &username)?
                .ok_or_else(|| AppError::Gone("Tài khoản không còn tồn tại.".into()))?;
            let token = session::create(w, &a, true, false, now)?;
            audit::record(
                w,
                now,
                &username,
                "console_sign_in_link",
                "",
                &ip,
                "one-time link from the server terminal",
            )?;
            Ok(SignedIn { token, account: a })
        })
    })
    .await
}

#[derive(Debug, Clone, Default)]
pub struct SetupInput {
    pub username: String,
    pub full_name: String,
    pub phone: String,
    pub password: String,
    pub password_confirm: String,
}

/// Uses the link: creates the province admin and signs them in.
pub async fn complete(
    app: &Arc<App>,
    token: &str,
    input: SetupInput,
    ip: &str,
) -> AppResult<SignedIn> {
    let id = util::sha256_hex(token.as_bytes());
    let now = app.now();
    let mut fields = std::collections::BTreeMap::new();
    let username = parse_username(&input.username)
        .map_err(|e| fields.insert("username".into(), e.0))
        .ok();
    let name = PersonName::parse(&input.full_name)
        .map_err(|e| fields.insert("full_name".into(), e.0))
        .ok();
    let phone = PhoneNumber::parse(&input.phone)
        .map_err(|e| fields.insert("phone".into(), e.0))
        .ok();
    let ctx = PasswordContext {
        phone: phone.as_ref().map(|p| p.as_str()),
        full_name: name.as_ref().map(|n| n.as_str()),
        username: username.as_deref(),
        ..Default::default()
    };
    fields.extend(super::new_password_fields(
        &input.password,
        &input.password_confirm,
        &ctx,
    ));
    let (Some(username), Some(name), Some(phone)) = (username, name, phone) else {
        return Err(AppError::fields(fields));
    };
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let hash = app.hasher.try_hash(input.password.clone()).await?;
    let ip = ip.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            match FLOWS.get(w, &id)? {
                Some(f) if f.kind == "setup" && f.expires_at >= now => {}
                _ => {
                    return Err(AppError::Gone(
                        "Liên kết thiết lập đã được sử dụng hoặc đã hết hạn.".into(),
                    ));
                }
            }
            if accounts::get(w, &username)?.is_some() {
                return Err(AppError::field(
                    "username",
                    "Tên đăng nhập này đã được sử dụng.",
                ));
            }
            FLOWS.delete(w, &id)?;
            let a = put_new_superadmin(w, &username, name.as_str(), &phone, hash.clone(), now)?;
            audit::record(w, now, &username, "setup_superadmin", &username, &ip, "")?;
            let token = session::create(w, &a, true, false, now)?;
            Ok(SignedIn { token, account: a })
        })
    })
    .await
}

/// Stores a new province admin (made at setup, not by staff).
fn put_new_superadmin(
    w: &WriteTx,
    username: &str,
    full_name: &str,
    phone: &PhoneNumber,
    hash: String,
    now: i64,
) -> AppResult<Account> {
    let mut a = Account::new(
        username,
        None,
        full_name,
        phone,
        None,
        hash,
        Origin::Bootstrap,
        now,
    );
    a.superadmin = true;
    accounts::put(w, &a)?;
    Ok(a)
}

/// `motcua admin create-superadmin`: creates the province admin, or resets
/// the password and phone of an existing one.
pub async fn create_superadmin(
    app: &Arc<App>,
    username: &str,
    phone: &str,
    password: &str,
) -> AppResult<bool> {
    let username = parse_username(username).map_err(|e| AppError::field("username", e.0))?;
    let phone = PhoneNumber::parse(phone).map_err(|e| AppError::field("phone", e.0))?;
    let ctx = PasswordContext {
        phone: Some(phone.as_str()),
        username: Some(&username),
        ..Default::default()
    };
    Password::parse(password, &ctx).map_err(|r| AppError::field("password", password_error(&r)))?;
    let hash = app.hasher.try_hash(password.to_string()).await?;
    let now = app.now();
    app.db(move |app| {
        app.store.write(|w| {
            let created = match accounts::get(w, &username)? {
                Some(mut a) => {
                    a.superadmin = true;
                    a.phone = phone.as_str().to_string();
                    a.password_hash = hash.clone();
                    a.must_change_password = false;
                    a.failed_logins = 0;
                    a.locked_until = 0;
                    a.disabled = false;
                    a.session_epoch += 1;
                    accounts::put(w, &a)?;
                    false
                }
                None => {
                    put_new_superadmin(
                        w,
                        &username,
                        "Quản trị cấp cao",
                        &phone,
                        hash.clone(),
                        now,
                    )?;
                    true
                }
            };
            audit::record(
                w,
                now,
                "cli",
                if created {
                    "create_superadmin"
                } else {
                    "reset_superadmin"
                },
                &username,
                "local",
                "",
            )?;
            Ok::<_, AppError>(created)
        })
    })
    .await
}

//! The image captcha of the portal forms ("Nhập mã xác thực"), generated in
//! process with the `captcha` crate.
//!
//! Each challenge is a random 256-bit id and an answer kept in memory (never
//! sent anywhere but inside the picture) — or, when several instances share
//! a PostgreSQL database, in the database (`store::captchas`), so a picture
//! drawn by one instance can be answered on another. A challenge is single use: any check
//! consumes it, right or wrong, so every attempt needs a new one. It expires
//! after [`TTL`] seconds. The store is bounded ([`MAX_ENTRIES`]) and each
//! client IP may ask for at most [`PER_IP_PER_MINUTE`] pictures a minute, so a
//! flood of requests costs bounded memory and CPU.
//!
//! With `MOTCUA_CAPTCHA=off` ([`Config::captcha`](crate::config::Config) false)
//! any answer is accepted (local testing only; pages then carry a warning).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use base64::Engine;

use crate::app::App;
use crate::domain::Invalid;
use crate::error::{AppError, AppResult};
use crate::util;

/// A challenge is valid this long (seconds).
pub const TTL: i64 = 10 * 60;
/// Most challenges held at once; the oldest go first beyond that.
pub const MAX_ENTRIES: usize = 50_000;
/// Pictures one client IP may ask for per minute.
pub const PER_IP_PER_MINUTE: u32 = 300;
/// Characters in a picture.
pub const LENGTH: u32 = 5;
/// Lower-case letters and digits that the crate's font draws and that are
/// hard to confuse with one another (no i/j/l/1, o/0, g/q/9).
const CHARS: [char; 27] = [
    'a', 'b', 'c', 'd', 'e', 'f', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y',
    'z', '2', '3', '4', '5', '6', '7', '8',
];

/// What a form shows: the id to send back and the picture.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: String,
    /// A `data:image/png;base64,...` URL.
    pub image: String,
}

#[derive(Debug, Clone)]
struct Entry {
    answer: String,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
}

/// The challenges in flight.
#[derive(Debug, Default)]
pub struct CaptchaStore {
    inner: Mutex<Inner>,
}

static GLOBAL: LazyLock<CaptchaStore> = LazyLock::new(CaptchaStore::default);

/// The process-wide store (ids are random, so several `App`s in one process,
/// as in the tests, never see each other's challenges).
pub fn store() -> &'static CaptchaStore {
    &GLOBAL
}

fn normalize(answer: &str) -> String {
    answer
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl CaptchaStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a new challenge's answer; returns its id.
    pub fn insert(&self, answer: &str, now: i64) -> String {
        let id = util::random_token();
        let mut g = self.lock();
        if g.entries.len() >= MAX_ENTRIES {
            g.entries.retain(|_, e| e.expires_at >= now);
        }
        if g.entries.len() >= MAX_ENTRIES {
            // Still full of live ones: drop those closest to expiry.
            let mut by_expiry: Vec<(i64, String)> = g
                .entries
                .iter()
                .map(|(k, e)| (e.expires_at, k.clone()))
                .collect();
            by_expiry.sort_unstable();
            for (_, k) in by_expiry.into_iter().take(MAX_ENTRIES / 10) {
                g.entries.remove(&k);
            }
        }
        g.entries.insert(
            id.clone(),
            Entry {
                answer: normalize(answer),
                expires_at: now + TTL,
            },
        );
        id
    }

    /// Checks an answer and consumes the challenge whatever the outcome.
    pub fn check(&self, id: &str, answer: &str, now: i64) -> bool {
        let Some(e) = self.lock().entries.remove(id) else {
            return false;
        };
        let typed = normalize(answer);
        e.expires_at >= now && util::ct_eq(typed.as_bytes(), e.answer.as_bytes())
    }

    /// The answer of a live challenge, for tests that drive the API with the
    /// captcha on. Not reachable over HTTP.
    #[doc(hidden)]
    pub fn peek_answer(&self, id: &str) -> Option<String> {
        self.lock().entries.get(id).map(|e| e.answer.clone())
    }

    /// Challenges currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Draws a picture: the answer and the PNG bytes.
pub fn draw() -> Option<(String, Vec<u8>)> {
    use captcha::filters::{Dots, Noise, Wave};
    std::panic::catch_unwind(|| {
        let mut c = captcha::Captcha::new();
        // Cropped to the picture's size first: the filters then work on
        // 200×70 pixels instead of the crate's 400×300 canvas (the same
        // look, a quarter of a millisecond instead of about one).
        c.set_chars(&CHARS)
            .add_chars(LENGTH)
            .view(200, 70)
            .apply_filter(Noise::new(0.15))
            .apply_filter(Wave::new(2.0, 8.0).horizontal())
            .apply_filter(Dots::new(6).max_radius(4).min_radius(2))
            .set_color([11, 87, 164]);
        c.as_tuple()
    })
    .ok()
    .flatten()
}

/// A new challenge for a form. Drawing runs on the drawing pool, below the
/// runtime's priority (`App::draw_off_runtime`).
pub async fn new_challenge(app: &Arc<App>, ip: &str) -> AppResult<Challenge> {
    let now = app.now();
    // The per-IP budget is counted in the store (survives restarts).
    let ip2 = ip.to_string();
    let admitted = app
        .db(move |app| Ok(app.captcha_cap.take(&ip2, now)))
        .await?;
    if let Err(retry_after) = admitted {
        return Err(AppError::Limited {
            message: "Anh/chị đã yêu cầu quá nhiều mã xác thực. Vui lòng thử lại sau ít phút."
                .into(),
            retry_after,
        });
    }
    let drawn = if app.cfg.captcha {
        app.draw_off_runtime(draw).await.flatten()
    } else {
        // Off (local testing): any answer passes, so one picture drawn once
        // serves every form; the forms and flows stay the same.
        static OFF: std::sync::OnceLock<Option<(String, Vec<u8>)>> = std::sync::OnceLock::new();
        match OFF.get() {
            Some(d) => d.clone(),
            None => {
                let d = app.draw_off_runtime(draw).await.flatten();
                OFF.get_or_init(|| d).clone()
            }
        }
    };
    let (answer, png) = drawn.ok_or_else(|| AppError::internal("captcha drawing failed"))?;
    let id = if app.store.is_shared() {
        let id = util::random_token();
        let (id2, answer) = (id.clone(), normalize(&answer));
        app.db(move |app| {
            let c = crate::store::captchas::Challenge {
                answer,
                expires_at: now + TTL,
            };
            Ok(app
                .store
                .write(|w| crate::store::captchas::put(w, &id2, &c))?)
        })
        .await?;
        id
    } else {
        store().insert(&answer, now)
    };
    Ok(Challenge {
        id,
        image: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ),
    })
}

/// Checks an answer against the challenge `id` and consumes it: in this
/// process's memory, or in the database when several instances share it.
async fn check(app: &Arc<App>, id: &str, answer: &str) -> bool {
    let now = app.now();
    if !app.store.is_shared() {
        return store().check(id, answer, now);
    }
    let id = id.to_string();
    let stored = app
        .db(move |app| Ok(app.store.write(|w| crate::store::captchas::take(w, &id))?))
        .await;
    match stored {
        Ok(Some(c)) => {
            c.expires_at >= now && util::ct_eq(normalize(answer).as_bytes(), c.answer.as_bytes())
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, "captcha not checked: the database did not answer");
            false
        }
    }
}

/// The answer of a live challenge, for tests that drive the API with the
/// captcha on. Not reachable over HTTP.
#[doc(hidden)]
pub fn peek_answer(app: &App, id: &str) -> Option<String> {
    if !app.store.is_shared() {
        return store().peek_answer(id);
    }
    app.store
        .read(|r| crate::store::captchas::get(r, id))
        .ok()
        .flatten()
        .map(|c| c.answer)
}

/// Checks the answer typed in a form (consuming the challenge). With the
/// captcha turned off any answer passes.
pub async fn verify(app: &Arc<App>, id: &str, answer: &str) -> Result<(), Invalid> {
    let ok = check(app, id.trim(), answer).await;
    if !app.cfg.captcha {
        return Ok(());
    }
    if answer.trim().is_empty() {
        return Err(Invalid::new("Vui lòng nhập mã xác thực."));
    }
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "Mã xác thực không đúng hoặc đã hết hạn. Vui lòng nhập mã mới trong hình.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_and_case_insensitive() {
        let s = CaptchaStore::default();
        let id = s.insert("ab3k7", 100);
        assert!(s.check(&id, " AB3K7 ", 101));
        assert!(!s.check(&id, "ab3k7", 102), "a challenge works once");
        let id = s.insert("ab3k7", 100);
        assert!(!s.check(&id, "ab3k8", 101));
        assert!(!s.check(&id, "ab3k7", 101), "a wrong answer consumes it");
        assert!(!s.check("nope", "ab3k7", 101));
    }

    #[test]
    fn expires() {
        let s = CaptchaStore::default();
        let id = s.insert("xyz23", 0);
        assert!(!s.check(&id, "xyz23", TTL + 1));
        let id = s.insert("xyz23", 0);
        assert!(s.check(&id, "xyz23", TTL));
    }

    #[test]
    fn bounded() {
        let s = CaptchaStore::default();
        for i in 0..MAX_ENTRIES + 10 {
            s.insert("aaaaa", i as i64);
        }
        assert!(s.len() <= MAX_ENTRIES);
    }

    #[test]
    fn draws_a_png_with_the_answer() {
        let (answer, png) = draw().unwrap();
        assert_eq!(answer.chars().count(), LENGTH as usize);
        assert!(answer.chars().all(|c| CHARS.contains(&c)));
        assert!(png.starts_with(b"\x89PNG"));
        assert!(png.len() < 30_000, "{} bytes", png.len());
        if let Ok(dir) = std::env::var("MOTCUA_CAPTCHA_SAMPLE_DIR") {
            let _ = std::fs::write(format!("{dir}/captcha-{answer}.png"), &png);
        }
    }
}

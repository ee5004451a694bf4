//! Password hashing, sign-in throttling and sessions.

pub mod session;
pub mod throttle;

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// argon2id with bounded concurrency: at most one hash per core runs at a
/// time, on the blocking pool, so a flood of sign-ins queues here instead of
/// starving the async runtime. See docs/design/sessions.md.
pub struct Hasher {
    sem: Semaphore,
    params: Params,
    /// Verified against when the username is unknown, so that both cases
    /// take the same time.
    dummy: String,
}

impl Hasher {
    pub fn new(m_kib: u32) -> Arc<Hasher> {
        let params = Params::new(m_kib, 2, 1, None).unwrap_or_default();
        let permits = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = hash_blocking(&params, "not-a-real-password-Xq9!").unwrap_or_default();
        Arc::new(Hasher {
            sem: Semaphore::new(permits),
            params,
            dummy,
        })
    }

    pub fn params_description(&self) -> String {
        format!(
            "argon2id m={} KiB t={} p={}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }

    pub async fn hash(self: &Arc<Self>, password: String) -> Option<String> {
        let _permit = self.sem.acquire().await.ok()?;
        let params = self.params.clone();
        let password = crate::domain::password::normalize(&password);
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password))
            .await
            .ok()
            .flatten()
    }

    /// Verifies `password` against `hash`, or against a dummy hash when
    /// `hash` is `None` (unknown user) — returning false in the same time.
    pub async fn verify(self: &Arc<Self>, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.sem.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.clone());
        // Stored hashes are of the NFC form: compare like with like.
        let password = crate::domain::password::normalize(&password);
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
            .await
            .unwrap_or(false);
        ok && known
    }
}

pub fn hash_blocking(params: &Params, password: &str) -> Option<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt: [u8; 16] = crate::util::random_bytes();
    argon
        .hash_password_with_salt(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let argon = Argon2::default();
    PasswordVerifier::<str>::verify_password(&argon, password.as_bytes(), hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::new(1024);
        let hash = h.hash("Abc@12345xyz".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("Abc@12345xyz".into(), Some(hash.clone())).await);
        assert!(!h.verify("Abc@12345xyZ".into(), Some(hash)).await);
        assert!(!h.verify("not-a-real-password-Xq9!".into(), None).await);
    }
}

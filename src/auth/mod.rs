//! Password hashing, sign-in throttling and sessions.

pub mod device;
pub mod session;
pub mod throttle;

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::pool::Pool;

/// The niceness of the hashing threads (Linux). A sign-in flood keeps every
/// hashing thread busy; at nice 0 they share the cores equally with the
/// runtime's workers, and a page request waits behind them. At this value a
/// woken worker preempts a running hash almost at once, while the hashes
/// still take every cycle nobody else wants (so throughput stays at the
/// bound). Measured with `cargo bench --bench signin`.
pub const HASH_NICE: i32 = 10;

/// argon2id on its own pool ([`Pool`]): one thread per core, below the async
/// runtime's priority, fed from one FIFO queue. A flood of sign-ins queues
/// there instead of taking the runtime's workers or the blocking pool (which
/// serves the store). See docs/design/sessions.md.
pub struct Hasher {
    pool: Pool,
    params: Params,
    /// Verified against when the username is unknown, so that both cases
    /// take the same time.
    dummy: String,
}

impl Hasher {
    pub fn new(m_kib: u32) -> Arc<Hasher> {
        let params = Params::new(m_kib, 2, 1, None).unwrap_or_default();
        let threads = crate::pool::cores();
        let dummy = hash_blocking(&params, "not-a-real-password-Xq9!").unwrap_or_default();
        Arc::new(Hasher {
            pool: Pool::new("argon2", threads, HASH_NICE, true),
            params,
            dummy,
        })
    }

    pub fn params_description(&self) -> String {
        format!(
            "argon2id m={} KiB t={} p={}, {} threads at nice {}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            self.pool.threads(),
            self.pool.nice()
        )
    }

    pub async fn hash(self: &Arc<Self>, password: String) -> Option<String> {
        let password = crate::domain::password::normalize(&password);
        let params = self.params.clone();
        self.pool
            .run(move || hash_blocking(&params, &password))
            .await
            .flatten()
    }

    /// [`Hasher::hash`] of a password about to be stored: a failure is an
    /// internal error.
    pub async fn try_hash(self: &Arc<Self>, password: String) -> crate::error::AppResult<String> {
        self.hash(password)
            .await
            .ok_or_else(|| crate::error::AppError::internal("hash failed"))
    }

    /// Verifies `password` against `hash`, or against a dummy hash when
    /// `hash` is `None` (unknown user) — returning false in the same time.
    pub async fn verify(self: &Arc<Self>, password: String, hash: Option<String>) -> bool {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.clone());
        // Stored hashes are of the NFC form: compare like with like.
        let password = crate::domain::password::normalize(&password);
        let ok = self
            .pool
            .run(move || verify_blocking(&password, &hash))
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

/// A generated password that meets the policy, from the OS CSPRNG.
pub fn generate_password() -> String {
    crate::domain::password::generate_with(|| u32::from_le_bytes(crate::util::random_bytes::<4>()))
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

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_runtime() {
        let h = Hasher::new(1024);
        assert!(h.hash("x".into()).await.is_some()); // a worker has started
        // Other tests start hashers too: a thread that has just started
        // lowers itself a moment after it is named, so look until every
        // hashing thread is seen below the runtime (or time runs out).
        let mut last = vec![];
        for _ in 0..200 {
            last = std::fs::read_dir("/proc/self/task")
                .unwrap()
                .flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .unwrap_or_default()
                        .trim()
                        .starts_with("argon2-")
                })
                .map(|e| crate::pool::thread_nice(&e.path()))
                .collect::<Vec<_>>();
            if !last.is_empty() && last.iter().all(|n| *n == Some(HASH_NICE)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("hashing threads not below the runtime: {last:?}");
    }
}

//! Small thread pools that run below the async runtime's priority.
//!
//! Two kinds of work can take every core for a while: argon2id hashes during
//! a sign-in flood, and scans of a large table (the citizen list filtered by
//! a common name, statistics). On their own threads at a higher niceness
//! (Linux: niceness is per thread) they still use every cycle nobody else
//! wants, but a page or a chat message preempts them instead of queueing
//! behind them. Each pool has one FIFO queue and a fixed number of threads,
//! which also bounds how many such jobs run at once.
//!
//! The hashing pool hands freed memory back to the system when it runs dry
//! (glibc `malloc_trim`): one argon2id hash allocates 19 MB, which glibc
//! would otherwise keep in the thread's arena for good. Numbers: README,
//! "Performance"; `cargo bench --bench signin`, `benches/load.sh`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The number of cores, the usual thread count of a pool.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

pub struct Pool {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Jobs queued or running.
    pending: Arc<AtomicUsize>,
    threads: usize,
    nice: i32,
    name: String,
}

impl Pool {
    /// Starts `threads` threads named `name-N` at niceness `nice`. They stop
    /// when the pool is dropped. With `trim`, the pool hands freed memory
    /// back to the system whenever it runs dry (for jobs that allocate big
    /// blocks, like argon2; `malloc_trim` locks the allocator's arenas while
    /// it runs, so it is not for pools of frequent small jobs).
    pub fn new(name: &str, threads: usize, nice: i32, trim: bool) -> Pool {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let pending = Arc::new(AtomicUsize::new(0));
        let threads = threads.max(1);
        for i in 0..threads {
            let rx = rx.clone();
            let pending = pending.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker(&rx, &pending, nice, trim));
            if let Err(e) = spawned {
                tracing::error!(error = %e, pool = name, "cannot start a worker thread");
            }
        }
        Pool {
            jobs: Mutex::new(tx),
            pending,
            threads,
            nice,
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn nice(&self) -> i32 {
        self.nice
    }

    /// Runs `f` on the pool; `None` if the pool is gone or `f` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A caller that went away (client hung up) is not an error.
            let _ = reply.send(f());
        });
        {
            let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            self.pending.fetch_add(1, Ordering::SeqCst);
            if jobs.send(job).is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                return None;
            }
        }
        rx.await.ok()
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>, pending: &AtomicUsize, nice: i32, trim: bool) {
    lower_this_thread(nice);
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { return }; // the pool was dropped
        // A panicking job drops its reply (the caller sees None); the
        // thread lives on for the next job.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        if pending.fetch_sub(1, Ordering::SeqCst) == 1 && trim {
            release_free_memory();
        }
    }
}

/// Returns freed heap memory to the system (glibc keeps large freed blocks
/// in the thread's arena otherwise). Takes well under a millisecond.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks and trims glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// Lowers the calling thread's scheduling priority to niceness `nice`
/// (Linux; threads it starts afterwards inherit it). Failure only costs
/// latency, never correctness.
#[cfg(target_os = "linux")]
pub fn lower_this_thread(nice: i32) {
    // SAFETY: plain syscalls on the calling thread's own id.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
    if rc != 0 {
        tracing::debug!("could not lower the priority of a worker thread");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_this_thread(_nice: i32) {}

/// The niceness of the calling thread, from /proc (tests).
#[cfg(target_os = "linux")]
pub fn thread_nice(task: &std::path::Path) -> Option<i32> {
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    // Field 19 (nice), counted after the ")" that ends the thread's name.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    after.split(' ').nth(16)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panic() {
        let pool = Pool::new("t-pool", 2, 0, true);
        assert_eq!(pool.run(|| 2 + 2).await, Some(4));
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(pool.run(|| "still here").await, Some("still here"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn threads_run_at_the_given_niceness() {
        let pool = Pool::new("nice-pool", 2, 7, false);
        // Both threads have started once each has run a job.
        for _ in 0..4 {
            assert!(pool.run(|| ()).await.is_some());
        }
        let mut seen = 0;
        for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if comm.trim().starts_with("nice-pool-") {
                assert_eq!(thread_nice(&entry.path()), Some(7));
                seen += 1;
            }
        }
        assert!(seen >= 1, "no pool thread found");
    }
}

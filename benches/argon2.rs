#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Time of one argon2id hash with the production parameters, and sign-in
//! throughput bound (cores ÷ hash time). Run: cargo bench --bench argon2
use std::time::Instant;

fn main() {
    let params = argon2::Params::new(19_456, 2, 1, None).expect("params");
    let n = 30;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let h = motcua::auth::hash_blocking(&params, &format!("Mat#Khau{i}2026"));
        assert!(h.is_some());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let p50 = times[n / 2];
    println!(
        "argon2id m=19456 KiB t=2 p=1: p50 {:.1} ms, min {:.1} ms, max {:.1} ms",
        p50,
        times[0],
        times[n - 1]
    );
    println!(
        "sign-in bound: {cores} cores / {:.1} ms = {:.0} hashes/s",
        p50,
        cores as f64 * 1000.0 / p50
    );
}

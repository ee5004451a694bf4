#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Support-bot speed: knowledge-base load, matching latency and throughput.
//!
//! `cargo bench --bench faq`. Besides criterion's reports it prints the
//! per-question latency percentiles (p50/p99 over the evaluation questions),
//! single-core throughput and the time of `faq match` over 17,700 lines.

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use motcua::helpdesk::{AnswerVars, KnowledgeBase, Matcher, run_match};

fn vars() -> AnswerVars {
    AnswerVars {
        public_url: "https://motcua.example.vn".into(),
        office_phone: "0221 3829883".into(),
        office_email: "motcua@example.vn".into(),
        ..AnswerVars::default()
    }
}

fn questions() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/faq/eval/faq-eval.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut qs: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["q"].as_str().map(str::to_string))
        .collect();
    if qs.is_empty() {
        qs = vec![
            "ko nhan dc otp".into(),
            "quên mật khẩu".into(),
            "thủ tục cấp hộ chiếu".into(),
        ];
    }
    qs
}

fn bench(c: &mut Criterion) {
    let v = vars();
    c.bench_function("kb_load_and_index", |b| {
        b.iter(|| {
            let kb = KnowledgeBase::embedded(black_box(&v));
            Matcher::new(&kb)
        })
    });
    c.bench_function("kb_parse_only", |b| {
        b.iter(|| KnowledgeBase::embedded(black_box(&v)))
    });

    let kb = KnowledgeBase::embedded(&v);
    let m = Matcher::new(&kb);
    c.bench_function("rank_one/short", |b| {
        b.iter(|| m.rank(black_box("ko nhan dc otp")))
    });
    c.bench_function("rank_one/long", |b| {
        b.iter(|| {
            m.rank(black_box(
                "Cho mình hỏi cách đăng ký tài khoản trên cổng dịch vụ công quốc gia với ạ",
            ))
        })
    });
    let qs = questions();
    let mut g = c.benchmark_group("rank_eval_set");
    g.throughput(Throughput::Elements(qs.len() as u64));
    g.bench_function("all_questions", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(m.rank(black_box(q)));
            }
        })
    });
    g.finish();
}

/// Per-question latency percentiles and throughput, measured directly.
fn report() {
    let kb_start = Instant::now();
    let kb = KnowledgeBase::embedded(&vars());
    let m = Matcher::new(&kb);
    let load = kb_start.elapsed();
    let qs = questions();
    // Warm up.
    for q in &qs {
        black_box(m.rank(q));
    }
    const REPS: u32 = 200;
    let mut per_q: Vec<Duration> = qs
        .iter()
        .map(|q| {
            let t = Instant::now();
            for _ in 0..REPS {
                black_box(m.rank(black_box(q)));
            }
            t.elapsed() / REPS
        })
        .collect();
    per_q.sort();
    let pct = |p: f64| per_q[((per_q.len() - 1) as f64 * p).round() as usize];
    let total: Duration = per_q.iter().sum();
    let qps = per_q.len() as f64 / total.as_secs_f64();

    // `motcua faq match` over 17,700 lines.
    let mut input = String::new();
    for i in 0..17_700 {
        input.push_str(&qs[i % qs.len()]);
        input.push('\n');
    }
    let t = Instant::now();
    let mut out = Vec::with_capacity(2 << 20);
    let ok = run_match(&kb, &m, Cursor::new(input.as_bytes()), &mut out, false).is_ok();
    let cli = t.elapsed();

    println!("\n== support bot speed (one core)");
    println!("knowledge base load + index (cold, first): {load:?}");
    println!(
        "rank latency over {} questions: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        per_q.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    println!("throughput: {qps:.0} questions/s");
    println!(
        "faq match over 17,700 lines: {cli:?} (ok: {ok}, {} bytes out)",
        out.len()
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    report();
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Benchmark of the citizen-account list (Tạo tài khoản công dân) with
//! 1,000,000 accounts: each filter alone and combined, with paging, through
//! the same flow the page and the API call (`flows::citizen_accounts::list`).
//!
//! Run: `cargo bench --bench citizen_list` (release). The first run builds a
//! database under `target/bench-citizens/` (a few minutes) and reuses it
//! afterwards; `BENCH_ACCOUNTS=200000` makes a smaller one elsewhere. With
//! `BENCH_DATABASE_URL=postgres://…` the accounts go into (and are read
//! from) that PostgreSQL database instead (seeded once, reused).
//!
//! Data: the demo province plus 150 generated communes (a real province has
//! ~160), accounts spread over three years, Vietnamese names drawn with the
//! real frequency of family names (Nguyễn ≈ 38 %), ~600 creating staff.
//!
//! Measured on the 2-core build machine (1,000,000 accounts, 200 runs per
//! case, other builds running): p50 0.6–6.8 ms, worst p99 7.6 ms over 30
//! cases (every filter alone, combined, deep pages, three kinds of staff).

use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::app::App;
use motcua::config::Config;
use motcua::domain::{Permission, PermissionSet};
use motcua::flows::Actor;
use motcua::flows::citizen_accounts::{ListFilter, list};
use motcua::store::accounts::{Account, Grant, Origin};
use motcua::store::citizens::{self, CitizenRecord, ScanRef};
use motcua::store::{StoreError, meta, units};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    /// Weighted choice: weights in per-mille.
    fn weighted<'a>(&mut self, v: &'a [(&'a str, u64)]) -> &'a str {
        let total: u64 = v.iter().map(|x| x.1).sum();
        let mut r = self.below(total);
        for (s, w) in v {
            if r < *w {
                return s;
            }
            r -= w;
        }
        v[0].0
    }
}

const FAMILY: &[(&str, u64)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 71),
    ("Hoàng", 51),
    ("Phan", 45),
    ("Vũ", 39),
    ("Huỳnh", 30),
    ("Võ", 30),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đinh", 10),
    ("Trịnh", 8),
    ("Đào", 8),
    ("Mai", 5),
    ("Cao", 5),
    ("Lương", 4),
    ("Tạ", 3),
    ("Hà", 4),
    ("Tô", 3),
    ("Lâm", 3),
];
const MIDDLE_M: &[(&str, u64)] = &[
    ("Văn", 400),
    ("Đức", 80),
    ("Minh", 80),
    ("Quang", 60),
    ("Hữu", 60),
    ("Công", 50),
    ("Thanh", 50),
    ("Xuân", 40),
    ("Ngọc", 40),
    ("Tiến", 40),
    ("Duy", 40),
    ("Trọng", 30),
    ("Anh", 30),
];
const MIDDLE_F: &[(&str, u64)] = &[
    ("Thị", 550),
    ("Ngọc", 60),
    ("Thu", 60),
    ("Thanh", 50),
    ("Thùy", 50),
    ("Minh", 40),
    ("Hồng", 40),
    ("Phương", 40),
    ("Kim", 40),
    ("Bích", 35),
    ("Mai", 35),
];
const SECOND: &[&str] = &[
    "Thu", "Ngọc", "Minh", "Hồng", "Thanh", "Quốc", "Anh", "Kim", "Bảo", "Gia",
];
const GIVEN_M: &[&str] = &[
    "An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hoàng",
    "Hùng", "Hưng", "Huy", "Khánh", "Khoa", "Kiên", "Long", "Lộc", "Minh", "Nam", "Phong", "Phúc",
    "Quân", "Quang", "Sơn", "Tài", "Thái", "Thành", "Thắng", "Thịnh", "Toàn", "Trung", "Tú",
    "Tuấn", "Tùng", "Việt", "Vinh", "Hậu",
];
const GIVEN_F: &[&str] = &[
    "An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hòa", "Hương",
    "Huyền", "Lan", "Linh", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhàn", "Nhung", "Oanh", "Phương",
    "Quỳnh", "Tâm", "Thảo", "Thủy", "Thư", "Trang", "Trâm", "Uyên", "Vân", "Vy", "Xuân", "Yến",
    "Hồng", "Loan", "Liên", "Duyên",
];

fn person(rng: &mut Rng) -> (String, bool) {
    let female = rng.below(2) == 0;
    let family = rng.weighted(FAMILY);
    let middle = rng.weighted(if female { MIDDLE_F } else { MIDDLE_M });
    let given = *rng.pick(if female { GIVEN_F } else { GIVEN_M });
    let name = if rng.below(5) == 0 {
        format!("{family} {middle} {} {given}", rng.pick(SECOND))
    } else {
        format!("{family} {middle} {given}")
    };
    (name, female)
}

const COMMUNES: &[&str] = &[
    "Đình Dù",
    "Lạc Hồng",
    "Minh Hải",
    "Tân Quang",
    "Trưng Trắc",
    "Việt Hưng",
    "Lương Tài",
    "Đại Đồng",
    "Như Quỳnh",
    "Lạc Đạo",
    "Hồng Tiến",
    "Dân Tiến",
    "Đồng Tiến",
    "Hàm Tử",
    "Tứ Dân",
    "Mễ Sở",
    "Thuần Hưng",
    "Nhuế Dương",
    "Phùng Hưng",
    "Liêu Xá",
    "Giai Phạm",
    "Nghĩa Hiệp",
    "Ngọc Long",
    "Trung Hưng",
    "Thanh Long",
    "Hoàn Long",
];

struct Seeded {
    units: Vec<(u64, u64)>, // (unit, weight)
    center: u64,
    commune: u64,
    district: u64,
}

fn open_app(dir: &std::path::Path) -> Arc<App> {
    let mut cfg = Config::for_tests(dir);
    cfg.data_dir = dir.to_path_buf();
    // `BENCH_DATABASE_URL=postgres://…`: seed and measure on PostgreSQL.
    cfg.database_url = std::env::var("BENCH_DATABASE_URL").ok();
    App::open(cfg).expect("open app")
}

/// Builds (or reuses) the benchmark database; returns the unit layout.
fn seed(app: &Arc<App>, n: u64) -> Seeded {
    let tree = app.tree();
    let find = |part: &str| {
        tree.rows()
            .into_iter()
            .find(|r| r.name.contains(part))
            .map(|r| r.id)
            .expect("demo unit")
    };
    let center = find("Trung tâm Phục vụ hành chính công");
    let districts = [
        find("UBND huyện Văn Lâm"),
        find("UBND huyện Khoái Châu"),
        find("UBND huyện Yên Mỹ"),
    ];
    let done = app
        .store
        .read(|r| meta::get_flag(r, "bench_seeded"))
        .expect("read")
        .is_some();
    if !done {
        // 150 more communes under the three districts.
        app.store
            .write(|w| {
                for i in 0..150 {
                    let d = districts[i % 3];
                    let commune = format!(
                        "{} {}",
                        COMMUNES[i % COMMUNES.len()],
                        i / COMMUNES.len() + 1
                    );
                    let ubnd = units::insert(w, None, &format!("UBND xã {commune}"), Some(d), 0)?;
                    units::insert(
                        w,
                        None,
                        &format!("Bộ phận một cửa UBND xã {commune}"),
                        Some(ubnd.id),
                        0,
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .expect("units");
        app.reload_tree().expect("tree");
    }
    let tree = app.tree();
    let eligible: Vec<u64> = tree
        .rows()
        .into_iter()
        .filter(|r| r.eligible)
        .map(|r| r.id)
        .collect();
    let district_units: Vec<u64> = districts
        .iter()
        .map(|d| {
            tree.rows()
                .into_iter()
                .find(|r| r.parent == Some(*d) && r.eligible)
                .map(|r| r.id)
                .expect("district one-stop unit")
        })
        .collect();
    // Weights: the provincial centre 15 %, each district's one-stop unit 5 %,
    // the communes share the rest.
    let communes: Vec<u64> = eligible
        .iter()
        .copied()
        .filter(|u| *u != center && !district_units.contains(u))
        .collect();
    let mut weights: Vec<(u64, u64)> = vec![(center, 15_000)];
    for d in &district_units {
        weights.push((*d, 5_000));
    }
    for c in &communes {
        weights.push((*c, 70_000 / communes.len() as u64));
    }
    let commune = communes[0];
    let seeded = Seeded {
        units: weights,
        center,
        commune,
        district: districts[0],
    };
    if done {
        return seeded;
    }
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    // ~4 staff per unit.
    let mut staff: Vec<(u64, String, String)> = vec![];
    for (u, _) in &seeded.units {
        for k in 0..4 {
            let (name, _) = person(&mut rng);
            staff.push((*u, format!("canbo{u}_{k}"), name));
        }
    }
    let total_w: u64 = seeded.units.iter().map(|x| x.1).sum();
    let start = motcua::util::parse_day_start("27/11/2023").expect("date");
    let span = 3 * 365 * 86_400i64;
    let t0 = Instant::now();
    let batch = 20_000;
    let mut made = 0u64;
    while made < n {
        let upto = (made + batch).min(n);
        app.store
            .write(|w| {
                for i in made..upto {
                    let (name, female) = person(&mut rng);
                    let mut r = rng.below(total_w);
                    let mut unit = seeded.units[0].0;
                    for (u, wt) in &seeded.units {
                        if r < *wt {
                            unit = *u;
                            break;
                        }
                        r -= wt;
                    }
                    let unit_staff: Vec<&(u64, String, String)> =
                        staff.iter().filter(|s| s.0 == unit).collect();
                    let by = unit_staff[rng.below(unit_staff.len() as u64) as usize];
                    let year = 1950 + rng.below(55);
                    let sex = if female { 1 } else { 0 } + if year >= 2000 { 2 } else { 0 };
                    let id = format!("033{sex}{:02}{:06}", year % 100, i);
                    let phone = format!(
                        "0{}{:07}",
                        [
                            "32", "33", "34", "35", "36", "37", "38", "39", "86", "88", "91", "94",
                            "96", "97", "98", "70", "76", "77", "78", "79", "81", "82", "83", "84",
                            "85"
                        ][rng.below(25) as usize],
                        (i * 7919 + rng.below(7919)) % 10_000_000
                    );
                    // In time order, as accounts are made.
                    let at = start + (i as i64 * span) / n as i64;
                    let mut rec = CitizenRecord {
                        seq: 0,
                        id_number: id,
                        full_name: name,
                        birth_date: format!(
                            "{:02}/{:02}/{year}",
                            1 + rng.below(28),
                            1 + rng.below(12)
                        ),
                        phone,
                        email: None,
                        unit,
                        unit_name: String::new(),
                        created_by: by.1.clone(),
                        created_by_name: by.2.clone(),
                        created_by_phone: "0987000000".into(),
                        created_at: at,
                        scan: ScanRef {
                            hash: "0".repeat(64),
                            kind: motcua::upload::ScanKind::Pdf,
                            size: 300_000,
                            file_name: "CCCD.pdf".into(),
                        },
                        request_code: "BENCH".into(),
                    };
                    citizens::insert(w, &mut rec)?;
                }
                if upto == n {
                    meta::set_flag(w, "bench_seeded", b"1")?;
                }
                Ok::<_, StoreError>(())
            })
            .expect("seed");
        made = upto;
        if made.is_multiple_of(100_000) || made == n {
            eprintln!("  seeded {made} accounts in {:.0?}", t0.elapsed());
        }
    }
    seeded
}

fn actor(superadmin: bool, grant_unit: Option<u64>) -> Actor {
    Actor {
        account: Account {
            username: "bench".into(),
            id_number: None,
            full_name: "Bench".into(),
            birth_date: None,
            phone: "0912000000".into(),
            email: None,
            password_hash: String::new(),
            must_change_password: false,
            superadmin,
            units: grant_unit.into_iter().collect(),
            grants: grant_unit
                .map(|u| Grant {
                    unit: u,
                    perms: PermissionSet::empty().with(Permission::CitizenAccountsCreate),
                })
                .into_iter()
                .collect(),
            origin: Origin::Bootstrap,
            created_at: 0,
            created_by: None,
            created_unit: None,
            failed_logins: 0,
            locked_until: 0,
            session_epoch: 0,
            disabled: false,
        },
        ip: "127.0.0.1".into(),
        token: None,
        console: true,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let n: u64 = std::env::var("BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(if n == 1_000_000 {
            "bench-citizens".to_string()
        } else {
            format!("bench-citizens-{n}")
        })
        .with_extension(if std::env::var("BENCH_DATABASE_URL").is_ok() {
            "pg"
        } else {
            ""
        });
    std::fs::create_dir_all(&dir).expect("bench dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let app = open_app(&dir);
        let s = seed(&app, n);
        let total = app.store.read(|r| citizens::RECORDS.len(r)).expect("len");
        let size = std::fs::metadata(app.cfg.db_path())
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "citizen list benchmark: {total} accounts, database {:.0} MB, {iters} runs per case",
            size as f64 / 1_048_576.0
        );
        // Samples to draw filter values from.
        let sample: Vec<CitizenRecord> = app
            .store
            .read(|r| {
                let mut v = vec![];
                for seq in (1..=total).step_by((total as usize / 2000).max(1)) {
                    if let Some(c) = citizens::get_by_seq(r, seq)? {
                        v.push(c);
                    }
                }
                Ok(v)
            })
            .expect("sample");
        let admin = actor(true, None);
        let district = actor(false, Some(s.district));
        let commune_staff = actor(false, Some(s.commune));
        let last_page = total.div_ceil(20);
        type Case<'a> = (&'a str, &'a Actor, Box<dyn Fn(&mut Rng) -> ListFilter + 'a>);
        let day = |rng: &mut Rng, span_days: i64| -> (String, String) {
            let start = motcua::util::parse_day_start("27/11/2023").expect("d");
            let off = rng.below((3 * 365 - span_days as u64).max(1)) as i64;
            let a = start + off * 86_400;
            let b = a + (span_days - 1).max(0) * 86_400;
            (motcua::util::fmt_date(a), motcua::util::fmt_date(b))
        };
        let sm = &sample;
        let full_name = move |rng: &mut Rng| rng.pick(sm).full_name.to_lowercase();
        let cases: Vec<Case> = vec![
            (
                "no filter, page 1 (province admin)",
                &admin,
                Box::new(|_| ListFilter::default()),
            ),
            (
                "no filter, random deep page",
                &admin,
                Box::new(move |r| ListFilter {
                    page: Some((1 + r.below(last_page)).to_string()),
                    ..Default::default()
                }),
            ),
            (
                "no filter, last page",
                &admin,
                Box::new(move |_| ListFilter {
                    page: Some(last_page.to_string()),
                    ..Default::default()
                }),
            ),
            (
                "name: full name",
                &admin,
                Box::new(move |r| ListFilter {
                    name: Some(full_name(r)),
                    ..Default::default()
                }),
            ),
            (
                "name: 'nguyen' (38 %)",
                &admin,
                Box::new(|_| ListFilter {
                    name: Some("nguyen".into()),
                    ..Default::default()
                }),
            ),
            (
                "name: 'nguyen thi'",
                &admin,
                Box::new(|_| ListFilter {
                    name: Some("nguyen thi".into()),
                    ..Default::default()
                }),
            ),
            (
                "name: given name",
                &admin,
                Box::new(|r| ListFilter {
                    name: Some(r.pick(GIVEN_F).to_string()),
                    ..Default::default()
                }),
            ),
            (
                "name: 'nguyen', page 200",
                &admin,
                Box::new(|_| ListFilter {
                    name: Some("nguyen".into()),
                    page: Some("200".into()),
                    ..Default::default()
                }),
            ),
            (
                "phone (+84 format)",
                &admin,
                Box::new(move |r| ListFilter {
                    phone: Some(format!("+84 {}", &r.pick(sm).phone[1..])),
                    ..Default::default()
                }),
            ),
            (
                "CMND/CCCD",
                &admin,
                Box::new(move |r| ListFilter {
                    id_number: Some(r.pick(sm).id_number.clone()),
                    ..Default::default()
                }),
            ),
            (
                "created by (staff name)",
                &admin,
                Box::new(move |r| ListFilter {
                    created_by: Some(r.pick(sm).created_by_name.clone()),
                    ..Default::default()
                }),
            ),
            (
                "created by (username)",
                &admin,
                Box::new(move |r| ListFilter {
                    created_by: Some(r.pick(sm).created_by.clone()),
                    ..Default::default()
                }),
            ),
            (
                "unit: provincial centre (15 %)",
                &admin,
                Box::new(move |_| ListFilter {
                    unit_id: Some(s.center.to_string()),
                    ..Default::default()
                }),
            ),
            (
                "unit: random one-stop unit",
                &admin,
                Box::new(move |r| ListFilter {
                    unit_id: Some(r.pick(&s.units).0.to_string()),
                    ..Default::default()
                }),
            ),
            (
                "unit: district subtree",
                &admin,
                Box::new(move |_| ListFilter {
                    unit_id: Some(s.district.to_string()),
                    ..Default::default()
                }),
            ),
            (
                "dates: one day",
                &admin,
                Box::new(move |r| {
                    let (a, b) = day(r, 1);
                    ListFilter {
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "dates: one month",
                &admin,
                Box::new(move |r| {
                    let (a, b) = day(r, 30);
                    ListFilter {
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "dates: one year, page 100",
                &admin,
                Box::new(move |r| {
                    let (a, b) = day(r, 365);
                    ListFilter {
                        from: Some(a),
                        to: Some(b),
                        page: Some("100".into()),
                        ..Default::default()
                    }
                }),
            ),
            (
                "name 'nguyen' + centre + year",
                &admin,
                Box::new(move |r| {
                    let (a, b) = day(r, 365);
                    ListFilter {
                        name: Some("nguyen".into()),
                        unit_id: Some(s.center.to_string()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "name 'thi' + district + month",
                &admin,
                Box::new(move |r| {
                    let (a, b) = day(r, 30);
                    ListFilter {
                        name: Some("thi".into()),
                        unit_id: Some(s.district.to_string()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "full name + creator + dates",
                &admin,
                Box::new(move |r| {
                    let c = r.pick(sm);
                    let (a, b) = day(r, 365);
                    ListFilter {
                        name: Some(c.full_name.clone()),
                        created_by: Some(c.created_by_name.clone()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "creator + unit + month",
                &admin,
                Box::new(move |r| {
                    let c = r.pick(sm);
                    let (a, b) = day(r, 30);
                    ListFilter {
                        created_by: Some(c.created_by.clone()),
                        unit_id: Some(c.unit.to_string()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "all seven filters",
                &admin,
                Box::new(move |r| {
                    let c = r.pick(sm);
                    ListFilter {
                        name: Some(c.full_name.clone()),
                        phone: Some(c.phone.clone()),
                        id_number: Some(c.id_number.clone()),
                        created_by: Some(c.created_by_name.clone()),
                        unit_id: Some(c.unit.to_string()),
                        from: Some("27/11/2023".into()),
                        to: Some("26/11/2026".into()),
                        ..Default::default()
                    }
                }),
            ),
            (
                "district staff: no filter",
                &district,
                Box::new(|_| ListFilter::default()),
            ),
            (
                "district staff: no filter, page 500",
                &district,
                Box::new(|_| ListFilter {
                    page: Some(500.to_string()),
                    ..Default::default()
                }),
            ),
            (
                "district staff: 'nguyen'",
                &district,
                Box::new(|_| ListFilter {
                    name: Some("nguyen".into()),
                    ..Default::default()
                }),
            ),
            (
                "district staff: 'nguyen thi hoa'",
                &district,
                Box::new(|_| ListFilter {
                    name: Some("nguyen thi hoa".into()),
                    ..Default::default()
                }),
            ),
            (
                "district staff: 'nguyen van' + month",
                &district,
                Box::new(move |r| {
                    let (a, b) = day(r, 30);
                    ListFilter {
                        name: Some("nguyen van".into()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
            (
                "commune staff: no filter",
                &commune_staff,
                Box::new(|_| ListFilter::default()),
            ),
            (
                "commune staff: 'nguyen' + year",
                &commune_staff,
                Box::new(move |r| {
                    let (a, b) = day(r, 365);
                    ListFilter {
                        name: Some("nguyen".into()),
                        from: Some(a),
                        to: Some(b),
                        ..Default::default()
                    }
                }),
            ),
        ];
        println!(
            "{:<42} {:>10} {:>10} {:>10} {:>9}",
            "case", "p50 ms", "p99 ms", "max ms", "avg hits"
        );
        let mut worst = Duration::ZERO;
        for (name, who, make) in &cases {
            let mut rng = Rng(0xbe7c_0000_0000_0001 ^ name.len() as u64);
            // Warm-up.
            for _ in 0..5 {
                let _ = list(&app, who, &make(&mut rng)).await;
            }
            let mut times = Vec::with_capacity(iters);
            let mut hits = 0u64;
            for _ in 0..iters {
                let filter = make(&mut rng);
                let t0 = Instant::now();
                let page = list(&app, who, &filter).await.expect("list");
                times.push(t0.elapsed());
                hits += page.total;
            }
            times.sort();
            let p99 = pct(&times, 0.99);
            worst = worst.max(p99);
            println!(
                "{:<42} {:>10.2} {:>10.2} {:>10.2} {:>9}",
                name,
                pct(&times, 0.5).as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3,
                hits / iters as u64
            );
        }
        println!(
            "worst p99: {:.2} ms (target < 50 ms)",
            worst.as_secs_f64() * 1e3
        );
    });
}

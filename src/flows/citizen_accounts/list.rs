//! The list of accounts created by staff, scoped to the actor's units.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::{CitizenId, Permission, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::citizens;
use crate::util;

use super::{DEFAULT_PER_PAGE, MAX_PER_PAGE, require_any};

/// The list filters as typed (query string of the page or the API).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ListFilter {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub created_by: Option<String>,
    pub unit_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    pub seq: u64,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub created_by: String,
    pub created_by_username: String,
    pub unit_id: u64,
    pub unit: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListPage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
    pub items: Vec<ListItem>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Units whose accounts the actor sees: `None` = all.
fn scope(app: &App, actor: &Actor) -> Option<Vec<u64>> {
    let tree = app.tree();
    let units = tree.units_with(&actor.account, Permission::CitizenAccountsCreate);
    if actor.account.superadmin || units.len() >= tree.len() {
        None
    } else {
        Some(units)
    }
}

/// Units the actor may filter on (the "Đơn vị tạo" select), in tree order.
pub fn filter_units(app: &App, actor: &Actor) -> Vec<crate::org::TreeRow> {
    let tree = app.tree();
    let units = tree.units_with(&actor.account, Permission::CitizenAccountsCreate);
    tree.rows()
        .into_iter()
        .filter(|r| units.contains(&r.id))
        .collect()
}

pub async fn list(app: &Arc<App>, actor: &Actor, f: &ListFilter) -> AppResult<ListPage> {
    require_any(actor)?;
    let mut fields = BTreeMap::new();
    let name = nonempty(&f.name).map(citizens::words).unwrap_or_default();
    let phone = match nonempty(&f.phone) {
        Some(p) => match PhoneNumber::parse(p) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(e) => {
                fields.insert("phone".to_string(), e.0);
                None
            }
        },
        None => None,
    };
    let id_number = match nonempty(&f.id_number) {
        Some(i) => match CitizenId::parse(i) {
            Ok(i) => Some(i.as_str().to_string()),
            Err(e) => {
                fields.insert("id_number".to_string(), e.0);
                None
            }
        },
        None => None,
    };
    let mut day = |k: &str, v: &Option<String>| match nonempty(v) {
        Some(s) => match citizens::parse_day(s) {
            Some(d) => Some(d),
            None => {
                fields.insert(
                    k.to_string(),
                    "Ngày phải theo định dạng dd/mm/yyyy và là ngày có thật.".to_string(),
                );
                None
            }
        },
        None => None,
    };
    let from = day("from", &f.from);
    let to = day("to", &f.to);
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        fields.insert(
            "to".to_string(),
            "“Đến ngày” phải sau hoặc bằng “Từ ngày”.".to_string(),
        );
    }
    let tree = app.tree();
    let scoped = scope(app, actor);
    let units = match nonempty(&f.unit_id) {
        Some(s) => match s.parse::<u64>() {
            Ok(u)
                if tree.get(u).is_some()
                    && tree.allows(&actor.account, Permission::CitizenAccountsCreate, u) =>
            {
                Some(tree.subtree(u))
            }
            _ => {
                fields.insert("unit_id".to_string(), "Đơn vị không hợp lệ.".to_string());
                None
            }
        },
        None => scoped,
    };
    let num = |k: &str,
               v: &Option<String>,
               default: u64,
               max: u64,
               fields: &mut BTreeMap<String, String>| match nonempty(v) {
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                fields.insert(k.to_string(), format!("Giá trị phải là số từ 1 đến {max}."));
                default
            }
        },
        None => default,
    };
    let page = num("page", &f.page, 1, 1_000_000, &mut fields);
    let per_page = num(
        "per_page",
        &f.per_page,
        DEFAULT_PER_PAGE,
        MAX_PER_PAGE,
        &mut fields,
    );
    if !fields.is_empty() {
        return Err(AppError::Invalid {
            message: "Thông tin tìm kiếm chưa hợp lệ, vui lòng kiểm tra lại.".into(),
            fields,
        });
    }
    let q = citizens::Query {
        name,
        phone,
        id_number,
        created_by: nonempty(&f.created_by).map(str::to_string),
        units,
        day_from: from,
        day_to: to,
        offset: (page - 1) * per_page,
        limit: per_page as usize,
    };
    let (res, creators) = app
        .db_heavy(move |app| {
            Ok(app.store.read(|r| {
                let res = citizens::search(r, &q)?;
                let creators: HashMap<u32, citizens::Creator> = citizens::creators(r)?
                    .into_iter()
                    .map(|c| (c.idx, c))
                    .collect();
                Ok((res, creators))
            })?)
        })
        .await?;
    let items = res
        .items
        .into_iter()
        .map(|h| {
            let c = creators.get(&h.row.creator);
            ListItem {
                seq: h.row.seq,
                id_number: h.row.id_number,
                full_name: h.row.full_name,
                birth_date: h.row.birth_date,
                phone: h.row.phone,
                created_by: c.map(|c| c.full_name.clone()).unwrap_or_default(),
                created_by_username: c.map(|c| c.username.clone()).unwrap_or_default(),
                unit_id: h.unit,
                unit: tree.name(h.unit),
                created_at: util::fmt_time(h.row.created_at),
            }
        })
        .collect();
    Ok(ListPage {
        total: res.total,
        page,
        per_page,
        pages: res.total.div_ceil(per_page).max(1),
        items,
    })
}

//! Which units a staff member may pick when creating a citizen account, and,
//! when none, which of the seed's two causes applies and who can fix it.

use serde::Serialize;

use crate::app::App;
use crate::domain::Permission;
use crate::store::accounts::Account;

#[derive(Debug, Clone, Serialize)]
pub struct UnitChoice {
    pub id: u64,
    pub name: String,
    pub eligible: bool,
    pub selectable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// `not_assigned` | `unit_name` | `no_permission`
    pub code: &'static str,
    pub message: String,
    pub fixer: String,
    pub units: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffUnits {
    pub units: Vec<UnitChoice>,
    pub reason: Option<Reason>,
}

pub fn for_staff(app: &App, a: &Account) -> StaffUnits {
    let tree = app.tree();
    let with_perm = tree.units_with(a, Permission::CitizenAccountsCreate);
    let mut ids: Vec<u64> = a.units.clone();
    for g in &a.grants {
        if !ids.contains(&g.unit) {
            ids.push(g.unit);
        }
    }
    // Eligible units below a grant are choices too (a district admin with the
    // permission can work for the district's one-stop unit).
    for id in &with_perm {
        if tree.eligible(*id) && !ids.contains(id) {
            ids.push(*id);
        }
    }
    let units: Vec<UnitChoice> = ids
        .iter()
        .filter(|id| tree.get(**id).is_some())
        .map(|id| {
            let eligible = tree.eligible(*id);
            UnitChoice {
                id: *id,
                name: tree.name(*id),
                eligible,
                selectable: eligible && with_perm.contains(id),
            }
        })
        .collect();
    let reason = if units.iter().any(|u| u.selectable) {
        None
    } else {
        let eligible: Vec<&UnitChoice> = units.iter().filter(|u| u.eligible).collect();
        let member_names: Vec<String> = a
            .units
            .iter()
            .map(|u| tree.name(*u))
            .filter(|n| !n.is_empty())
            .collect();
        if !eligible.is_empty() {
            let names: Vec<String> = eligible.iter().map(|u| u.name.clone()).collect();
            Some(Reason {
                code: "no_permission",
                message: format!(
                    "Tài khoản của anh/chị thuộc đơn vị một cửa “{}” nhưng chưa được cấp “Quyền tạo tài khoản công dân” tại đơn vị này.",
                    names.join("”, “")
                ),
                fixer: "Quản trị của đơn vị (người có “Quyền cho thêm mới người dùng”) hoặc Quản trị cấp cao của tỉnh cấp quyền này cho anh/chị.".into(),
                units: names,
            })
        } else if !with_perm.is_empty() && !member_names.is_empty() {
            Some(Reason {
                code: "unit_name",
                message: format!(
                    "Đơn vị “{}” chưa được đặt tên đúng theo yêu cầu: tên cơ quan, đơn vị phải chứa chuỗi ký tự “Trung tâm phục vụ hành chính công” hoặc “Bộ phận một cửa” (không phân biệt chữ hoa, chữ thường).",
                    member_names.join("”, “")
                ),
                fixer: "Quản trị cấp cao của tỉnh đổi tên đơn vị cho đúng, hoặc Quản trị đơn vị gán anh/chị vào đúng Bộ phận một cửa.".into(),
                units: member_names,
            })
        } else {
            Some(Reason {
                code: "not_assigned",
                message: if member_names.is_empty() {
                    "Tài khoản cán bộ chưa được gán vào đơn vị “Trung tâm Phục vụ hành chính công” hoặc “Bộ phận một cửa cấp huyện, cấp xã”.".into()
                } else {
                    format!(
                        "Tài khoản cán bộ đang thuộc “{}”, chưa được gán vào đơn vị “Trung tâm Phục vụ hành chính công” hoặc “Bộ phận một cửa cấp huyện, cấp xã”.",
                        member_names.join("”, “")
                    )
                },
                fixer: "Quản trị của đơn vị (sở, ban, ngành, UBND cấp huyện) hoặc Quản trị cấp cao của tỉnh gán anh/chị vào Bộ phận một cửa và cấp “Quyền tạo tài khoản công dân”.".into(),
                units: member_names,
            })
        }
    };
    StaffUnits { units, reason }
}

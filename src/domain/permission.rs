//! Staff permissions, in the groups of the seed's permission screen.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// One permission a staff member can be granted (scoped to a unit subtree
/// elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Permission {
    /// Quản lý yêu cầu hỗ trợ.
    SupportManage,
    /// Xử lý phiếu khảo sát.
    SurveyProcess,
    /// Quyền cho thêm mới người dùng.
    UsersCreate,
    /// Quyền tạo tài khoản công dân.
    CitizenAccountsCreate,
    /// Xem dữ liệu thống kê.
    StatsView,
}

impl Permission {
    /// Every permission, in the order of the seed's screen.
    pub const ALL: [Permission; 5] = [
        Permission::SupportManage,
        Permission::SurveyProcess,
        Permission::UsersCreate,
        Permission::CitizenAccountsCreate,
        Permission::StatsView,
    ];

    /// The stable name used in storage and APIs, e.g. `citizen_accounts.create`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::SupportManage => "support.manage",
            Permission::SurveyProcess => "survey.process",
            Permission::UsersCreate => "users.create",
            Permission::CitizenAccountsCreate => "citizen_accounts.create",
            Permission::StatsView => "stats.view",
        }
    }

    /// Parses a stable name (surrounding whitespace ignored, case-sensitive).
    pub fn parse(s: &str) -> Result<Permission, Invalid> {
        let name = s.trim();
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| Invalid::new(format!("Quyền \"{name}\" không tồn tại trong hệ thống.")))
    }

    /// The label on the permission screen.
    pub fn label_vi(&self) -> &'static str {
        match self {
            Permission::SupportManage => "Quản lý yêu cầu hỗ trợ",
            Permission::SurveyProcess => "Xử lý phiếu khảo sát",
            Permission::UsersCreate => "Quyền cho thêm mới người dùng",
            Permission::CitizenAccountsCreate => "Quyền tạo tài khoản công dân",
            Permission::StatsView => "Xem dữ liệu thống kê",
        }
    }

    /// The group heading on the permission screen.
    pub fn group_vi(&self) -> &'static str {
        match self {
            Permission::SupportManage | Permission::SurveyProcess => "Nhóm quyền hỗ trợ",
            Permission::UsersCreate | Permission::CitizenAccountsCreate | Permission::StatsView => {
                "Nhóm quyền quản trị"
            }
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Permission {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

parsed_from_str!(Permission);

impl From<Permission> for &'static str {
    fn from(p: Permission) -> &'static str {
        p.as_str()
    }
}

impl From<Permission> for String {
    fn from(p: Permission) -> String {
        p.as_str().to_owned()
    }
}

/// A set of permissions, stored as a bitset. Serialised as the list of names
/// in [`Permission::ALL`] order, e.g. `["support.manage","stats.view"]`;
/// unknown names are refused when deserialising.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Permission>", into = "Vec<Permission>")]
pub struct PermissionSet(u8);

const ALL_BITS: u8 = (1 << Permission::ALL.len()) - 1;

impl PermissionSet {
    /// No permission.
    pub const fn empty() -> Self {
        PermissionSet(0)
    }

    /// Every permission.
    pub const fn all() -> Self {
        PermissionSet(ALL_BITS)
    }

    /// This set plus `p`.
    #[must_use]
    pub const fn with(self, p: Permission) -> Self {
        PermissionSet(self.0 | p.bit())
    }

    /// Whether `p` is in the set.
    pub const fn contains(&self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Adds `p`; returns whether it was newly added.
    pub fn insert(&mut self, p: Permission) -> bool {
        let added = !self.contains(p);
        self.0 |= p.bit();
        added
    }

    /// Removes `p`; returns whether it was present.
    pub fn remove(&mut self, p: Permission) -> bool {
        let present = self.contains(p);
        self.0 &= !p.bit();
        present
    }

    /// Whether the set has no permission.
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Number of permissions in the set.
    pub const fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether every permission of this set is also in `other` (what a
    /// granter must satisfy: nobody grants what they do not hold).
    pub const fn is_subset(&self, other: &PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Permissions in either set.
    #[must_use]
    pub const fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    /// Permissions in both sets.
    #[must_use]
    pub const fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    /// Permissions in this set but not in `other`.
    #[must_use]
    pub const fn difference(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & !other.0)
    }

    /// The permissions in [`Permission::ALL`] order.
    pub fn iter(&self) -> PermissionIter {
        PermissionIter {
            set: *self,
            index: 0,
        }
    }

    /// The raw bits, for compact storage.
    pub const fn bits(&self) -> u8 {
        self.0
    }

    /// Rebuilds a set from [`PermissionSet::bits`]; `None` if a bit names no
    /// permission (data from a newer or corrupted store).
    pub const fn from_bits(bits: u8) -> Option<PermissionSet> {
        if bits & !ALL_BITS == 0 {
            Some(PermissionSet(bits))
        } else {
            None
        }
    }

    /// Like [`PermissionSet::from_bits`], dropping unknown bits.
    pub const fn from_bits_truncate(bits: u8) -> PermissionSet {
        PermissionSet(bits & ALL_BITS)
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|p| p.as_str()))
            .finish()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::empty();
        set.extend(iter);
        set
    }
}

impl Extend<Permission> for PermissionSet {
    fn extend<I: IntoIterator<Item = Permission>>(&mut self, iter: I) {
        for p in iter {
            self.insert(p);
        }
    }
}

impl IntoIterator for PermissionSet {
    type Item = Permission;
    type IntoIter = PermissionIter;

    fn into_iter(self) -> PermissionIter {
        self.iter()
    }
}

/// Iterator over a [`PermissionSet`], in [`Permission::ALL`] order.
#[derive(Clone, Debug)]
pub struct PermissionIter {
    set: PermissionSet,
    index: usize,
}

impl Iterator for PermissionIter {
    type Item = Permission;

    fn next(&mut self) -> Option<Permission> {
        while let Some(p) = Permission::ALL.get(self.index).copied() {
            self.index += 1;
            if self.set.contains(p) {
                return Some(p);
            }
        }
        None
    }
}

impl From<Permission> for PermissionSet {
    fn from(p: Permission) -> Self {
        PermissionSet::empty().with(p)
    }
}

impl From<Vec<Permission>> for PermissionSet {
    fn from(v: Vec<Permission>) -> Self {
        v.into_iter().collect()
    }
}

impl From<PermissionSet> for Vec<Permission> {
    fn from(set: PermissionSet) -> Self {
        set.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_groups() {
        let expected = [
            (
                Permission::SupportManage,
                "support.manage",
                "Quản lý yêu cầu hỗ trợ",
                "Nhóm quyền hỗ trợ",
            ),
            (
                Permission::SurveyProcess,
                "survey.process",
                "Xử lý phiếu khảo sát",
                "Nhóm quyền hỗ trợ",
            ),
            (
                Permission::UsersCreate,
                "users.create",
                "Quyền cho thêm mới người dùng",
                "Nhóm quyền quản trị",
            ),
            (
                Permission::CitizenAccountsCreate,
                "citizen_accounts.create",
                "Quyền tạo tài khoản công dân",
                "Nhóm quyền quản trị",
            ),
            (
                Permission::StatsView,
                "stats.view",
                "Xem dữ liệu thống kê",
                "Nhóm quyền quản trị",
            ),
        ];
        assert_eq!(Permission::ALL.len(), expected.len());
        for (p, (q, name, label, group)) in Permission::ALL.into_iter().zip(expected) {
            assert_eq!(p, q);
            assert_eq!(p.as_str(), name);
            assert_eq!(p.to_string(), name);
            assert_eq!(p.label_vi(), label);
            assert_eq!(p.group_vi(), group);
            assert_eq!(Permission::parse(name), Ok(p));
            assert_eq!(Permission::parse(&format!("  {name} ")), Ok(p));
            assert_eq!(name.parse::<Permission>(), Ok(p));
        }
    }

    #[test]
    fn parse_refuses_unknown_names() {
        for name in [
            "",
            "support",
            "Support.Manage",
            "SUPPORT.MANAGE",
            "users_create",
            "citizen_accounts",
            "admin",
            "stats.view.all",
        ] {
            let err = Permission::parse(name).unwrap_err();
            assert_eq!(
                err.0,
                format!("Quyền \"{}\" không tồn tại trong hệ thống.", name.trim())
            );
        }
    }

    #[test]
    fn permission_serde() {
        let json = serde_json::to_string(&Permission::CitizenAccountsCreate).unwrap();
        assert_eq!(json, "\"citizen_accounts.create\"");
        assert_eq!(
            serde_json::from_str::<Permission>(&json).unwrap(),
            Permission::CitizenAccountsCreate
        );
        assert!(serde_json::from_str::<Permission>("\"CitizenAccountsCreate\"").is_err());
    }

    #[test]
    fn set_operations() {
        let mut set = PermissionSet::empty();
        assert!(set.is_empty());
        assert_eq!(set.len(), 0);
        assert!(set.insert(Permission::StatsView));
        assert!(!set.insert(Permission::StatsView), "already there");
        assert!(set.contains(Permission::StatsView));
        assert!(!set.contains(Permission::UsersCreate));
        assert_eq!(set.len(), 1);
        assert!(set.remove(Permission::StatsView));
        assert!(!set.remove(Permission::StatsView), "already gone");
        assert!(set.is_empty());

        let a = PermissionSet::empty()
            .with(Permission::SupportManage)
            .with(Permission::CitizenAccountsCreate);
        assert_eq!(a.len(), 2);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![Permission::SupportManage, Permission::CitizenAccountsCreate]
        );
        let all = PermissionSet::all();
        assert_eq!(all.len(), 5);
        assert!(Permission::ALL.iter().all(|p| all.contains(*p)));
        assert_eq!(all.iter().collect::<Vec<_>>(), Permission::ALL.to_vec());
        assert!(a.is_subset(&all));
        assert!(!all.is_subset(&a));
        assert!(a.is_subset(&a));
        assert!(PermissionSet::empty().is_subset(&a));
        assert!(!a.is_subset(&PermissionSet::empty()));
        let b = PermissionSet::from(Permission::SupportManage).with(Permission::StatsView);
        assert!(!a.is_subset(&b) && !b.is_subset(&a));
        assert_eq!(a.union(b).len(), 3);
        assert_eq!(
            a.intersection(b),
            PermissionSet::from(Permission::SupportManage)
        );
        assert_eq!(
            a.difference(b),
            PermissionSet::from(Permission::CitizenAccountsCreate)
        );
        assert_eq!(PermissionSet::default(), PermissionSet::empty());
    }

    #[test]
    fn collecting_and_iterating() {
        let set: PermissionSet = [
            Permission::UsersCreate,
            Permission::SurveyProcess,
            Permission::UsersCreate,
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
        let order: Vec<Permission> = set.into_iter().collect();
        assert_eq!(
            order,
            vec![Permission::SurveyProcess, Permission::UsersCreate],
            "ALL order"
        );
        let mut extended = set;
        extended.extend([Permission::StatsView]);
        assert_eq!(extended.len(), 3);
        let mut count = 0;
        for p in extended {
            assert!(extended.contains(p));
            count += 1;
        }
        assert_eq!(count, 3);
        assert_eq!(
            format!("{extended:?}"),
            r#"{"survey.process", "users.create", "stats.view"}"#
        );
    }

    #[test]
    fn bits_round_trip() {
        for bits in 0..=ALL_BITS {
            let set = PermissionSet::from_bits(bits).unwrap();
            assert_eq!(set.bits(), bits);
            assert_eq!(set.iter().collect::<PermissionSet>(), set);
        }
        assert_eq!(PermissionSet::all().bits(), 0b1_1111);
        assert_eq!(PermissionSet::from_bits(0b10_0000), None);
        assert_eq!(PermissionSet::from_bits(0xFF), None);
        assert_eq!(
            PermissionSet::from_bits_truncate(0xFF),
            PermissionSet::all()
        );
        assert_eq!(PermissionSet::from(Permission::SupportManage).bits(), 1);
        assert_eq!(PermissionSet::from(Permission::StatsView).bits(), 16);
    }

    #[test]
    fn set_serde() {
        let set = PermissionSet::empty()
            .with(Permission::StatsView)
            .with(Permission::SupportManage);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["support.manage","stats.view"]"#);
        assert_eq!(serde_json::from_str::<PermissionSet>(&json).unwrap(), set);
        assert_eq!(
            serde_json::to_string(&PermissionSet::empty()).unwrap(),
            "[]"
        );
        assert_eq!(
            serde_json::from_str::<PermissionSet>(r#"["stats.view","stats.view"]"#).unwrap(),
            PermissionSet::from(Permission::StatsView)
        );
        assert!(serde_json::from_str::<PermissionSet>(r#"["stats.view","root"]"#).is_err());
        assert!(serde_json::from_str::<PermissionSet>("31").is_err());
    }
}

/// Permissions held at one unit (and, through the tree, below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub unit: u64,
    pub perms: PermissionSet,
}

/// Someone who holds permissions: the province admin holds all of them
/// everywhere, anybody else what their grants say.
pub trait Holder {
    fn superadmin(&self) -> bool;
    fn grants(&self) -> &[Grant];
}

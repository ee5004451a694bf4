//! The unit tree in memory: a read-mostly cache of the `units` table used for
//! every permission check. Pure: built on domain types (`domain::unit::Unit`,
//! `domain::permission::{Grant, Holder}`), knows nothing about HTTP or the store.

use std::collections::HashMap;

use crate::domain::permission::Holder;
use crate::domain::unit::Unit;
use crate::domain::unit::is_one_stop_eligible;
use crate::domain::{Permission, PermissionSet};

#[derive(Debug, Clone, Default)]
pub struct UnitTree {
    units: HashMap<u64, Unit>,
    children: HashMap<u64, Vec<u64>>,
    roots: Vec<u64>,
}

/// One row of the tree in display order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeRow {
    pub id: u64,
    pub name: String,
    pub code: String,
    pub depth: usize,
    pub eligible: bool,
    pub parent: Option<u64>,
}

impl UnitTree {
    pub fn new(units: Vec<Unit>) -> UnitTree {
        let mut t = UnitTree::default();
        for u in units {
            t.units.insert(u.id, u);
        }
        let mut ids: Vec<u64> = t.units.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            match t.units[&id].parent.filter(|p| t.units.contains_key(p)) {
                Some(p) => t.children.entry(p).or_default().push(id),
                None => t.roots.push(id),
            }
        }
        t
    }

    /// The province: the first root of the tree (the unit the province-wide
    /// settings, like the support bot's knowledge base, belong to).
    pub fn province(&self) -> Option<u64> {
        self.roots.first().copied()
    }

    pub fn get(&self, id: u64) -> Option<&Unit> {
        self.units.get(&id)
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn name(&self, id: u64) -> String {
        self.units
            .get(&id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    pub fn eligible(&self, id: u64) -> bool {
        self.units
            .get(&id)
            .is_some_and(|u| is_one_stop_eligible(&u.name))
    }

    /// True when `unit` is `ancestor` or below it.
    pub fn is_within(&self, unit: u64, ancestor: u64) -> bool {
        let mut cur = Some(unit);
        let mut guard = 0;
        while let Some(id) = cur {
            if id == ancestor {
                return true;
            }
            guard += 1;
            if guard > 64 {
                return false;
            }
            cur = self.units.get(&id).and_then(|u| u.parent);
        }
        false
    }

    /// `unit` and every unit below it.
    pub fn subtree(&self, unit: u64) -> Vec<u64> {
        let mut out = vec![];
        let mut stack = vec![unit];
        while let Some(id) = stack.pop() {
            if !self.units.contains_key(&id) {
                continue;
            }
            out.push(id);
            if let Some(c) = self.children.get(&id) {
                stack.extend(c.iter().rev());
            }
        }
        out
    }

    /// The whole tree in depth-first order with depths.
    pub fn rows(&self) -> Vec<TreeRow> {
        let mut out = vec![];
        let mut stack: Vec<(u64, usize)> = self.roots.iter().rev().map(|r| (*r, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            let u = &self.units[&id];
            out.push(TreeRow {
                id,
                name: u.name.clone(),
                code: u.code.clone(),
                depth,
                eligible: is_one_stop_eligible(&u.name),
                parent: u.parent,
            });
            if let Some(c) = self.children.get(&id) {
                stack.extend(c.iter().rev().map(|c| (*c, depth + 1)));
            }
        }
        out
    }

    /// Permissions `a` holds on `unit`, inherited from grants on ancestors.
    pub fn effective(&self, a: &impl Holder, unit: u64) -> PermissionSet {
        if a.superadmin() {
            return PermissionSet::all();
        }
        let mut set = PermissionSet::empty();
        for g in a.grants() {
            if self.is_within(unit, g.unit) {
                for p in g.perms.iter() {
                    set.insert(p);
                }
            }
        }
        set
    }

    pub fn allows(&self, a: &impl Holder, p: Permission, unit: u64) -> bool {
        self.effective(a, unit).contains(p)
    }

    /// Every unit where `a` holds `p` (grant roots expanded to their subtrees).
    pub fn units_with(&self, a: &impl Holder, p: Permission) -> Vec<u64> {
        if a.superadmin() {
            return self.rows().into_iter().map(|r| r.id).collect();
        }
        let mut out: Vec<u64> = vec![];
        for g in a.grants().iter().filter(|g| g.perms.contains(p)) {
            for id in self.subtree(g.unit) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    pub fn would_cycle(&self, unit: u64, new_parent: u64) -> bool {
        self.is_within(new_parent, unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permission::Grant;

    fn unit(id: u64, name: &str, parent: Option<u64>) -> Unit {
        Unit {
            id,
            code: format!("C{id}"),
            name: name.into(),
            parent,
            created_at: 0,
        }
    }

    fn tree() -> UnitTree {
        UnitTree::new(vec![
            unit(1, "UBND tỉnh", None),
            unit(2, "UBND huyện A", Some(1)),
            unit(3, "Bộ phận một cửa UBND huyện A", Some(2)),
            unit(4, "UBND huyện B", Some(1)),
            unit(5, "Bộ phận một cửa UBND xã C", Some(4)),
        ])
    }

    /// A staff member with these grants (not the province admin).
    struct Staff(Vec<Grant>);

    impl Holder for Staff {
        fn superadmin(&self) -> bool {
            false
        }
        fn grants(&self) -> &[Grant] {
            &self.0
        }
    }

    fn staff(grants: Vec<Grant>) -> Staff {
        Staff(grants)
    }

    #[test]
    fn subtree_and_within() {
        let t = tree();
        assert!(t.is_within(3, 1));
        assert!(t.is_within(3, 2));
        assert!(!t.is_within(3, 4));
        assert!(!t.is_within(1, 3));
        let mut s = t.subtree(4);
        s.sort();
        assert_eq!(s, vec![4, 5]);
        assert_eq!(
            t.rows().iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(t.rows()[2].depth, 2);
    }

    #[test]
    fn grants_inherit_down_not_up_or_sideways() {
        let t = tree();
        let a = staff(vec![Grant {
            unit: 2,
            perms: PermissionSet::empty().with(Permission::CitizenAccountsCreate),
        }]);
        assert!(t.allows(&a, Permission::CitizenAccountsCreate, 3));
        assert!(t.allows(&a, Permission::CitizenAccountsCreate, 2));
        assert!(!t.allows(&a, Permission::CitizenAccountsCreate, 1));
        assert!(!t.allows(&a, Permission::CitizenAccountsCreate, 5));
        assert!(!t.allows(&a, Permission::UsersCreate, 3));
        let mut u = t.units_with(&a, Permission::CitizenAccountsCreate);
        u.sort();
        assert_eq!(u, vec![2, 3]);
    }

    #[test]
    fn eligibility_and_cycles() {
        let t = tree();
        assert!(t.eligible(3));
        assert!(!t.eligible(2));
        assert!(t.would_cycle(2, 3));
        assert!(!t.would_cycle(3, 4));
    }
}

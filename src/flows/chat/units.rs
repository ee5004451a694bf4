//! Where a support request goes: the unit a citizen names in a message,
//! or the province's one-stop centre.

use std::sync::Arc;

use crate::helpdesk;
use crate::org::UnitTree;

/// The eligible unit nearest the root (the province's one-stop centre):
/// where a request goes when the citizen named no unit.
pub fn default_unit(tree: &UnitTree) -> Option<u64> {
    let rows = tree.rows();
    rows.iter()
        .filter(|r| r.eligible)
        .min_by_key(|r| (r.depth, r.id))
        .or(rows.first())
        .map(|r| r.id)
}

/// The place an eligible unit serves, folded, without its level word:
/// "Bộ phận một cửa UBND xã Lạc Đạo" → "lac dao".
pub(super) fn locality(name: &str) -> Option<String> {
    let f = helpdesk::fold(name);
    let rest = if let Some(i) = f.rfind("ubnd ") {
        &f[i + 5..]
    } else if let Some(i) = f.rfind("uy ban nhan dan ") {
        &f[i + 16..]
    } else {
        let markers = [
            " tinh ",
            " thanh pho ",
            " huyen ",
            " quan ",
            " thi xa ",
            " xa ",
            " phuong ",
            " thi tran ",
        ];
        let i = markers.iter().filter_map(|m| f.rfind(m)).max()?;
        &f[i + 1..]
    };
    let mut words: Vec<&str> = rest.split(' ').collect();
    let level_words = [["thanh", "pho"], ["thi", "xa"], ["thi", "tran"], ["", ""]];
    if words.len() > 2
        && level_words
            .iter()
            .any(|l| words[0] == l[0] && words[1] == l[1])
    {
        words.drain(..2);
    } else if words.len() > 1 && ["tinh", "huyen", "quan", "xa", "phuong"].contains(&words[0]) {
        words.remove(0);
    }
    let core = words.join(" ");
    (core.len() >= 3).then_some(core)
}

/// The most specific eligible unit whose place the text names.
pub fn named_unit(tree: &Arc<UnitTree>, text: &str) -> Option<u64> {
    let padded = format!(" {} ", helpdesk::fold(text));
    localities(tree)
        .iter()
        .filter(|(_, _, core)| padded.contains(core.as_str()))
        .max_by_key(|(depth, id, _)| (*depth, std::cmp::Reverse(*id)))
        .map(|(_, id, _)| *id)
}

/// (depth, id, " folded locality ") of every eligible unit, computed once
/// per unit tree: folding every unit name on every chat message (inside the
/// write transaction) was a large part of a message's cost.
type Localities = Vec<(usize, u64, String)>;

fn localities(tree: &Arc<UnitTree>) -> Arc<Localities> {
    // The cache keeps its tree alive, so comparing pointers is sound.
    static CACHE: std::sync::Mutex<Option<(Arc<UnitTree>, Arc<Localities>)>> =
        std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((t, l)) = cache.as_ref()
        && Arc::ptr_eq(t, tree)
    {
        return l.clone();
    }
    let l: Arc<Localities> = Arc::new(
        tree.rows()
            .into_iter()
            .filter(|r| r.eligible)
            .filter_map(|r| Some((r.depth, r.id, format!(" {} ", locality(&r.name)?))))
            .collect(),
    );
    *cache = Some((tree.clone(), l.clone()));
    l
}

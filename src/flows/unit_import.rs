//! The unit list from a CSV file (`code,parent_code,name`): parsing with
//! the line of the first problem, the plan of what an import would change,
//! and the import itself (the demo list on a fresh database, `motcua units
//! import` on the command line).

use crate::store::{self, units};

/// The demo unit list loaded into a fresh database.
pub const DEMO_UNITS: &str = include_str!("../../data/demo-units.csv");

/// One row of a units CSV: `code,parent_code,name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub line: usize,
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
}

/// Parses a units CSV (header `code,parent_code,name`), reporting the line of
/// the first problem. Parents must come before their children.
pub fn parse_units_csv(text: &str) -> Result<Vec<UnitRow>, String> {
    parse_units_csv_with(text, &[])
}

/// Like [`parse_units_csv`], where parents may also be `known` codes (units
/// already in the database).
pub fn parse_units_csv_with(text: &str, known: &[String]) -> Result<Vec<UnitRow>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| format!("line 1: {e}"))?.clone();
    let want = ["code", "parent_code", "name"];
    if headers.iter().map(str::trim).collect::<Vec<_>>() != want {
        return Err("line 1: the header must be code,parent_code,name".into());
    }
    let mut rows: Vec<UnitRow> = vec![];
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
        let code = rec.get(0).unwrap_or("").trim().to_string();
        let parent = rec.get(1).unwrap_or("").trim().to_string();
        let name = crate::domain::unit::UnitName::parse(rec.get(2).unwrap_or(""))
            .map_err(|e| format!("line {line}: {e}"))?;
        if code.is_empty() {
            return Err(format!("line {line}: the code is empty"));
        }
        if rows.iter().any(|r| r.code == code) {
            return Err(format!("line {line}: the code {code} appears twice"));
        }
        if !parent.is_empty() && !rows.iter().any(|r| r.code == parent) && !known.contains(&parent)
        {
            return Err(format!(
                "line {line}: the parent {parent} is neither on an earlier line nor an existing unit"
            ));
        }
        rows.push(UnitRow {
            line,
            code,
            parent_code: (!parent.is_empty()).then_some(parent),
            name: name.as_str().to_string(),
        });
    }
    Ok(rows)
}

/// What an import would change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    pub added: Vec<String>,
    pub renamed: Vec<(String, String, String)>,
    pub moved: Vec<(String, String)>,
    pub unchanged: usize,
}

/// Compares rows with the units already stored (matched by code).
pub fn plan_import(existing: &[units::Unit], rows: &[UnitRow]) -> ImportPlan {
    let by_code: std::collections::HashMap<&str, &units::Unit> =
        existing.iter().map(|u| (u.code.as_str(), u)).collect();
    let by_id: std::collections::HashMap<u64, &units::Unit> =
        existing.iter().map(|u| (u.id, u)).collect();
    let mut plan = ImportPlan::default();
    for r in rows {
        match by_code.get(r.code.as_str()) {
            None => plan.added.push(format!("{} {}", r.code, r.name)),
            Some(u) => {
                let mut same = true;
                if u.name != r.name {
                    plan.renamed
                        .push((r.code.clone(), u.name.clone(), r.name.clone()));
                    same = false;
                }
                let old_parent = u.parent.and_then(|p| by_id.get(&p)).map(|p| p.code.clone());
                if old_parent != r.parent_code {
                    plan.moved.push((
                        r.code.clone(),
                        r.parent_code.clone().unwrap_or_else(|| "(gốc)".into()),
                    ));
                    same = false;
                }
                if same {
                    plan.unchanged += 1;
                }
            }
        }
    }
    plan
}

pub fn import_units(w: &crate::store::WriteTx, rows: &[UnitRow], now: i64) -> store::Result<()> {
    let mut by_code: std::collections::HashMap<String, u64> =
        units::all(w)?.into_iter().map(|u| (u.code, u.id)).collect();
    for r in rows {
        let parent = r.parent_code.as_ref().and_then(|p| by_code.get(p).copied());
        match by_code.get(&r.code).copied() {
            Some(id) => {
                if let Some(mut u) = units::get(w, id)? {
                    u.name = r.name.clone();
                    u.parent = parent;
                    units::put(w, &u)?;
                }
            }
            None => {
                let u = units::insert(w, Some(r.code.clone()), &r.name, parent, now)?;
                by_code.insert(u.code, u.id);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_units_parse_and_have_both_kinds() {
        let rows = parse_units_csv(DEMO_UNITS).unwrap();
        assert!(rows.len() >= 10);
        let eligible = rows
            .iter()
            .filter(|r| crate::domain::unit::is_one_stop_eligible(&r.name))
            .count();
        assert!(eligible >= 5 && eligible < rows.len());
    }

    #[test]
    fn import_plan_shows_adds_renames_and_moves() {
        let existing = vec![
            units::Unit {
                id: 1,
                code: "A".into(),
                name: "Tỉnh A".into(),
                parent: None,
                created_at: 0,
            },
            units::Unit {
                id: 2,
                code: "B".into(),
                name: "Huyện B".into(),
                parent: Some(1),
                created_at: 0,
            },
            units::Unit {
                id: 3,
                code: "C".into(),
                name: "Xã C".into(),
                parent: Some(2),
                created_at: 0,
            },
        ];
        let rows = parse_units_csv("code,parent_code,name\nA,,Tỉnh A\nB,A,Huyện B mới\nC,A,Xã C\nD,B,Bộ phận một cửa UBND huyện B\n").unwrap();
        let plan = plan_import(&existing, &rows);
        assert_eq!(
            plan.added,
            vec!["D Bộ phận một cửa UBND huyện B".to_string()]
        );
        assert_eq!(
            plan.renamed,
            vec![("B".into(), "Huyện B".into(), "Huyện B mới".into())]
        );
        assert_eq!(plan.moved, vec![("C".into(), "A".into())]);
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn bad_units_csv_names_the_line() {
        let e = parse_units_csv("code,parent_code,name\nA,,Tỉnh\nB,X,Huyện\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = parse_units_csv("code,parent_code,name\nA,,Tỉnh\nA,,Lại\n").unwrap_err();
        assert!(e.contains("twice"), "{e}");
        assert!(parse_units_csv("id,name\n").is_err());
    }
}

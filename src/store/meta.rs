//! Schema version, id sequences and the server's secret key.

use super::WriteTx;

use super::{Result, SCHEMA_VERSION, StoreError, Table, Tx, accounts};

pub(crate) const META: Table<Vec<u8>> = Table::new("meta");
const VERSION_KEY: &str = "schema_version";
const SECRET_KEY: &str = "secret_key";

pub fn schema_version(tx: &impl Tx) -> Result<Option<u32>> {
    Ok(META.get(tx, VERSION_KEY)?.and_then(|b| {
        <[u8; 4]>::try_from(b.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }))
}

pub fn set_schema_version(w: &WriteTx, v: u32) -> Result<()> {
    META.put(w, VERSION_KEY, &v.to_be_bytes().to_vec())
}

/// Brings a database of any older schema to [`SCHEMA_VERSION`], one step at a
/// time, inside the caller's transaction. A new database starts at the
/// current version.
pub fn migrate(w: &WriteTx) -> Result<()> {
    let found = schema_version(w)?;
    let mut v = match found {
        None => {
            super::accounts::ensure_tables(w)?;
            super::units::ensure_tables(w)?;
            set_schema_version(w, SCHEMA_VERSION)?;
            return Ok(());
        }
        Some(v) => v,
    };
    if v > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: v,
            known: SCHEMA_VERSION,
        });
    }
    while v < SCHEMA_VERSION {
        // v1 → v2: accounts gained a phone index (for search by phone).
        if v == 1 {
            accounts::rebuild_phone_index(w)?;
        }
        // v2 → v3: SMS jobs gained their initiator (daily budget).
        if v == 2 {
            let n = super::sms::migrate_v3(w)?;
            tracing::info!(jobs = n, "sms jobs marked with their initiator");
        }
        // v3 → v4: counters of new tickets and pending access requests.
        if v == 3 {
            super::conversations::rebuild_counters(w)?;
            super::access_requests::rebuild_counters(w)?;
        }
        v += 1;
        tracing::info!(version = v, "database migrated");
    }
    set_schema_version(w, v)
}

/// Next value of a named sequence (starts at 1).
pub fn next_id(w: &WriteTx, name: &str) -> Result<u64> {
    let k = format!("seq:{name}");
    let cur = META
        .get(w, &k)?
        .and_then(|b| {
            <[u8; 8]>::try_from(b.as_slice())
                .ok()
                .map(u64::from_be_bytes)
        })
        .unwrap_or(0);
    let next = cur + 1;
    META.put(w, &k, &next.to_be_bytes().to_vec())?;
    Ok(next)
}

/// The 32-byte key used for HMACs (OTP hashes, tokens). Created on first use
/// from the OS CSPRNG; kept in the database so a backup carries it.
pub fn secret_key(w: &WriteTx) -> Result<[u8; 32]> {
    if let Some(k) = META
        .get(w, SECRET_KEY)?
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
    {
        return Ok(k);
    }
    let k: [u8; 32] = crate::util::random_bytes();
    META.put(w, SECRET_KEY, &k.to_vec())?;
    Ok(k)
}

pub fn get_flag(tx: &impl Tx, name: &str) -> Result<Option<Vec<u8>>> {
    META.get(tx, &format!("flag:{name}"))
}

pub fn set_flag(w: &WriteTx, name: &str, value: &[u8]) -> Result<()> {
    META.put(w, &format!("flag:{name}"), &value.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PermissionSet;
    use crate::store::Store;
    use crate::store::accounts::{ACCOUNTS, Account, Origin};

    fn account(username: &str, phone: &str) -> Account {
        Account {
            username: username.into(),
            id_number: None,
            full_name: "Nguyễn Văn A".into(),
            birth_date: None,
            phone: phone.into(),
            email: None,
            password_hash: String::new(),
            must_change_password: false,
            superadmin: false,
            units: vec![],
            grants: vec![crate::store::accounts::Grant {
                unit: 1,
                perms: PermissionSet::empty(),
            }],
            origin: Origin::Bootstrap,
            created_at: 0,
            created_by: None,
            created_unit: None,
            failed_logins: 0,
            locked_until: 0,
            session_epoch: 0,
            disabled: false,
        }
    }

    /// A database written by schema version 1 (accounts without the phone
    /// index) opens, gains the index and is marked version 2.
    #[test]
    fn version_1_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        {
            let db = redb::Database::create(&path).unwrap();
            let w = super::super::WriteTx::redb(db.begin_write().unwrap());
            ACCOUNTS
                .put(&w, "canbo", &account("canbo", "0912345678"))
                .unwrap();
            set_schema_version(&w, 1).unwrap();
            w.commit_redb();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.read(schema_version).unwrap(), Some(SCHEMA_VERSION));
        let found = s
            .read(|r| accounts::usernames_by_phone(r, "0912345678"))
            .unwrap();
        assert_eq!(found, vec!["canbo".to_string()]);
    }

    /// A database of schema 2 (SMS jobs without their initiator) opens:
    /// each job is rewritten with `Initiator::Unknown`, queued ones stay
    /// due, and the database is marked version 3.
    #[test]
    fn version_2_sms_jobs_are_migrated() {
        use crate::sms::template::Initiator;
        use crate::store::sms::{self, SMS, SmsStatus};
        #[derive(serde::Serialize)]
        struct V2 {
            id: u64,
            uid: String,
            to: String,
            text: String,
            kind: String,
            created_at: i64,
            attempts: u32,
            next_attempt_at: i64,
            status: SmsStatus,
            sent_at: Option<i64>,
            last_error: Option<String>,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.redb");
        let old = |id: u64, status: SmsStatus| V2 {
            id,
            uid: format!("{id}-ab"),
            to: "0912345678".into(),
            text: format!("tin {id}"),
            kind: "otp".into(),
            created_at: 100,
            attempts: 0,
            next_attempt_at: 100,
            status,
            sent_at: None,
            last_error: None,
        };
        {
            let db = redb::Database::create(&path).unwrap();
            let w = super::super::WriteTx::redb(db.begin_write().unwrap());
            {
                let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("sms");
                let mut t = w.redb_tx().open_table(def).unwrap();
                for id in 1..=3u64 {
                    let st = if id == 3 {
                        SmsStatus::Pending
                    } else {
                        SmsStatus::Sent
                    };
                    let bytes = postcard::to_stdvec(&old(id, st)).unwrap();
                    // Without the migration these bytes do not decode.
                    assert!(postcard::from_bytes::<sms::SmsJob>(&bytes).is_err());
                    t.insert(id.to_be_bytes().as_slice(), bytes.as_slice())
                        .unwrap();
                }
            }
            sms::DUE
                .put(
                    &w,
                    &{
                        let mut k = 100u64.to_be_bytes().to_vec();
                        k.extend_from_slice(&3u64.to_be_bytes());
                        k
                    },
                    &(),
                )
                .unwrap();
            set_schema_version(&w, 2).unwrap();
            w.commit_redb();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.read(schema_version).unwrap(), Some(SCHEMA_VERSION));
        let jobs = s.read(|r| SMS.all(r)).unwrap();
        assert_eq!(jobs.len(), 3);
        for j in &jobs {
            assert_eq!(j.initiator, Initiator::Unknown);
            assert_eq!(j.text, format!("tin {}", j.id));
        }
        let due = s.read(|r| sms::due(r, 1_000, 10)).unwrap();
        assert_eq!(due.iter().map(|j| j.id).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.redb");
        {
            let db = redb::Database::create(&path).unwrap();
            let w = super::super::WriteTx::redb(db.begin_write().unwrap());
            set_schema_version(&w, SCHEMA_VERSION + 1).unwrap();
            w.commit_redb();
        }
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew { .. })));
    }

    #[test]
    fn sequences_and_secret_key_are_stable() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let (a, b) = s
            .write(|w| Ok::<_, StoreError>((next_id(w, "x")?, next_id(w, "x")?)))
            .unwrap();
        assert_eq!((a, b), (1, 2));
        let k1 = s.write(secret_key).unwrap();
        let k2 = s.write(secret_key).unwrap();
        assert_eq!(k1, k2);
        assert_ne!(k1, [0u8; 32]);
    }
}

//! Device cookies (OWASP "device cookies"): after a successful sign-in the
//! browser gets `<random id>.<HMAC(server key, username, id)>`. A sign-in
//! that presents a valid one for the typed username counts its failures
//! under that device, not under the IP, so strangers' failures do not
//! throttle the staff member at their usual browser. See
//! docs/design/throttles.md.

use base64::Engine;

use crate::util;

fn mac(key: &[u8; 32], username: &str, id: &str) -> String {
    let m = util::hmac_sha256(key, &[b"device", username.as_bytes(), id.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m)
}

/// A new cookie value for `username`.
pub fn issue(key: &[u8; 32], username: &str) -> String {
    let id = util::random_token();
    let m = mac(key, username, &id);
    format!("{id}.{m}")
}

/// The device id if `value` was issued by this server for `username`.
pub fn verify(key: &[u8; 32], username: &str, value: &str) -> Option<String> {
    let (id, m) = value.split_once('.')?;
    if id.len() > 64 {
        return None;
    }
    util::ct_eq(mac(key, username, id).as_bytes(), m.as_bytes()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_to_key_and_username() {
        let k = [7u8; 32];
        let v = issue(&k, "canbo1");
        assert!(verify(&k, "canbo1", &v).is_some());
        assert!(verify(&k, "canbo2", &v).is_none());
        assert!(verify(&[8u8; 32], "canbo1", &v).is_none());
        let (id, _) = v.split_once('.').unwrap();
        assert!(verify(&k, "canbo1", &format!("{id}.forged")).is_none());
    }
}

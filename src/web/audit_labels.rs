//! The audit log in Vietnamese: every action code the flows record has a
//! label, and the details they write (some in a terse machine form) are
//! shown as sentences. Done at display time, so entries stored before
//! read as well as new ones.

use crate::domain::Permission;

/// Every action code recorded by the flows, with its label.
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "setup_superadmin",
        "Tạo quản trị cấp cao (liên kết thiết lập)",
    ),
    ("create_superadmin", "Tạo quản trị cấp cao (dòng lệnh)"),
    ("reset_superadmin", "Đặt lại quản trị cấp cao (dòng lệnh)"),
    (
        "console_sign_in_link",
        "Đăng nhập quản trị bằng liên kết một lần",
    ),
    ("console_sign_in", "Đăng nhập trang quản trị"),
    ("portal_sign_in", "Đăng nhập Cổng dịch vụ công"),
    ("sign_in_failed", "Đăng nhập không thành công"),
    ("password_change", "Đổi mật khẩu"),
    ("password_reset_start", "Yêu cầu lấy lại mật khẩu"),
    ("password_reset", "Đặt lại mật khẩu"),
    ("self_register", "Công dân tự đăng ký tài khoản"),
    (
        "self_register_existing_id",
        "Đăng ký với số CMND/CCCD đã có tài khoản",
    ),
    ("unit_create", "Thêm đơn vị"),
    ("unit_rename", "Đổi tên đơn vị"),
    ("units_import", "Nhập cây đơn vị từ tệp"),
    ("staff_create", "Thêm cán bộ"),
    ("grants_set", "Phân quyền cán bộ"),
    ("access_request_submit", "Gửi đề nghị cấp quyền"),
    ("access_request_approve", "Duyệt đề nghị cấp quyền"),
    ("access_request_reject", "Từ chối đề nghị cấp quyền"),
    ("citizen_lookup", "Tra cứu số CMND/CCCD"),
    (
        "citizen_request_create",
        "Lập yêu cầu tạo tài khoản công dân",
    ),
    (
        "citizen_request_cancel",
        "Hủy yêu cầu tạo tài khoản công dân",
    ),
    ("citizen_otp_send", "Gửi mã OTP cho công dân"),
    ("citizen_otp_resend", "Gửi lại mã OTP cho công dân"),
    ("citizen_account_create", "Tạo tài khoản công dân"),
    (
        "citizen_account_conflict",
        "Không tạo tài khoản (số CMND/CCCD đã có tài khoản)",
    ),
    ("citizen_account_view", "Xem thông tin tài khoản công dân"),
    ("citizen_form_download", "Tải giấy đề nghị tạo tài khoản"),
    ("citizen_scan_download", "Tải bản chụp CMND/CCCD"),
    ("support.reply", "Trả lời yêu cầu hỗ trợ"),
    ("sms_template_update", "Sửa mẫu tin nhắn SMS"),
    ("sms_template_reset", "Khôi phục mẫu tin nhắn SMS mặc định"),
    ("support.status", "Đổi trạng thái yêu cầu hỗ trợ"),
    ("faq_publish", "Xuất bản phiên bản câu hỏi thường gặp"),
];

/// The label of an action code (the code itself if unknown).
pub fn action(code: &str) -> String {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| (*l).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The object of an entry: `unit:12`, `staff:u`, `account:x`, `request:x`.
pub fn object(obj: &str, unit_name: &dyn Fn(u64) -> Option<String>) -> String {
    if let Some(id) = obj.strip_prefix("unit:") {
        return unit(id, unit_name);
    }
    if let Some(key) = obj.strip_prefix("sms_template:") {
        let name = crate::sms::template::Id::from_key(key)
            .map(|id| id.def().name)
            .unwrap_or(key);
        return format!("Mẫu tin nhắn: {name}");
    }
    for (prefix, label) in [
        ("staff:", "Cán bộ"),
        ("account:", "Tài khoản"),
        ("request:", "Yêu cầu"),
        ("req:", "Yêu cầu"),
    ] {
        if let Some(rest) = obj.strip_prefix(prefix) {
            return format!("{label} {rest}");
        }
    }
    obj.to_string()
}

fn unit(id: &str, unit_name: &dyn Fn(u64) -> Option<String>) -> String {
    id.trim()
        .parse::<u64>()
        .ok()
        .and_then(unit_name)
        .unwrap_or_else(|| format!("đơn vị #{}", id.trim()))
}

/// The detail of an entry as a sentence.
pub fn detail(action: &str, detail: &str, unit_name: &dyn Fn(u64) -> Option<String>) -> String {
    let d = detail.trim();
    if d.is_empty() {
        return String::new();
    }
    if d == "one-time link from the server terminal" {
        return "Liên kết dùng một lần tạo trên máy chủ".into();
    }
    if let Some(n) = d.strip_suffix(" rows") {
        return format!("{n} dòng");
    }
    if let Some(to) = d.strip_prefix("to ") {
        return format!("Gửi tới số {to}");
    }
    if let Some(id) = d.strip_prefix("id ") {
        return format!("CMND/CCCD {id}");
    }
    if action == "grants_set"
        && let Some(rest) = d.strip_prefix("unit:")
        && let Some((id, perms)) = rest.split_once(' ')
    {
        let labels: Vec<&str> = perms
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                Permission::parse(p.trim())
                    .map(|p| p.label_vi())
                    .unwrap_or("quyền không xác định")
            })
            .collect();
        let perms = if labels.is_empty() {
            "không còn quyền nào".to_string()
        } else {
            labels.join(", ")
        };
        return format!("Đơn vị: {}; quyền: {perms}", unit(id, unit_name));
    }
    if let Some(rest) = d.strip_prefix("unit:") {
        // "unit:<id> phone <masked>[ scan <kind> <bytes> B]"
        let words: Vec<&str> = rest.split_whitespace().collect();
        let mut out = vec![format!(
            "Đơn vị: {}",
            unit(words.first().copied().unwrap_or(""), unit_name)
        )];
        let mut i = 1;
        while i < words.len() {
            match words[i] {
                "phone" if i + 1 < words.len() => {
                    out.push(format!("số điện thoại: {}", words[i + 1]));
                    i += 2;
                }
                "scan" if i + 2 < words.len() => {
                    out.push(format!(
                        "bản chụp CMND/CCCD: tệp {}, {} byte",
                        words[i + 1].to_uppercase(),
                        words[i + 2]
                    ));
                    i += 3;
                    if words.get(i) == Some(&"B") {
                        i += 1;
                    }
                }
                other => {
                    out.push(other.to_string());
                    i += 1;
                }
            }
        }
        return out.join("; ");
    }
    d.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(id: u64) -> Option<String> {
        (id == 5).then(|| "Bộ phận một cửa UBND huyện Văn Lâm".to_string())
    }

    /// Every action code written anywhere in `src/` has a label.
    #[test]
    fn every_recorded_action_has_a_label() {
        let mut missing = vec![];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if p.extension().is_none_or(|x| x != "rs") || p.ends_with("audit_labels.rs") {
                    continue;
                }
                let src = std::fs::read_to_string(&p).unwrap();
                for lit in src.split('"').skip(1).step_by(2) {
                    let looks_like_action = lit.len() > 4
                        && lit
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                        && (lit.starts_with("citizen_")
                            || lit.starts_with("access_request_")
                            || lit.starts_with("support.")
                            || lit.ends_with("_superadmin")
                            || lit.contains("staff_login")
                            || lit.starts_with("password_")
                            || lit.starts_with("self_register")
                            || lit.starts_with("unit_")
                            || lit.starts_with("units_")
                            || lit == "staff_create"
                            || lit == "grants_set");
                    if looks_like_action
                        && src.contains("audit")
                        && !ACTIONS.iter().any(|(c, _)| *c == lit)
                    {
                        missing.push(format!("{}: {lit}", p.display()));
                    }
                }
            }
        }
        // Literals that share a prefix but are not audit actions.
        missing.retain(|m| {
            ![
                "password_confirm",
                "password_hash",
                "citizen_accounts",
                "sign_ins",
                "unit_id",
                "unit_ids",
                "citizen_account",
                "units_seeded",
                "staff_login",
            ]
            .iter()
            .any(|x| m.ends_with(&format!(": {x}")))
        });
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
    }

    #[test]
    fn details_read_as_sentences() {
        assert_eq!(
            detail(
                "citizen_request_create",
                "unit:5 phone 098*****12 scan pdf 606 B",
                &names
            ),
            "Đơn vị: Bộ phận một cửa UBND huyện Văn Lâm; số điện thoại: 098*****12; bản chụp CMND/CCCD: tệp PDF, 606 byte"
        );
        assert_eq!(
            detail(
                "grants_set",
                "unit:5 [citizen_accounts.create,support.manage]",
                &names
            ),
            "Đơn vị: Bộ phận một cửa UBND huyện Văn Lâm; quyền: Quyền tạo tài khoản công dân, Quản lý yêu cầu hỗ trợ"
        );
        assert_eq!(
            detail(
                "console_sign_in_link",
                "one-time link from the server terminal",
                &names
            ),
            "Liên kết dùng một lần tạo trên máy chủ"
        );
        assert_eq!(detail("units_import", "12 rows", &names), "12 dòng");
        assert_eq!(object("unit:9", &names), "đơn vị #9");
        assert_eq!(object("staff:canbo", &names), "Cán bộ canbo");
        assert_eq!(action("citizen_account_create"), "Tạo tài khoản công dân");
    }
}

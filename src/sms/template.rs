//! Message templates: every SMS the system sends comes from one of the
//! templates below, which the province admin may edit in the console
//! (Quản trị hệ thống → Mẫu tin nhắn). Pure rules, no I/O: the list of
//! templates and their defaults (today's texts), the placeholders each may
//! use and must keep, rendering, and what a text costs. Storage is
//! `store::sms_templates`; sending is `sms::queue`.
//!
//! A placeholder is a lower-case name in braces (`{ma_otp}`). A template
//! may use only the placeholders listed for it, and must keep the ones it
//! cannot work without (an OTP template without `{ma_otp}` would send no
//! code): such a text is refused and nothing changes. Values are put in
//! once, left to right: a value that itself contains braces (a rejection
//! reason, say) is never expanded again.

use std::collections::BTreeMap;

use super::text::{self, Cost};

/// Who caused a message. Past the day's SMS budget
/// (`MOTCUA_SMS_DAILY_LIMIT`) only staff-initiated messages go out; see
/// [`super::budget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Initiator {
    /// Queued before the mark existed (schema 2 and older).
    #[default]
    Unknown,
    /// A staff member's action: a code or password issued at the counter,
    /// a console sign-in, an access-request decision.
    Staff,
    /// A citizen's own request on the portal: registration, sign-in,
    /// password reset (and the notices those send).
    Citizen,
}

impl Initiator {
    pub fn label_vi(self) -> &'static str {
        match self {
            Initiator::Unknown => "—",
            Initiator::Staff => "Cán bộ",
            Initiator::Citizen => "Công dân",
        }
    }
}

/// One placeholder: its name (without braces), what it stands for, and a
/// value for previews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    pub name: &'static str,
    pub label: &'static str,
    pub sample: &'static str,
}

pub const MA_OTP: Placeholder = Placeholder {
    name: "ma_otp",
    label: "Mã OTP gồm 6 chữ số",
    sample: "123456",
};
pub const PHUT: Placeholder = Placeholder {
    name: "phut",
    label: "Số phút mã OTP còn hiệu lực",
    sample: "2",
};
pub const MAT_KHAU: Placeholder = Placeholder {
    name: "mat_khau",
    label: "Mật khẩu do hệ thống cấp (12 ký tự)",
    sample: "Hq7#mT2p@kWz",
};
pub const TEN_DON_VI: Placeholder = Placeholder {
    name: "ten_don_vi",
    label: "Tên đơn vị",
    sample: "Trung tâm Phục vụ hành chính công",
};
pub const SO_TONG_DAI: Placeholder = Placeholder {
    name: "so_tong_dai",
    label: "Số điện thoại hỗ trợ của đơn vị",
    sample: "0221.3856789",
};
pub const DIA_CHI: Placeholder = Placeholder {
    name: "dia_chi",
    label: "Địa chỉ trang web của hệ thống",
    sample: "https://dichvucong.example.vn",
};
pub const HO_TEN: Placeholder = Placeholder {
    name: "ho_ten",
    label: "Họ và tên người nhận",
    sample: "Nguyễn Thị Minh Khai",
};
pub const TEN_DANG_NHAP: Placeholder = Placeholder {
    name: "ten_dang_nhap",
    label: "Tên đăng nhập",
    sample: "033301004567",
};
pub const THOI_GIAN: Placeholder = Placeholder {
    name: "thoi_gian",
    label: "Thời điểm (giờ:phút ngày/tháng/năm)",
    sample: "26/11/2026 08:30",
};
pub const QUYEN: Placeholder = Placeholder {
    name: "quyen",
    label: "Các quyền được cấp",
    sample: "Quyền tạo tài khoản công dân",
};
pub const LY_DO: Placeholder = Placeholder {
    name: "ly_do",
    label: "Lý do từ chối",
    sample: "Chưa có quyết định phân công công tác",
};

/// Every placeholder any template may use (for the editor's help).
pub const ALL_PLACEHOLDERS: &[Placeholder] = &[
    MA_OTP,
    PHUT,
    MAT_KHAU,
    TEN_DON_VI,
    SO_TONG_DAI,
    DIA_CHI,
    HO_TEN,
    TEN_DANG_NHAP,
    THOI_GIAN,
    QUYEN,
    LY_DO,
];

/// The templates: one per message the system sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Id {
    /// OTP of a self-registration on the portal.
    OtpRegistration,
    /// OTP of a password reset on the portal.
    OtpPasswordReset,
    /// OTP of a portal sign-in.
    OtpPortalSignIn,
    /// OTP of a console (staff) sign-in.
    OtpConsoleSignIn,
    /// OTP sent at the counter while staff create a citizen's account.
    OtpCounter,
    /// The password of an account created at the counter.
    CitizenPassword,
    /// The temporary password of a staff member created by an admin.
    StaffPassword,
    /// An access request approved.
    AccessApproved,
    /// An access request rejected.
    AccessRejected,
    /// Someone tried to register with the ID number of an existing account.
    ExistingAccount,
    /// A password was reset on the portal.
    PasswordResetDone,
}

/// A template's fixed facts.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub id: Id,
    /// Stable key (storage, URLs, audit).
    pub key: &'static str,
    /// Vietnamese name in the editor.
    pub name: &'static str,
    /// When it is sent, for the editor.
    pub when: &'static str,
    /// Today's text.
    pub default_text: &'static str,
    /// Placeholders the text must keep.
    pub required: &'static [Placeholder],
    /// Further placeholders it may use.
    pub optional: &'static [Placeholder],
    /// `otp`, `password` or `notice`: statistics, and which texts are
    /// scrubbed once sent.
    pub kind: &'static str,
    /// Who causes it.
    pub initiator: Initiator,
}

const OTP_OPTIONAL: &[Placeholder] = &[PHUT, TEN_DON_VI, SO_TONG_DAI, DIA_CHI];

#[cfg(test)]
const OTP_TAIL: &str =
    "là {ma_otp}, có hiệu lực trong {phut} phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.";

pub const DEFS: &[Def] = &[
    Def {
        id: Id::OtpRegistration,
        key: "otp-dang-ky",
        name: "Mã OTP đăng ký tài khoản",
        when: "Công dân tự đăng ký tài khoản trên Cổng (thuê bao di động).",
        default_text: "Mã OTP đăng ký tài khoản là {ma_otp}, có hiệu lực trong {phut} phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.",
        required: &[MA_OTP],
        optional: OTP_OPTIONAL,
        kind: "otp",
        initiator: Initiator::Citizen,
    },
    Def {
        id: Id::OtpPasswordReset,
        key: "otp-quen-mat-khau",
        name: "Mã OTP lấy lại mật khẩu",
        when: "Công dân dùng chức năng Quên mật khẩu.",
        default_text: "Mã OTP đặt lại mật khẩu là {ma_otp}, có hiệu lực trong {phut} phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.",
        required: &[MA_OTP],
        optional: OTP_OPTIONAL,
        kind: "otp",
        initiator: Initiator::Citizen,
    },
    Def {
        id: Id::OtpPortalSignIn,
        key: "otp-dang-nhap",
        name: "Mã OTP đăng nhập Cổng",
        when: "Công dân đăng nhập Cổng Dịch vụ công.",
        default_text: "Mã OTP đăng nhập là {ma_otp}, có hiệu lực trong {phut} phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.",
        required: &[MA_OTP],
        optional: OTP_OPTIONAL,
        kind: "otp",
        initiator: Initiator::Citizen,
    },
    Def {
        id: Id::OtpConsoleSignIn,
        key: "otp-dang-nhap-quan-tri",
        name: "Mã OTP đăng nhập trang quản trị",
        when: "Cán bộ đăng nhập trang quản trị.",
        default_text: "Mã OTP đăng nhập là {ma_otp}, có hiệu lực trong {phut} phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.",
        required: &[MA_OTP],
        optional: OTP_OPTIONAL,
        kind: "otp",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::OtpCounter,
        key: "otp-tao-tai-khoan",
        name: "Mã OTP tạo tài khoản tại bộ phận một cửa",
        when: "Cán bộ một cửa chọn [Gửi mã OTP] khi tạo tài khoản cho công dân.",
        default_text: "Mã OTP tạo tài khoản Cổng Dịch vụ công quốc gia của Ông/Bà là {ma_otp}, hiệu lực {phut} phút. Chỉ đọc mã này cho cán bộ một cửa đang làm thủ tục cho Ông/Bà.",
        required: &[MA_OTP],
        optional: OTP_OPTIONAL,
        kind: "otp",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::CitizenPassword,
        key: "mat-khau-cong-dan",
        name: "Mật khẩu tài khoản công dân do cán bộ tạo",
        when: "Cán bộ một cửa chọn [Tạo tài khoản] sau khi nhập đúng mã OTP.",
        default_text: "Tài khoản Cổng Dịch vụ công quốc gia của Ông/Bà {ho_ten} đã được tạo.\nTên đăng nhập: {ten_dang_nhap}\nMật khẩu: {mat_khau}\nVui lòng đăng nhập tại {dia_chi} và đổi mật khẩu ngay ở lần đăng nhập đầu tiên.",
        required: &[MAT_KHAU],
        optional: &[HO_TEN, TEN_DANG_NHAP, TEN_DON_VI, SO_TONG_DAI, DIA_CHI],
        kind: "password",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::StaffPassword,
        key: "mat-khau-can-bo",
        name: "Mật khẩu tạm thời của cán bộ",
        when: "Quản trị viên thêm cán bộ mới.",
        default_text: "Tài khoản cán bộ của anh/chị đã được tạo. Tên đăng nhập: {ten_dang_nhap}. Mật khẩu tạm thời: {mat_khau}. Vui lòng đăng nhập tại {dia_chi}/quan-tri và đổi mật khẩu ngay.",
        required: &[TEN_DANG_NHAP, MAT_KHAU],
        optional: &[HO_TEN, TEN_DON_VI, SO_TONG_DAI, DIA_CHI],
        kind: "password",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::AccessApproved,
        key: "cap-quyen-duyet",
        name: "Đề nghị cấp quyền được duyệt",
        when: "Quản trị viên duyệt đề nghị cấp quyền cán bộ.",
        default_text: "Đề nghị cấp quyền cán bộ tại {ten_don_vi} đã được duyệt ({quyen}). Anh/chị đăng nhập trang quản trị {dia_chi}/quan-tri bằng tài khoản Cổng Dịch vụ công của mình.",
        required: &[TEN_DON_VI],
        optional: &[QUYEN, HO_TEN, SO_TONG_DAI, DIA_CHI],
        kind: "notice",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::AccessRejected,
        key: "cap-quyen-tu-choi",
        name: "Đề nghị cấp quyền bị từ chối",
        when: "Quản trị viên từ chối đề nghị cấp quyền cán bộ.",
        default_text: "Đề nghị cấp quyền cán bộ tại {ten_don_vi} chưa được chấp thuận. Lý do: {ly_do}",
        required: &[TEN_DON_VI, LY_DO],
        optional: &[HO_TEN, SO_TONG_DAI, DIA_CHI],
        kind: "notice",
        initiator: Initiator::Staff,
    },
    Def {
        id: Id::ExistingAccount,
        key: "da-co-tai-khoan",
        name: "Báo số CMND/CCCD đã có tài khoản",
        when: "Có người đăng ký mới bằng số CMND/CCCD đã có tài khoản (gửi tới số điện thoại của tài khoản đó).",
        default_text: "Số CMND/CCCD của anh/chị đã có tài khoản trên Cổng Dịch vụ công. Lúc {thoi_gian} có người vừa yêu cầu đăng ký mới với số này. Nếu quên mật khẩu, vui lòng dùng chức năng Quên mật khẩu tại {dia_chi}/quen-mat-khau. Nếu không phải anh/chị, vui lòng bỏ qua tin nhắn này.",
        required: &[],
        optional: &[THOI_GIAN, TEN_DON_VI, SO_TONG_DAI, DIA_CHI],
        kind: "notice",
        initiator: Initiator::Citizen,
    },
    Def {
        id: Id::PasswordResetDone,
        key: "da-dat-lai-mat-khau",
        name: "Báo mật khẩu đã được đặt lại",
        when: "Công dân đặt mật khẩu mới bằng chức năng Quên mật khẩu.",
        default_text: "Mật khẩu tài khoản Cổng Dịch vụ công của anh/chị đã được đặt lại lúc {thoi_gian}. Các phiên đăng nhập cũ đã kết thúc. Nếu không phải anh/chị thực hiện, vui lòng liên hệ ngay {ten_don_vi} (điện thoại {so_tong_dai}).",
        required: &[],
        optional: &[THOI_GIAN, TEN_DON_VI, SO_TONG_DAI, DIA_CHI],
        kind: "notice",
        initiator: Initiator::Citizen,
    },
];

impl Id {
    pub fn def(self) -> &'static Def {
        DEFS.iter()
            .find(|d| d.id == self)
            .unwrap_or_else(|| unreachable!("every Id has a Def"))
    }

    pub fn from_key(key: &str) -> Option<Id> {
        DEFS.iter().find(|d| d.key == key).map(|d| d.id)
    }
}

impl Def {
    /// Every placeholder this template may use: required first.
    pub fn allowed(&self) -> impl Iterator<Item = &'static Placeholder> {
        self.required.iter().chain(self.optional.iter())
    }

    /// Values for a preview: each placeholder's sample, with the office's
    /// own values where the caller knows them.
    pub fn sample_vars(&self, office: &Vars) -> Vars {
        let mut v = Vars::new();
        for p in self.allowed() {
            let value = office.get(p.name).unwrap_or(p.sample);
            v.set(p.name, value);
        }
        v
    }
}

/// Placeholder values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<&'static str, String>);

impl Vars {
    pub fn new() -> Vars {
        Vars::default()
    }

    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Vars {
        self.0.insert(name, value.into());
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Vars {
        self.set(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// One piece of a template text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// Why a text is not a usable template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong {
        max: usize,
    },
    /// A `{` or `}` that does not make a placeholder.
    StrayBrace,
    /// A placeholder this template cannot use.
    Unknown {
        name: String,
    },
    /// A placeholder this template must keep.
    Missing {
        placeholder: Placeholder,
    },
}

impl Problem {
    /// A clear Vietnamese message for the editor.
    pub fn message(&self, def: &Def) -> String {
        let list = def
            .allowed()
            .map(|p| format!("{{{}}}", p.name))
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            Problem::Empty => "Vui lòng nhập nội dung mẫu tin nhắn.".into(),
            Problem::TooLong { max } => {
                format!("Mẫu tin nhắn dài tối đa {max} ký tự. Vui lòng rút gọn nội dung.")
            }
            Problem::StrayBrace => format!(
                "Dấu ngoặc nhọn {{ }} chỉ dùng để viết chỗ điền, ví dụ {{ma_otp}}. Các chỗ điền dùng được trong mẫu này: {list}."
            ),
            Problem::Unknown { name } => format!(
                "Chỗ điền {{{name}}} không dùng được trong mẫu này. Các chỗ điền dùng được: {list}."
            ),
            Problem::Missing { placeholder } => format!(
                "Mẫu tin nhắn phải có chỗ điền {{{}}} ({}). Mẫu thiếu chỗ điền này chưa được lưu; nội dung cũ vẫn được dùng.",
                placeholder.name,
                lower_first(placeholder.label)
            ),
        }
    }
}

/// "Mã OTP …" → "mã OTP …" (inside a sentence; acronyms kept).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The longest template text, in characters.
pub const MAX_CHARS: usize = 480;

/// Splits a text into literal pieces and placeholders; `None` when a
/// brace does not make a placeholder (`{name}`, name in `a-z_`).
fn pieces(text: &str) -> Option<Vec<Piece<'_>>> {
    let mut out = vec![];
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                out.push(Piece::Text(rest));
                break;
            }
            Some(i) => {
                if i > 0 {
                    out.push(Piece::Text(&rest[..i]));
                }
                if rest[i..].starts_with('}') {
                    return None;
                }
                let after = &rest[i + 1..];
                let end = after.find('}')?;
                let name = &after[..end];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return None;
                }
                out.push(Piece::Slot(name));
                rest = &after[end + 1..];
            }
        }
    }
    Some(out)
}

/// A template text as the editor sends it: line ends made `\n`, spaces
/// at both ends removed.
pub fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

/// Checks a (normalised) text for template `def`: the first problem, if any.
pub fn check(def: &Def, text: &str) -> Result<(), Problem> {
    if text.trim().is_empty() {
        return Err(Problem::Empty);
    }
    if text.chars().count() > MAX_CHARS {
        return Err(Problem::TooLong { max: MAX_CHARS });
    }
    let ps = pieces(text).ok_or(Problem::StrayBrace)?;
    for p in &ps {
        if let Piece::Slot(name) = p
            && !def.allowed().any(|a| a.name == *name)
        {
            return Err(Problem::Unknown {
                name: (*name).to_string(),
            });
        }
    }
    for r in def.required {
        if !ps.contains(&Piece::Slot(r.name)) {
            return Err(Problem::Missing { placeholder: *r });
        }
    }
    Ok(())
}

/// Fills the placeholders of `text` with `vars`, once, left to right. A
/// placeholder without a value (or a text that is not a valid template)
/// is left as written.
pub fn render(text: &str, vars: &Vars) -> String {
    let Some(ps) = pieces(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + 32);
    for p in ps {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(name) => match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// The text as it goes out: rendered, and unaccented when this template's
/// "bỏ dấu" switch is on or unicode is off for the whole deployment.
pub fn outgoing(text: &str, vars: &Vars, unaccent: bool, unicode: bool) -> String {
    let rendered = render(text, vars);
    text::for_sending(&rendered, unicode && !unaccent)
}

/// A preview for the editor: the text as sent with the sample values, and
/// its cost (characters, GSM-7 or UCS-2, segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub text: String,
    pub cost: Cost,
}

pub fn preview(text: &str, vars: &Vars, unaccent: bool, unicode: bool) -> Preview {
    let out = outgoing(text, vars, unaccent, unicode);
    let cost = text::cost(&out);
    Preview { text: out, cost }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::text::Encoding;

    fn otp_vars() -> Vars {
        Vars::new().with("ma_otp", "654321").with("phut", "2")
    }

    #[test]
    fn every_default_is_a_valid_template_and_keys_are_unique() {
        for d in DEFS {
            assert_eq!(check(d, d.default_text), Ok(()), "{}", d.key);
            assert_eq!(Id::from_key(d.key), Some(d.id));
            assert_eq!(d.id.def().key, d.key);
            assert_eq!(DEFS.iter().filter(|x| x.key == d.key).count(), 1);
            assert!(matches!(d.kind, "otp" | "password" | "notice"));
            assert_ne!(d.initiator, Initiator::Unknown);
        }
    }

    #[test]
    fn defaults_are_todays_texts() {
        // The OTP texts of flows::otp_flow before templates existed.
        let old = |purpose: &str, code: &str| {
            format!(
                "Mã OTP {purpose} là {code}, có hiệu lực trong 2 phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai."
            )
        };
        for (id, purpose) in [
            (Id::OtpRegistration, "đăng ký tài khoản"),
            (Id::OtpPasswordReset, "đặt lại mật khẩu"),
            (Id::OtpPortalSignIn, "đăng nhập"),
            (Id::OtpConsoleSignIn, "đăng nhập"),
        ] {
            assert_eq!(
                render(id.def().default_text, &otp_vars()),
                old(purpose, "654321")
            );
            assert!(id.def().default_text.ends_with(OTP_TAIL));
        }
        let v = Vars::new()
            .with("ten_dang_nhap", "motcua.vl")
            .with("mat_khau", "Ab#12345xyzQ")
            .with("dia_chi", "https://dvc.example.vn");
        assert_eq!(
            render(Id::StaffPassword.def().default_text, &v),
            "Tài khoản cán bộ của anh/chị đã được tạo. Tên đăng nhập: motcua.vl. Mật khẩu tạm thời: Ab#12345xyzQ. Vui lòng đăng nhập tại https://dvc.example.vn/quan-tri và đổi mật khẩu ngay."
        );
    }

    #[test]
    fn an_otp_template_without_its_code_is_refused() {
        let d = Id::OtpRegistration.def();
        let e = check(d, "Ma OTP cua ban, hieu luc {phut} phut.").unwrap_err();
        assert_eq!(
            e,
            Problem::Missing {
                placeholder: MA_OTP
            }
        );
        let msg = e.message(d);
        assert!(msg.contains("{ma_otp}"), "{msg}");
        assert!(msg.contains("chưa được lưu"), "{msg}");
        assert!(msg.contains("(mã OTP gồm 6 chữ số)"), "{msg}");
        assert_eq!(check(d, "Ma OTP: {ma_otp}"), Ok(()));
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused() {
        let d = Id::OtpCounter.def();
        assert_eq!(
            check(d, "{ma_otp} {mat_khau}"),
            Err(Problem::Unknown {
                name: "mat_khau".into()
            })
        );
        assert_eq!(check(d, "{ma_otp} {"), Err(Problem::StrayBrace));
        assert_eq!(check(d, "{ma_otp} }"), Err(Problem::StrayBrace));
        assert_eq!(check(d, "{MA_OTP}"), Err(Problem::StrayBrace));
        assert_eq!(check(d, "{ma otp}"), Err(Problem::StrayBrace));
        assert_eq!(check(d, "   "), Err(Problem::Empty));
        assert_eq!(
            check(d, &format!("{{ma_otp}}{}", "a".repeat(MAX_CHARS))),
            Err(Problem::TooLong { max: MAX_CHARS })
        );
        let both_required = Id::StaffPassword.def();
        assert_eq!(
            check(both_required, "Mat khau: {mat_khau}"),
            Err(Problem::Missing {
                placeholder: TEN_DANG_NHAP
            })
        );
    }

    #[test]
    fn rendering_fills_once_left_to_right() {
        let v = Vars::new()
            .with("ten_don_vi", "UBND {ma_otp}")
            .with("ly_do", "thiếu {ten_don_vi}");
        assert_eq!(
            render("{ten_don_vi}: {ly_do}", &v),
            "UBND {ma_otp}: thiếu {ten_don_vi}"
        );
        assert_eq!(render("{khong_co} x", &v), "{khong_co} x");
        assert_eq!(render("a { b", &v), "a { b");
        assert_eq!(normalize("  a\r\nb\rc \n"), "a\nb\nc");
    }

    #[test]
    fn preview_counts_segments_and_the_unaccent_switch() {
        let d = Id::OtpRegistration.def();
        let vars = d.sample_vars(&Vars::new());
        let p = preview(d.default_text, &vars, false, true);
        assert_eq!(p.cost.encoding, Encoding::Ucs2);
        assert_eq!(p.cost.segments, 2, "today's OTP with diacritics");
        // "bỏ dấu" on this template only, or unicode off everywhere.
        let p = preview(d.default_text, &vars, true, true);
        assert_eq!(p.cost.encoding, Encoding::Gsm7);
        assert_eq!(p.cost.segments, 1);
        assert!(p.text.starts_with("Ma OTP dang ky tai khoan la 123456"));
        assert_eq!(preview(d.default_text, &vars, false, false), p);
        // GSM-7 extension characters count two.
        let p = preview("{ma_otp} [x]", &vars, false, true);
        assert_eq!(p.cost.units, 6 + 1 + 2 + 1 + 2);
    }

    #[test]
    fn sample_vars_prefer_the_offices_values() {
        let d = Id::PasswordResetDone.def();
        let office = Vars::new().with("so_tong_dai", "1900 1234");
        let v = d.sample_vars(&office);
        assert_eq!(v.get("so_tong_dai"), Some("1900 1234"));
        assert_eq!(v.get("ten_don_vi"), Some(TEN_DON_VI.sample));
        assert_eq!(v.get("ma_otp"), None, "not a placeholder of this template");
    }
}

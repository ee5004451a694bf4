//! Typed page contexts. Every page template has one struct that implements
//! [`Page`]: the handler must build the whole struct, so it cannot forget a
//! value its template reads, and the unit tests below check every template
//! against its struct (every name and struct path it reads, statically, in
//! every branch; then a render of its default and samples), so a template
//! cannot read a value its struct lacks.
//!
//! A page is rendered as three layers merged into one context: the page's
//! own struct, the area's frame ([`ConsoleShell`] / [`PortalShell`]) and
//! [`Base`] (CSRF token, captcha warning, the office).

use poem::Request;
use poem::http::StatusCode;
use serde::Serialize;

use crate::app::App;

/// A page template and the values it reads.
pub trait Page: Serialize {
    /// The template's name under `web/templates/`.
    const TEMPLATE: &'static str;

    /// Whether the test renders the default value (false for pages of
    /// opaque [`Val`] fields, which are checked by name).
    const RENDER_DEFAULT: bool = true;

    /// Filled examples for the render-every-template test (the default one
    /// is always rendered too). Fill every `Option` and give every list an
    /// element, so that each branch of the template is rendered once.
    fn samples() -> Vec<Self>
    where
        Self: Sized,
    {
        Vec::new()
    }
}

/// A nested value a page passes through as it is (a list of rows, a
/// record): the page's struct names it, so the template cannot read a
/// top-level name the handler did not give. Empty (a map with no keys) by
/// default; the template test does not look inside an empty one.
#[derive(Serialize, Clone, Debug)]
#[serde(transparent)]
pub struct Val(pub minijinja::Value);

impl Default for Val {
    fn default() -> Self {
        Val(minijinja::Value::from(std::collections::BTreeMap::<
            String,
            String,
        >::new()))
    }
}

/// Field messages of a form that failed validation (an open map: a field
/// without an error has no key).
pub type Fields = std::collections::BTreeMap<String, String>;

/// Declares a page: its struct (every value its template reads) and its
/// template. `samples` (optional) are filled examples for the test.
#[macro_export]
macro_rules! page_type {
    ($(#[$m:meta])* $name:ident = $tmpl:literal { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(serde::Serialize, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl $crate::web::view::Page for $name {
            const TEMPLATE: &'static str = $tmpl;
            const RENDER_DEFAULT: bool = false;
        }
    };
}

/// Declares an area's `MessagePage`, rendered with template `$tmpl`: a
/// heading, a sentence and a way on (error pages and confirmations).
#[macro_export]
macro_rules! message_page {
    ($tmpl:literal) => {
        /// A heading, a sentence and a way on (error pages and confirmations).
        #[derive(serde::Serialize, Default)]
        pub struct MessagePage {
            pub heading: String,
            pub message: String,
            pub link: Option<String>,
            pub link_text: String,
        }

        impl $crate::web::view::Page for MessagePage {
            const TEMPLATE: &'static str = $tmpl;
            fn samples() -> Vec<Self> {
                vec![MessagePage {
                    heading: "Không tìm thấy trang".into(),
                    message: "Trang không tồn tại.".into(),
                    link: Some("/".into()),
                    link_text: "Về trang chủ".into(),
                }]
            }
        }
    };
}

/// Builds a page struct declared with [`page_type!`] whose fields are
/// [`Val`]: every field must be given (the compiler checks), each value
/// converted as `minijinja::context!` would.
#[macro_export]
macro_rules! page_ctx {
    ($name:ident { $($k:ident => $e:expr),* $(,)? }) => {
        $name { $($k: $crate::web::view::Val(minijinja::Value::from($e))),* }
    };
}

/// What every page reads, whatever its area.
#[derive(Serialize, Default, Clone)]
pub struct Base {
    pub csrf: String,
    pub captcha_off: bool,
    pub office: Office,
    /// The confirmation of the action that redirected here (`?ok=…`).
    pub saved: Option<String>,
}

#[derive(Serialize, Default, Clone)]
pub struct Office {
    pub name: String,
    pub phone: String,
    pub email: String,
}

impl Base {
    pub fn of(app: &App, csrf: String) -> Base {
        Base {
            saved: None,
            csrf,
            captcha_off: !app.cfg.captcha,
            office: Office {
                name: app.cfg.office_name.clone(),
                phone: app.cfg.office_phone.clone(),
                email: app.cfg.office_email.clone(),
            },
        }
    }
}

/// The console's frame: who is signed in, the menu they may see, badges.
#[derive(Serialize, Default, Clone)]
pub struct ConsoleShell {
    pub title: String,
    pub nav: String,
    /// A confirmation (or warning) shown above the page's content.
    pub flash: Option<String>,
    /// `ok` (default), `warn` or `error`.
    pub flash_kind: Option<String>,
    pub me: Option<ConsoleMe>,
    pub can: Option<ConsoleCan>,
    pub counts: ConsoleCounts,
}

#[derive(Serialize, Default, Clone)]
pub struct ConsoleMe {
    pub full_name: String,
    pub username: String,
    pub superadmin: bool,
}

#[derive(Serialize, Default, Clone)]
pub struct ConsoleCan {
    pub superadmin: bool,
    pub users: bool,
    pub stats: bool,
    pub units: bool,
    pub support: bool,
    pub survey: bool,
    /// May edit the bot's knowledge base (`support.manage` at the province).
    pub faq: bool,
}

#[derive(Serialize, Default, Clone)]
pub struct ConsoleCounts {
    pub access: usize,
    pub support: usize,
}

/// The portal's frame.
#[derive(Serialize, Default, Clone)]
pub struct PortalShell {
    pub title: String,
    pub me: Option<PortalMe>,
}

#[derive(Serialize, Default, Clone)]
pub struct PortalMe {
    pub full_name: String,
}

/// Confirmations after a form redirected back (`?ok=<what>`): the page
/// says what was saved.
pub const SAVED: &[(&str, &str)] = &[
    ("phan-quyen", "Đã lưu phân quyền cho cán bộ."),
    (
        "duyet",
        "Đã duyệt và cấp quyền. Người đề nghị sẽ nhận tin nhắn SMS thông báo.",
    ),
    (
        "tu-choi",
        "Đã từ chối đề nghị. Người đề nghị sẽ nhận tin nhắn SMS kèm lý do.",
    ),
    (
        "can-bo-moi",
        "Đã thêm cán bộ. Mật khẩu tạm thời đã được gửi tới số điện thoại của cán bộ qua SMS.",
    ),
    ("don-vi", "Đã lưu đơn vị."),
    (
        "mau-tin-nhan",
        "Đã lưu mẫu tin nhắn. Các tin nhắn gửi từ bây giờ dùng nội dung mới.",
    ),
    (
        "mau-tin-nhan-mac-dinh",
        "Đã khôi phục nội dung mặc định của mẫu tin nhắn.",
    ),
];

/// The confirmation named by the request's `ok` parameter, if any.
pub fn saved_notice(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    let (_, what) = pairs.into_iter().find(|(k, _)| k == "ok")?;
    SAVED
        .iter()
        .find(|(k, _)| *k == what)
        .map(|(_, m)| (*m).to_string())
}

/// The merged context of a page: its own values, its frame and [`Base`].
pub fn context<S: Serialize, P: Page>(base: &Base, shell: &S, page: &P) -> minijinja::Value {
    minijinja::value::merge_maps([
        minijinja::Value::from(minijinja::value::Serde(page)),
        minijinja::Value::from(minijinja::value::Serde(shell)),
        minijinja::Value::from(minijinja::value::Serde(base)),
    ])
}

/// Renders `page` in its frame with the request's CSRF token.
pub fn render<S: Serialize, P: Page>(
    app: &App,
    req: &Request,
    status: StatusCode,
    shell: &S,
    page: &P,
) -> poem::Response {
    super::ctx::render_with(app, req, P::TEMPLATE, status, |csrf| {
        let mut base = Base::of(app, csrf);
        base.saved = saved_notice(req);
        context(&base, shell, page)
    })
}

#[cfg(test)]
pub mod check {
    //! The test that renders every template from its struct.

    use std::collections::BTreeSet;

    use minijinja::value::{Value, ValueKind};
    use minijinja::{Environment, UndefinedBehavior};

    use super::*;

    /// One registered page: its template, and its contexts (default +
    /// samples) already merged with a sample frame.
    pub struct Registered {
        pub template: &'static str,
        pub contexts: Vec<Value>,
        /// The first context that is also rendered.
        pub render_from: usize,
    }

    /// Registers a page type, rendered in the frame `S::default()` and a
    /// signed-in frame `signed_in`.
    pub fn register<P: Page + Default, S: Serialize + Default>(signed_in: S) -> Registered {
        let base = Base {
            saved: Some("Đã lưu.".into()),
            csrf: "x".repeat(43),
            captcha_off: true,
            office: Office {
                name: "Trung tâm".into(),
                phone: "1900".into(),
                email: "a@b.vn".into(),
            },
        };
        let mut pages = vec![P::default()];
        pages.extend(P::samples());
        let mut contexts = Vec::new();
        for p in &pages {
            contexts.push(context(&base, &S::default(), p));
            contexts.push(context(&base, &signed_in, p));
        }
        Registered {
            template: P::TEMPLATE,
            contexts,
            // A page of `Val` fields has empty defaults that a template
            // cannot compute with: checked by name only.
            render_from: if P::RENDER_DEFAULT { 0 } else { 2 },
        }
    }

    /// Names every global the environment defines (functions, tests).
    const GLOBALS: &[&str] = &[
        "range",
        "dict",
        "namespace",
        "debug",
        "loop",
        "self",
        "super",
        "caller",
        "varargs",
        "kwargs",
        "none",
        "true",
        "false",
    ];

    /// Maps with open keys (a field's message, present only on error).
    const OPEN_MAPS: &[&str] = &["fields"];

    /// Templates reached from `name` through extends/include/import.
    fn reached(name: &str, out: &mut BTreeSet<String>) {
        if !out.insert(name.to_string()) {
            return;
        }
        let Some(src) = super::super::templates::source(name) else {
            return;
        };
        for kw in ["extends", "include", "import", "from"] {
            let mut rest = src.as_str();
            while let Some(i) = rest.find(&format!("{kw} \"")) {
                rest = &rest[i + kw.len() + 2..];
                if let Some(end) = rest.find('"') {
                    reached(&rest[..end], out);
                }
            }
        }
    }

    /// Whether `path` (`a.b.c`) can be read in `v` as far as `v` has maps.
    fn readable(v: &Value, path: &[&str]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return true;
        };
        match v.kind() {
            // An empty map is opaque (a `Val` default, an open map).
            ValueKind::Map if v.len() == Some(0) => true,
            ValueKind::Map => match v.get_attr(first) {
                Ok(x) if !x.is_undefined() => readable(&x, rest),
                _ => false,
            },
            // Lists, strings, none: the test stops at what it cannot see
            // into; the strict render checks those.
            _ => true,
        }
    }

    /// Checks one registered page; returns the problems found.
    pub fn problems(env: &Environment<'static>, r: &Registered) -> Vec<String> {
        let mut out = Vec::new();
        let mut names = BTreeSet::new();
        reached(r.template, &mut names);
        for t in &names {
            let tmpl = match env.get_template(t) {
                Ok(t) => t,
                Err(e) => {
                    out.push(format!("{t}: {e}"));
                    continue;
                }
            };
            let mut vars: Vec<String> = tmpl.undeclared_variables(true).into_iter().collect();
            vars.extend(tmpl.undeclared_variables(false));
            vars.sort();
            vars.dedup();
            for var in vars {
                let path: Vec<&str> = var.split('.').collect();
                if GLOBALS.contains(&path[0]) {
                    continue;
                }
                // The name itself must be in every context; a path inside
                // a struct must be readable in every context too, except
                // inside the open maps of OPEN_MAPS.
                let check: &[&str] = if OPEN_MAPS.contains(&path[0]) {
                    &path[..1]
                } else {
                    &path
                };
                if r.contexts.iter().any(|c| !readable(c, check)) {
                    out.push(format!(
                        "{} reads `{var}` (in {t}), which its struct does not have",
                        r.template
                    ));
                }
            }
        }
        // Lenient, not Strict: an open map's missing key (`fields.phone`)
        // is a normal "no message"; every other name was checked above.
        let mut lenient = env.clone();
        lenient.set_undefined_behavior(UndefinedBehavior::Lenient);
        for (i, c) in r.contexts.iter().enumerate().skip(r.render_from) {
            if let Err(e) = lenient
                .get_template(r.template)
                .and_then(|t| t.render(c.clone()))
            {
                out.push(format!("{} context #{i}: {e:#}", r.template));
            }
        }
        out
    }
}

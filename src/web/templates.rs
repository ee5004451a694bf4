//! Page templates (minijinja), embedded from `web/templates`.
//!
//! Each page template has a typed context (`super::view::Page`); the tests
//! here check every template against its struct. In production an
//! undefined value renders as empty (`Chainable`) rather than failing the
//! page; the tests check every name a template reads against its struct,
//! so such a value never ships.

use minijinja::{Environment, UndefinedBehavior};

#[derive(rust_embed::Embed)]
#[folder = "web/templates/"]
struct Files;

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// The source of template `name`.
pub fn source(name: &str) -> Option<String> {
    Files::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned())
}

/// The templates of this build (compiled once; they never change).
pub fn shared() -> &'static Templates {
    static T: std::sync::LazyLock<Templates> = std::sync::LazyLock::new(Templates::new);
    &T
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_loader(|name| Ok(source(name)));
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::view::check;

    #[test]
    fn every_template_compiles() {
        let t = Templates::new();
        for name in Files::iter() {
            t.env
                .get_template(&name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// Partials and frames: rendered as part of the pages that use them.
    fn is_partial(name: &str) -> bool {
        let file = name.rsplit('/').next().unwrap_or(name);
        file.starts_with('_') || file == "base.html"
    }

    #[test]
    fn every_page_template_renders_from_its_struct() {
        let t = Templates::new();
        let registered = crate::web::registered_pages();
        let mut problems = Vec::new();
        for name in Files::iter() {
            if is_partial(&name) {
                continue;
            }
            if !registered.iter().any(|r| r.template == name) {
                problems.push(format!("{name}: no typed context (view::Page) registered"));
            }
        }
        for r in &registered {
            problems.extend(check::problems(&t.env, r));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The check itself catches a template that reads a value its struct
    /// lacks (the bug class of the setup and password pages).
    #[test]
    fn check_catches_a_missing_value() {
        #[derive(serde::Serialize, Default)]
        struct Missing {
            error: Option<String>,
        }
        impl crate::web::view::Page for Missing {
            const TEMPLATE: &'static str = "console/setup.html";
        }
        let t = Templates::new();
        let r = check::register::<Missing, crate::web::view::ConsoleShell>(Default::default());
        let found = check::problems(&t.env, &r);
        assert!(found.iter().any(|p| p.contains("`fields")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("`form")), "{found:?}");
    }
}

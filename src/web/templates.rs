//! Page templates (minijinja), embedded from `web/templates`.

use minijinja::Environment;

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

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_loader(|name| {
            Ok(Files::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned()))
        });
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let t = Templates::new();
        for name in Files::iter() {
            t.env
                .get_template(&name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

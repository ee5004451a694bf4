//! A small W3C WebDriver client over reqwest, driving Debian's chromedriver
//! and headless Chromium. Enough for our page tests: navigate, find, type,
//! click, read, screenshot.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    reaped: bool,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium window of the given size.
    pub async fn start(width: u32, height: u32) -> Browser {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chrome_bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&driver_bin).exists(),
            "{driver_bin} is missing: install chromium and chromium-driver (see README), or set CHROMEDRIVER"
        );
        let port = crate::helpers::free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome_bin,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                    "--disable-dev-shm-usage", "--lang=vi",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let b = Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
            reaped: false,
        };
        b.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
        b
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let rb = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = rb.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url})).await;
    }

    /// Sets a cookie for the current page's site.
    pub async fn add_cookie(&self, name: &str, value: &str) {
        self.cmd(
            "POST",
            "/cookie",
            json!({"cookie": {"name": name, "value": value, "path": "/"}}),
        )
        .await;
    }

    pub async fn delete_cookies(&self) {
        self.cmd("DELETE", "/cookie", Value::Null).await;
    }

    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT_KEY].as_str().map(|s| Element(s.to_string()))
    }

    /// Finds an element, waiting up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        for _ in 0..100 {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "element {css} not found on {}; page:\n{}",
            self.url().await,
            self.source().await
        );
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{}/clear", e.0), json!({}))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    pub async fn select(&self, css: &str, option_text: &str) {
        let opts = self.find_all(&format!("{css} option")).await;
        for o in opts {
            let t = self
                .cmd("GET", &format!("/element/{}/text", o.0), Value::Null)
                .await;
            if t.as_str().unwrap_or("").contains(option_text) {
                self.cmd("POST", &format!("/element/{}/click", o.0), json!({}))
                    .await;
                return;
            }
        }
        panic!("no option {option_text} in {css}");
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{}/text", e.0), Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    pub async fn source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn exec(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Runs an async script: the last argument is the callback to call
    /// with the result.
    pub async fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Lets injected test scripts (axe-core) run despite the page's CSP:
    /// in this test browser only, through chromedriver's CDP passthrough.
    pub async fn bypass_csp(&self) {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": "Page.setBypassCSP", "params": {"enabled": true}}),
        )
        .await;
    }

    /// Opens a new tab and switches to it.
    pub async fn new_tab(&self) {
        let v = self
            .cmd("POST", "/window/new", json!({"type": "tab"}))
            .await;
        let handle = v["handle"].as_str().unwrap_or("").to_string();
        self.cmd("POST", "/window", json!({"handle": handle})).await;
    }

    /// Resizes the window.
    pub async fn set_size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// The browser's cookies for the current site, as a `Cookie` header.
    pub async fn cookie_header(&self) -> String {
        let v = self.cmd("GET", "/cookie", Value::Null).await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        format!(
                            "{}={}",
                            c["name"].as_str().unwrap_or(""),
                            c["value"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    /// Sets a file input's file (the path must exist on this machine).
    pub async fn upload(&self, css: &str, path: &std::path::Path) {
        let e = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({"text": path.display().to_string()}),
        )
        .await;
    }

    /// Waits until the body text contains `needle` (up to 10 s).
    pub async fn wait_text(&self, needle: &str) {
        for _ in 0..200 {
            if self.body_text().await.contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "text {needle:?} not on {}:\n{}",
            self.url().await,
            self.body_text().await
        );
    }

    /// Saves a PNG under target/screenshots/ and returns its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let p = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(p.parent().unwrap_or(&dir)).unwrap();
        std::fs::write(&p, &png).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        p
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        self.kill_group();
    }

    /// Stops chromedriver once (it ends its Chromium on a clean quit; a
    /// test that panics may leave a headless Chromium behind).
    fn kill_group(&mut self) {
        if self.reaped {
            return;
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.reaped = true;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_group();
    }
}

//! A thin wrapper over the `fantoccini` WebDriver client, driving Debian's
//! chromedriver and headless Chromium: it starts chromedriver on a free
//! port, opens a fresh headless window, and gives the page tests short,
//! panicking calls (navigate, find, type, click, read, screenshot).

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The Chromium flags of every test browser (window size and profile are
/// added per browser).
const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

pub struct Browser {
    driver: Child,
    client: Client,
    _profile: tempfile::TempDir,
    reaped: bool,
}

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
        // Its own process group, so that Chromium goes with it even when a
        // test panics before `quit`.
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chrome_bin, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                kill_group(&mut driver);
                panic!("no WebDriver session from {driver_bin} with {chrome_bin}: {e}");
            }
        };
        let b = Browser {
            driver,
            client,
            _profile: profile,
            reaped: false,
        };
        b.set_size(width, height).await;
        b
    }

    /// The underlying fantoccini client, for what the wrapper lacks.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Sets a cookie for the current page's site.
    pub async fn add_cookie(&self, name: &str, value: &str) {
        // fantoccini sends the domain (null when unset, which chromedriver
        // refuses) and SameSite (None when unset, which needs Secure).
        let url = self.url().await;
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| panic!("add cookie {name}: no site open ({url})"));
        let c = Cookie::parse(format!(
            "{name}={value}; Path=/; Domain={host}; SameSite=Lax"
        ))
        .unwrap_or_else(|e| panic!("cookie {name}: {e}"));
        self.client
            .add_cookie(c)
            .await
            .unwrap_or_else(|e| panic!("add cookie {name}: {e}"));
    }

    pub async fn delete_cookies(&self) {
        self.client.delete_all_cookies().await.unwrap();
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The element `css` finds now, if any (no waiting).
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => Some(e),
            Err(e) if e.is_no_such_element() => None,
            Err(e) => panic!("find {css}: {e}"),
        }
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
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find all {css}: {e}"))
    }

    /// Clears the field `css` and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "type into", async |e| {
            e.clear().await?;
            e.send_keys(text).await
        })
        .await;
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", async |e| e.click().await)
            .await;
    }

    /// Finds `css` (waiting) and acts on it, finding it again while the
    /// page replaces it under our feet (a stale element).
    async fn on_element(
        &self,
        css: &str,
        what: &str,
        act: impl AsyncFn(&Element) -> Result<(), CmdError>,
    ) {
        for _ in 0..20 {
            match act(&self.find(css).await).await {
                Ok(()) => return,
                Err(e) if e.is_stale_element_reference() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{what} {css}: {e}"),
            }
        }
        panic!("{what} {css}: the element kept going stale");
    }

    /// Picks the first option of the `css` select whose text contains
    /// `option_text`.
    pub async fn select(&self, css: &str, option_text: &str) {
        for o in self.find_all(&format!("{css} option")).await {
            if o.text().await.unwrap_or_default().contains(option_text) {
                o.click()
                    .await
                    .unwrap_or_else(|e| panic!("select {option_text} in {css}: {e}"));
                return;
            }
        }
        panic!("no option {option_text} in {css}");
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// Runs a script and returns what it returns.
    pub async fn exec(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script:.200}"))
    }

    /// Runs an async script: the last argument is the callback to call
    /// with the result. A script error or timeout comes back as
    /// `{"error": …}` for the caller to report.
    pub async fn exec_async(&self, script: &str, args: Value) -> Value {
        let args = match args {
            Value::Array(a) => a,
            Value::Null => vec![],
            other => vec![other],
        };
        self.client
            .execute_async(script, args)
            .await
            .unwrap_or_else(|e| json!({"error": e.to_string()}))
    }

    /// Lets injected test scripts (axe-core) run despite the page's CSP:
    /// in this test browser only, through chromedriver's CDP passthrough.
    pub async fn bypass_csp(&self) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Page.setBypassCSP",
                params: json!({"enabled": true}),
            })
            .await
            .unwrap_or_else(|e| panic!("Page.setBypassCSP: {e}"));
    }

    /// Opens a new tab and switches to it.
    pub async fn new_tab(&self) {
        let w = self.client.new_window(true).await.unwrap();
        self.client.switch_to_window(w.handle).await.unwrap();
    }

    /// Resizes the window.
    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("window size {width}x{height}: {e}"));
    }

    /// The browser's cookies for the current site, as a `Cookie` header.
    pub async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sets a file input's file (the path must exist on this machine).
    pub async fn upload(&self, css: &str, path: &std::path::Path) {
        self.find(css)
            .await
            .send_keys(&path.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("upload into {css}: {e}"));
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
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let p = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(p.parent().unwrap_or(&dir)).unwrap();
        std::fs::write(&p, &png).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        p
    }

    /// Ends the session (Chromium closes) and stops chromedriver.
    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        self.stop_driver();
    }

    /// Stops chromedriver and its Chromium, once.
    fn stop_driver(&mut self) {
        if !self.reaped {
            kill_group(&mut self.driver);
            self.reaped = true;
        }
    }
}

/// Kills chromedriver's process group (chromedriver and the Chromium it
/// started), then reaps chromedriver: while it is unreaped its pid, and so
/// the group id, cannot be reused by another process.
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_driver();
    }
}

/// A Chrome DevTools command through chromedriver's passthrough
/// (`POST /session/{id}/goog/cdp/execute`), which WebDriver lacks.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

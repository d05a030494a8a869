//! The browser renderer's keys: `[browser]` (which Chromium, how it starts) and each browser
//! route's `page_*` keys (which page, how to reach it, when it is ready).
//!
//! Secrets (a token header, basic-auth credentials) are named by environment variable in the
//! file and read here, once; they live in [`Secret`], whose `Debug` never shows them.

use std::{fmt, path::PathBuf, time::Duration};

use base64::Engine as _;
use ogforge_tags::IdRule;
use url::{Origin, Url};

use super::{
    PageUrl,
    raw::{RawBrowser, RawRoute},
};

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// `[browser]`: the Chromium every browser route shares.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    pub executable: PathBuf,
    /// How long Chromium may take to start and print its DevTools address.
    pub launch_timeout: Duration,
    /// Extra command-line flags, after ogforge's own.
    pub args: Vec<String>,
}

/// Which renderer a route uses (`routes[].renderer`).
#[derive(Debug, Clone)]
pub enum Engine {
    /// The route's template through takumi, in-process.
    Html,
    /// A screenshot of `page_url` in Chromium.
    Browser(Box<PageConfig>),
}

impl Engine {
    /// The `renderer` label in metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Browser(_) => "browser",
        }
    }
}

/// What the page needs before its screenshot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// The `load` event.
    Load,
    /// No network activity for 500 ms after `load` (Chromium's own `networkIdle`).
    NetworkIdle,
}

/// A browser route's page.
#[derive(Debug, Clone)]
pub struct PageConfig {
    pub url: PageUrl,
    /// Navigation plus readiness must be done within this; then the screenshot runs.
    pub navigation_timeout: Duration,
    pub wait_until: WaitUntil,
    /// A JavaScript expression that must become truthy, e.g. `window.ogReady === true`.
    pub ready_js: Option<String>,
    /// A CSS selector that must match an element.
    pub ready_selector: Option<String>,
    /// Extra request headers, sent only to the page's own origin.
    pub headers: Vec<(http::HeaderName, Secret)>,
    /// `Authorization: Basic ...`, sent only to the page's own origin.
    pub basic_auth: Option<Secret>,
    /// Other origins the page may load from or redirect to (never sent the secrets).
    pub allowed_origins: Vec<Origin>,
}

impl PageConfig {
    /// Everything that decides the pixels (no secrets), for the route's storage digest.
    pub fn describe(&self) -> String {
        let mut origins: Vec<String> = self
            .allowed_origins
            .iter()
            .map(Origin::ascii_serialization)
            .collect();
        origins.sort();
        format!(
            "browser;{};{:?};{:?};{:?};{}",
            self.url.as_str(),
            self.wait_until,
            self.ready_js,
            self.ready_selector,
            origins.join(",")
        )
    }
}

/// A validation failure: the key below the route (`page_url`, ...) and why.
pub(super) type FieldError = (String, String);

pub(super) fn browser(raw: &RawBrowser) -> Result<BrowserConfig, FieldError> {
    if raw.executable.trim().is_empty() {
        return Err(("browser.executable".into(), "must not be empty".into()));
    }
    if raw.launch_timeout_ms == 0 {
        return Err((
            "browser.launch_timeout_ms".into(),
            "must be at least 1".into(),
        ));
    }
    Ok(BrowserConfig {
        executable: PathBuf::from(&raw.executable),
        launch_timeout: Duration::from_millis(raw.launch_timeout_ms),
        args: raw.args.clone(),
    })
}

/// `browser.executable` as a path to a file: as given when it names a folder, else found on
/// `PATH`. Checked only when a route renders with the browser.
pub(super) fn find_executable(config: &BrowserConfig) -> Result<PathBuf, FieldError> {
    let exe = &config.executable;
    let found = if exe.components().count() > 1 {
        exe.is_file().then(|| exe.clone())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(exe))
                .find(|p| p.is_file())
        })
    };
    found.ok_or_else(|| {
        (
            "browser.executable".into(),
            format!(
                "{} not found (install Debian's chromium package, or set the path)",
                exe.display()
            ),
        )
    })
}

/// The route's engine from `renderer` and the `page_*` keys; secrets from `env`.
pub(super) fn engine(
    r: &RawRoute,
    ids: &IdRule,
    env: &[(String, String)],
) -> Result<Engine, FieldError> {
    let e = |field: &str, reason: String| Err((field.to_owned(), reason));
    match r.renderer.as_str() {
        "html" => {
            if !r.page_url.is_empty() {
                return e(
                    "page_url",
                    "is for renderer = \"browser\"; this route renders its template".into(),
                );
            }
            Ok(Engine::Html)
        }
        "browser" => {
            if r.template.is_some() {
                return e(
                    "template",
                    "is for renderer = \"html\"; a browser route screenshots page_url".into(),
                );
            }
            if r.page_url.is_empty() {
                return e("page_url", "is required when renderer = \"browser\"".into());
            }
            page(r, ids, env).map(|p| Engine::Browser(Box::new(p)))
        }
        _ => e("renderer", "must be \"html\" or \"browser\"".into()),
    }
}

fn page(r: &RawRoute, ids: &IdRule, env: &[(String, String)]) -> Result<PageConfig, FieldError> {
    let field = |f: &str| f.to_owned();
    let url = PageUrl::parse(&r.page_url, ids).map_err(|m| (field("page_url"), m))?;
    if r.navigation_timeout_ms == 0 {
        return Err((field("navigation_timeout_ms"), "must be at least 1".into()));
    }
    let wait_until = match r.page_wait_until.as_str() {
        "load" => WaitUntil::Load,
        "network-idle" => WaitUntil::NetworkIdle,
        _ => {
            return Err((
                field("page_wait_until"),
                "must be \"load\" or \"network-idle\"".into(),
            ));
        }
    };
    let lookup = |key: String, var: &str| -> Result<Secret, FieldError> {
        env.iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| Secret(v.clone()))
            .filter(|s| !s.0.is_empty())
            .ok_or_else(|| (key, format!("the environment variable {var} is not set")))
    };
    let mut headers = Vec::new();
    for (name, var) in &r.page_headers_env {
        let key = format!("page_headers_env.{name}");
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| (key.clone(), "not a valid header name".into()))?;
        let value = lookup(key.clone(), var)?;
        if http::HeaderValue::from_str(value.expose()).is_err() {
            return Err((key, format!("{var} holds characters a header cannot carry")));
        }
        headers.push((header, value));
    }
    let basic_auth = match r.page_basic_auth_env.as_str() {
        "" => None,
        var => {
            let key = field("page_basic_auth_env");
            let pair = lookup(key.clone(), var)?;
            if !pair.expose().contains(':') {
                return Err((key, format!("{var} must hold user:password")));
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair.expose());
            Some(Secret(format!("Basic {encoded}")))
        }
    };
    let mut allowed_origins = Vec::new();
    for (i, text) in r.page_allowed_origins.iter().enumerate() {
        let key = format!("page_allowed_origins[{i}]");
        let parsed = Url::parse(text).map_err(|e| (key.clone(), format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.path() != "/" {
            return Err((
                key,
                "must be an http(s) origin such as https://fonts.gstatic.com".into(),
            ));
        }
        allowed_origins.push(parsed.origin());
    }
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    Ok(PageConfig {
        url,
        navigation_timeout: Duration::from_millis(r.navigation_timeout_ms),
        wait_until,
        ready_js: non_empty(&r.page_ready_js),
        ready_selector: non_empty(&r.page_ready_selector),
        headers,
        basic_auth,
        allowed_origins,
    })
}

/// Route keys whose value is a map of free names, for the example-config test.
#[cfg(test)]
pub(super) const MAP_KEYS: &[&str] = &["vars", "page_headers_env"];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

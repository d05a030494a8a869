//! A route's renderer and, for `renderer = "browser"`, its page: which URL (see
//! [`super::page_url`]), how to reach it, when it is ready. These keys sit in each
//! `[[routes]]` table beside [`super::route`]'s own; this file owns their raw fields,
//! defaults, validation and tests, so a page key is added here alone.
//!
//! Secrets (a token header, basic-auth credentials) are named by environment variable in the
//! file and read here, once; they live in [`Secret`], whose `Debug` never shows them.

use std::{collections::BTreeMap, fmt, time::Duration};

use base64::Engine as _;
use ogforge_tags::IdRule;
use serde::{Deserialize, Serialize};
use url::{Origin, Url};

use super::{PageUrl, error::Report, server::at_least};

pub(super) mod defaults {
    /// Routes render their template in-process (milliseconds); a browser is opt-in.
    pub const RENDERER: &str = "html";
    /// Loading plus readiness past this gives the default image (`page-timeout`), so a slow
    /// page cannot hold a tab for the whole request deadline.
    pub const NAVIGATION_TIMEOUT_MS: u64 = 3_000;
    /// The `load` event: what a plain page needs, without waiting on its analytics.
    pub const PAGE_WAIT_UNTIL: &str = "load";

    pub(crate) fn renderer() -> String {
        RENDERER.into()
    }
    pub(crate) fn navigation_timeout_ms() -> u64 {
        NAVIGATION_TIMEOUT_MS
    }
    pub(crate) fn page_wait_until() -> String {
        PAGE_WAIT_UNTIL.into()
    }
}
use defaults as d;

/// The page keys of one `[[routes]]` table.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPage {
    #[serde(default = "d::renderer")]
    pub(crate) renderer: String,
    #[serde(default)]
    pub(crate) page_url: String,
    #[serde(default = "d::navigation_timeout_ms")]
    pub(crate) navigation_timeout_ms: u64,
    #[serde(default = "d::page_wait_until")]
    pub(crate) page_wait_until: String,
    #[serde(default)]
    pub(crate) page_ready_js: String,
    #[serde(default)]
    pub(crate) page_ready_selector: String,
    /// Header name -> name of the environment variable holding its value.
    #[serde(default)]
    pub(crate) page_headers_env: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) page_basic_auth_env: String,
    #[serde(default)]
    pub(crate) page_allowed_origins: Vec<String>,
}

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

/// The route's engine. `template`: the route names a template (only an html route may);
/// `ids`: its id rule, `None` when `id_pattern` is itself wrong; secrets come from `env`.
pub(super) fn engine(
    raw: RawPage,
    template: bool,
    ids: Option<&IdRule>,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<Engine> {
    let renderer = &["renderer"];
    match raw.renderer.as_str() {
        "html" if raw.page_url.is_empty() => Some(Engine::Html),
        "html" => r.error_with(
            "page_url",
            renderer,
            "is for renderer = \"browser\"; this route renders its template",
        ),
        "browser" => {
            let fits = if template {
                r.error_with(
                    "template",
                    renderer,
                    "is for renderer = \"html\"; a browser route screenshots page_url",
                )
            } else {
                Some(())
            };
            let page = page(raw, ids, env, r);
            fits?;
            Some(Engine::Browser(Box::new(page?)))
        }
        _ => r.error("renderer", "must be \"html\" or \"browser\""),
    }
}

fn page(
    raw: RawPage,
    ids: Option<&IdRule>,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<PageConfig> {
    let url = match (raw.page_url.as_str(), ids) {
        ("", _) => r.error_with(
            "page_url",
            &["renderer"],
            "is required when renderer = \"browser\"",
        ),
        (text, Some(ids)) => r.check("page_url", PageUrl::parse(text, ids)),
        // `id_pattern`'s own error is reported; the placeholders cannot be checked without it.
        (_, None) => None,
    };
    let navigation_timeout = r.check(
        "navigation_timeout_ms",
        at_least(raw.navigation_timeout_ms, 1),
    );
    let wait_until = match raw.page_wait_until.as_str() {
        "load" => Some(WaitUntil::Load),
        "network-idle" => Some(WaitUntil::NetworkIdle),
        _ => r.error("page_wait_until", "must be \"load\" or \"network-idle\""),
    };
    let headers = headers_from_env("page_headers_env", &raw.page_headers_env, env, r);
    let basic_auth = match raw.page_basic_auth_env.as_str() {
        "" => Some(None),
        var => {
            let pair = env_secret(env, var).and_then(|pair| {
                if pair.expose().contains(':') {
                    Ok(pair)
                } else {
                    Err(format!("{var} must hold user:password"))
                }
            });
            r.check("page_basic_auth_env", pair).map(|pair| {
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair.expose());
                Some(Secret(format!("Basic {encoded}")))
            })
        }
    };
    let allowed_origins: Vec<Option<Origin>> = (raw.page_allowed_origins.iter().enumerate())
        .map(|(i, text)| r.check(&format!("page_allowed_origins[{i}]"), origin(text)))
        .collect();
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    Some(PageConfig {
        url: url?,
        navigation_timeout: Duration::from_millis(navigation_timeout?),
        wait_until: wait_until?,
        ready_js: non_empty(&raw.page_ready_js),
        ready_selector: non_empty(&raw.page_ready_selector),
        headers: headers?,
        basic_auth: basic_auth?,
        allowed_origins: allowed_origins.into_iter().collect::<Option<_>>()?,
    })
}

/// The value of the environment variable `var`, which must be set and non-empty.
fn env_secret(env: &[(String, String)], var: &str) -> Result<Secret, String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == var)
        .map(|(_, v)| Secret(v.clone()))
        .filter(|s| !s.0.is_empty())
        .ok_or_else(|| format!("the environment variable {var} is not set"))
}

/// `key`'s map of header name -> environment variable as headers with their secret values,
/// every bad entry reported as `key.NAME` (browser pages and data sources both have one).
pub(super) fn headers_from_env(
    key: &str,
    map: &BTreeMap<String, String>,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<Vec<(http::HeaderName, Secret)>> {
    let headers: Vec<Option<(http::HeaderName, Secret)>> = (map.iter())
        .map(|(name, var)| {
            let header = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "not a valid header name".to_owned())
                .and_then(|header| Ok((header, env_secret(env, var)?)))
                .and_then(
                    |(header, value)| match http::HeaderValue::from_str(value.expose()) {
                        Ok(_) => Ok((header, value)),
                        Err(_) => Err(format!("{var} holds characters a header cannot carry")),
                    },
                );
            r.check(&format!("{key}.{name}"), header)
        })
        .collect();
    headers.into_iter().collect()
}

fn origin(text: &str) -> Result<Origin, String> {
    let parsed = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.path() != "/" {
        return Err("must be an http(s) origin such as https://fonts.gstatic.com".into());
    }
    Ok(parsed.origin())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::load_str;

    #[test]
    fn secrets_never_print() {
        let s = Secret("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn every_bad_page_key_is_reported() {
        let e = load_str(
            "[[routes]]\nname = 'b'\npath = '/b/{id}.jpg'\nid_pattern = '[0-9]+'\n\
             renderer = 'browser'\npage_url = 'https://{id}.example.com/'\n\
             page_wait_until = 'idle'\npage_basic_auth_env = 'NO_SUCH_VAR'\n\
             page_allowed_origins = ['https://ok.example', 'https://x.example/path']\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "routes[0].page_url",
                "routes[0].page_wait_until",
                "routes[0].page_basic_auth_env",
                "routes[0].page_allowed_origins[1]",
            ]
        );
    }
}

//! `[browser]`: the Chromium every browser route shares (which binary, how long it may take to
//! start, extra flags). Its raw keys, defaults, validation and tests; each browser route's page
//! keys are [`super::page`]'s, and driving Chromium is `render/browser/`'s.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw, server::at_least};

pub(super) mod defaults {
    /// Debian's Chromium.
    pub const BROWSER_EXECUTABLE: &str = "/usr/bin/chromium";
    /// A Chromium that has not printed its DevTools address by then is killed: a browser that
    /// cannot start never holds a render slot for longer.
    pub const BROWSER_LAUNCH_TIMEOUT_MS: u64 = 10_000;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBrowser {
    pub(crate) executable: String,
    pub(crate) launch_timeout_ms: u64,
    pub(crate) args: Vec<String>,
}

impl Default for RawBrowser {
    fn default() -> Self {
        Self {
            executable: defaults::BROWSER_EXECUTABLE.into(),
            launch_timeout_ms: defaults::BROWSER_LAUNCH_TIMEOUT_MS,
            args: Vec::new(),
        }
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

pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<BrowserConfig> {
    let raw: RawBrowser = raw::section(value, r)?;
    let executable = match raw.executable.trim() {
        "" => r.error("executable", "must not be empty"),
        _ => Some(PathBuf::from(&raw.executable)),
    };
    let launch_timeout = r.check("launch_timeout_ms", at_least(raw.launch_timeout_ms, 1));
    Some(BrowserConfig {
        executable: executable?,
        launch_timeout: Duration::from_millis(launch_timeout?),
        args: raw.args,
    })
}

/// `browser.executable` as a path to a file: as given when it names a folder, else found on
/// `PATH`. Checked only when a route renders with the browser.
pub(super) fn locate(config: &mut BrowserConfig, r: &mut Report) -> Option<()> {
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
    match found {
        Some(path) => {
            config.executable = path;
            Some(())
        }
        None => r.error(
            "executable",
            format!(
                "{} not found (install Debian's chromium package, or set the path)",
                exe.display()
            ),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    const BROWSER_ROUTE: &str = "[[routes]]\nname = 'b'\npath = '/b/{id}.jpg'\n\
        id_pattern = '[0-9]+'\nrenderer = 'browser'\npage_url = 'http://127.0.0.1:9/c/{id}'\n";

    #[test]
    fn a_browser_route_needs_a_chromium_that_exists() {
        let e = load_str(
            &format!("[browser]\nexecutable = 'no-such-chromium'\n{BROWSER_ROUTE}"),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.first().key, "browser.executable");
        assert!(
            e.first().reason.contains("no-such-chromium not found"),
            "{e}"
        );
        // Without a browser route, the executable is never looked for.
        load_str("[browser]\nexecutable = 'no-such-chromium'\n", &[]).unwrap();
        let e = load_str("[browser]\nexecutable = ''\nlaunch_timeout_ms = 0\n", &[]).unwrap_err();
        assert_eq!(e.iter().count(), 2, "{e}");
    }
}

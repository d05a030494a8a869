//! `[render]`: how long a render may take, how many run at once, how many may wait, what a
//! refused miss gets, and the fonts every template draws with. Its raw keys, defaults,
//! validation and tests; the renderers themselves are `render/`.

use std::{path::Path, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{error::Report, raw, server::at_least};

pub(super) mod defaults {
    /// A render that takes longer is abandoned for the default image (the original design's 3 s).
    pub const RENDER_TIMEOUT_MS: u64 = 3_000;
    /// Renders at once; `0` means one per CPU, so renders never queue behind each other for a
    /// core they cannot get.
    pub const RENDER_CONCURRENCY: usize = 0;
    /// Renders that may wait for a free render slot; past it a miss is refused at once
    /// (`render.overload`), so a burst of distinct ids cannot pile up unbounded work and memory.
    pub const RENDER_QUEUE: usize = 64;
    /// What a refused miss gets: 503 with `Retry-After`, which crawlers retry later.
    pub const RENDER_OVERLOAD: &str = "unavailable";
}
use defaults as d;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRender {
    pub(crate) timeout_ms: u64,
    pub(crate) concurrency: usize,
    pub(crate) fonts_dir: Option<String>,
    pub(crate) queue: usize,
    pub(crate) overload: String,
}

impl Default for RawRender {
    fn default() -> Self {
        Self {
            timeout_ms: d::RENDER_TIMEOUT_MS,
            concurrency: d::RENDER_CONCURRENCY,
            fonts_dir: None,
            queue: d::RENDER_QUEUE,
            overload: d::RENDER_OVERLOAD.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub timeout: Duration,
    pub concurrency: usize,
    /// `None`: the bundled Inter.
    pub fonts_dir: Option<PathBuf>,
    /// Renders that may wait for a slot; more are refused at once.
    pub queue: usize,
    pub overload: Overload,
}

/// What a miss gets when the render queue is full (`render.overload`). Cache hits never
/// reach the queue, so they are served whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// `unavailable`: 503 with `Retry-After`.
    Unavailable,
    /// `default-image`: the route's default image with its short lifetime, reason `overloaded`.
    DefaultImage,
}

/// `base`: the config file's folder, for `fonts_dir`.
pub(super) fn load(value: Option<Value>, base: &Path, r: &mut Report) -> Option<RenderConfig> {
    let raw: RawRender = raw::section(value, r)?;
    let timeout_ms = r.check("timeout_ms", at_least(raw.timeout_ms, 1));
    let overload = match raw.overload.as_str() {
        "unavailable" => Some(Overload::Unavailable),
        "default-image" => Some(Overload::DefaultImage),
        _ => r.error("overload", "must be \"unavailable\" or \"default-image\""),
    };
    let concurrency = match raw.concurrency {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    Some(RenderConfig {
        timeout: Duration::from_millis(timeout_ms?),
        concurrency,
        fonts_dir: raw.fonts_dir.map(|dir| base.join(dir)),
        queue: raw.queue,
        overload: overload?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Overload;
    use crate::config::load_str;

    #[test]
    fn overload_and_timeout() {
        let c = load_str(
            "[render]\noverload = 'default-image'\nconcurrency = 3\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.render.overload, Overload::DefaultImage);
        assert_eq!(c.render.concurrency, 3);
        let e = load_str("[render]\noverload = 'drop'\ntimeout_ms = 0\n", &[]).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["render.timeout_ms", "render.overload"]);
    }
}

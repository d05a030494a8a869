//! `[proxy]`: `ogforge proxy`, which rewrites the `og:`/`twitter:` tags of the main site's pages
//! as they stream through. Its raw keys, defaults, validation and tests; the proxy itself is
//! `proxy.rs`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{
    error::Report,
    raw,
    server::{check_public_url, socket_addr},
};

pub(super) mod defaults {
    /// `ogforge proxy` listener: loopback, like the service's.
    pub const PROXY_LISTEN: &str = "127.0.0.1:8081";
    /// The main site's query parameter that names the share image's id (`?social=12-34-10`).
    pub const PROXY_PARAM: &str = "social";
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawProxy {
    /// Empty: `ogforge proxy` needs `--upstream`.
    pub(crate) upstream: String,
    pub(crate) listen: String,
    pub(crate) param: String,
}

impl Default for RawProxy {
    fn default() -> Self {
        Self {
            upstream: String::new(),
            listen: defaults::PROXY_LISTEN.into(),
            param: defaults::PROXY_PARAM.into(),
        }
    }
}

/// `[proxy]`: the tag-rewriting proxy in front of the main site.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The main site's base URL; `None` until set (file, env or `--upstream`).
    pub upstream: Option<String>,
    pub listen: SocketAddr,
    /// The query parameter holding the untrusted id.
    pub param: String,
}

pub(super) fn load(value: Option<Value>, r: &mut Report) -> Option<ProxyConfig> {
    let raw: RawProxy = raw::section(value, r)?;
    let upstream = match raw.upstream.trim() {
        "" => Some(None),
        url => r.check("upstream", check_public_url(url)).map(Some),
    };
    let listen = r.check("listen", socket_addr(&raw.listen));
    let param = r.check("param", check_param(&raw.param));
    Some(ProxyConfig {
        upstream: upstream?,
        listen: listen?,
        param: param?,
    })
}

/// A query parameter name: letters, digits, `-`, `_`.
fn check_param(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err("must be non-empty: letters, digits, '-', '_'".into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::{Overrides, load_with_env};

    #[test]
    fn proxy_flags_layer_like_every_flag() {
        let flags = Overrides {
            proxy_upstream: Some("http://flag.test".into()),
            proxy_listen: Some("127.0.0.1:4".into()),
            ..Overrides::default()
        };
        let c = load_with_env(None, &flags, &[]).unwrap();
        assert_eq!(c.proxy.upstream.as_deref(), Some("http://flag.test"));
        assert_eq!(c.proxy.listen.port(), 4);
        let env = vec![("OGFORGE__PROXY__UPSTREAM".into(), "http://env.test".into())];
        let c = load_with_env(None, &flags, &env).unwrap();
        assert_eq!(c.proxy.upstream.as_deref(), Some("http://env.test"));
        let bad = Overrides {
            proxy_upstream: Some("ftp://x".into()),
            ..Overrides::default()
        };
        let e = load_with_env(None, &bad, &[]).unwrap_err();
        assert_eq!(e.first().key, "proxy.upstream");
        assert_eq!(
            e.to_string(),
            "flag --upstream: the scheme must be http or https"
        );
    }
}

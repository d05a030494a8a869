//! `[routes.data]`: the per-id JSON a route's card is drawn from. Its raw keys, defaults,
//! validation and tests; the fetching is `crate::data`'s, through the guarded client
//! (`crate::fetch`).
//!
//! The URL is a template like `page_url` (percent-encoded placeholders, only after the host:
//! see [`super::page_url`]); header values come from environment variables and go to the URL's
//! origin only. Only declared fields reach the template, as `data.NAME`, each read by a JSON
//! Pointer (RFC 6901) and cut to `max_chars`. An empty `url` means the route fetches nothing.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use ipnet::IpNet;
use ogforge_tags::IdRule;
use serde::{Deserialize, Serialize};

use super::{PageUrl, Secret, error::Report, images, page::headers_from_env, server::at_least};

pub(super) mod defaults {
    /// Past this the card is the default image (`data-timeout`): a slow API must not hold a
    /// render slot's worth of request time.
    pub const DATA_TIMEOUT_MS: u64 = 2_000;
    /// A card needs a title and a few words, not a whole post: bodies past this are refused
    /// (`data-too-large`) while streaming, so an endless body costs this much memory at most.
    pub const DATA_MAX_BYTES: u64 = 256 * 1024;
    /// How long a fetched JSON is reused: an edited title reaches the card within this.
    pub const DATA_TTL_SECS: u64 = 300;
    /// A field's longest value in characters (longer ones are cut with an ellipsis), so a
    /// post body mapped by mistake cannot make a layout of megabytes.
    pub const DATA_MAX_CHARS: usize = 300;
    /// A remote image's largest body: an avatar or a cover, not a photo archive.
    pub const DATA_IMAGE_MAX_BYTES: u64 = 2 * 1024 * 1024;
    /// A broken image leaves its field empty (the template can draw without it).
    pub const DATA_IMAGE_ERROR: &str = "skip";
    pub const DATA_FIELD_KIND: &str = "text";

    pub(crate) fn timeout_ms() -> u64 {
        DATA_TIMEOUT_MS
    }
    pub(crate) fn max_bytes() -> u64 {
        DATA_MAX_BYTES
    }
    pub(crate) fn ttl_secs() -> u64 {
        DATA_TTL_SECS
    }
    pub(crate) fn max_chars() -> usize {
        DATA_MAX_CHARS
    }
    pub(crate) fn image_max_bytes() -> u64 {
        DATA_IMAGE_MAX_BYTES
    }
    pub(crate) fn image_error() -> String {
        DATA_IMAGE_ERROR.into()
    }
    pub(crate) fn kind() -> String {
        DATA_FIELD_KIND.into()
    }
}
use defaults as d;

/// `[routes.data]` as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawData {
    #[serde(default)]
    pub(crate) url: String,
    /// Header name -> name of the environment variable holding its value.
    #[serde(default)]
    pub(crate) headers_env: BTreeMap<String, String>,
    #[serde(default = "d::timeout_ms")]
    pub(crate) timeout_ms: u64,
    #[serde(default = "d::max_bytes")]
    pub(crate) max_bytes: u64,
    #[serde(default = "d::ttl_secs")]
    pub(crate) ttl_secs: u64,
    #[serde(default)]
    pub(crate) allow_cidrs: Vec<String>,
    #[serde(default)]
    pub(crate) fields: BTreeMap<String, RawField>,
    #[serde(default)]
    pub(crate) image_hosts: Vec<String>,
    #[serde(default = "d::image_max_bytes")]
    pub(crate) image_max_bytes: u64,
    #[serde(default = "d::image_error")]
    pub(crate) image_error: String,
}

impl Default for RawData {
    fn default() -> Self {
        Self {
            url: String::new(),
            headers_env: BTreeMap::new(),
            timeout_ms: d::timeout_ms(),
            max_bytes: d::max_bytes(),
            ttl_secs: d::ttl_secs(),
            allow_cidrs: Vec::new(),
            fields: BTreeMap::new(),
            image_hosts: Vec::new(),
            image_max_bytes: d::image_max_bytes(),
            image_error: d::image_error(),
        }
    }
}

/// `[routes.data.fields.NAME]` as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    pub(crate) pointer: String,
    #[serde(default)]
    pub(crate) required: bool,
    #[serde(default = "d::max_chars")]
    pub(crate) max_chars: usize,
    pub(crate) default: Option<String>,
    #[serde(default = "d::kind")]
    pub(crate) kind: String,
}

/// A route's data source, validated.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub url: PageUrl,
    /// Sent to `url`'s origin only; never logged.
    pub headers: Vec<(http::HeaderName, Secret)>,
    pub timeout: Duration,
    pub max_bytes: u64,
    pub ttl: Duration,
    /// Addresses the fetch may reach beyond the global ones: the only escape hatch.
    pub allow_cidrs: Vec<IpNet>,
    /// In name order.
    pub fields: Vec<Field>,
    /// Hosts that `kind = "image"` fields may point to (every hop of their fetch).
    pub image_hosts: Vec<String>,
    pub image_max_bytes: u64,
    /// `image_error = "fallback"`: a broken image makes the card the default image; else
    /// its field is left empty.
    pub image_fallback: bool,
}

/// One declared field: `data.NAME` in the template.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    /// An RFC 6901 JSON Pointer (`/author/name`).
    pub pointer: String,
    /// Absent (or null) means the default image (`data-missing-field`).
    pub required: bool,
    pub max_chars: usize,
    /// Used when the value is absent and the field is not required; else the empty string.
    pub default: Option<String>,
    /// `kind = "image"`: the value is an image URL, fetched and handed to the template as a
    /// `data:` URI.
    pub image: bool,
}

impl DataConfig {
    /// What decides the pixels besides the values (no secrets), for the route's digest.
    pub fn describe(&self) -> String {
        let mut out = format!("data;{}", self.url.as_str());
        for f in &self.fields {
            let _ = write!(
                out,
                ";{}={}:{}:{}:{:?}:{}",
                f.name, f.pointer, f.required, f.max_chars, f.default, f.image
            );
        }
        let _ = write!(
            out,
            ";images={};{}",
            self.image_hosts.join(","),
            self.image_fallback
        );
        out
    }
}

/// `data` of one route: `None` inside `Some` when the route fetches nothing. `ids`: the route's
/// id rule, `None` when `id_pattern` is itself wrong; `html`: whether the route renders its
/// template (a browser page fetches its own data).
pub(super) fn validate(
    raw: RawData,
    ids: Option<&IdRule>,
    html: bool,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<Option<DataConfig>> {
    if raw.url.is_empty() {
        if !raw.fields.is_empty() {
            return r.error("data.fields", "fields need data.url to be read from");
        }
        return Some(None);
    }
    if !html {
        return r.error_with(
            "data.url",
            &["renderer"],
            "is for renderer = \"html\"; a browser page fetches its own data",
        );
    }
    let url = match ids {
        Some(ids) => r.check("data.url", PageUrl::parse(&raw.url, ids)),
        None => None,
    };
    let headers = headers_from_env("data.headers_env", &raw.headers_env, env, r);
    let timeout = r.check("data.timeout_ms", at_least(raw.timeout_ms, 1));
    let max_bytes = r.check("data.max_bytes", at_least(raw.max_bytes, 1));
    let ttl = r.check("data.ttl_secs", at_least(raw.ttl_secs, 1));
    let cidrs = images::cidrs("data.allow_cidrs", &raw.allow_cidrs, r);
    let fields: Vec<Option<Field>> = (raw.fields.into_iter())
        .map(|(name, f)| field(name, f, r))
        .collect();
    let images = fields.iter().flatten().any(|f| f.image);
    let hosts = match (images, raw.image_hosts.is_empty()) {
        (true, true) => r.error_with(
            "data.image_hosts",
            &["data.fields"],
            "a field has kind = \"image\": list the hosts its URLs may name",
        ),
        _ => Some(images::hosts(&raw.image_hosts)),
    };
    let image_max_bytes = r.check("data.image_max_bytes", at_least(raw.image_max_bytes, 1));
    let image_fallback = images::image_error("data.image_error", &raw.image_error, r);
    Some(Some(DataConfig {
        url: url?,
        headers: headers?,
        timeout: Duration::from_millis(timeout?),
        max_bytes: max_bytes?,
        ttl: Duration::from_secs(ttl?),
        allow_cidrs: cidrs?,
        fields: fields.into_iter().collect::<Option<_>>()?,
        image_hosts: hosts?,
        image_max_bytes: image_max_bytes?,
        image_fallback: image_fallback?,
    }))
}

fn field(name: String, f: RawField, r: &mut Report) -> Option<Field> {
    let key = format!("data.fields.{name}");
    let ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let name_ok = match ident {
        true => Some(()),
        false => r.error(
            &key,
            "the name must be letters, digits and '_', from a letter",
        ),
    };
    let pointer = match f.pointer.is_empty() || f.pointer.starts_with('/') {
        true => Some(()),
        false => r.error(&format!("{key}.pointer"), "a JSON Pointer starts with '/'"),
    };
    let max_chars = r.check(&format!("{key}.max_chars"), at_least(f.max_chars, 1));
    let default = match (f.required, &f.default) {
        (true, Some(_)) => r.error_with(
            &format!("{key}.default"),
            &[&format!("{key}.required")],
            "a required field has no default: its absence gives the default image",
        ),
        _ => Some(()),
    };
    let image = match f.kind.as_str() {
        "text" => Some(false),
        "image" => Some(true),
        _ => r.error(&format!("{key}.kind"), "must be \"text\" or \"image\""),
    };
    name_ok?;
    pointer?;
    default?;
    Some(Field {
        name,
        pointer: f.pointer,
        required: f.required,
        max_chars: max_chars?,
        default: f.default,
        image: image?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    const ROUTE: &str = "[[routes]]\nname='p'\npath='/p/{id}.jpg'\nid_pattern='(?P<post>[0-9]+)'\n";

    #[test]
    fn a_data_route_loads_with_its_fields_in_order() {
        let text = format!(
            "{ROUTE}[routes.data]\nurl='https://api.example.com/posts/{{post}}'\n\
             allow_cidrs=['10.0.0.0/8']\nheaders_env={{Authorization='TOKEN'}}\n\
             [routes.data.fields.title]\npointer='/title'\nrequired=true\n\
             [routes.data.fields.author]\npointer='/author/name'\ndefault='Staff'\n"
        );
        let c = load_str(&text, &[("TOKEN", "Bearer x")]).unwrap();
        let data = c.routes[0].data.as_ref().unwrap();
        let names: Vec<&str> = data.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["author", "title"]);
        assert_eq!(data.headers[0].1.expose(), "Bearer x");
        assert!(!format!("{data:?}").contains("Bearer x"));
        assert_eq!(data.allow_cidrs[0].to_string(), "10.0.0.0/8");
    }

    #[test]
    fn every_bad_data_key_is_reported() {
        let text = format!(
            "{ROUTE}[routes.data]\nurl='https://{{post}}.example.com/'\n\
             allow_cidrs=['nope']\ntimeout_ms=0\nheaders_env={{Authorization='UNSET'}}\n\
             [routes.data.fields.1x]\npointer='title'\n\
             [routes.data.fields.t]\npointer='/t'\nrequired=true\ndefault='x'\n"
        );
        let e = load_str(&text, &[]).unwrap_err();
        let mut keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "routes[0].data.allow_cidrs[0]",
                "routes[0].data.fields.1x",
                "routes[0].data.fields.1x.pointer",
                "routes[0].data.fields.t.default",
                "routes[0].data.headers_env.Authorization",
                "routes[0].data.timeout_ms",
                "routes[0].data.url",
            ]
        );
    }

    #[test]
    fn an_image_field_needs_its_hosts() {
        let text = format!(
            "{ROUTE}[routes.data]\nurl='https://api.example.com/p/{{post}}'\nimage_error='maybe'\n\
             [routes.data.fields.avatar]\npointer='/avatar'\nkind='image'\n\
             [routes.data.fields.title]\npointer='/title'\nkind='html'\n"
        );
        let e = load_str(&text, &[]).unwrap_err();
        let mut keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "routes[0].data.fields.title.kind",
                "routes[0].data.image_error",
                "routes[0].data.image_hosts",
            ]
        );
    }

    #[test]
    fn env_sets_a_data_url() {
        let env = [(
            "OGFORGE__ROUTES__0__DATA__URL",
            "https://api.example.com/m/{home}",
        )];
        let c = load_str("", &env).unwrap();
        assert!(c.routes[0].data.is_some());
    }
}

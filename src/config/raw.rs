//! The raw side of the configuration. [`RawConfig`] is the shape of `ogforge.toml`, gathered
//! from each part's serde struct (`deny_unknown_fields` everywhere); `Serialize` is only for
//! the test that keeps `ogforge.example.toml` complete. [`section`] and [`fields`] turn one
//! part's table into its raw struct, reporting every problem rather than the first: each unknown
//! key (with the nearest known one), each value of the wrong type, each missing key.

use serde::{
    Deserialize, Serialize,
    de::{self, DeserializeOwned, Visitor},
};
use toml::{Table, Value};

use super::{
    browser::RawBrowser, cache::RawCache, cluster::RawCluster, error::Report, images::RawImages,
    proxy::RawProxy, rate_limit::RawRateLimit, render::RawRender, routes::RawRoute,
    server::RawServer, store::RawStore,
};

/// `ogforge.toml`: one key per part.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawConfig {
    pub(crate) server: RawServer,
    pub(crate) store: RawStore,
    pub(crate) cache: RawCache,
    pub(crate) render: RawRender,
    pub(crate) rate_limit: RawRateLimit,
    pub(crate) routes: Vec<RawRoute>,
    pub(crate) proxy: RawProxy,
    pub(crate) browser: RawBrowser,
    pub(crate) images: RawImages,
    pub(crate) cluster: RawCluster,
}

/// The keys `T` accepts, as serde derives them, so the list cannot drift from the struct.
pub(super) fn keys<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    let _ = T::deserialize(KeysOf(&mut keys));
    keys
}

/// A table section (`[server]`; absent: every key defaulted) as its raw struct.
pub(super) fn section<T: DeserializeOwned>(value: Option<Value>, r: &mut Report) -> Option<T> {
    let table = match value {
        None => Table::new(),
        Some(Value::Table(table)) => table,
        Some(other) => {
            return r.error("", format!("must be a table, not a {}", other.type_str()));
        }
    };
    fields(table, keys::<T>(), &Table::new(), r)
}

/// `table` as a `T`, whose keys are `known`. Each key whose value does not fit is found alone,
/// laid over `base` (a table that deserializes: the required keys, for instance), reported, and
/// replaced by `base`'s value or the default, so the part can still check its other values
/// (errors about a replaced key are not reported: see [`Report::error_with`]). `None` only
/// when a required key is missing.
pub(super) fn fields<T: DeserializeOwned>(
    mut table: Table,
    known: &[&str],
    base: &Table,
    r: &mut Report,
) -> Option<T> {
    drop_unknown(&mut table, known, r);
    let mut wrong = Vec::new();
    if T::deserialize(Value::Table(table.clone())).is_err() {
        for (key, value) in &table {
            let mut alone = base.clone();
            alone.insert(key.clone(), value.clone());
            if let Err(e) = T::deserialize(Value::Table(alone)) {
                r.type_error(key, e.message());
                wrong.push(key.clone());
            }
        }
    }
    for key in &wrong {
        match base.get(key) {
            Some(good) => table.insert(key.clone(), good.clone()),
            None => table.remove(key),
        };
    }
    // What still fails is not one key alone: a required key is missing.
    T::deserialize(Value::Table(table)).map_or_else(|e| r.error("", e.message()), Some)
}

/// Reports and removes each key of `table` that is not `known`.
pub(super) fn drop_unknown(table: &mut Table, known: &[&str], r: &mut Report) {
    let unknown: Vec<String> = table
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in &unknown {
        r.unknown(key, nearest(key, known), known);
        table.remove(key);
    }
}

/// The known key nearest to `typo` by edit distance, if it is near enough to be a slip (at most
/// a third of the word) or one of the two is a prefix of the other (`listen_addr`, `listen`).
fn nearest<'k>(typo: &str, known: &[&'k str]) -> Option<&'k str> {
    let typo = typo.to_ascii_lowercase();
    let (distance, best) = known
        .iter()
        .map(|k| (levenshtein(&typo, k), *k))
        .min_by_key(|(d, _)| *d)?;
    let prefix =
        typo.len().min(best.len()) >= 4 && (typo.starts_with(best) || best.starts_with(&typo));
    (distance <= (typo.len() / 3).max(1) || prefix).then_some(best)
}

/// Edits (insert, delete, substitute one character) that turn `a` into `b`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A deserializer that only takes note of the fields a struct asks for.
struct KeysOf<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for KeysOf<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("only the keys were wanted"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load_with_env};

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(levenshtein("listen", "listen"), 0);
        assert_eq!(levenshtein("lisen", "listen"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        let known = ["listen", "admin_listen", "max_headers", "max_header_bytes"];
        assert_eq!(nearest("lisen", &known), Some("listen"));
        assert_eq!(nearest("max_header", &known), Some("max_headers"));
        assert_eq!(nearest("listen_addr", &known), Some("listen"));
        assert_eq!(nearest("colour", &known), None);
    }

    #[test]
    fn keys_are_read_from_the_struct() {
        assert!(keys::<RawServer>().contains(&"trusted_proxies"));
        assert!(keys::<RawConfig>().contains(&"rate_limit"));
    }

    /// `ogforge.example.toml` with its commented-out `# key = value` lines switched on.
    /// So are commented-out `# [routes.data.fields.NAME]` tables: a field of the default route
    /// is an example, not a default.
    fn example_with_every_key() -> String {
        let text = include_str!("../../ogforge.example.toml");
        text.lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with("[routes.") => rest.to_owned(),
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn key_paths(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    // Inside a route, a table is a map of free names (`vars`), except
                    // `data`, whose keys are fixed, and its `fields`, a map of free names
                    // whose entries have fixed keys (documented as `fields.NAME.KEY`).
                    if path == "routes.0.data.fields" {
                        if let Some(first) = v.as_table().and_then(|t| t.values().next()) {
                            key_paths(&format!("{path}.NAME"), first, out);
                        }
                    } else if path != "routes.0.data"
                        && prefix.starts_with("routes.")
                        && v.is_table()
                    {
                        out.push((path, k.clone()));
                    } else {
                        key_paths(&path, v, out);
                    }
                }
            }
            toml::Value::Array(items) if prefix == "routes" => {
                if let Some(first) = items.first() {
                    key_paths("routes.0", first, out);
                }
            }
            _ => {
                let leaf = prefix.rsplit('.').next().unwrap_or(prefix).to_owned();
                out.push((prefix.to_owned(), leaf));
            }
        }
    }

    #[test]
    fn the_example_config_documents_every_key_and_its_env_name() {
        let text = example_with_every_key();
        // Every documented key exists (deny_unknown_fields) ...
        let raw: RawConfig = toml::from_str(&text).unwrap();
        // ... and every key that exists is documented, with its environment variable.
        let value = toml::Value::try_from(&raw).unwrap();
        let mut keys = Vec::new();
        key_paths("", &value, &mut keys);
        assert!(keys.len() > 25, "{keys:?}");
        let original = include_str!("../../ogforge.example.toml");
        for (path, leaf) in keys {
            let env = format!("OGFORGE__{}", path.replace('.', "__").to_ascii_uppercase());
            assert!(
                original.contains(&env),
                "ogforge.example.toml does not name {env} for {path}"
            );
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{leaf} = "))
                    || (l.starts_with("[routes.") && l.ends_with(&format!(".{leaf}]")))),
                "ogforge.example.toml does not show {path}"
            );
        }
    }

    /// The README's configuration table is the one place users read every key: each key that
    /// exists has its row, with its environment variable.
    #[test]
    fn the_readme_table_lists_every_key() {
        let raw: RawConfig = toml::from_str(&example_with_every_key()).unwrap();
        let mut keys = Vec::new();
        key_paths("", &toml::Value::try_from(&raw).unwrap(), &mut keys);
        let readme = include_str!("../../README.md");
        let missing: Vec<String> = keys
            .iter()
            .map(|(path, _)| path.replacen("routes.0.", "routes[].", 1))
            .filter(|key| {
                let leaf = key.rsplit('.').next().unwrap_or(key);
                // `routes[].width`, `height` share a row: the leaf alone counts there.
                !readme.lines().any(|l| {
                    l.starts_with("| `")
                        && (l.contains(&format!("`{key}`"))
                            || l.contains(&format!("`{key}.NAME`"))
                            || l.contains(&format!("`{leaf}`")))
                })
            })
            .collect();
        assert!(missing.is_empty(), "README's table lacks {missing:?}");
    }

    #[test]
    fn the_example_config_loads_and_equals_the_embedded_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ogforge.toml");
        std::fs::write(&file, include_str!("../../ogforge.example.toml")).unwrap();
        let c = load_with_env(Some(&file), &Overrides::default(), &[]).unwrap();
        let d = load_with_env(None, &Overrides::default(), &[]).unwrap();
        assert_eq!(c.server.listen, d.server.listen);
        assert_eq!(c.memory_bytes, d.memory_bytes);
        assert_eq!(c.routes[0].path, d.routes[0].path);
        assert_eq!(c.routes[0].ids.pattern(), d.routes[0].ids.pattern());
        assert_eq!(c.routes[0].sample_id, d.routes[0].sample_id);
    }
}

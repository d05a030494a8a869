//! The layers, lowest to highest: the embedded defaults, the TOML file, command-line flags, then
//! `OGFORGE__SECTION__KEY` environment variables, laid onto one TOML table before any part
//! reads it, so every layer meets the same checks (unknown keys, types, validation). Each value
//! laid is noted in [`Sources`], so an error can name the layer that set it.
//!
//! A variable's value is read as a TOML value when it is one (`0`, `true`, `["v"]`), and as a
//! string otherwise; quote it (`'"123"'`) to force a string. A numeric segment indexes an array:
//! `OGFORGE__ROUTES__0__QUALITY=90` changes the first route (the embedded one when the file
//! declares none), and the index just past the end adds an entry (`OGFORGE__ROUTES__1__NAME`).

use std::path::Path;

use toml::{Table, Value};

use super::{
    ConfigError,
    snippet::Spans,
    source::{Layer, PREFIX, Sources, join},
};

/// Each flag's name on the command line and the key it sets, in [`Overrides::values`]' order.
pub(super) const FLAGS: [(&str, &str); 4] = [
    ("--listen", "server.listen"),
    ("--store", "store.url"),
    ("--upstream", "proxy.upstream"),
    ("--listen", "proxy.listen"),
];

/// Command-line values that sit between the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` (`server.listen`).
    pub listen: Option<String>,
    /// `--store` (`store.url`).
    pub store: Option<String>,
    /// `ogforge proxy --upstream` (`proxy.upstream`).
    pub proxy_upstream: Option<String>,
    /// `ogforge proxy --listen` (`proxy.listen`).
    pub proxy_listen: Option<String>,
}

impl Overrides {
    /// Each flag's value, in [`FLAGS`]' order.
    fn values(&self) -> [Option<&String>; 4] {
        [
            self.listen.as_ref(),
            self.store.as_ref(),
            self.proxy_upstream.as_ref(),
            self.proxy_listen.as_ref(),
        ]
    }
}

/// The file (or nothing), then `flags`, then the `OGFORGE__` variables of `env`, on one table.
/// `embedded_routes` stands in when the file declares no routes, so variables can change the
/// embedded route. Only a file that cannot be read or parsed stops here; a variable that cannot
/// be applied is reported in `errors` and skipped.
pub(super) fn layer(
    file: Option<&Path>,
    flags: &Overrides,
    env: &[(String, String)],
    embedded_routes: Value,
    errors: &mut Vec<ConfigError>,
) -> Result<(Sources, Table), ConfigError> {
    let mut sources = Sources::new(None, Spans::default());
    let mut table = Table::new();
    if let Some(path) = file {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&name, "", format!("cannot read: {e}")))?;
        table = toml::from_str(&text).map_err(|e| ConfigError::new(&name, "", e))?;
        sources = Sources::new(Some(name), Spans::of(text));
        for (k, v) in &table {
            sources.note_file(k.clone(), v, false);
        }
    }
    if table
        .get("routes")
        .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty))
    {
        table.insert("routes".into(), embedded_routes);
    }
    for ((flag, key), value) in FLAGS.into_iter().zip(flags.values()) {
        if let Some(value) = value {
            let path: Vec<String> = key.split('.').map(str::to_owned).collect();
            let layer = Layer::Flag(flag);
            if let Err(reason) = apply(&mut table, &mut sources, &path, value.clone().into(), layer)
            {
                let origin = sources.describe(&Layer::Flag(flag));
                errors.push(ConfigError::new(origin, key, reason));
            }
        }
    }
    let mut vars: Vec<(Vec<String>, &str, &str)> = env
        .iter()
        .filter_map(|(name, value)| {
            let path = name.strip_prefix(PREFIX)?.split("__");
            Some((
                path.map(str::to_ascii_lowercase).collect(),
                name.as_str(),
                value.as_str(),
            ))
        })
        .collect();
    // Indexes in number order (routes 2 before 10, so each adds the next entry); the result
    // never depends on the environment's order.
    vars.sort_by(|a, b| sort_key(&a.0).cmp(&sort_key(&b.0)).then(a.1.cmp(b.1)));
    for (path, name, value) in vars {
        let result = if path.iter().any(String::is_empty) {
            Err("empty key segment".to_owned())
        } else {
            apply(
                &mut table,
                &mut sources,
                &path,
                parse_value(value),
                Layer::Env(name.to_owned()),
            )
        };
        if let Err(reason) = result {
            let origin = sources.describe(&Layer::Env(name.to_owned()));
            errors.push(ConfigError::new(origin, display(&path), reason));
        }
    }
    Ok((sources, table))
}

fn sort_key(path: &[String]) -> Vec<(usize, &str)> {
    path.iter()
        .map(|s| (s.parse().unwrap_or(usize::MAX), s.as_str()))
        .collect()
}

/// `routes[0].quality` for `["routes", "0", "quality"]`.
fn display(path: &[String]) -> String {
    path.iter()
        .fold(String::new(), |at, s| match s.parse::<usize>() {
            Ok(i) => format!("{at}[{i}]"),
            Err(_) => join(&at, s),
        })
}

fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// Sets `path` in `table` and notes which layer did, and which array entries it added.
fn apply(
    table: &mut Table,
    sources: &mut Sources,
    path: &[String],
    value: Value,
    layer: Layer,
) -> Result<(), String> {
    let mut root = Value::Table(std::mem::take(table));
    let mut added = Vec::new();
    let result = set(&mut root, path, String::new(), value, &mut added);
    if let Value::Table(t) = root {
        *table = t;
    }
    result?;
    for key in added {
        sources.note(key, layer.clone());
    }
    sources.note(display(path), layer);
    Ok(())
}

fn set(
    target: &mut Value,
    path: &[String],
    at: String,
    value: Value,
    added: &mut Vec<String>,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        *target = value;
        return Ok(());
    };
    // What a missing step becomes: an array when the next segment indexes it.
    let fresh = || match rest.first() {
        Some(next) if next.parse::<usize>().is_ok() => Value::Array(Vec::new()),
        _ => Value::Table(Table::new()),
    };
    match target {
        Value::Table(t) => {
            let entry = t.entry(head.clone()).or_insert_with(fresh);
            set(entry, rest, join(&at, head), value, added)
        }
        Value::Array(items) => {
            let i: usize = head
                .parse()
                .map_err(|_| format!("{at} is a list: {head:?} is not an index"))?;
            let at = format!("{at}[{i}]");
            if i == items.len() {
                items.push(fresh());
                added.push(at.clone());
            }
            let len = items.len();
            let item = items.get_mut(i).ok_or_else(|| {
                format!("index {i} is past the end: {len} entries, and index {len} adds one")
            })?;
            set(item, rest, at, value, added)
        }
        _ => Err(format!("{at} is a single value, not a table")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{load_str, load_with_env};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn flags_then_env_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[server]\nlisten = '127.0.0.1:1'\n").unwrap();
        let flags = Overrides {
            listen: Some("127.0.0.1:2".into()),
            ..Overrides::default()
        };
        let c = load_with_env(Some(&file), &flags, &[]).unwrap();
        assert_eq!(c.server.listen.port(), 2);
        let vars = env(&[("OGFORGE__SERVER__LISTEN", "127.0.0.1:3")]);
        let c = load_with_env(Some(&file), &flags, &vars).unwrap();
        assert_eq!(c.server.listen.port(), 3);
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable() {
        let vars = [("OGFORGE__SERVER__LISTEN", "nowhere")];
        let e = load_str("[server]\nlisten = '127.0.0.1:1'\n", &vars).unwrap_err();
        let e = e.first();
        assert_eq!(e.origin, "environment variable OGFORGE__SERVER__LISTEN");
        assert_eq!(e.key, "server.listen");
        assert!(
            e.to_string()
                .starts_with("environment variable OGFORGE__SERVER__LISTEN: not a socket address"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_value_from_a_flag_names_the_flag() {
        let flags = Overrides {
            listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        let e = load_with_env(None, &flags, &[]).unwrap_err();
        assert_eq!(e.first().origin, "flag --listen");
        assert_eq!(e.first().key, "server.listen");
        assert!(
            e.to_string()
                .starts_with("flag --listen: not a socket address"),
            "{e}"
        );
    }

    #[test]
    fn env_changes_and_extends_the_embedded_route_without_a_file() {
        let vars = env(&[
            ("OGFORGE__ROUTES__0__QUALITY", "90"),
            ("OGFORGE__ROUTES__1__NAME", "posts"),
            ("OGFORGE__ROUTES__1__PATH", "/p/{id}.png"),
            ("OGFORGE__ROUTES__1__FORMAT", "png"),
            ("OGFORGE__ROUTES__1__ID_PATTERN", "[0-9]+"),
        ]);
        let c = load_with_env(None, &Overrides::default(), &vars).unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[0].name, "default");
        assert_eq!(c.routes[0].quality, 90);
        assert_eq!(c.routes[1].path.to_string(), "/p/{id}.png");
        let far = env(&[("OGFORGE__ROUTES__3__NAME", "x")]);
        let e = load_with_env(None, &Overrides::default(), &far).unwrap_err();
        assert_eq!(
            e.first().origin,
            "environment variable OGFORGE__ROUTES__3__NAME"
        );
        assert!(e.first().reason.contains("index 3 is past the end"), "{e}");
    }

    #[test]
    fn a_route_added_by_env_blames_env_for_its_missing_keys() {
        let vars = env(&[("OGFORGE__ROUTES__1__NAME", "posts")]);
        let e = load_with_env(None, &Overrides::default(), &vars).unwrap_err();
        assert_eq!(e.first().key, "routes[1]");
        assert_eq!(
            e.first().origin,
            "environment variable OGFORGE__ROUTES__1__NAME"
        );
        assert_eq!(e.first().reason, "missing field `path`");
    }

    #[test]
    fn unknown_env_keys_are_errors_with_a_suggestion() {
        let e = load_str("", &[("OGFORGE__SERVER__NOPE", "1")]).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = load_str("", &[("OGFORGE__SERVER__LISTN", "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable OGFORGE__SERVER__LISTN: unknown field `listn`; \
             did you mean OGFORGE__SERVER__LISTEN?"
        );
        let e = load_str("", &[("OGFORGE__SERVR__LISTEN", "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable OGFORGE__SERVR__LISTEN: servr: unknown field `servr`; \
             did you mean OGFORGE__SERVER__LISTEN?"
        );
    }
}

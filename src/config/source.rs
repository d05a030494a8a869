//! Where every value came from: [`Sources`] records which layer (the embedded defaults, the
//! file, a flag, an environment variable) set which key, as [`super::layer`] lays them onto one
//! table, and answers, for an error about a key, which layer to name. An environment variable
//! or a flag names its key by itself, so an error from one shows only the variable or the flag.

use toml::Value;

use super::{layer, snippet::Spans};

pub(super) const PREFIX: &str = "OGFORGE__";
const DEFAULTS: &str = "embedded defaults";
const ENV: &str = "environment variable ";
const FLAG: &str = "flag ";

/// The layer a value came from, lowest first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Layer {
    Defaults,
    File,
    Flag(&'static str),
    Env(String),
}

/// What each layer set, for messages.
#[derive(Debug, Clone)]
pub(super) struct Sources {
    /// The file as named, or `embedded defaults`.
    name: String,
    /// Where each of the file's values is, for the line under a wrong type.
    spans: Spans,
    /// Keys (`server.listen`, `routes[1]`) and the layer that set them, in order: later wins.
    set: Vec<(String, Layer)>,
}

impl Sources {
    /// Nothing set yet: every key is the embedded defaults', until `name`'s file is noted.
    pub(super) fn new(name: Option<String>, spans: Spans) -> Self {
        Self {
            name: name.unwrap_or_else(|| DEFAULTS.to_owned()),
            spans,
            set: Vec::new(),
        }
    }

    /// The file as named, or `embedded defaults`.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Where `key`'s value came from, as an error's origin. With `also`, the highest layer
    /// among them: the one that made values that each pass on their own disagree.
    pub(super) fn origin(&self, key: &str, also: &[String]) -> String {
        let layer = also
            .iter()
            .map(|k| self.layer_of(k))
            .fold(self.layer_of(key), Ord::max);
        self.describe(&layer)
    }

    /// For a value wrong somewhere inside (a map, a list): the highest layer that set it or
    /// anything in it, and, if that is the file, its line with a caret under the value.
    pub(super) fn origin_within(&self, key: &str) -> (String, Option<String>) {
        let layer = self.layer_within(key);
        let snippet = (layer == Layer::File)
            .then(|| self.spans.snippet(key))
            .flatten();
        (self.describe(&layer), snippet)
    }

    /// Where an unknown key came from. The defaults hold none, and a flag sets only known keys,
    /// so one that no variable set is the file's (an empty table holds no value to note).
    pub(super) fn origin_of_unknown(&self, key: &str) -> String {
        match self.layer_within(key) {
            Layer::Defaults => self.describe(&Layer::File),
            layer => self.describe(&layer),
        }
    }

    fn layer_within(&self, key: &str) -> Layer {
        (self.set.iter())
            .filter(|(k, _)| within(k, key))
            .map(|(_, l)| l.clone())
            .fold(self.layer_of(key), Ord::max)
    }

    /// The layer that set `key` or, failing that, the nearest key above it (a route the file
    /// declares holds its defaulted keys; a section does not).
    fn layer_of(&self, key: &str) -> Layer {
        let mut at = Some(key);
        while let Some(k) = at {
            if let Some((_, layer)) = self.set.iter().rev().find(|(set, _)| set == k) {
                return layer.clone();
            }
            at = k.rfind(['.', '[']).map(|i| &k[..i]);
        }
        Layer::Defaults
    }

    pub(super) fn describe(&self, layer: &Layer) -> String {
        match layer {
            Layer::Defaults => DEFAULTS.to_owned(),
            Layer::File => self.name.clone(),
            Layer::Flag(flag) => format!("{FLAG}{flag}"),
            Layer::Env(var) => format!("{ENV}{var}"),
        }
    }

    /// `layer` set `key`, replacing whatever an earlier layer set in it.
    pub(super) fn note(&mut self, key: String, layer: Layer) {
        self.set.retain(|(k, _)| !within(k, &key));
        self.set.push((key, layer));
    }

    /// The file's values: leaves, arrays and array entries (a table's defaulted keys belong to
    /// the entry that holds it, not to a section).
    pub(super) fn note_file(&mut self, at: String, value: &Value, entry: bool) {
        match value {
            Value::Table(t) => {
                if entry {
                    self.note(at.clone(), Layer::File);
                }
                for (k, v) in t {
                    self.note_file(join(&at, k), v, false);
                }
            }
            Value::Array(items) => {
                self.note(at.clone(), Layer::File);
                for (i, v) in items.iter().enumerate() {
                    self.note_file(format!("{at}[{i}]"), v, true);
                }
            }
            _ => self.note(at, Layer::File),
        }
    }
}

/// Is `key` `of` or inside it?
fn within(key: &str, of: &str) -> bool {
    key.strip_prefix(of)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

pub(super) fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// `OGFORGE__ROUTES__0__QUALITY` for `routes[0].quality`.
pub(super) fn env_name(key: &str) -> String {
    let segments: Vec<String> = key
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .map(str::to_ascii_uppercase)
        .collect();
    format!("{PREFIX}{}", segments.join("__"))
}

/// `near`'s key as the variable in `origin` would have spelt it, if `origin` is a variable:
/// `OGFORGE__SERVER__LISTEN` for `OGFORGE__SERVR__LISTEN`, whose `servr` is nearest `server`.
pub(super) fn respell(origin: &str, key: &str, near: &str) -> Option<String> {
    let var = origin.strip_prefix(ENV)?;
    let spelt = env_name(key);
    let rest = var.get(spelt.len()..).filter(|_| {
        var.get(..spelt.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(&spelt))
    });
    Some(format!("{}{}", env_name(near), rest.unwrap_or_default()))
}

/// Does `origin` (a variable, a flag) name `key` by itself?
pub(super) fn names_key(origin: &str, key: &str) -> bool {
    if let Some(var) = origin.strip_prefix(ENV) {
        return var.eq_ignore_ascii_case(&env_name(key));
    }
    origin
        .strip_prefix(FLAG)
        .is_some_and(|flag| layer::FLAGS.contains(&(flag, key)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use toml::Value;

    use crate::config::{Overrides, layer::layer};

    #[test]
    fn each_key_is_blamed_on_the_layer_that_set_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let text = "[server]\nlisten = '127.0.0.1:1'\n[[routes]]\nname = 'a'\n";
        std::fs::write(&file, text).unwrap();
        let flags = Overrides {
            store: Some("x".into()),
            ..Overrides::default()
        };
        let vars = [("OGFORGE__ROUTES__1__NAME", "b"), ("OGFORGE__SERVER", "{}")];
        let vars: Vec<(String, String)> = vars.map(|(k, v)| (k.into(), v.into())).to_vec();
        let mut errors = Vec::new();
        let (s, _) = layer(
            Some(&file),
            &flags,
            &vars,
            Value::Array(vec![]),
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let origin = |key: &str| s.origin(key, &[]);
        let name = file.display().to_string();
        // A route the file declares holds its defaulted keys; a section does not.
        assert_eq!(origin("routes[0].name"), name);
        assert_eq!(origin("routes[0].signed"), name);
        assert_eq!(origin("browser.executable"), "embedded defaults");
        assert_eq!(origin("store.url"), "flag --store");
        // A variable that replaces a table replaces what the file set in it.
        assert_eq!(
            origin("server.listen"),
            "environment variable OGFORGE__SERVER"
        );
        assert_eq!(
            origin("routes[1].signed"),
            "environment variable OGFORGE__ROUTES__1__NAME"
        );
        let also = ["routes[1].name".to_owned()];
        assert_eq!(origin("routes[0].name"), name);
        assert_eq!(
            s.origin("routes[0].name", &also),
            "environment variable OGFORGE__ROUTES__1__NAME"
        );
    }

    #[test]
    fn a_variable_or_a_flag_names_its_own_key() {
        assert!(super::names_key(
            "environment variable OGFORGE__ROUTES__0__QUALITY",
            "routes[0].quality"
        ));
        assert!(!super::names_key(
            "environment variable OGFORGE__ROUTES__0__ID_PATTERN",
            "routes[0].signed"
        ));
        assert!(super::names_key("flag --listen", "proxy.listen"));
        assert!(!super::names_key("flag --listen", "store.url"));
        assert!(!super::names_key("ogforge.toml", "store.url"));
    }
}

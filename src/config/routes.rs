//! `[[routes]]` as a list: each entry checked alone, then against the others (names and paths
//! are unique), and the embedded default route, which stands in when the file declares none
//! (and which `OGFORGE__ROUTES__0__*` variables can change). An entry's table holds two parts'
//! keys, [`super::route`]'s and [`super::page`]'s; it is split here, so each is read by its
//! owner's serde struct, and a misspelt key is suggested from both.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, de};
use toml::{Table, Value};

use super::{
    error::Report,
    page::RawPage,
    raw,
    route::{self, RawRouteKeys, RouteConfig},
};

pub(super) mod defaults {
    /// The embedded default route: its name, path, ids and the id `ogforge check` renders.
    pub const ROUTE_NAME: &str = "default";
    pub const ROUTE_PATH: &str = "/{id}.jpg";
    pub const ROUTE_ID_PATTERN: &str =
        "^(?P<home>[0-9]{2})-(?P<away>[0-9]{2})-(?P<minute>[0-9]{2})$";
    pub const ROUTE_SAMPLE_ID: &str = "12-34-10";
}
use defaults as d;

/// One `[[routes]]` table: this file's keys and the page's, split by key when read.
#[derive(Debug, Serialize)]
pub(crate) struct RawRoute {
    #[serde(flatten)]
    pub(crate) own: RawRouteKeys,
    #[serde(flatten)]
    pub(crate) page: RawPage,
}

impl<'de> Deserialize<'de> for RawRoute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (own, page) = split(Table::deserialize(d)?);
        Ok(Self {
            own: RawRouteKeys::deserialize(Value::Table(own)).map_err(de::Error::custom)?,
            page: RawPage::deserialize(Value::Table(page)).map_err(de::Error::custom)?,
        })
    }
}

/// A route table's keys: (this file's and unknown ones, the page's).
fn split(mut table: Table) -> (Table, Table) {
    let mut page = Table::new();
    for key in raw::keys::<RawPage>() {
        if let Some(value) = table.remove(*key) {
            page.insert((*key).to_owned(), value);
        }
    }
    (table, page)
}

/// The embedded default route: its required keys; serde fills in the rest.
fn embedded() -> Table {
    [
        ("name", d::ROUTE_NAME),
        ("path", d::ROUTE_PATH),
        ("id_pattern", d::ROUTE_ID_PATTERN),
        ("sample_id", d::ROUTE_SAMPLE_ID),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
    .collect()
}

/// `routes` when the file declares none: the embedded route alone.
pub(super) fn embedded_routes() -> Value {
    Value::Array(vec![Value::Table(embedded())])
}

/// Every route, each checked alone, then against each other (names and paths are unique).
/// `base`: the config file's folder; `env`: where page secrets are read.
pub(super) fn load(
    value: Option<Value>,
    base: &Path,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<Vec<RouteConfig>> {
    let entries = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        None | Some(Value::Array(_)) => vec![Value::Table(embedded())],
        Some(other) => {
            let kind = other.type_str();
            return r.error(
                "",
                format!("must be a list of tables ([[routes]]), not a {kind}"),
            );
        }
    };
    let count = entries.len();
    let routes: Vec<(usize, RouteConfig)> = (entries.into_iter().enumerate())
        .filter_map(|(i, entry)| Some((i, route(entry, base, env, &mut r.at(&format!("[{i}]")))?)))
        .collect();
    let mut unique = true;
    for (n, (i, route)) in routes.iter().enumerate() {
        for (j, other) in &routes[..n] {
            let same = [
                ("name", route.name == other.name),
                ("path", route.path == other.path),
            ];
            for (field, _) in same.into_iter().filter(|(_, same)| *same) {
                let also = format!("[{j}].{field}");
                let reason = format!("duplicate route {field} (also routes[{j}])");
                r.error_with::<()>(&format!("[{i}].{field}"), &[&also], reason);
                unique = false;
            }
        }
    }
    (unique && routes.len() == count).then(|| routes.into_iter().map(|(_, route)| route).collect())
}

fn route(
    entry: Value,
    base: &Path,
    env: &[(String, String)],
    r: &mut Report,
) -> Option<RouteConfig> {
    let Value::Table(mut table) = entry else {
        return r.error("", "must be a table ([[routes]])");
    };
    let own_keys = raw::keys::<RawRouteKeys>();
    let page_keys = raw::keys::<RawPage>();
    let known: Vec<&str> = own_keys.iter().chain(page_keys).copied().collect();
    raw::drop_unknown(&mut table, &known, r);
    let (own, page) = split(table);
    let own = raw::fields(own, own_keys, &embedded(), r);
    let page = raw::fields(page, page_keys, &Table::new(), r);
    route::validate(own?, page?, base, env, r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    const A: &str = "[[routes]]\nname='a'\npath='/{id}.png'\nid_pattern='[0-9]+'\nformat='png'\n";

    #[test]
    fn env_reaches_numbers_and_route_entries() {
        let env = [
            ("OGFORGE__CACHE__MEMORY_BYTES", "0"),
            ("OGFORGE__ROUTES__0__QUALITY", "55"),
        ];
        let c = load_str(A, &env).unwrap();
        assert_eq!(c.memory_bytes, 0);
        assert_eq!(c.routes[0].quality, 55);
    }

    #[test]
    fn every_route_is_checked_and_duplicates_are_named() {
        let text = format!("{A}quality=0\n{A}width=0\n");
        let e = load_str(&text, &[]).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["routes[0].quality", "routes[1].width"]);
        let e = load_str(&format!("{A}{A}"), &[]).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["routes[1].name", "routes[1].path"]);
    }
}

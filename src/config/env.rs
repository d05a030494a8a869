//! Layers command-line flags and `OGFORGE__SECTION__KEY` variables onto the parsed file, before
//! it is deserialized, so every layer goes through the same `deny_unknown_fields` check.
//!
//! A variable's value is read as a TOML value when it is one (`0`, `true`, `["v"]`), and as a
//! string otherwise; quote it (`'"123"'`) to force a string. A numeric segment indexes a route:
//! `OGFORGE__ROUTES__0__QUALITY=90`.

use toml::{Table, Value};

use super::{ConfigError, Overrides};

const PREFIX: &str = "OGFORGE__";

pub(super) fn apply_flags(table: &mut Table, flags: &Overrides) {
    if let Some(listen) = &flags.listen {
        set(table, &["server", "listen"], Value::String(listen.clone()));
    }
    if let Some(store) = &flags.store {
        set(table, &["store", "url"], Value::String(store.clone()));
    }
    if let Some(upstream) = &flags.proxy_upstream {
        set(
            table,
            &["proxy", "upstream"],
            Value::String(upstream.clone()),
        );
    }
    if let Some(listen) = &flags.proxy_listen {
        set(table, &["proxy", "listen"], Value::String(listen.clone()));
    }
}

fn set(table: &mut Table, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for part in parents {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(t) = entry else { return };
        current = t;
    }
    current.insert((*last).to_owned(), value);
}

pub(super) fn apply_env(table: &mut Table, vars: &[(String, String)]) -> Result<(), ConfigError> {
    let mut vars: Vec<&(String, String)> =
        vars.iter().filter(|(k, _)| k.starts_with(PREFIX)).collect();
    // Sorted so that the result does not depend on the environment's order.
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name[PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "environment",
                name.as_str(),
                "empty key segment",
            ));
        }
        set_path(table, &path, parse_value(raw))
            .map_err(|reason| ConfigError::new("environment", name.as_str(), reason))?;
    }
    Ok(())
}

fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Err("empty key".into());
    };
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let entry = table.entry(first.clone()).or_insert_with(|| {
        if rest[0].parse::<usize>().is_ok() {
            Value::Array(Vec::new())
        } else {
            Value::Table(Table::new())
        }
    });
    set_in_value(entry, rest, value)
}

fn set_in_value(target: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    match target {
        Value::Table(t) => set_path(t, path, value),
        Value::Array(items) => {
            let Some((index, rest)) = path.split_first() else {
                return Err("empty key".into());
            };
            let i: usize = index
                .parse()
                .map_err(|_| format!("{index:?} is not an index"))?;
            let Some(item) = items.get_mut(i) else {
                return Err(format!(
                    "index {i} is past the {} entries in the file",
                    items.len()
                ));
            };
            if rest.is_empty() {
                *item = value;
                Ok(())
            } else {
                set_in_value(item, rest, value)
            }
        }
        _ => Err("sets a key inside a value that is not a table".into()),
    }
}

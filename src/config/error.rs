//! Configuration errors. A [`ConfigError`] names where the bad value came from (the file and its
//! key, an environment variable, a flag, or the embedded defaults) and what is wrong with it;
//! [`ConfigErrors`] is every error one load found, reported together.
//!
//! The parts report through a [`Report`]: a part names only its key (`listen`), the report adds
//! the part (`server.listen`) and asks [`Sources`] which layer set that value, so no part has
//! to know whether its values came from the file, the environment or a flag.

use std::fmt;

use super::source::{self, Sources};

/// A configuration problem: where it is, which key, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file, or `environment variable NAME`, `flag --name`, `embedded defaults`.
    pub origin: String,
    /// The key path, e.g. `routes[0].id_pattern`.
    pub key: String,
    /// What is wrong; a TOML or regex error keeps its lines (the offending line, the caret).
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(
        origin: impl Into<String>,
        key: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        Self {
            origin: origin.into(),
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for ConfigError {
    /// `FILE: key: reason`, `environment variable NAME: reason`, `flag --name: reason`: a
    /// variable or a flag already names its key, so the key is shown only when it is another.
    /// Lines after the first are indented, so the next error still starts a line of its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if !self.key.is_empty() && !source::names_key(&self.origin, &self.key) {
            write!(f, ": {}", self.key)?;
        }
        let mut lines = self.reason.trim_end().lines();
        write!(f, ": {}", lines.next().unwrap_or_default())?;
        for line in lines {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

/// Every error one load found, in the order of the parts (never empty).
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// `None` when there is nothing to report.
    pub(super) fn new(errors: Vec<ConfigError>) -> Option<Self> {
        (!errors.is_empty()).then_some(Self(errors))
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// The first error (there is always one).
    pub fn first(&self) -> &ConfigError {
        &self.0[0]
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Where the parts report what they find: under a key prefix (`server`, `routes[0]`), with the
/// origin of each key looked up in [`Sources`].
#[derive(Debug)]
pub(super) struct Report<'a> {
    sources: &'a Sources,
    at: String,
    errors: &'a mut Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub(super) fn new(sources: &'a Sources, errors: &'a mut Vec<ConfigError>) -> Self {
        Self {
            sources,
            at: String::new(),
            errors,
        }
    }

    /// The same report, under `part` (`server`, or `[0]` for an array entry).
    pub(super) fn at(&mut self, part: &str) -> Report<'_> {
        Report {
            sources: self.sources,
            at: self.key(part),
            errors: self.errors,
        }
    }

    /// The full key of `field` (`""`: this part's own key).
    pub(super) fn key(&self, field: &str) -> String {
        if self.at.is_empty() || field.is_empty() || field.starts_with('[') {
            format!("{}{field}", self.at)
        } else {
            format!("{}.{field}", self.at)
        }
    }

    /// An error about `field`'s value, blamed on the layer that set it.
    pub(super) fn error<T>(&mut self, field: &str, reason: impl fmt::Display) -> Option<T> {
        self.error_with(field, &[], reason)
    }

    /// An error about `field` that the values of `also` share (a path that does not suit the
    /// format): blamed on the highest layer among them, the one that made them disagree. Not
    /// reported when one of them has an error already: its value is a stand-in for the wrong
    /// one, and the error would be about the stand-in.
    pub(super) fn error_with<T>(
        &mut self,
        field: &str,
        also: &[&str],
        reason: impl fmt::Display,
    ) -> Option<T> {
        let key = self.key(field);
        let others: Vec<String> = also.iter().map(|a| self.key(a)).collect();
        let known_bad = |k: &String| self.errors.iter().any(|e| e.key == *k);
        if !known_bad(&key) && !others.iter().any(known_bad) {
            let origin = self.sources.origin(&key, &others);
            self.errors.push(ConfigError::new(origin, key, reason));
        }
        None
    }

    /// `result`'s value, or its error reported against `field`.
    pub(super) fn check<T, E: fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_or_else(|e| self.error(field, e), Some)
    }

    /// A value of the wrong type somewhere in `field`: blamed on the highest layer that set it
    /// or anything in it; from the file, the line as written, with a caret under the value.
    pub(super) fn type_error(&mut self, field: &str, reason: impl fmt::Display) {
        let key = self.key(field);
        let (origin, snippet) = self.sources.origin_within(&key);
        let reason = match snippet {
            Some(lines) => format!("{reason}\n{lines}"),
            None => reason.to_string(),
        };
        self.errors.push(ConfigError::new(origin, key, reason));
    }

    /// `field` is not one of this part's `known` keys: suggests `near`, spelt as the layer that
    /// set `field` spells keys (`listen`, or `OGFORGE__SERVER__LISTEN`).
    pub(super) fn unknown(&mut self, field: &str, near: Option<&str>, known: &[&str]) {
        let key = self.key(field);
        let origin = self.sources.origin_of_unknown(&key);
        let hint = match near {
            Some(near) => match source::respell(&origin, &key, &self.key(near)) {
                Some(var) => format!("; did you mean {var}?"),
                None => format!("; did you mean `{near}`?"),
            },
            None => format!(", expected one of `{}`", known.join("`, `")),
        };
        self.errors.push(ConfigError::new(
            origin,
            key,
            format!("unknown field `{field}`{hint}"),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn errors_of_two_parts_are_reported_together_one_per_line() {
        let e = load_str(
            "[server]\nlisten = 'nowhere'\n[rate_limit]\nover_limit = 'drop'\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["server.listen", "rate_limit.over_limit"]);
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(
                "ogforge.toml: server.listen: not a socket address: invalid socket address syntax"
            ),
            "{text}"
        );
        assert!(
            lines[1].contains("ogforge.toml: rate_limit.over_limit: must be"),
            "{text}"
        );
    }

    #[test]
    fn a_multi_line_toml_error_keeps_its_caret_line() {
        let e = load_str("[server]\nlisten = \n", &[]).unwrap_err();
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("ogforge.toml: TOML parse error at line 2"),
            "{text}"
        );
        assert!(lines.contains(&"    2 | listen = "), "{text}");
        assert!(
            lines.iter().any(|l| l.trim_end() == "      |          ^"),
            "{text}"
        );
    }

    #[test]
    fn a_wrong_type_in_the_file_shows_the_line_as_written() {
        let e = load_str("[[routes]]\nname = 'a'\npath = '/{id}.jpg'\nid_pattern = '[0-9]+'\nquality = \"high\"\n", &[]).unwrap_err();
        assert_eq!(e.first().key, "routes[0].quality");
        let text = e.to_string();
        assert!(
            text.contains("invalid type: string \"high\", expected u8"),
            "{text}"
        );
        assert!(
            text.contains("\n    5 | quality = \"high\"\n      |           ^^^^^^"),
            "{text}"
        );
    }

    #[test]
    fn a_regex_error_keeps_its_shape() {
        let e = load_str(
            "[[routes]]\nname='a'\npath='/{id}.jpg'\nid_pattern='([0-9]+'\n",
            &[],
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(
                "regex parse error:\n        ([0-9]+\n        ^\n    error: unclosed group"
            ),
            "{text}"
        );
    }
}

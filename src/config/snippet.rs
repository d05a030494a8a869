//! The file's line under an error, as the user wrote it, with a caret under the value, in the
//! shape toml gives its own parse errors. [`Spans`] records where each of the file's values is
//! (by key, `routes[0].quality`); the layers and the parts never see it, only
//! [`super::source::Sources`] does, when a value from the file has the wrong type.

use std::{collections::BTreeMap, fmt, ops::Range};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, SeqAccess, Visitor},
};
use toml::Spanned;

/// Where each of a file's values is in its text.
#[derive(Clone, Default)]
pub(super) struct Spans {
    text: String,
    at: BTreeMap<String, Range<usize>>,
}

impl fmt::Debug for Spans {
    // The file may hold store credentials: its text never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spans")
            .field("values", &self.at.len())
            .finish_non_exhaustive()
    }
}

impl Spans {
    /// The spans of `text`, a file that parses. Best effort: a value toml cannot span (a
    /// datetime) leaves the map empty, and errors simply come without their line.
    pub(super) fn of(text: String) -> Self {
        let mut at = BTreeMap::new();
        if let Ok(Node::Table(entries)) = toml::from_str::<Node>(&text) {
            for (key, value) in entries {
                record(key, value, &mut at);
            }
        }
        Self { text, at }
    }

    /// `key`'s line, numbered, with a caret under its value.
    pub(super) fn snippet(&self, key: &str) -> Option<String> {
        let span = self.at.get(key)?;
        let before = self.text.get(..span.start)?;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[span.start..]
            .find('\n')
            .map_or(self.text.len(), |i| span.start + i);
        let line = self.text.get(line_start..line_end)?;
        let column = before[line_start..].chars().count();
        let width = self
            .text
            .get(span.start..span.end.min(line_end))?
            .chars()
            .count();
        let number = (before.matches('\n').count() + 1).to_string();
        let gutter = " ".repeat(number.len());
        Some(format!(
            "{gutter} |\n{number} | {}\n{gutter} | {}{}",
            line.trim_end(),
            " ".repeat(column),
            "^".repeat(width.max(1))
        ))
    }
}

fn record(key: String, value: Spanned<Node>, at: &mut BTreeMap<String, Range<usize>>) {
    let span = value.span();
    match value.into_inner() {
        Node::Table(entries) => {
            for (k, v) in entries {
                record(format!("{key}.{k}"), v, at);
            }
        }
        Node::Array(items) => {
            for (i, v) in items.into_iter().enumerate() {
                record(format!("{key}[{i}]"), v, at);
            }
        }
        Node::Leaf => {}
    }
    at.insert(key, span);
}

/// A TOML value with the span of each value inside it.
enum Node {
    Table(Vec<(String, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Table(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Spans;

    #[test]
    fn a_value_is_shown_on_its_line() {
        let spans =
            Spans::of("[server]\nmax_headers = 'many'\n[[routes]]\nvars = { a = 1 }\n".into());
        assert_eq!(
            spans.snippet("server.max_headers").unwrap(),
            "  |\n2 | max_headers = 'many'\n  |               ^^^^^^"
        );
        let under_one = format!("\n  | {}^", " ".repeat("vars = { a = ".len()));
        assert!(
            spans
                .snippet("routes[0].vars.a")
                .unwrap()
                .ends_with(&under_one)
        );
        assert!(spans.snippet("server.listen").is_none());
    }
}

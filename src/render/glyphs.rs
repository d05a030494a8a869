//! Tofu made visible: the text of a parsed card is checked against the loaded fonts before it
//! is drawn; characters no font has are counted (`ogforge_missing_glyphs_total{route}`) and the
//! first card of each route that has any is logged, so a card stored for a year with boxes in
//! it shows in operations. `check` reads the same text ([`card_text`]) for its coverage report.

use std::{collections::HashSet, sync::Mutex};

use metrics::SharedString;
use takumi::prelude::{Node, NodeKind};

use crate::{fonts, metrics as m};

/// Characters shown in a log line, per script.
const LOGGED_CHARS: usize = 12;

/// Counts and logs missing glyphs; logs each route once per process.
#[derive(Debug, Default)]
pub(crate) struct MissingGlyphs {
    logged: Mutex<HashSet<String>>,
}

impl MissingGlyphs {
    /// Counts the characters of `text` no font in `coverage` has, under the route's metric
    /// label.
    pub(crate) fn check(&self, coverage: &fonts::Coverage, label: &SharedString, text: &str) {
        let missing = coverage.missing(text);
        if missing.is_empty() {
            return;
        }
        metrics::counter!(m::MISSING_GLYPHS, "route" => label.clone())
            .increment(missing.len() as u64);
        let route: &str = label;
        let first = match self.logged.lock() {
            Ok(mut logged) => logged.insert(route.to_owned()),
            // A panic elsewhere poisoned the set: counting goes on, logging stops.
            Err(_) => false,
        };
        if first {
            tracing::warn!(
                route,
                missing = %fonts::describe_chars(&missing, LOGGED_CHARS),
                "a card has characters no loaded font has; they are drawn as boxes. Add a font \
                 for them to render.fonts_dirs (docs/fonts.md). Logged once per route"
            );
        }
    }
}

/// Every text node of `node`, in document order, one per line.
pub(crate) fn card_text(node: &Node) -> String {
    let mut text = String::new();
    collect(node, &mut text);
    text
}

fn collect(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::Text(t) => {
            out.push_str(&t.text);
            out.push('\n');
        }
        NodeKind::Container { children } => children.iter().for_each(|c| collect(c, out)),
        _ => {}
    }
}

//! `ogforge check`: everything `serve` would trip over, found before deploying: the config
//! (keys, types, regexes, paths), every template's syntax, the fonts (the lint's warnings, which
//! fail `--strict`), the store (a probe object written, read back and deleted, so a dead server,
//! wrong credentials or a missing bucket show here), a render of each route's sample id (for a
//! browser route: Chromium and the page itself; for a data route: its JSON fetched, so a wrong
//! pointer, a missing required field or a blocked URL shows, unless `--offline`), and the
//! characters of each route's `sample_text` and sample card that no loaded font has, listed by
//! script.

use std::process::ExitCode;

use clap::Args;

use super::Common;
use crate::{
    app::{App, Needs},
    fonts,
};

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Fail on warnings too (fonts whose colour glyphs takumi cannot draw).
    #[arg(long)]
    strict: bool,
    /// Do not fetch data routes' samples (no network): their templates are compiled, not
    /// rendered.
    #[arg(long)]
    offline: bool,
}

/// Uncovered characters shown per script.
const SHOWN_CHARS: usize = 16;

pub(super) async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = args.common.load(None)?;
    let app = App::build(&config, Needs::LOCAL)?;
    let mut failed = 0usize;
    // A miss may wait for a store read, then render: a deadline shorter than both cuts misses
    // that would have been served (serve allows it, for tests and deliberate setups).
    let (deadline, read, render) = (
        config.server.request_timeout,
        config.store.timeout,
        config.render.timeout,
    );
    if deadline < read + render {
        failed += 1;
        let reason = format!(
            "{deadline:?} cannot cover a store read (store.timeout_ms, {read:?}) plus a render \
             (render.timeout_ms, {render:?}); raise it to at least {:?}",
            read + render
        );
        eprintln!(
            "error: {}",
            config.error("server.request_timeout_ms", reason)
        );
    }
    for warning in &app.font_warnings {
        eprintln!("warning: {warning}");
    }
    if args.strict {
        failed += app.font_warnings.len();
    }
    if let Some(store) = app.pipeline.store()
        && let Err(e) = store.probe().await
    {
        failed += 1;
        eprintln!("error: {}", config.error("store.url", e));
    }
    for route in app.routes.routes() {
        let c = &route.config;
        // Where this route's images live in the store: a CDN's origin path (docs/aws.md).
        println!(
            "{} {}: stored under {}/{}/",
            c.name, c.path, c.name, route.digest
        );
        if args.offline && route.data.is_some() {
            println!(
                "{} {}: ok (data route; sample not fetched: --offline)",
                c.name, c.path
            );
            continue;
        }
        match app.pipeline.render_sample(route).await {
            None => println!("{} {}: ok (no sample_id to render)", c.name, c.path),
            Some(Ok(bytes)) => println!(
                "{} {}: ok, sample {:?} rendered ({} bytes {})",
                c.name,
                c.path,
                c.sample_id.as_deref().unwrap_or_default(),
                bytes.len(),
                c.format.extension()
            ),
            Some(Err(e)) => {
                failed += 1;
                let field = match (&e, &c.engine) {
                    (crate::render::RenderError::Data(_), _) => "data.url",
                    (_, crate::config::Engine::Html) => "template",
                    (_, crate::config::Engine::Browser(_)) => "page_url",
                };
                eprintln!(
                    "error: {}: {}.{field}: sample {:?} does not render: {e}",
                    config.origin,
                    c.key,
                    c.sample_id.as_deref().unwrap_or_default()
                );
            }
        }
        let uncovered = match app.pipeline.uncovered_sample(route) {
            Ok(uncovered) => uncovered,
            // The render above has reported it.
            Err(_) => continue,
        };
        for (field, chars) in [
            ("sample_text", uncovered.sample_text),
            ("template", uncovered.sample_card),
        ] {
            if chars.is_empty() {
                continue;
            }
            failed += 1;
            let reason = format!(
                "{} characters no loaded font has (they would be drawn as boxes): {}; add a font \
                 that has them to render.fonts_dirs (for CJK, Debian's fonts-noto-cjk: see \
                 docs/fonts.md)",
                chars.len(),
                fonts::describe_chars(&chars, SHOWN_CHARS)
            );
            eprintln!(
                "error: {}",
                config.error(&format!("{}.{field}", c.key), reason)
            );
        }
    }
    if failed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}: ok ({} routes, store {})",
        config.origin,
        app.routes.routes().len(),
        app.pipeline.store().map_or("none", |s| s.display.as_str())
    );
    Ok(ExitCode::SUCCESS)
}

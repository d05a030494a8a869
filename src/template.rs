//! Route templates: minijinja with HTML auto-escaping, compiled once at start-up.
//!
//! Auto-escaping is on for every template whatever its file name, so neither an id, a capture
//! nor a configured variable can inject markup into the card. Undefined variables are errors, so
//! a typo fails `ogforge check` instead of rendering an empty card.
//!
//! [`digest`] names everything that decides a route's pixels; it is part of every storage key.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use ogforge_tags::Id;
use sha2::{Digest, Sha256};
use takumi::prelude::Lang;

use crate::{
    config::{Engine, RouteConfig},
    data::Data,
};

/// Bumped when ogforge itself changes how a template becomes pixels, so such a release gets
/// new keys instead of mixing old and new renders.
const RENDER_REVISION: &str = "ogforge-render-2;takumi=2.19.0";

#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct TemplateError {
    pub origin: String,
    pub reason: String,
}

/// Every route's compiled template.
#[derive(Debug)]
pub(crate) struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles each route's template under the route's name.
    pub(crate) fn compile(routes: &[RouteConfig]) -> Result<Self, (String, TemplateError)> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for route in routes.iter().filter(|r| matches!(r.engine, Engine::Html)) {
            env.add_template_owned(route.name.clone(), route.template.data.clone())
                .map_err(|e| {
                    (
                        format!("{}.template", route.key),
                        TemplateError {
                            origin: route.template.origin.clone(),
                            reason: describe(&e),
                        },
                    )
                })?;
        }
        Ok(Self { env })
    }

    /// The HTML for one id, with its route's data (`data.NAME`) when it has some.
    pub(crate) fn render(
        &self,
        route: &RouteConfig,
        id: &Id,
        data: Option<&Data>,
    ) -> Result<String, TemplateError> {
        let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
        for (name, value) in &route.vars {
            ctx.insert(name, Value::from(value.as_str()));
        }
        for (name, value) in id.captures() {
            ctx.insert(name, Value::from(value.as_str()));
        }
        ctx.insert("id", Value::from(id.as_str()));
        ctx.insert("route", Value::from(route.name.as_str()));
        ctx.insert("width", Value::from(route.width));
        ctx.insert("height", Value::from(route.height));
        if let Some(data) = data {
            let fields = (data.values().iter()).map(|(k, v)| (k.as_str(), Value::from(v.as_ref())));
            ctx.insert("data", Value::from_iter(fields));
        }
        let fail = |e: minijinja::Error| TemplateError {
            origin: route.template.origin.clone(),
            reason: describe_render(&e, &route.template.data, ctx_names(route, id)),
        };
        self.env
            .get_template(&route.name)
            .map_err(fail)?
            .render(ctx)
            .map_err(fail)
    }
}

/// The variables a template of `route` sees for `id`, for messages.
fn ctx_names(route: &RouteConfig, id: &Id) -> String {
    let mut names: Vec<String> = ["id", "route", "width", "height"].map(String::from).into();
    names.extend(id.captures().iter().map(|(n, _)| n.clone()));
    names.extend(route.vars.keys().cloned());
    if let Some(data) = &route.data {
        names.extend(data.fields.iter().map(|f| format!("data.{}", f.name)));
    }
    names.join(", ")
}

/// A render error; an undefined variable is named, with the variables there are.
fn describe_render(e: &minijinja::Error, source: &str, known: String) -> String {
    let undefined = e.kind() == minijinja::ErrorKind::UndefinedError;
    match e.range().and_then(|r| source.get(r)).filter(|_| undefined) {
        Some(expr) => format!(
            "line {}: `{}` is undefined (the template sees: {known})",
            e.line().unwrap_or(0),
            expr.trim()
        ),
        None => describe(e),
    }
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!(
            "line {line}: {}",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
        None => e.to_string(),
    }
}

/// A short hex digest of the template, the fonts (bytes and fallback chain), the card's
/// language and every render option of a route (for a browser route: its page URL and
/// readiness rules instead of template, fonts and language).
pub(crate) fn digest(route: &RouteConfig, fonts_digest: &[u8; 32], lang: Option<Lang>) -> String {
    let mut h = Sha256::new();
    h.update(RENDER_REVISION.as_bytes());
    h.update([0]);
    match &route.engine {
        Engine::Html => {
            h.update(route.template.data.as_bytes());
            h.update([0]);
            h.update(fonts_digest);
            h.update([0]);
            h.update(lang.as_ref().map_or("", Lang::as_str).as_bytes());
        }
        // The page is the site's; its URL and readiness rules are what ogforge knows of it.
        Engine::Browser(page) => h.update(page.describe().as_bytes()),
    }
    h.update(
        format!(
            "{}x{}@{};{};q{}",
            route.width,
            route.height,
            route.device_scale,
            route.format.extension(),
            route.quality
        )
        .as_bytes(),
    );
    // The data's URL and declared fields; the values themselves join each key (`Route::key`).
    if let Some(data) = &route.data {
        h.update([0]);
        h.update(data.describe().as_bytes());
    }
    for (k, v) in &route.vars {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

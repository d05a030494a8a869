//! ogforge on AWS Lambda behind a Function URL (the `lambda` feature; docs/aws.md): the same
//! router, pipeline and configuration as `serve`, fed by Lambda's runtime API instead of a
//! listener. The binary becomes the function's `bootstrap`: started with no arguments where
//! `AWS_LAMBDA_RUNTIME_API` is set, it runs this instead of the command line.
//!
//! Configuration comes from the environment (`OGFORGE__SECTION__KEY`, and `OGFORGE_CONFIG` for
//! a file in the zip); the store is the bucket CloudFront reads first, written with
//! create-if-absent like every other replica. Two limits are Lambda's, checked at start-up so a
//! misfit fails the deploy's first invocation with the key to change, never a request later:
//! no Chromium (browser routes are refused), and a buffered Function URL response of 6 MB
//! once base64-encoded, so no route may be able to produce more than [`MAX_IMAGE_BYTES`].

use std::sync::Arc;

use anyhow::Context as _;

use crate::{
    app::{App, Needs},
    config::{self, Config, Engine, Overrides},
    http,
};

/// The largest image a route may be able to produce: a Function URL's buffered response is
/// capped at 6 MB, and binary bodies go base64-encoded (4 bytes per 3), with headers beside.
pub const MAX_IMAGE_BYTES: u64 = 4_400_000;
/// Bytes per device pixel an encoded image can reach at worst (RGBA, and a little for PNG's
/// filter bytes or JPEG's worst case on noise).
const WORST_BYTES_PER_PIXEL: f64 = 4.1;

/// Whether this process is a Lambda function's bootstrap: the runtime API is there and the
/// command line is empty.
pub fn is_bootstrap() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() && std::env::args_os().len() == 1
}

/// Runs the router under Lambda's runtime until the environment is shut down.
pub async fn run() -> anyhow::Result<()> {
    // No command line on Lambda: a config file in the zip is named by `OGFORGE_CONFIG`.
    let file = std::env::var_os("OGFORGE_CONFIG").map(std::path::PathBuf::from);
    let config = config::load(file.as_deref(), &Overrides::default())?;
    let router = build(&config)?;
    lambda_http::run(router)
        .await
        .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// The checked config's router, as `serve` builds it.
pub fn build(config: &Config) -> anyhow::Result<axum::Router> {
    fits(config)?;
    let app = Arc::new(App::build(config, Needs::SERVE)?);
    crate::metrics::zero(
        &(app.routes.routes().iter())
            .map(|r| r.label.clone())
            .collect::<Vec<_>>(),
    );
    Ok(http::router(app, &config.server))
}

/// Refuses what Lambda cannot do: browser routes, and routes whose images (or default images)
/// could be larger than a Function URL can return.
fn fits(config: &Config) -> anyhow::Result<()> {
    for r in &config.routes {
        if matches!(r.engine, Engine::Browser(_)) {
            return Err(config.error(
                &format!("{}.renderer", r.key),
                "a browser route cannot run on Lambda (no Chromium there): use renderer = \"html\"",
            ))
            .context("the lambda build");
        }
        let pixels = f64::from(r.width) * f64::from(r.height) * f64::from(r.device_scale).powi(2);
        let worst = (pixels * WORST_BYTES_PER_PIXEL) as u64;
        if worst > MAX_IMAGE_BYTES {
            return Err(config.error(
                &format!("{}.width", r.key),
                format!(
                    "a {}x{} card at device_scale {} can encode to {worst} bytes, over the \
                     {MAX_IMAGE_BYTES} a Lambda Function URL can return: make it smaller",
                    r.width, r.height, r.device_scale
                ),
            ))
            .context("the lambda build");
        }
        let default = r.default_image.data.len() as u64;
        if default > MAX_IMAGE_BYTES {
            return Err(config.error(
                &format!("{}.default_image", r.key),
                format!("{default} bytes, over the {MAX_IMAGE_BYTES} a Function URL can return"),
            ))
            .context("the lambda build");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lambda_http::{
        Adapter, Context, LambdaEvent, Service as _,
        aws_lambda_events::apigw::ApiGatewayV2httpResponse, request::LambdaRequest,
    };

    use super::*;
    use crate::config::load_with_env;

    /// A Function URL (payload 2.0) GET of `path`.
    fn event(path: &str) -> LambdaRequest {
        let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
        serde_json::from_value(serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "accept": "*/*"},
            "requestContext": {
                "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
                "domainPrefix": "abc",
                "http": {"method": "GET", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
                "requestId": "r1", "routeKey": "$default", "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        }))
        .unwrap()
    }

    /// The router of a config with a folder store in `dir`, behind Lambda's adapter.
    fn function(dir: &std::path::Path, extra: &[(&str, &str)]) -> axum::Router {
        let mut env = vec![(
            "OGFORGE__STORE__URL".to_owned(),
            dir.join("store").display().to_string(),
        )];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config = load_with_env(None, &Overrides::default(), &env).unwrap();
        build(&config).unwrap()
    }

    async fn invoke(router: &axum::Router, path: &str) -> ApiGatewayV2httpResponse {
        let mut adapter = Adapter::from(router.clone());
        let resp = adapter
            .call(LambdaEvent::new(event(path), Context::default()))
            .await
            .unwrap();
        let json = serde_json::to_value(resp).unwrap();
        serde_json::from_value(json).unwrap()
    }

    /// Files under `dir`, recursively (what a folder store holds).
    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path);
                }
            }
        }
        out
    }

    fn body_bytes(resp: &ApiGatewayV2httpResponse) -> Vec<u8> {
        use base64::Engine as _;
        match &resp.body {
            Some(lambda_http::Body::Binary(b)) => b.clone(),
            Some(lambda_http::Body::Text(t)) if resp.is_base64_encoded => {
                base64::engine::general_purpose::STANDARD.decode(t).unwrap()
            }
            Some(lambda_http::Body::Text(t)) => t.clone().into_bytes(),
            _ => Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_card_comes_back_base64_with_its_headers_and_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let router = function(dir.path(), &[]);
        let resp = invoke(&router, "/12-34-10.jpg").await;
        assert_eq!(resp.status_code, 200);
        assert!(resp.is_base64_encoded);
        assert_eq!(resp.headers["content-type"], "image/jpeg");
        assert!(
            resp.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("s-maxage")
        );
        assert!(resp.headers.contains_key("etag"));
        let jpeg = body_bytes(&resp);
        assert_eq!(&jpeg[..3], b"\xff\xd8\xff");
        let stored = files(&dir.path().join("store"));
        assert_eq!(stored.len(), 1, "{stored:?}");
    }

    #[tokio::test]
    async fn an_invalid_id_gets_the_default_image_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let router = function(dir.path(), &[]);
        let resp = invoke(&router, "/not-an-id.jpg").await;
        assert_eq!(resp.status_code, 200);
        assert!(resp.is_base64_encoded);
        assert_eq!(resp.headers["x-ogforge-fallback"], "invalid-id");
        assert_eq!(body_bytes(&resp), crate::assets::DEFAULT_IMAGE);
        assert!(files(&dir.path().join("store")).is_empty());
        // A client's mistake in the query is a 400, as from `serve`.
        let resp = invoke(&router, "/12-34-10.jpg?x=1").await;
        assert_eq!(resp.status_code, 400);
    }

    #[test]
    fn routes_lambda_cannot_serve_are_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            (
                "OGFORGE__STORE__URL".to_owned(),
                dir.path().display().to_string(),
            ),
            ("OGFORGE__ROUTES__0__NAME".to_owned(), "big".to_owned()),
            (
                "OGFORGE__ROUTES__0__PATH".to_owned(),
                "/{id}.png".to_owned(),
            ),
            (
                "OGFORGE__ROUTES__0__ID_PATTERN".to_owned(),
                "[0-9-]+".to_owned(),
            ),
            ("OGFORGE__ROUTES__0__FORMAT".to_owned(), "png".to_owned()),
            (
                "OGFORGE__ROUTES__0__DEVICE_SCALE".to_owned(),
                "2".to_owned(),
            ),
        ];
        let config = load_with_env(None, &Overrides::default(), &env).unwrap();
        let e = format!("{:#}", build(&config).unwrap_err());
        assert!(
            e.contains("routes[0].width") && e.contains("Function URL"),
            "{e}"
        );
    }
}

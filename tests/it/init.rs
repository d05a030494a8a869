//! `ogforge init` (issue 16): the starter folder passes `check` and renders each of its three
//! cards at 1200x630. The article and product cards read the sample API's files, served here on a
//! loopback port of the test's own (the config's `data.url`s are pointed at it through the
//! environment, so the written config is checked as it is); `check --offline` passes without it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::util::{default_image, run_in, run_in_env};

/// The sample API's address as `init` writes it, in the config and in the JSON's image URLs.
const SAMPLE_API: &str = "127.0.0.1:8090";

/// The starter cards, in route order: (path, the data URL's path on the API, if it has one).
const CARDS: &[(&str, Option<&str>)] = &[
    ("/posts/42.jpg", Some("/posts/{post}.json")),
    ("/products/aurora-lamp.jpg", Some("/products/{sku}.json")),
    ("/matches/ars-che-2-1-88.jpg", None),
];

/// Serves `api/` of an init folder, with the sample address in bodies replaced by its own;
/// records the paths asked.
#[derive(Clone)]
struct Api {
    root: PathBuf,
    base: String,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Api {
    fn start(root: &Path) -> Self {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (root_owned, asked_by_server) = (root.to_path_buf(), Arc::clone(&asked));
        let base = crate::util::serve_loopback(move |addr| {
            let api = Api {
                root: root_owned,
                base: addr.to_owned(),
                asked: asked_by_server,
            };
            Router::new().fallback(file).with_state(api)
        });
        Self {
            root: root.to_path_buf(),
            base,
            asked,
        }
    }

    /// The environment that points the starter's data routes at this server.
    fn env(&self) -> Vec<(String, String)> {
        CARDS
            .iter()
            .enumerate()
            .filter_map(|(i, (_, url))| {
                url.map(|u| {
                    (
                        format!("OGFORGE__ROUTES__{i}__DATA__URL"),
                        format!("http://{}{u}", self.base),
                    )
                })
            })
            .collect()
    }
}

async fn file(State(api): State<Api>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    api.asked.lock().unwrap().push(path.clone());
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|s| s == ".." || s.is_empty()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(text) = std::fs::read_to_string(api.root.join(rel)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = text.replace(SAMPLE_API, &api.base);
    let content_type = if rel.ends_with(".json") {
        "application/json"
    } else {
        "image/svg+xml"
    };
    ([("content-type", content_type)], body).into_response()
}

fn decode_jpeg(bytes: &[u8]) -> (u32, u32) {
    let mut d = zune_jpeg::JpegDecoder::new(std::io::Cursor::new(bytes));
    d.decode().unwrap();
    let info = d.info().unwrap();
    (u32::from(info.width), u32::from(info.height))
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn init_writes_a_folder_that_checks_and_renders_each_card() {
    let top = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(top.path(), &["init", "cards"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let dir = top.path().join("cards");
    for file in [
        "ogforge.toml",
        "README.md",
        "templates/article.html",
        "templates/product.html",
        "templates/score.html",
        "api/posts/42.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} not written:\n{out}");
    }

    // Without the sample API: everything but the two fetches.
    let (code, out, err) = run_in(&dir, &["check", "-c", "ogforge.toml", "--offline"], None);
    assert_eq!(code, 0, "check --offline failed:\n{out}\n{err}");
    assert!(out.contains("sample \"ars-che-2-1-88\" rendered"), "{out}");

    let api = Api::start(&dir.join("api"));
    let env = api.env();
    let env = env_refs(&env);
    let (code, out, err) = run_in_env(&dir, &["check", "-c", "ogforge.toml"], &env);
    assert_eq!(code, 0, "check failed:\n{out}\n{err}");
    for sample in ["42", "aurora-lamp", "ars-che-2-1-88"] {
        assert!(
            out.contains(&format!("sample {sample:?} rendered")),
            "{sample}:\n{out}"
        );
    }

    let default = default_image();
    let mut seen = Vec::new();
    for (path, _) in CARDS {
        let out_file = dir.join("card.jpg");
        let (code, out, err) = run_in_env(
            &dir,
            &[
                "render",
                "-c",
                "ogforge.toml",
                path,
                "-o",
                "card.jpg",
                "--no-store",
            ],
            &env,
        );
        assert_eq!(code, 0, "render {path} failed:\n{out}\n{err}");
        let bytes = std::fs::read(&out_file).unwrap();
        assert_ne!(bytes, default, "{path} gave the default image");
        assert_eq!(decode_jpeg(&bytes), (1200, 630), "{path}");
        assert!(
            !seen.contains(&bytes),
            "{path} drew the same card as another"
        );
        seen.push(bytes);
    }
    // The image fields were fetched and drawn, not skipped.
    let asked = api.asked.lock().unwrap().clone();
    for want in ["/avatars/ann.svg", "/products/aurora-lamp.svg"] {
        assert!(
            asked.iter().any(|p| p == want),
            "{want} not asked: {asked:?}"
        );
    }
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(dir.path(), &["init"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let config = dir.path().join("ogforge.toml");
    let written = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, "# mine\n").unwrap();

    let (code, _, err) = run_in(dir.path(), &["init", "."], None);
    assert_eq!(code, 1);
    assert!(err.contains("ogforge.toml"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");

    let (code, out, err) = run_in(dir.path(), &["init", ".", "--force"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
}

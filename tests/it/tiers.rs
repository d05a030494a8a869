//! The tiers behind the contract: restart from the store, single-flight, store outages and
//! what is stored, on a folder and on a real S3 server.

use std::sync::Arc;

use object_store::{ObjectStoreExt, aws::AmazonS3Builder, path::Path as StorePath};

use crate::util::{EMBEDDED_ID, S3, S3_KEY, S3_SECRET, Workdir, default_image, get};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";

async fn restart_serves_from_the_store(store_toml: &str) {
    let w = Workdir::new();
    w.config(store_toml);
    let url_path = format!("/{EMBEDDED_ID}.jpg");
    let first = {
        let s = w.serve();
        let r = get(&s.url(&url_path)).await;
        assert_eq!(r.header("x-ogforge-tier"), "render");
        s.stop();
        r
    };
    let s = w.serve();
    let again = get(&s.url(&url_path)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-ogforge-tier"), "store");
    assert_eq!(again.header("cache-status"), "ogforge; hit; detail=store");
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(s.metric("ogforge_renders_total", &[]).await, 0.0);
}

#[tokio::test]
async fn restart_file_store() {
    restart_serves_from_the_store(FILE_STORE).await;
}

#[tokio::test]
async fn restart_s3_store() {
    let s3 = S3::start();
    restart_serves_from_the_store(&s3.store_toml()).await;
    assert_eq!(s3.keys().len(), 1, "{:?}", s3.keys());
}

async fn concurrent_misses_render_once(store_toml: &str) {
    let w = Workdir::new();
    w.config(store_toml);
    let s = w.serve();
    let url = s.url(&format!("/{EMBEDDED_ID}.jpg"));
    let client = crate::util::client();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (client, url, barrier) = (client.clone(), url.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                crate::util::send(client.get(&url)).await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        assert_eq!(r.status, 200);
        assert_ne!(r.header("x-ogforge-tier"), "fallback");
        bodies.push(r.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every waiter gets the same bytes"
    );
    assert_eq!(s.metric("ogforge_renders_total", &[]).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_file_store() {
    concurrent_misses_render_once(FILE_STORE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_s3_store() {
    let s3 = S3::start();
    concurrent_misses_render_once(&s3.store_toml()).await;
    assert_eq!(s3.keys().len(), 1);
}

#[tokio::test]
async fn a_store_that_is_down_still_serves_the_render() {
    let mut s3 = S3::start();
    let w = Workdir::new();
    w.config(&format!("{}timeout_ms = 2000\n", s3.store_toml()));
    s3.stop();
    let s = w.serve();
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ogforge-tier"), "render");
    assert_ne!(r.body, default_image());
    assert!(
        s.metric("ogforge_store_errors_total", &[("op", "get")])
            .await
            >= 1.0
    );
    assert!(failed_puts(&s).await >= 1.0);
    assert_eq!(
        r.header("cache-status"),
        "ogforge; fwd=miss; detail=store-unavailable"
    );
    // Readiness says so.
    let ready = reqwest::get(format!("{}/readyz", s.admin)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let log = s.stop();
    assert!(log.contains("store write failed"), "{log}");
}

#[tokio::test]
async fn a_folder_store_that_cannot_be_written_still_serves_the_render() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let s = w.serve();
    // Replace the route's folder with a file so every write fails.
    let data = w.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("default"), b"not a folder").unwrap();
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ogforge-tier"), "render");
    assert!(failed_puts(&s).await >= 1.0);
}

#[tokio::test]
async fn s3_objects_carry_content_type_and_cache_control() {
    let s3 = S3::start();
    let w = Workdir::new();
    w.config(&s3.store_toml());
    let s = w.serve();
    let r = get(&s.url(&format!("/{EMBEDDED_ID}.jpg"))).await;
    assert_eq!(r.header("x-ogforge-tier"), "render");
    let keys = s3.keys();
    assert_eq!(keys.len(), 1);
    let store = AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_endpoint(&s3.endpoint)
        .with_region("us-east-1")
        .with_access_key_id(S3_KEY)
        .with_secret_access_key(S3_SECRET)
        .with_allow_http(true)
        .build()
        .unwrap();
    let got = store.get(&StorePath::from(keys[0].as_str())).await.unwrap();
    let attrs = got.attributes.clone();
    let bytes = got.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), r.body.as_slice());
    let ct = attrs
        .get(&object_store::Attribute::ContentType)
        .map(|v| v.to_string());
    let cc = attrs
        .get(&object_store::Attribute::CacheControl)
        .map(|v| v.to_string());
    assert_eq!(ct.as_deref(), Some("image/jpeg"));
    assert_eq!(
        cc.as_deref(),
        Some("public, max-age=86400, s-maxage=31536000")
    );
}

#[tokio::test]
async fn a_template_change_moves_images_to_new_keys() {
    let w = Workdir::new();
    let route = |color: &str| {
        format!(
            "{FILE_STORE}[[routes]]\nname = \"t\"\npath = \"/t/{{id}}.png\"\nid_pattern = \"[0-9]+\"\nformat = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"t.html\"\n# {color}\n"
        )
    };
    w.write(
        "t.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:red\"></div>",
    );
    w.config(&route("red"));
    let first = {
        let s = w.serve();
        let r = get(&s.url("/t/1.png")).await;
        s.stop();
        r
    };
    w.write(
        "t.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:blue\"></div>",
    );
    let s = w.serve();
    let second = get(&s.url("/t/1.png")).await;
    assert_eq!(
        second.header("x-ogforge-tier"),
        "render",
        "a new template renders anew"
    );
    assert_ne!(first.body, second.body);
    assert_ne!(first.header("etag"), second.header("etag"));
    assert_eq!(w.stored().len(), 2, "{:?}", w.stored());
}

/// Failed store writes, once at least one is counted (bounded: 10 s): the write runs behind
/// the response, so it may fail after the response is in.
async fn failed_puts(s: &crate::util::Server) -> f64 {
    let mut failed = 0.0;
    for _ in 0..100 {
        failed = s
            .metric("ogforge_store_errors_total", &[("op", "put")])
            .await;
        if failed >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    failed
}

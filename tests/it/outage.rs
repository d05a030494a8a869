//! Store outages (issue 11) on a real S3 server: frozen (`SIGSTOP`: connections accepted,
//! nothing answered) for longer than the request deadline, or killed and restarted. Misses keep
//! being served (no 5xx), say honestly that nothing was stored, skip the store once the breaker
//! opens, and every image rendered during the outage is in the bucket once it is back, with the
//! bytes that were served.
//!
//! Nothing here asserts a duration: the waits are bounded polls of `/metrics`.

use std::time::Duration;

use crate::util::{Reply, S3, Server, Workdir, get};

/// A small PNG route on the S3 server; store calls time out after 1 s, requests after 4 s.
fn config(w: &Workdir, s3: &S3) {
    w.write(
        "fast.html",
        "<div style=\"display:flex;width:64px;height:32px;background-color:teal\">{{ id }}</div>",
    );
    w.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\nrequest_timeout_ms = 4000\n{}timeout_ms = 1000\n\
         [[routes]]\nname = \"o\"\npath = \"/o/{{id}}.png\"\nid_pattern = \"[0-9]+\"\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\n",
        s3.store_toml()
    ));
}

/// Misses for `ids` while the store is out: each one served, none stored.
async fn misses_during_outage(s: &Server, ids: std::ops::Range<u32>) -> Vec<(u32, Reply)> {
    let mut served = Vec::new();
    for id in ids {
        let r = get(&s.url(&format!("/o/{id}.png"))).await;
        assert_eq!(r.status, 200, "id {id}: no 5xx during a store outage");
        assert_eq!(r.header("x-ogforge-tier"), "render", "id {id}");
        assert!(
            r.header("cache-status")
                .contains("detail=store-unavailable"),
            "id {id}: {}",
            r.header("cache-status")
        );
        served.push((id, r));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    served
}

/// Polls until no write is pending (bounded: 60 s).
async fn wait_for_drain(s: &Server) {
    for _ in 0..600 {
        if s.metric("ogforge_store_pending_writes", &[]).await == 0.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pending writes never drained");
}

/// Every served image is in the bucket with the served bytes.
fn assert_stored(s3: &S3, served: &[(u32, Reply)]) {
    let keys = s3.keys();
    for (id, r) in served {
        let suffix = format!("/{id}.png");
        let key = keys
            .iter()
            .find(|k| k.ends_with(&suffix))
            .unwrap_or_else(|| panic!("id {id} not stored: {keys:?}"));
        assert_eq!(s3.object(key).as_deref(), Some(r.body.as_slice()), "{key}");
    }
}

#[tokio::test]
async fn a_frozen_store_costs_no_5xx_and_its_renders_are_stored_once_it_thaws() {
    let s3 = S3::start();
    let w = Workdir::new();
    config(&w, &s3);
    let s = w.serve();
    let before = get(&s.url("/o/1.png")).await;
    assert_eq!(before.header("cache-status"), "ogforge; fwd=miss; stored");

    s3.freeze(true);
    // About 6 s frozen: longer than the 4 s request deadline.
    let served = misses_during_outage(&s, 100..116).await;
    assert_eq!(s.metric("ogforge_store_breaker_open", &[]).await, 1.0);
    // Once the breaker opened, misses stopped waiting on the store: fewer failed reads than
    // misses.
    let failed_reads = s
        .metric("ogforge_store_errors_total", &[("op", "get")])
        .await;
    assert!(
        failed_reads < 16.0,
        "{failed_reads} reads waited on the store"
    );
    assert!(s.metric("ogforge_store_pending_writes", &[]).await >= 1.0);

    s3.freeze(false);
    wait_for_drain(&s).await;
    assert_stored(&s3, &served);
    // The store is used again: a new miss is stored and says so.
    let mut after = None;
    for _ in 0..100 {
        let r = get(&s.url("/o/999.png")).await;
        if r.header("cache-status") == "ogforge; fwd=miss; stored" {
            after = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(after.is_some(), "the store was never used again");
    assert_eq!(s.metric("ogforge_store_breaker_open", &[]).await, 0.0);
}

#[tokio::test]
async fn a_store_killed_and_restarted_gets_every_render_of_the_outage() {
    let mut s3 = S3::start();
    let w = Workdir::new();
    config(&w, &s3);
    let s = w.serve();
    s3.stop();
    let served = misses_during_outage(&s, 200..210).await;
    s3.restart();
    wait_for_drain(&s).await;
    assert_stored(&s3, &served);
    // Hits from memory meanwhile, and the same bytes from the store after a restart.
    let s = {
        s.stop();
        w.serve()
    };
    let again = get(&s.url("/o/200.png")).await;
    assert_eq!(again.header("x-ogforge-tier"), "store");
    assert_eq!(again.body, served[0].1.body);
}

/// A damaged object in the store (a truncated upload) is never served: it is rendered again
/// and replaced.
#[tokio::test]
async fn a_damaged_stored_object_is_rendered_again_and_replaced() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let path = format!("/{}.jpg", crate::util::EMBEDDED_ID);
    let first = {
        let s = w.serve();
        let r = get(&s.url(&path)).await;
        assert_eq!(r.header("cache-status"), "ogforge; fwd=miss; stored");
        s.stop();
        r
    };
    let stored = w.stored();
    assert_eq!(stored.len(), 1);
    let file = w.path().join("data").join(&stored[0]);
    std::fs::write(&file, &first.body[..first.body.len() / 2]).unwrap();

    let s = w.serve();
    let r = get(&s.url(&path)).await;
    assert_eq!(r.header("x-ogforge-tier"), "render", "not the damaged copy");
    assert_eq!(r.body, first.body);
    assert_eq!(s.metric("ogforge_store_damaged_total", &[]).await, 1.0);
    assert_eq!(std::fs::read(&file).unwrap(), first.body, "replaced whole");
}

/// Staging files of interrupted writes (`NAME#N`, older than a minute) are swept at start-up;
/// anything else in the folder is left alone.
#[tokio::test]
async fn staging_files_of_interrupted_writes_are_swept_at_start_up() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let dir = w.path().join("data").join("default").join("abc");
    std::fs::create_dir_all(&dir).unwrap();
    let (staging, fresh, other) = (dir.join("1.jpg#1"), dir.join("2.jpg#1"), dir.join("3.jpg"));
    for f in [&staging, &fresh, &other] {
        std::fs::write(f, b"partial").unwrap();
    }
    for f in [&staging, &other] {
        let status = std::process::Command::new("touch")
            .args(["-d", "10 minutes ago"])
            .arg(f)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let s = w.serve();
    assert!(!staging.exists(), "an old staging file is swept");
    assert!(fresh.exists(), "a fresh one may belong to a writer at work");
    assert!(other.exists(), "objects are never swept");
    drop(s);
}

//! The Lambda build (issue 15) through `cargo lambda`'s runtime emulator, on loopback: the
//! function's own `bootstrap` (from the zip `cargo lambda build` made; `scripts/test.sh` builds
//! it and sets `OGFORGE_LAMBDA_BOOTSTRAP`) polls the emulator's runtime API, and requests reach
//! it as Function URL events (`/lambda-url/{function}/...`). It renders, stores in a SeaweedFS
//! bucket with create-if-absent (as on S3), and answers the default image for an invalid id
//! without storing anything.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    cluster_util::Weed,
    util::{client, free_port, send, tool},
};

/// The function the emulator's runtime API serves when it starts no function itself
/// (`--only-lambda-apis`): its default, `_`.
const FUNCTION: &str = "_";

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The store's `[store]` keys as the function's environment (Lambda has no config file).
fn store_env(s3: &Weed) -> Vec<(String, String)> {
    [
        ("URL", format!("s3://{}", s3.bucket)),
        ("ENDPOINT", s3.endpoint.clone()),
        ("REGION", "us-east-1".to_owned()),
        ("ACCESS_KEY_ID", crate::util::S3_KEY.to_owned()),
        ("SECRET_ACCESS_KEY", crate::util::S3_SECRET.to_owned()),
        ("ALLOW_HTTP", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("OGFORGE__STORE__{k}"), v))
    .collect()
}

#[tokio::test]
async fn the_function_renders_and_stores_through_the_runtime_emulator() {
    let bootstrap = tool("OGFORGE_LAMBDA_BOOTSTRAP", "the lambda zip's bootstrap");
    let cargo_lambda = tool("OGFORGE_CARGO_LAMBDA", "cargo-lambda binary");
    let s3 = Weed::start().await;
    let port = free_port();
    // The emulator reads a manifest (`cargo metadata`) even when it builds nothing; a manifest
    // of its own keeps it off this repository's, whose lock the running `cargo test` holds.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"ogforge\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    // Nothing of this test's own cargo environment either (CARGO_MANIFEST_PATH would point it
    // back at this repository).
    let emulator = Command::new(cargo_lambda)
        .env_clear()
        .envs(["PATH", "HOME"].map(|k| (k, std::env::var(k).unwrap_or_default())))
        .args(["lambda", "watch", "--only-lambda-apis", "--disable-cors"])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .current_dir(dir.path())
        .stdout(std::fs::File::create(dir.path().join("emulator.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cargo lambda watch");
    let _emulator = Killed(emulator);
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    // The emulator is up once it accepts connections (its paths answer only invocations, so
    // a request would wait); bounded, for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen on {base}: {}",
            std::fs::read_to_string(dir.path().join("emulator.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let function = Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("{base}/.rt"))
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .envs(store_env(&s3))
        .stdout(Stdio::null())
        // A file, not a pipe nobody reads: a full pipe would stall the function's log writes.
        .stderr(std::fs::File::create(dir.path().join("function.log")).unwrap())
        .spawn()
        .expect("spawn the bootstrap");
    let logs = || {
        format!(
            "function log:\n{}\nemulator log:\n{}",
            std::fs::read_to_string(dir.path().join("function.log")).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("emulator.log")).unwrap_or_default()
        )
    };
    let _function = Killed(function);

    let url = |path: &str| format!("{base}/lambda-url/{FUNCTION}{path}");
    let card = send(c.get(url("/12-34-10.jpg"))).await;
    assert_eq!(card.status, 200, "{}", String::from_utf8_lossy(&card.body));
    assert_eq!(card.header("content-type"), "image/jpeg");
    assert_eq!(card.header("x-ogforge-tier"), "render");
    assert!(card.header("cache-control").contains("s-maxage"));
    assert_eq!(
        &card.body[..3],
        b"\xff\xd8\xff",
        "a JPEG, decoded from base64"
    );
    let keys = s3.image_keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        s3.object(&keys[0]).await.unwrap(),
        card.body,
        "the stored bytes are the served ones"
    );

    let bad = send(c.get(url("/not-an-id.jpg"))).await;
    assert_eq!(
        bad.status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&bad.body),
        logs()
    );
    assert_eq!(bad.header("x-ogforge-fallback"), "invalid-id");
    assert_eq!(bad.body, crate::util::default_image());
    let again = send(c.get(url("/12-34-10.jpg"))).await;
    assert_eq!(again.header("x-ogforge-tier"), "memory");
    assert_eq!(s3.image_keys().await, keys, "nothing else was stored");
}

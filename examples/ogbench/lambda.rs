//! The Lambda build's cold start (issue 15), measured locally through `cargo lambda`'s runtime
//! emulator: the zip's `bootstrap` is spawned with a fresh store and the request for a new card
//! is already waiting in the emulator, so the time from spawn to the image's last byte is what a
//! Function URL's first request costs beyond Lambda's own sandbox start (which is AWS's, and
//! not measured here). The server's cold start on the same card is measured in the same run.

use std::{
    fs,
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};

use crate::{
    args::{Args, Plan},
    browser::no_chromium,
    http::Conn,
    server::free_port,
};

/// The emulator's function when it starts none itself (`--only-lambda-apis`).
const FUNCTION: &str = "_";

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawn -> first image bytes of the bootstrap, `2 * plan.cold_reps` times, in ms.
pub(crate) fn lambda_cold_starts(args: &Args, plan: &Plan, work: &Path) -> Result<Vec<f64>> {
    ensure!(
        args.lambda_bootstrap.exists(),
        "{} is missing: build it with `cargo lambda build --profile lambda --features lambda \
         --output-format zip` and unzip it there (scripts/test.sh does)",
        args.lambda_bootstrap.display()
    );
    let port = free_port()?;
    let _emulator = Killed(start_emulator(&absolute(&args.cargo_lambda)?, work, port)?);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut times = Vec::new();
    for rep in 0..2 * plan.cold_reps {
        let store = work.join(format!("lambda-store-{rep}"));
        let t0 = Instant::now();
        let _function = Killed(spawn_bootstrap(args, &store, port)?);
        let path = format!("/lambda-url/{FUNCTION}/card/{}.jpg", 950_000 + rep);
        let r = Conn::open(addr)?.get(&path)?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        ensure!(
            r.status == 200 && r.header("content-type") == Some("image/jpeg"),
            "{path}: {} {:?}",
            r.status,
            r.header("x-ogforge-fallback")
        );
        println!("[ogbench] lambda cold start: first image {ms:.1} ms");
        times.push(ms);
    }
    Ok(times)
}

/// `cargo lambda watch --only-lambda-apis` on loopback, in a folder with a manifest of its own
/// (it reads one even when it builds nothing).
fn start_emulator(cargo_lambda: &Path, work: &Path, port: u16) -> Result<Child> {
    let dir = work.join("lambda-emulator");
    fs::create_dir_all(dir.join("src"))?;
    fs::write(dir.join("src/main.rs"), "fn main() {}\n")?;
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"ogforge\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    )?;
    let mut child = Command::new(cargo_lambda)
        .args(["lambda", "watch", "--only-lambda-apis", "--disable-cors"])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .env_remove("CARGO_MANIFEST_PATH")
        .env_remove("CARGO_MANIFEST_DIR")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", cargo_lambda.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            bail!("cargo lambda watch did not listen on {addr}");
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

/// The bootstrap with the benchmark's config (its browser routes as HTML routes: no Chromium
/// on Lambda) and a fresh folder store.
fn spawn_bootstrap(args: &Args, store: &Path, port: u16) -> Result<Child> {
    Command::new(absolute(&args.lambda_bootstrap)?)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("OGFORGE_CONFIG", absolute(&args.config)?)
        .env("OGFORGE__STORE__URL", store)
        .env("OGFORGE_LOG", "warn")
        .envs(no_chromium())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", args.lambda_bootstrap.display()))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(p))
}

const BEGIN: &str = "<!-- BEGIN LAMBDA COLD START by bench/run.sh --lambda-only -->";
const END: &str = "<!-- END LAMBDA COLD START -->";

/// The section: the Lambda bootstrap's cold start next to the server's, same card, same run.
pub(crate) fn markdown(lambda: &[f64], server: &[f64], date: &str, machine: &str) -> String {
    let l = crate::stats::Stats::of(lambda);
    let s = crate::stats::Stats::of(server);
    format!(
        "{BEGIN}\n\n{date}, {machine}: process spawn -> first image bytes of a new JPEG card \
         (the benchmark's card), fresh folder store each time.\n\n\
         | cold start | n | p50 ms | max ms |\n| --- | ---: | ---: | ---: |\n\
         | `ogforge serve` (listen, then the request) | {} | {:.1} | {:.1} |\n\
         | Lambda `bootstrap` under `cargo lambda`'s emulator (the request already waiting) | {} | {:.1} | {:.1} |\n\n\
         Lambda's own sandbox start (downloading and unpacking the zip, starting the micro-VM) \
         comes before this on AWS and is not measured here.\n\n{END}\n",
        s.n, s.p50, s.max, l.n, l.p50, l.max
    )
}

/// Writes the section into `report`, appending it the first time.
pub(crate) fn write(report: &Path, section: &str) -> Result<()> {
    crate::report::write_section(report, BEGIN, END, section, |generated| {
        let old = fs::read_to_string(report).unwrap_or_default();
        format!(
            "{}\n\n## Lambda cold start (issue 15)\n\n{generated}\n",
            old.trim_end()
        )
    })
}

//! The command line: `serve`, `render`, `warm`, `check`, `proxy`, `sign`, `purge`, and `init`
//! (a starter folder). Each command but `init` loads the config the same way and goes through
//! the same [`crate::pipeline::Pipeline`].

mod check;
mod check_store;
mod health;
mod init;
mod proxy;
mod purge;
mod reload;
mod render;
mod serve;
mod sign;
mod warm;
mod watch;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, Overrides};

/// ogforge serves social-share images (og:image): it validates the id, returns the stored
/// image, or renders it from a template, stores it and returns it.
#[derive(Debug, Parser)]
#[command(name = "ogforge", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (embedded defaults: 127.0.0.1:8080, store ./data, route /{id}.jpg).
    Serve(serve::ServeArgs),
    /// Render one path to a file through the same routes and pipeline (and store it).
    Render(render::RenderArgs),
    /// Render ahead of time every id or path in a list that the store lacks.
    Warm(warm::WarmArgs),
    /// Load the config, compile every template and render each route's sample id.
    Check(check::CheckArgs),
    /// Proxy the main site, rewriting og:image/twitter:image tags from a validated query value.
    Proxy(proxy::ProxyArgs),
    /// Print PATH with its signature (`?sig=`) for routes with `signed = true`.
    Sign(sign::SignArgs),
    /// Ask the running service to forget an id's data and memory entry (data routes).
    Purge(purge::PurgeArgs),
    /// Race conditional creates in the store: refuse it for a cluster unless exactly one wins.
    CheckStore(check_store::CheckStoreArgs),
    /// Exit 0 if the running service's admin listener says it is ready (`/readyz`), else 1:
    /// a container's health check, with no curl in the image.
    Health(health::HealthArgs),
    /// Write a starter folder: a config, three card templates, a sample API and a README.
    Init(init::InitArgs),
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
struct Common {
    /// Config file (TOML). Without one, the embedded defaults.
    #[arg(long, short = 'c', env = "OGFORGE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Object store URL: a folder, file://, s3://bucket, gs://bucket, az://container.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Log format.
    #[arg(long, env = "OGFORGE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

impl Common {
    fn load(&self, listen: Option<String>) -> anyhow::Result<Config> {
        self.load_with(Overrides {
            listen,
            ..Overrides::default()
        })
    }

    /// Loads with these flags (and `--store`) layered over the file, under the environment.
    fn load_with(&self, flags: Overrides) -> anyhow::Result<Config> {
        let flags = Overrides {
            store: self.store.clone(),
            ..flags
        };
        Ok(config::load(self.config.as_deref(), &flags)?)
    }
}

/// Parses the command line, runs the command, prints the error chain on failure.
pub fn run() -> ExitCode {
    #[cfg(feature = "lambda")]
    if crate::lambda::is_bootstrap() {
        return lambda_bootstrap();
    }
    let cli = Cli::parse();
    let common = match &cli.command {
        // Writes files; loads no config.
        Command::Init(_) => None,
        Command::Serve(a) => Some(&a.common),
        Command::Render(a) => Some(&a.common),
        Command::Warm(a) => Some(&a.common),
        Command::Check(a) => Some(&a.common),
        Command::Proxy(a) => Some(&a.common),
        Command::Sign(a) => Some(&a.common),
        Command::Purge(a) => Some(&a.common),
        Command::Health(a) => Some(&a.common),
        Command::CheckStore(a) => Some(&a.common),
    };
    init_tracing(common.map_or("text", |c| c.log_format.as_str()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(a) => serve::run(a).await,
            Command::Render(a) => render::run(a).await,
            Command::Warm(a) => warm::run(a).await,
            Command::Check(a) => check::run(a).await,
            Command::Proxy(a) => proxy::run(a).await,
            Command::Sign(a) => sign::run(a).await,
            Command::Purge(a) => purge::run(a).await,
            Command::Health(a) => health::run(a).await,
            Command::CheckStore(a) => check_store::run(a).await,
            Command::Init(a) => init::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // One `error:` per error (a config load reports all of its errors at once); the
            // indented lines under one (a TOML snippet, a regex caret) are its own.
            for line in format!("{e:#}").lines() {
                if line.starts_with(char::is_whitespace) {
                    eprintln!("{line}");
                } else {
                    eprintln!("error: {line}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

const CDP_CLIENT_CAP: &str = "chromiumoxide=warn";

/// Logs go to stderr; `OGFORGE_LOG` (or `RUST_LOG`) sets the filter, `info` by default.
fn init_tracing(format: &str) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = std::env::var("OGFORGE_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
        // The CDP client traces every message, and browser routes' messages carry their
        // token and credentials: it never logs below warn, whatever the filter asks.
        .add_directive(CDP_CLIENT_CAP.parse().unwrap_or_default());
    // Colours only on a terminal: a log file or collector would get escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The admin listener to ask: `--admin URL`, else `server.admin_listen` of the config (an
/// unspecified address, `0.0.0.0`, asked on loopback).
fn admin_url(common: &Common, flag: Option<String>) -> anyhow::Result<String> {
    use anyhow::Context as _;
    if let Some(url) = flag {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let config = common.load(None)?;
    let mut addr =
        (config.server.admin_listen).context("server.admin_listen is off: pass --admin URL")?;
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr = match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        addr.set_ip(loopback);
    }
    Ok(format!("http://{addr}"))
}

/// The Lambda function's `bootstrap`: the same router under Lambda's runtime API.
#[cfg(feature = "lambda")]
fn lambda_bootstrap() -> ExitCode {
    // CloudWatch takes one JSON object a line.
    init_tracing("json");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ogforge: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::lambda::run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ogforge: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

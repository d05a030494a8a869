//! `ogforge init [DIR]`: a folder to start from: a config with three routes, their starter
//! templates (an article and a product drawn from a JSON API, a match score drawn from its id),
//! the sample API's files, and a README of what each template sees. The files live under
//! `assets/init/` in the repository, where they can be read and reviewed, and are compiled in.
//!
//! Nothing is overwritten without `--force`: an existing file stops the command before it
//! writes anything, and the message names it.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// The folder to write into (made if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Overwrite files that are already there.
    #[arg(long)]
    force: bool,
}

macro_rules! files {
    ($($path:literal,)*) => {
        &[$(($path, include_str!(concat!("../../assets/init/", $path))),)*]
    };
}

/// Every file `init` writes, by its path in the folder.
const FILES: &[(&str, &str)] = files![
    "ogforge.toml",
    "README.md",
    "templates/article.html",
    "templates/product.html",
    "templates/score.html",
    "api/posts/42.json",
    "api/products/aurora-lamp.json",
    "api/avatars/ann.svg",
    "api/products/aurora-lamp.svg",
];

pub(super) async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let existing: Vec<String> = (FILES.iter())
        .map(|(path, _)| args.dir.join(path))
        .filter(|file| file.exists())
        .map(|file| file.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        anyhow::bail!(
            "{} already exists (pass --force to overwrite{})",
            existing.join(", "),
            if existing.len() > 1 { " them" } else { " it" }
        );
    }
    for (path, text) in FILES {
        let file = args.dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
        println!("wrote {}", file.display());
    }
    let dir = args.dir.display();
    println!(
        "\nNext, in {dir}:\n  \
         python3 -m http.server 8090 --bind 127.0.0.1 --directory api &   # the sample API\n  \
         ogforge check -c ogforge.toml\n  \
         ogforge serve -c ogforge.toml --watch\n\
         and open http://127.0.0.1:8080/posts/42.jpg. README.md lists what each template sees."
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::FILES;

    /// The starter config loads as written, with its templates, and names only files `init`
    /// writes.
    #[test]
    fn the_starter_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in FILES {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let config = crate::config::load_with_env(
            Some(&dir.path().join("ogforge.toml")),
            &crate::config::Overrides::default(),
            &[],
        )
        .unwrap();
        let names: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["article", "product", "score"]);
        assert!(
            config
                .routes
                .iter()
                .all(|r| r.width == 1200 && r.height == 630)
        );
    }
}

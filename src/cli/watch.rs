//! `serve --watch`: follows the files a config names (the config file itself, route templates
//! and default images, font folders) and asks for a reload (`reload.rs`) once they have been
//! quiet for [`DEBOUNCE`], so an editor's save or a copied font folder is one reload.
//!
//! Each file is watched through its folder, not itself: editors save by writing a new file and
//! renaming it over the old one, which would end a watch on the old file. Reads (ours included,
//! when a reload reads the templates) and metadata changes are not changes.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher, event::ModifyKind};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tracing::{info, warn};

use crate::config::Config;

/// How long the watched files must stay quiet before the reload starts.
pub(super) const DEBOUNCE: Duration = Duration::from_millis(200);

/// What a config names: files, and font folders (with or without their sub-folders).
#[derive(Debug, Default, PartialEq, Eq)]
struct Targets {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl Targets {
    fn of(config_file: Option<&Path>, config: &Config) -> Self {
        let mut files = BTreeSet::new();
        let embedded = |origin: &str| origin.starts_with("embedded:");
        let named = (config.routes.iter())
            .flat_map(|r| [&r.template.origin, &r.default_image.origin])
            .filter(|origin| !embedded(origin.as_str()))
            .map(PathBuf::from);
        for file in config_file.map(Path::to_path_buf).into_iter().chain(named) {
            // Through the canonical folder, as the events name it.
            match absolute_in_folder(&file) {
                Some(file) => {
                    files.insert(file);
                }
                None => warn!(file = %file.display(), "cannot watch: its folder is not there"),
            }
        }
        let dirs = (config.render.fonts_dirs.iter())
            .filter_map(|d| match std::fs::canonicalize(d) {
                Ok(d) => Some(d),
                Err(e) => {
                    warn!(dir = %d.display(), error = %e, "cannot watch the font folder");
                    None
                }
            })
            .collect();
        Self { files, dirs }
    }

    /// Whether a change at `path` is one of ours.
    fn concerns(&self, path: &Path) -> bool {
        self.files.contains(path) || self.dirs.iter().any(|d| path.starts_with(d))
    }
}

/// `file` with its folder made canonical (the file itself may be a link, or about to be
/// replaced); `None` when the folder does not exist.
fn absolute_in_folder(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

/// The watcher, what it follows, and the folders it has asked the system to watch.
#[derive(Debug)]
pub(super) struct Watch {
    watcher: RecommendedWatcher,
    targets: Arc<Mutex<Targets>>,
    watched: BTreeMap<PathBuf, RecursiveMode>,
}

impl Watch {
    /// Watches what `config` names; each burst of changes sends one `()` on `reload`.
    pub(super) fn start(
        config_file: Option<&Path>,
        config: &Config,
        reload: UnboundedSender<()>,
    ) -> anyhow::Result<Self> {
        let targets = Arc::new(Mutex::new(Targets::default()));
        let (raw_tx, raw_rx) = unbounded_channel();
        let seen = Arc::clone(&targets);
        // Runs on the watcher's own thread.
        let watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            let Ok(event) = event else { return };
            if !is_change(&event.kind) {
                return;
            }
            let targets = seen.lock().unwrap_or_else(PoisonError::into_inner);
            if event.paths.iter().any(|p| targets.concerns(p)) {
                let _ = raw_tx.send(());
            }
        })?;
        tokio::spawn(debounce(raw_rx, reload));
        let mut this = Self {
            watcher,
            targets,
            watched: BTreeMap::new(),
        };
        this.follow(config_file, config);
        if this.watched.is_empty() {
            warn!(
                "--watch: no config file, template or font folder to follow (the embedded \
                 defaults); SIGHUP still reloads"
            );
        }
        Ok(this)
    }

    /// Follows what a (re)loaded config names: new folders are watched, folders no longer
    /// named are let go.
    pub(super) fn follow(&mut self, config_file: Option<&Path>, config: &Config) {
        let targets = Targets::of(config_file, config);
        let mut wanted: BTreeMap<PathBuf, RecursiveMode> = BTreeMap::new();
        for file in &targets.files {
            if let Some(dir) = file.parent() {
                wanted
                    .entry(dir.to_path_buf())
                    .or_insert(RecursiveMode::NonRecursive);
            }
        }
        let fonts_mode = if config.render.fonts_recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        for dir in &targets.dirs {
            let mode = wanted.entry(dir.clone()).or_insert(fonts_mode);
            if fonts_mode == RecursiveMode::Recursive {
                *mode = RecursiveMode::Recursive;
            }
        }
        for (dir, mode) in &self.watched {
            if wanted.get(dir) != Some(mode) {
                let _ = self.watcher.unwatch(dir);
            }
        }
        let mut watched = BTreeMap::new();
        for (dir, mode) in wanted {
            if self.watched.get(&dir) == Some(&mode) {
                watched.insert(dir, mode);
                continue;
            }
            match self.watcher.watch(&dir, mode) {
                Ok(()) => {
                    watched.insert(dir, mode);
                }
                Err(e) => warn!(dir = %dir.display(), error = %e, "cannot watch"),
            }
        }
        let changed = watched != self.watched;
        self.watched = watched;
        if changed {
            info!(
                files = targets.files.len(),
                font_dirs = targets.dirs.len(),
                "watching for changes (serve --watch)"
            );
        }
        *self.targets.lock().unwrap_or_else(PoisonError::into_inner) = targets;
    }
}

/// Writes, creations, removals and renames; not reads, nor metadata (a read may touch the
/// access time).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}

/// Forwards one `()` per burst: after the first change, once nothing more came for
/// [`DEBOUNCE`].
async fn debounce(mut raw: UnboundedReceiver<()>, reload: UnboundedSender<()>) {
    while raw.recv().await.is_some() {
        loop {
            match tokio::time::timeout(DEBOUNCE, raw.recv()).await {
                Ok(Some(())) => {}
                Ok(None) => return,
                Err(_) => break,
            }
        }
        if reload.send(()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use notify::{
        EventKind,
        event::{AccessKind, CreateKind, DataChange, MetadataKind, ModifyKind},
    };

    use super::{Targets, is_change};
    use crate::config::{Overrides, load_with_env};

    #[test]
    fn the_config_file_and_the_files_it_names_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ogforge.toml");
        std::fs::write(dir.path().join("card.html"), "<div></div>").unwrap();
        std::fs::write(
            &file,
            "[[routes]]\nname = \"c\"\npath = \"/{id}.jpg\"\nid_pattern = '[0-9]+'\n\
             template = \"card.html\"\n",
        )
        .unwrap();
        let config = load_with_env(Some(&file), &Overrides::default(), &[]).unwrap();
        let targets = Targets::of(Some(&file), &config);
        let canonical = std::fs::canonicalize(dir.path()).unwrap();
        assert!(targets.concerns(&canonical.join("card.html")));
        assert!(targets.concerns(&canonical.join("ogforge.toml")));
        assert!(!targets.concerns(&canonical.join("card.html.swp")));
        assert!(!targets.concerns(&canonical.join("data")));
    }

    #[test]
    fn reads_and_metadata_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Any)));
        assert!(!is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }
}

//! Small fixtures for routes whose pixels do not matter: a card that renders in a millisecond,
//! a route on it, and `ogforge sign`.

use std::process::Command;

use crate::util::{BIN, Workdir};

/// A card that renders in a millisecond: a 64x32 teal box, for routes whose pixels do not matter.
pub const FAST: &str =
    "<div style=\"display:flex;width:64px;height:32px;background-color:teal\"></div>";

/// `[[routes]]` TOML for route `name` at `/{name}/{id}.png`: ids matching `pattern`, the
/// [`FAST`] card (write it as `fast.html`), signed or not.
pub fn fast_route(name: &str, pattern: &str, signed: bool) -> String {
    format!(
        "[[routes]]\nname = \"{name}\"\npath = \"/{name}/{{id}}.png\"\nid_pattern = '{pattern}'\n\
         format = \"png\"\nwidth = 64\nheight = 32\ntemplate = \"fast.html\"\nsigned = {signed}\n"
    )
}

/// `ogforge sign PATH` with `keys` in the environment: the printed signed path, which never
/// holds a key.
pub fn sign(w: &Workdir, path: &str, keys: &str) -> String {
    let out = Command::new(BIN)
        .args(["sign", "-c", "ogforge.toml", path])
        .current_dir(w.path())
        .env("OGFORGE_SIGNING_KEYS", keys)
        .output()
        .expect("run ogforge sign");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    for key in keys.split(',') {
        assert!(!printed.contains(key.trim()), "the key is never printed");
    }
    printed
}

//! "Machine, versions, conditions": the report's last section, so a figure can be traced to
//! the machine, the commit, the crate and tool versions, the peers' run, and how crowded the
//! machine was while it ran.

use std::fmt::Write as _;

use super::{Report, f1};
use crate::{
    machine::{command_line, git_dirty, locked_version},
    server::nginx_bin,
};

impl Report<'_> {
    /// Machine, versions, the peers' run, and the conditions the run met.
    pub(super) fn conditions_section(&self, s: &mut String) {
        s.push_str("\n## Machine, versions, conditions\n\n");
        self.versions(s);
        self.peers_env(s);
        if !self.peers.note.is_empty() {
            let _ = writeln!(s, "- Note: {}.", self.peers.note);
        }
        let _ = writeln!(
            s,
            "- The HTML renderer's servers (cold starts, the miss, throughput, single-flight and \
             hit series) run with the browser routes turned into HTML routes \
             (`OGFORGE__ROUTES__N__RENDERER=html`), so no Chromium runs beside them; the browser \
             routes have a server of their own afterwards, then the peers run."
        );
        self.conditions(s);
    }

    /// The machine, ogforge's commit and crates, and the tools' versions.
    fn versions(&self, s: &mut String) {
        let m = &self.machine;
        let _ = writeln!(
            s,
            "- Machine: {} CPUs, {}; RAM {:.1} GiB; Debian {}, kernel {}.",
            m.nproc, m.cpu, m.ram_gib, m.debian, m.kernel
        );
        let _ = writeln!(
            s,
            "- ogforge {} ({}), {}; takumi {}, jpeg-encoder {}, png {}, tokio {}, hyper {}, axum {}.",
            command_line("git", &["rev-parse", "--short", "HEAD"]),
            if git_dirty() {
                "the working tree also has uncommitted changes in src/ or Cargo.*"
            } else {
                "clean tree"
            },
            command_line("rustc", &["-V"]),
            locked_version("takumi"),
            locked_version("jpeg-encoder"),
            locked_version("png"),
            locked_version("tokio"),
            locked_version("hyper"),
            locked_version("axum"),
        );
        let nginx_bin = nginx_bin();
        let _ = writeln!(
            s,
            "- {}; {}; {}.",
            command_line(&nginx_bin.to_string_lossy(), &["-v"]),
            command_line("wrk", &["-v"]),
            command_line("hyperfine", &["--version"])
        );
    }

    /// The peers' run: date, QUICK or not, Node, Chromium and package versions.
    fn peers_env(&self, s: &mut String) {
        let Some(env) = self.peers.json.as_ref().map(|v| &v["env"]) else {
            return;
        };
        let pkgs: Vec<String> = env["packages"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "- Peers (run {}{}): Node {}, {}; {}.",
            env["date"].as_str().unwrap_or("?"),
            if self.peers.json.as_ref().and_then(|v| v["quick"].as_bool()) == Some(true) {
                ", QUICK"
            } else {
                ""
            },
            env["node"].as_str().unwrap_or("?"),
            env["chromium"].as_str().unwrap_or("?"),
            pkgs.join(", ")
        );
    }

    /// The conditions line: other compilers, load, two-core capacity, steal, sample sizes.
    fn conditions(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "- Conditions: other compilers ({}) running at {} of {} checkpoints; 1-min load \
             average at the checkpoints: {}; two-core capacity at the checkpoints (2.0: two full \
             cores; 1.0: the second gives nothing; see `two_core_capacity` in \
             examples/ogbench/machine.rs): {}; hypervisor steal during ogforge's part: {} % of one \
             CPU. The run: {} warm-up renders per format, {} ids per miss series, {} per \
             throughput series, {} cold starts per format.",
            if self.noise.seen.is_empty() {
                "rustc, cargo, cc, ld".to_owned()
            } else {
                self.noise
                    .seen
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            self.noise.busy,
            self.noise.samples,
            self.noise.load.join(", "),
            self.noise
                .capacity
                .iter()
                .map(|c| format!("{c:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            f1(self.steal_pct),
            self.plan.warmup,
            self.plan.misses,
            self.plan.throughput,
            self.plan.cold_reps
        );
    }
}

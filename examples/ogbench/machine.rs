//! The machine and the conditions a run met: CPU, memory, OS and tool versions for the report;
//! hypervisor steal; and [`Noise`], the checkpoints taken between series (other compilers
//! running, load average, [`two_core_capacity`]), so a reader can tell a slow run from a
//! crowded machine.

use std::{collections::BTreeSet, fs, process::Command, thread, time::Instant};

#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) nproc: usize,
    pub(crate) ram_gib: f64,
    pub(crate) kernel: String,
    pub(crate) debian: String,
}

impl Machine {
    pub(crate) fn read() -> Self {
        Self {
            cpu: cpu_model(),
            nproc: thread::available_parallelism().map_or(0, |n| n.get()),
            ram_gib: ram_kib() / 1024.0 / 1024.0,
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            debian: read_trim("/etc/debian_version"),
        }
    }
}

/// The CPU's model name and which of AVX2 and AVX-512 it has.
fn cpu_model() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let flags = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags")?.split_once(':').map(|x| x.1))
        .unwrap_or_default();
    let simd: Vec<&str> = ["avx2", "avx512f"]
        .into_iter()
        .filter(|f| flags.split_whitespace().any(|x| x == *f))
        .collect();
    format!("{cpu} ({})", simd.join(", "))
}

/// `MemTotal` of `/proc/meminfo`, KiB (0 if unreadable).
fn ram_kib() -> f64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0)
}

fn read_trim(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "?".into(), |s| s.trim().to_owned())
}

/// The first line a command prints (stdout, else stderr), or `?`.
pub(crate) fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8(text)
                .ok()?
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

/// Whether the code that decides the figures has uncommitted changes.
pub(crate) fn git_dirty() -> bool {
    Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--",
            "src",
            "Cargo.toml",
            "Cargo.lock",
        ])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

/// A locked crate version from Cargo.lock.
pub(crate) fn locked_version(name: &str) -> String {
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| {
            let rest = &lock[i + needle.len()..];
            rest.split('"').next().map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

/// Hypervisor steal over all CPUs, in ms.
pub(crate) fn cpu_steal_ms() -> Option<f64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    let steal: f64 = cpu.split_whitespace().nth(8)?.parse().ok()?;
    Some(steal * 10.0)
}

/// Whether anything else was compiling while we measured (rustc, cargo, cc, ld).
#[derive(Debug, Default)]
pub(crate) struct Noise {
    pub(crate) samples: usize,
    pub(crate) busy: usize,
    pub(crate) seen: BTreeSet<String>,
    pub(crate) load: Vec<String>,
    /// [`two_core_capacity`] at each checkpoint.
    pub(crate) capacity: Vec<f64>,
}

/// How many cores' worth of work two busy threads get done, from 1.0 (the second vCPU gives
/// nothing) to 2.0 (two full cores): the same fixed integer loop on one thread, then on two at
/// once. About 0.1 s. On a shared VM this moves while steal time stays near zero, and whatever
/// uses both cores (ogforge's JPEG strips and PNG bands, wrk next to a server) moves with it.
fn two_core_capacity() -> f64 {
    const N: u64 = 20_000_000;
    let spin = || {
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for i in 0..std::hint::black_box(N) {
            x = x.rotate_left(5) ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D);
        }
        std::hint::black_box(x)
    };
    let t = Instant::now();
    spin();
    let one = t.elapsed().as_secs_f64();
    let t = Instant::now();
    thread::scope(|scope| {
        let helper = scope.spawn(spin);
        spin();
        let _ = helper.join();
    });
    let two = t.elapsed().as_secs_f64();
    2.0 * one / two
}

impl Noise {
    /// One checkpoint: compilers running, two-core capacity, 1-min load average.
    pub(crate) fn sample(&mut self) {
        self.samples += 1;
        let busy = self.compilers_running();
        self.busy += usize::from(busy);
        let capacity = two_core_capacity();
        println!(
            "[ogbench] checkpoint {}: two-core capacity {capacity:.2}",
            self.samples
        );
        self.capacity.push(capacity);
        if let Ok(l) = fs::read_to_string("/proc/loadavg") {
            self.load
                .push(l.split_whitespace().next().unwrap_or("?").to_owned());
        }
    }

    /// Whether another process (not this one) is a compiler or linker; adds the names seen.
    fn compilers_running(&mut self) -> bool {
        let me = std::process::id().to_string();
        let mut busy = false;
        if let Ok(dir) = fs::read_dir("/proc") {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                let comm = comm.trim();
                if ["rustc", "cargo", "cc1", "cc1plus", "ld", "clippy-driver"].contains(&comm) {
                    busy = true;
                    self.seen.insert(comm.to_owned());
                }
            }
        }
        busy
    }
}

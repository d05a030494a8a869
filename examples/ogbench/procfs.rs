//! What `/proc` says about one process under test: resident memory (current and peak) and the
//! CPU time of the process alone or of its whole tree (ogforge and its Chromium). Machine-wide
//! readings are in `machine.rs`.

use std::fs;

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A memory field of `/proc/{pid}/status` (`VmRSS`, `VmHWM`), in MiB.
pub(crate) fn rss_mib(pid: u32, field: &str) -> Option<f64> {
    proc_status_kib(pid, field).map(|k| k as f64 / 1024.0)
}

/// utime + stime of a process, in ms (assumes the usual 100 ticks per second).
pub(crate) fn proc_cpu_ms(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// utime + stime (and the reaped children's cutime + cstime) of `root` and every process below
/// it, in ms: ogforge plus its Chromium's browser, GPU, network and renderer processes.
pub(crate) fn tree_cpu_ms(root: u32) -> Option<f64> {
    let procs = processes()?;
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    procs.iter().any(|p| p.0 == root).then(|| {
        procs
            .iter()
            .filter(|p| tree.contains(&p.0))
            .map(|p| p.2)
            .sum()
    })
}

/// Every process: pid, parent pid, and its CPU ms with its reaped children's.
fn processes() -> Option<Vec<(u32, u32, f64)>> {
    let mut procs: Vec<(u32, u32, f64)> = Vec::new();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let ppid = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        procs.push((pid, ppid, (num(11) + num(12) + num(13) + num(14)) * 10.0));
    }
    Some(procs)
}

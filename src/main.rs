//! The `ogforge` binary: everything lives in the library; this prints the error chain and
//! sets the exit code, and picks the memory allocator.

/// jemalloc with two arenas and a 1 s purge (its settings: `.cargo/config.toml`), not glibc's
/// malloc: renders free 3 MiB bitmaps on whichever of dozens of blocking threads ran them, and
/// glibc keeps such freed memory in up to 8 arenas per core, so a soak's RSS rose to ~175 MiB
/// and stayed. Measured against mimalloc and jemalloc's defaults in docs/BENCHMARKS.md ("Memory
/// under a soak", issue 11). In the binary only: the library leaves the choice to its embedder.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    ogforge::cli::run()
}

//! The `ogforge` binary: everything lives in the library; this prints the error chain and
//! sets the exit code.

fn main() -> std::process::ExitCode {
    ogforge::cli::run()
}

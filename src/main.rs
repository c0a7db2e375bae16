//! The `watchword` binary: see `watchword --help`.
fn main() -> std::process::ExitCode {
    watchword::cli::main()
}

//! `weft-configtx`: see [`weft_configtx::cli`].

fn main() -> std::process::ExitCode {
    weft_configtx::cli::main()
}

//! `weft-ca`: the command line lives in the library (`weft_ca::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    weft_ca::cli::main()
}

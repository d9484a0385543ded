//! `weft-peer`: runs a peer (`node start`), administers it (`channel ...`)
//! and packages chaincode (`lifecycle chaincode ...`). The command line lives
//! in the library (`weft_peer::cli`).

use std::process::ExitCode;

/// Blocks are hundreds of kilobytes and are encoded, copied and freed many
/// times each; mimalloc reuses those pages where glibc's allocator gives them
/// back and takes page faults to get them again (see ARCHITECTURE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    weft_common::node::cli::without_transparent_huge_pages();
    weft_peer::cli::main()
}

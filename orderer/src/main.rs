//! `weft-orderer`: see [`weft_orderer::cli`].

/// Blocks are hundreds of kilobytes and are encoded, copied and freed many
/// times each; mimalloc reuses those pages where glibc's allocator gives them
/// back and takes page faults to get them again (see ARCHITECTURE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    weft_common::node::cli::without_transparent_huge_pages();
    weft_orderer::cli::main()
}

//! What a weft command-line program's `main` does around its real work:
//! logs to stderr filtered by `RUST_LOG` (else `default_log`), a tokio
//! runtime, and an error printed as `error: ...` with a failing exit status.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Logs to stderr, filtered by `RUST_LOG` or else `default_log`.
pub fn init_stderr_logging(default_log: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_log.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Turns transparent huge pages off for this process (and what it starts),
/// as the node binaries do first thing. mimalloc asks for huge pages on its
/// arenas and returns freed memory to the kernel in 64 KiB pieces; under
/// load a node then keeps faulting 2 MiB pages back in, each zeroed whole
/// although only a block's worth of it is written (see ARCHITECTURE.md,
/// "Performance choices"). Failing to change it is harmless: the node runs
/// as before.
pub fn without_transparent_huge_pages() {
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("transparent huge pages stay on: {e}");
    }
}

/// The exit status of a command's result, printing the error if any.
pub fn exit_code<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging, runs `work` on a new tokio runtime, and turns its result
/// into the exit status.
pub fn run_async<E: Display>(
    default_log: &str,
    work: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    init_stderr_logging(default_log);
    match tokio::runtime::Runtime::new() {
        Ok(rt) => exit_code(rt.block_on(work)),
        Err(e) => exit_code(Err(format!("cannot start the runtime: {e}"))),
    }
}

/// Resolves when the process is asked to stop: SIGINT (Ctrl-C) or SIGTERM
/// (what `kill`, systemd, Podman and Kubernetes send). A node started as a
/// container's first process must handle SIGTERM itself: the kernel applies
/// no default action to signals sent to PID 1, so an unhandled SIGTERM is
/// ignored and the node is killed only after the grace period.
pub async fn stop_requested() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler, wait for Ctrl-C alone.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

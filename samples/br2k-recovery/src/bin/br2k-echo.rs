//! `br2k-echo`: the managed service of the BR2K recovery sample. Serves
//! `GET /health` and `GET /` (`{"service": …, "instance": <pid>}`), and
//! prints the address it listens on as its first line of output (what a
//! process recipe reads).

use clap::Parser;

/// A tiny HTTP service for the BR2K recovery sample.
///
/// Example: br2k-echo --name echo --listen 127.0.0.1:0
#[derive(Parser)]
struct Args {
    /// The service's name (in its answers).
    #[arg(long, default_value = "echo")]
    name: String,
    /// Where to listen (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let address = listener.local_addr().expect("a bound address");
    println!("{address}");
    let body =
        serde_json::json!({ "service": args.name, "instance": std::process::id() }).to_string();
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route("/", axum::routing::get(move || async move { body }));
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

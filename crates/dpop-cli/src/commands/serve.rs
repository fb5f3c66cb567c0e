//! `dpop serve`: a strict local DPoP authorization server and resource, for client developers.
//!
//! - `POST /token`: the client credentials grant for any client id with the secret printed at
//!   start-up (`client_secret_basic` or `client_secret_post`), and the refresh token grant with
//!   the same key (RFC 9449 section 5). Tokens are DPoP-bound (`cnf.jkt`); Bearer tokens only
//!   with `--bearer` and a request without a proof. Responses per RFC 6749 section 5.
//! - `GET /resource`: JSON describing exactly what was verified (key, proof claims, token
//!   binding, nonce).
//! - `GET /counters`: dpop-std's decision counters of both endpoints, as JSON.
//!
//! One line per request on stderr: method, path, status, the decision and the reason's stable
//! name. The first line on stdout is `listening on http://127.0.0.1:PORT` (`--port 0` picks a
//! free port); the next ones give the client secret and example commands. Ctrl-C stops the
//! server cleanly (exit 0).

mod app;

use core::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::input::print_line;

/// `dpop serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one (see the first line of output).
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub(crate) port: u16,
    /// Public base URL clients use (htu), e.g. behind a tunnel or reverse proxy
    /// [default: http://127.0.0.1:PORT].
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// Require a server nonce (DPoP-Nonce) in every proof.
    #[arg(long)]
    pub(crate) nonce: bool,
    /// Also accept requests without a proof, and issue and accept Bearer tokens.
    #[arg(long)]
    pub(crate) bearer: bool,
}

/// Runs the server until Ctrl-C.
///
/// # Errors
///
/// A usage error for a bad `--public-url`; a runtime error when the port cannot be bound or
/// stdout cannot be written.
pub(crate) fn run(args: &ServeArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> Result<ExitCode, CliError> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
            .await
            .map_err(|e| {
                CliError::runtime(format!("cannot listen on 127.0.0.1:{}: {e}", args.port))
            })?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::runtime(format!("no local address: {e}")))?;
    let base = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    };
    let config = app::Config {
        base: base.clone(),
        nonce: args.nonce,
        bearer: args.bearer,
    };
    let (router, secret) = app::router(&config).map_err(CliError::usage)?;
    print_line(&format!("listening on http://{addr}"))?;
    print_banner(&base, &secret, args)?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            // Without a signal handler the server runs until it is killed.
            if tokio::signal::ctrl_c().await.is_err() {
                core::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|e| CliError::runtime(format!("server failed: {e}")))?;
    print_line("stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// The start-up text after the first line: what runs, the secret, and how to call it.
fn print_banner(base: &str, secret: &str, args: &ServeArgs) -> Result<(), CliError> {
    let policy = format!(
        "nonces {}, Bearer {}",
        if args.nonce {
            "required"
        } else {
            "not required"
        },
        if args.bearer { "allowed" } else { "refused" }
    );
    let text = format!(
        "\
public URL: {base}
token endpoint: {base}/token
resource: {base}/resource
counters: {base}/counters
client secret: {secret}
(any client id; client_secret_basic or client_secret_post; {policy})

Try it:
  dpop keygen --out key.jwk
  curl -s {base}/token -u my-app:{secret} -d grant_type=client_credentials \\
    -H \"DPoP: $(dpop proof --key key.jwk --method POST --url {base}/token)\" > token.json
  jq -r .access_token token.json > access_token
  curl -s {base}/resource -H \"Authorization: DPoP $(cat access_token)\" \\
    -H \"DPoP: $(dpop proof --key key.jwk --method GET --url {base}/resource --access-token-file access_token)\"
Press Ctrl-C to stop."
    );
    for line in text.lines() {
        print_line(line)?;
    }
    Ok(())
}

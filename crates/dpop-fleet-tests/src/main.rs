//! `fleet-server`: one DPoP-protected resource server of a fleet, for the fleet tests.
//!
//! `GET /item` answers `ok` to a request with a valid DPoP proof for the access token in
//! `FLEET_TOKEN`, bound to the key made from `FLEET_KEY_SEED` (one byte, repeated: a test key),
//! after consuming the proof in the shared Redis (`FLEET_REDIS_URL`) or Redis Cluster
//! (`FLEET_REDIS_CLUSTER_URLS`, comma-separated). `FLEET_PREFIX` is the key prefix and
//! `FLEET_TIMEOUT_MS` the Redis call timeout (default 250). It listens on a free port of
//! 127.0.0.1, prints `listening <address>` once ready, and exits when its standard input closes,
//! so it never outlives the test that started it.

use core::time::Duration;
use std::io::{Read, Write};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use dpop_aws_lc_rs::{AwsLcSigningKey, CachedAwsLcVerifier};
use dpop_axum::{DpopLayer, TokenStatus};
use dpop_core::{Algorithm, Thumbprint};
use dpop_redis::RedisReplayCache;
use dpop_std::replay::ReplayCache;
use dpop_std::server::{Server, UriPolicy};

/// The public base URL the proofs' `htu` names.
const PUBLIC_BASE: &str = "https://fleet.example";

static CACHED_ES256: CachedAwsLcVerifier = CachedAwsLcVerifier::new(Algorithm::Es256);

type Error = Box<dyn core::error::Error + Send + Sync>;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let seed: u8 = var("FLEET_KEY_SEED")?.parse()?;
    let jkt = AwsLcSigningKey::from_bytes(Algorithm::Es256, &[seed; 32])?
        .public_jwk()
        .thumbprint();
    let token = var("FLEET_TOKEN")?;
    let timeout = std::env::var("FLEET_TIMEOUT_MS").map_or(Ok(250), |ms| ms.parse())?;
    let builder = RedisReplayCache::builder()
        .with_key_prefix(var("FLEET_PREFIX")?)
        .with_timeout(Duration::from_millis(timeout));
    let app = if let Ok(urls) = std::env::var("FLEET_REDIS_CLUSTER_URLS") {
        let cache = builder.connect_cluster(urls.split(',')).await?;
        app(Arc::new(cache), jkt, token)?
    } else {
        // Lazily: the server starts (and refuses with 503) even while Redis is down.
        let cache = builder.connect_lazy(&var("FLEET_REDIS_URL")?)?;
        app(Arc::new(cache), jkt, token)?
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {}", listener.local_addr()?)?;
    stdout.flush()?;
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// `GET /item` behind the resource layer, with `cache` as the replay cache.
fn app<C: ReplayCache + 'static>(
    cache: Arc<C>,
    jkt: Thumbprint,
    token: String,
) -> Result<Router, Error> {
    let server = Server::new(
        &[&CACHED_ES256],
        UriPolicy::public_base(PUBLIC_BASE).build()?,
    );
    let resolver = move |access_token: &str| {
        if access_token == token {
            TokenStatus::Bound { jkt, claims: () }
        } else {
            TokenStatus::Invalid("unknown access token")
        }
    };
    Ok(Router::new()
        .route("/item", get(|| async { "ok" }))
        .layer(DpopLayer::resource(server, cache, resolver)))
}

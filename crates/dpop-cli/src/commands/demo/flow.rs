//! The client side of the platform flow: a dpop-reqwest client against the [`platform`]
//! server, one numbered step per behaviour, each with the outcome it must have.
//!
//! [`platform`]: super::platform

use core::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::Algorithm;
use dpop_reqwest::reqwest::{self, RequestBuilder, StatusCode, header};
use dpop_reqwest::{DpopClient, Exchange, TokenManager};
use dpop_std::client::{Client, TokenSet};
use dpop_std::keys;
use dpop_std::wire::{TokenResponse, TokenType};
use serde_json::Value;
use zeroize::Zeroizing;

use super::Walkthrough;
use super::platform::{API_KEY, API_KEY_ID, ORGANIZATION, USER_ID};
use super::signin::ApiKeySignIn;
use crate::error::CliError;

/// A response, read whole.
struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    body: String,
    exchange: Option<Exchange>,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Result<Self, String> {
        let status = response.status();
        let headers = response.headers().clone();
        let exchange = response.extensions().get::<Exchange>().copied();
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok(Self {
            status,
            headers,
            body,
            exchange,
        })
    }

    /// `401 invalid_token (DPoP-bound access token presented with the Bearer scheme)`: the
    /// status and the OAuth error from the JSON body or the `DPoP` challenge.
    fn summary(&self) -> String {
        let (code, description) = self.error();
        match code {
            Some(code) => format!(
                "{} {code} ({})",
                self.status.as_u16(),
                description.unwrap_or_default()
            ),
            None => self.status.as_u16().to_string(),
        }
    }

    fn error(&self) -> (Option<String>, Option<String>) {
        if let Ok(body) = serde_json::from_str::<Value>(&self.body)
            && let Some(code) = body["error"].as_str()
        {
            let description = body["error_description"].as_str().map(str::to_owned);
            return (Some(code.to_owned()), description);
        }
        let challenge = self
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        (
            quoted_param(challenge, "error"),
            quoted_param(challenge, "error_description"),
        )
    }

    fn error_code(&self) -> Option<String> {
        self.error().0
    }
}

/// The value of `name="..."` in a challenge (the platform's values have no escapes).
fn quoted_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = challenge.get(start..)?;
    rest.get(..rest.find('"')?).map(str::to_owned)
}

/// Sends with a proof; a transport error becomes the failure text.
async fn send(
    client: &DpopClient,
    request: RequestBuilder,
    token: Option<&str>,
) -> Result<Reply, String> {
    let response = client
        .send(request, token)
        .await
        .map_err(|e| e.to_string())?;
    Reply::read(response).await
}

/// Sends without any DPoP processing.
async fn send_plain(request: RequestBuilder) -> Result<Reply, String> {
    Reply::read(request.send().await.map_err(|e| e.to_string())?).await
}

/// Runs the flow against the platform at `base` (`http://127.0.0.1:PORT`).
///
/// # Errors
///
/// Only when stdout cannot be written; every other problem is a failed outcome.
pub(super) async fn run(demo: &mut Walkthrough, base: &str) -> Result<(), CliError> {
    let builder = || {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
    };
    let http = match builder().build() {
        Ok(http) => http,
        Err(e) => return demo.outcome(false, &format!("cannot build the HTTP client: {e}")),
    };
    let (key, other_key) = match (
        keys::generate(Algorithm::Es256),
        keys::generate(Algorithm::Es384),
    ) {
        (Ok(key), Ok(other)) => (key, other),
        (Err(e), _) | (_, Err(e)) => {
            return demo.outcome(false, &format!("cannot generate keys: {e}"));
        }
    };
    let (client, intruder) = match (
        DpopClient::new(builder(), Client::new(key)),
        DpopClient::new(builder(), Client::new(other_key)),
    ) {
        (Ok(client), Ok(intruder)) => (client, intruder),
        (Err(e), _) | (_, Err(e)) => {
            return demo.outcome(false, &format!("cannot build the HTTP client: {e}"));
        }
    };
    let jkt = client.dpop().thumbprint().to_string();

    let prefix = format!("{base}/v1/{ORGANIZATION}/user");
    let signin_url = format!("{prefix}/signin_with_api_key");
    let refresh_url = format!("{prefix}/refresh");
    let profile_url = format!("{prefix}/profile");
    let sessions_url = format!("{prefix}/sessions");
    let signin = |api_key: &str| {
        http.post(&signin_url)
            .header("x-api-key", api_key)
            .header("x-api-key-id", API_KEY_ID)
            .header("x-user-id", USER_ID)
    };

    demo.step(&format!(
        "Sign in without a DPoP header: POST /v1/{ORGANIZATION}/user/signin_with_api_key"
    ))?;
    match send_plain(signin(API_KEY)).await {
        Ok(reply) if reply.status == StatusCode::OK => {
            let issued = TokenResponse::from_json(reply.body.as_bytes());
            match issued.as_ref().map(|r| r.token_type) {
                Ok(TokenType::Bearer) => demo.outcome(true, "200, token_type Bearer")?,
                Ok(other) => demo.outcome(false, &format!("200, token_type {other}"))?,
                Err(e) => demo.outcome(false, &format!("200, unreadable body: {e}"))?,
            }
            // A client that wanted a bound token is told it did not get one.
            match client.dpop().read_token_response(reply.body.as_bytes()) {
                Err(e) => demo.outcome(true, &format!("read as a DPoP client: {e}"))?,
                Ok(_) => demo.outcome(false, "the Bearer token was taken as DPoP-bound")?,
            }
        }
        Ok(reply) => demo.outcome(false, &format!("expected 200, got {}", reply.summary()))?,
        Err(e) => demo.outcome(false, &e)?,
    }

    demo.step("Sign in with a proof and a wrong API key")?;
    match send(&client, signin("sk-wrong"), None).await {
        Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => {
            demo.outcome(true, &format!("refused: {}", reply.summary()))?;
        }
        Ok(reply) => demo.outcome(false, &format!("expected 401, got {}", reply.summary()))?,
        Err(e) => demo.outcome(false, &e)?,
    }

    demo.step("Sign in with a DPoP proof")?;
    demo.note(&format!("client key: ES256, jkt {jkt}"))?;
    // The token manager signs in with the platform's API-key grant, and keeps the tokens.
    let grant = ApiKeySignIn {
        signin_url: signin_url.clone(),
        refresh_url: refresh_url.clone(),
        api_key: Zeroizing::new(API_KEY.to_owned()),
        api_key_id: API_KEY_ID.to_owned(),
        user_id: USER_ID.to_owned(),
    };
    let manager = match TokenManager::builder(grant)
        .with_client(client.clone())
        .build()
    {
        Ok(manager) => manager,
        Err(e) => return demo.outcome(false, &format!("cannot build the token manager: {e}")),
    };
    let mut tokens = match manager.access_token().await {
        Ok(_) => manager.token_info().await,
        Err(e) => {
            demo.outcome(false, &e.to_string())?;
            None
        }
    };
    let Some(first) = tokens.as_ref() else {
        return demo.outcome(false, "no DPoP-bound token: the remaining steps need one");
    };
    report_tokens(demo, first, &jkt)?;
    let access_token = first.access_token().to_owned();
    let refresh_token = first.refresh_token().map(str::to_owned);

    demo.step("Protected resource with the bound token and a fresh proof (with ath)")?;
    // Sent by the token manager: its token, a proof with `ath`.
    let managed = match manager.send(http.get(&profile_url)).await {
        Ok(response) => Reply::read(response).await,
        Err(e) => Err(e.to_string()),
    };
    match managed {
        Ok(reply) if reply.status == StatusCode::OK => {
            demo.outcome(true, &format!("200 GET /profile: {}", reply.body))?;
        }
        Ok(reply) => demo.outcome(false, &format!("expected 200, got {}", reply.summary()))?,
        Err(e) => demo.outcome(false, &e)?,
    }

    demo.step("The same request replayed: one proof, sent twice")?;
    match client
        .dpop()
        .prepare(&reqwest::Method::GET, &profile_url, Some(&access_token))
    {
        Ok(attempt) => {
            for (round, expected) in [
                ("first", StatusCode::OK),
                ("replay", StatusCode::UNAUTHORIZED),
            ] {
                let request = http.get(&profile_url).headers(attempt.headers().clone());
                match send_plain(request).await {
                    Ok(reply) if reply.status == expected && round == "first" => {
                        demo.outcome(true, &format!("first: accepted, {}", reply.summary()))?;
                    }
                    Ok(reply)
                        if reply.status == expected
                            && reply.body.is_empty()
                            && reply.summary().contains("already used") =>
                    {
                        demo.outcome(true, &format!("replay: refused, {}", reply.summary()))?;
                    }
                    Ok(reply) => demo.outcome(
                        false,
                        &format!("{round}: expected {expected}, got {}", reply.summary()),
                    )?,
                    Err(e) => demo.outcome(false, &e)?,
                }
            }
        }
        Err(e) => demo.outcome(false, &format!("cannot make the proof: {e}"))?,
    }

    demo.step("The bound token sent as Bearer (no proof)")?;
    let bearer = http
        .get(&profile_url)
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"));
    expect_error(
        demo,
        send_plain(bearer).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )?;

    demo.step("The bound token with a proof from another key (ES384)")?;
    let stolen = send(&intruder, http.get(&profile_url), Some(&access_token)).await;
    expect_error(demo, stolen, StatusCode::UNAUTHORIZED, "invalid_token")?;

    demo.step("Nonce round: GET /sessions requires a server nonce")?;
    // What the server answers a proof without its nonce (the client state is not touched) ...
    match client
        .dpop()
        .prepare(&reqwest::Method::GET, &sessions_url, Some(&access_token))
    {
        Ok(attempt) => {
            let request = http.get(&sessions_url).headers(attempt.headers().clone());
            match send_plain(request).await {
                Ok(reply)
                    if reply.status == StatusCode::UNAUTHORIZED
                        && reply.error_code().as_deref() == Some("use_dpop_nonce")
                        && reply.headers.contains_key("dpop-nonce") =>
                {
                    demo.outcome(
                        true,
                        &format!("without a nonce: {}, with a DPoP-Nonce", reply.summary()),
                    )?;
                }
                Ok(reply) => demo.outcome(
                    false,
                    &format!("expected 401 use_dpop_nonce, got {}", reply.summary()),
                )?,
                Err(e) => demo.outcome(false, &e)?,
            }
        }
        Err(e) => demo.outcome(false, &format!("cannot make the proof: {e}"))?,
    }
    // ... and how dpop-reqwest deals with it: one retry with the nonce.
    match send(&client, http.get(&sessions_url), Some(&access_token)).await {
        Ok(reply) => {
            let exchange = reply.exchange;
            let retried = exchange.is_some_and(|e| e.retried && e.not_retried.is_none());
            if reply.status == StatusCode::OK && retried {
                demo.outcome(
                    true,
                    &format!(
                        "dpop-reqwest: challenged, retried once with the nonce: 200 {}",
                        reply.body
                    ),
                )?;
            } else {
                demo.outcome(
                    false,
                    &format!(
                        "expected one retry then 200, got {} ({exchange:?})",
                        reply.summary()
                    ),
                )?;
            }
        }
        Err(e) => demo.outcome(false, &e)?,
    }
    // The nonce is kept for the origin: the next request sends it and needs no retry.
    match send(&client, http.get(&sessions_url), Some(&access_token)).await {
        Ok(reply)
            if reply.status == StatusCode::OK && reply.exchange.is_some_and(|e| !e.retried) =>
        {
            demo.outcome(true, "next request: the stored nonce is sent, 200 at once")?;
        }
        Ok(reply) => demo.outcome(
            false,
            &format!("next request: {} ({:?})", reply.summary(), reply.exchange),
        )?,
        Err(e) => demo.outcome(false, &e)?,
    }

    demo.step("Refresh with the same key")?;
    let refresh_body = serde_json::json!({ "refresh_token": refresh_token }).to_string();
    let refresh = |client: &DpopClient| {
        client
            .http()
            .post(&refresh_url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(refresh_body.clone())
    };
    match send(&client, refresh(&client), None).await {
        Ok(reply) if reply.status == StatusCode::OK => {
            let refreshed = TokenResponse::from_json(reply.body.as_bytes());
            match (refreshed, tokens.as_mut()) {
                (Ok(response), Some(tokens)) => {
                    let rotated = response.refresh_token.is_some();
                    match tokens.refresh(response) {
                        Ok(())
                            if !rotated && tokens.refresh_token() == refresh_token.as_deref() =>
                        {
                            demo.outcome(
                                true,
                                &format!(
                                    "200, token_type {}, new access token; refresh token kept \
                                     (not rotated)",
                                    tokens.token_type()
                                ),
                            )?;
                        }
                        Ok(()) => demo.outcome(false, "the refresh token changed")?,
                        Err(e) => demo.outcome(false, &format!("200, but: {e}"))?,
                    }
                }
                (Err(e), _) => demo.outcome(false, &format!("200, unreadable body: {e}"))?,
                (_, None) => demo.outcome(false, "no tokens to refresh")?,
            }
        }
        Ok(reply) => demo.outcome(false, &format!("expected 200, got {}", reply.summary()))?,
        Err(e) => demo.outcome(false, &e)?,
    }
    if let Some(tokens) = tokens.as_ref() {
        match send(&client, http.get(&profile_url), Some(tokens.access_token())).await {
            Ok(reply) if reply.status == StatusCode::OK => {
                demo.outcome(true, "the new access token works at /profile: 200")?;
            }
            Ok(reply) => demo.outcome(false, &format!("new token: {}", reply.summary()))?,
            Err(e) => demo.outcome(false, &e)?,
        }
    }

    demo.step("Refresh with another key")?;
    let stolen_refresh = send(&intruder, refresh(&intruder), None).await;
    expect_error(
        demo,
        stolen_refresh,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
}

/// Prints what the DPoP sign-in returned, checking each member.
fn report_tokens(demo: &mut Walkthrough, tokens: &TokenSet, jkt: &str) -> Result<(), CliError> {
    demo.outcome(
        tokens.token_type() == TokenType::Dpop,
        &format!(
            "200, token_type {}, expires_in {}, scope \"{}\"",
            tokens.token_type(),
            tokens
                .expires_in()
                .map_or_else(|| "(none)".to_owned(), |s| s.to_string()),
            tokens.scope().unwrap_or_default()
        ),
    )?;
    let bound_to = access_token_jkt(tokens.access_token());
    match bound_to {
        Some(bound) if bound == jkt => {
            demo.outcome(true, "access token carries cnf.jkt = the client key's jkt")?;
        }
        other => demo.outcome(false, &format!("access token cnf.jkt: {other:?}"))?,
    }
    // `session_id` is the platform's extension member of the token response.
    let session_id = tokens.extra("session_id").and_then(Value::as_str);
    demo.outcome(
        tokens.refresh_token().is_some() && session_id.is_some(),
        &format!(
            "refresh token issued: {}, session_id {}",
            tokens.refresh_token().is_some(),
            session_id.unwrap_or("(none)")
        ),
    )
}

/// The `cnf.jkt` in the claims of one of the platform's access tokens (`v1.<claims>.<mac>`).
fn access_token_jkt(token: &str) -> Option<String> {
    let claims = token.split('.').nth(1)?;
    let json = Base64UrlUnpadded::decode_vec(claims).ok()?;
    let claims: Value = serde_json::from_slice(&json).ok()?;
    claims["cnf"]["jkt"].as_str().map(str::to_owned)
}

/// An outcome that must be a refusal with `status` and the OAuth error `code`.
fn expect_error(
    demo: &mut Walkthrough,
    reply: Result<Reply, String>,
    status: StatusCode,
    code: &str,
) -> Result<(), CliError> {
    match reply {
        Ok(reply) if reply.status == status && reply.error_code().as_deref() == Some(code) => {
            demo.outcome(true, &format!("refused: {}", reply.summary()))
        }
        Ok(reply) => demo.outcome(
            false,
            &format!(
                "expected {} {code}, got {}",
                status.as_u16(),
                reply.summary()
            ),
        ),
        Err(e) => demo.outcome(false, &e),
    }
}

//! The platform's API-key sign-in as a token manager grant: `POST
//! /v1/{org}/user/signin_with_api_key` with `x-api-key`, `x-api-key-id` and `x-user-id`, and
//! its JSON refresh endpoint, both sent with a proof so that the tokens are bound.

use dpop_reqwest::DpopClient;
use dpop_reqwest::grants::{AuthError, BoxFuture, Grant, token_request};
use dpop_reqwest::reqwest::header;
use dpop_std::wire::TokenResponse;
use zeroize::Zeroizing;

/// The API-key sign-in of one user.
pub(super) struct ApiKeySignIn {
    /// `.../signin_with_api_key`.
    pub(super) signin_url: String,
    /// `.../refresh`.
    pub(super) refresh_url: String,
    pub(super) api_key: Zeroizing<String>,
    pub(super) api_key_id: String,
    pub(super) user_id: String,
}

impl Grant for ApiKeySignIn {
    fn sign_in<'a>(
        &'a self,
        client: &'a DpopClient,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
        Box::pin(async move {
            let request = client
                .http()
                .post(&self.signin_url)
                .header("x-api-key", self.api_key.as_str())
                .header("x-api-key-id", &self.api_key_id)
                .header("x-user-id", &self.user_id);
            token_request(client, request).await
        })
    }

    fn refresh<'a>(
        &'a self,
        client: &'a DpopClient,
        refresh_token: &'a str,
    ) -> Option<BoxFuture<'a, Result<TokenResponse, AuthError>>> {
        Some(Box::pin(async move {
            let body =
                Zeroizing::new(serde_json::json!({ "refresh_token": refresh_token }).to_string());
            let request = client
                .http()
                .post(&self.refresh_url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.as_str().to_owned());
            token_request(client, request).await
        }))
    }
}

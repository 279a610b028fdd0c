//! Bearer-token authorization with scopes. Tokens are compared in constant time and never logged.

use super::error::ApiError;
use crate::config::{AuthConfig, Scope, TokenConfig};
use axum::http::{HeaderMap, StatusCode, header};

/// The configured tokens.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    public_reads: bool,
    tokens: Vec<TokenConfig>,
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// From the config, plus extra tokens (e.g. the data directory's admin token).
    pub fn new(config: &AuthConfig, extra: Vec<TokenConfig>) -> Self {
        let mut tokens = config.tokens.clone();
        tokens.extend(extra);
        Self {
            public_reads: config.public_reads,
            tokens,
        }
    }

    /// Checks that the request may use `scope`: 401 without a (known) token, 403 with a token
    /// lacking the scope.
    pub fn require(&self, headers: &HeaderMap, scope: Scope) -> Result<(), ApiError> {
        if scope == Scope::Read && self.public_reads {
            return Ok(());
        }
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| &v[7..])
            })
        else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "this endpoint needs `Authorization: Bearer <token>`",
            ));
        };
        let Some(t) = self
            .tokens
            .iter()
            .find(|t| ct_eq(t.token.as_bytes(), given.trim().as_bytes()))
        else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "unknown token",
            ));
        };
        if t.scopes.contains(&scope) {
            Ok(())
        } else {
            tracing::info!(token = %t.name, ?scope, "token lacks scope");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!(
                    "token {:?} lacks the {} scope",
                    t.name,
                    format!("{scope:?}").to_lowercase()
                ),
            ))
        }
    }
}

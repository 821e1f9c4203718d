//! How the server refuses: one JSON shape for every refusal ([`Refusal`]), and the request id
//! that ties an answer to the log's details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being answered, for its answer and the log.
    pub(crate) static REQUEST_ID: String;
}

/// Why the server refuses a request. What was wrong and what would be right are told; details a
/// client may not see (a server's error text names users, hosts and brokers) go to the log, with
/// the request's id, which the answer gives.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed: `error` says how, `expected` what would be right.
    BadRequest { error: String, expected: String },
    /// What the request names does not exist.
    NotFound { error: String, expected: String },
    /// The request's Host is not one the server answers for.
    HostNotAllowed { host: String, allowed: String },
    /// The server answers only the holders of a token.
    Unauthorized,
    /// A service the answer needs does not answer; `detail` for the log alone.
    Unavailable { error: String, detail: Option<String> },
    /// A fault of the server, not of the request; `detail` for the log alone.
    Internal { error: String, detail: String },
}

/// A refusal as the client gets it.
#[derive(Debug, Serialize)]
pub struct Refusal {
    pub error: String,
    /// Stable, for programs: `bad_request`, `not_found`, `host_not_allowed`, `unauthorized`,
    /// `unavailable` or `internal`.
    pub code: &'static str,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl ApiError {
    pub(crate) fn bad_request(error: impl Into<String>, expected: impl Into<String>) -> Self {
        ApiError::BadRequest { error: error.into(), expected: expected.into() }
    }

    pub(crate) fn not_found(error: impl Into<String>, expected: impl Into<String>) -> Self {
        ApiError::NotFound { error: error.into(), expected: expected.into() }
    }

    pub(crate) fn unavailable(error: impl Into<String>) -> Self {
        ApiError::Unavailable { error: error.into(), detail: None }
    }

    /// Rows that would not encode as JSON: a fault of the server, not of the request.
    pub(crate) fn encoding(error: serde_json::Error) -> Self {
        ApiError::Internal {
            error: "the answer could not be encoded".into(),
            detail: format!("encoding rows: {error}"),
        }
    }

    /// The same refusal of a service that does not answer, with `detail` for the log alone.
    pub(crate) fn with_detail(self, detail: String) -> Self {
        match self {
            ApiError::Unavailable { error, .. } => ApiError::Unavailable { error, detail: Some(detail) },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::HostNotAllowed { .. } => StatusCode::MISDIRECTED_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::NotFound { .. } => "not_found",
            ApiError::HostNotAllowed { .. } => "host_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// What was wrong, as the client is told.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest { error, .. }
            | ApiError::NotFound { error, .. }
            | ApiError::Unavailable { error, .. }
            | ApiError::Internal { error, .. } => error.clone(),
            ApiError::HostNotAllowed { host, .. } => format!("this server does not answer for host '{host}'"),
            ApiError::Unauthorized => "this server answers only the holders of a token".into(),
        }
    }

    /// What would be right, where the client can do something about it.
    fn expected(&self) -> Option<String> {
        match self {
            ApiError::BadRequest { expected, .. } | ApiError::NotFound { expected, .. } => Some(expected.clone()),
            ApiError::HostNotAllowed { allowed, .. } => Some(format!("a Host of: {allowed} (serve --allow-host)")),
            ApiError::Unauthorized => {
                Some("a header Authorization: Bearer TOKEN, with a token of serve's --auth-token-file".into())
            }
            ApiError::Unavailable { .. } | ApiError::Internal { .. } => None,
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            ApiError::Unavailable { detail, .. } => detail.as_deref(),
            ApiError::Internal { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The refusal as the client gets it, for the request `request_id`.
    pub fn refusal(&self, request_id: String) -> Refusal {
        Refusal { error: self.message(), code: self.code(), request_id, expected: self.expected() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(String::clone).unwrap_or_default();
        if let Some(detail) = self.detail() {
            log::warn!("request {request_id}: {}: {detail}", self.message());
        }
        (self.status(), Json(self.refusal(request_id))).into_response()
    }
}

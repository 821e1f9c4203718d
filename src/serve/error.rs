//! How the server refuses: one JSON shape for every refusal, and the request id that ties an
//! answer to the log's details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

tokio::task_local! {
    /// The id of the request being answered, for its answer and the log.
    pub(crate) static REQUEST_ID: String;
}

/// A refusal: its status, a stable code, what was wrong and what would be right; details a
/// client may not see (a server's error text names users, hosts and brokers) go to the log, with
/// the request's id, which the answer gives.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) error: String,
    pub(crate) expected: Option<String>,
    pub(crate) detail: Option<String>,
}

impl ApiError {
    pub(crate) fn bad_request(error: impl Into<String>, expected: impl Into<String>) -> Self {
        let expected = Some(expected.into());
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_request", error: error.into(), expected, detail: None }
    }

    pub(crate) fn not_found(error: impl Into<String>, expected: impl Into<String>) -> Self {
        let expected = Some(expected.into());
        ApiError { status: StatusCode::NOT_FOUND, code: "not_found", error: error.into(), expected, detail: None }
    }

    pub(crate) fn unavailable(error: impl Into<String>) -> Self {
        let status = StatusCode::SERVICE_UNAVAILABLE;
        ApiError { status, code: "unavailable", error: error.into(), expected: None, detail: None }
    }

    /// Rows that would not encode as JSON: a fault of the server, not of the request.
    pub(crate) fn encoding(error: serde_json::Error) -> Self {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        let detail = Some(format!("encoding rows: {error}"));
        ApiError { status, code: "internal", error: "the answer could not be encoded".into(), expected: None, detail }
    }

    /// The same refusal, with `detail` for the log alone.
    pub(crate) fn with_detail(self, detail: String) -> Self {
        ApiError { detail: Some(detail), ..self }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(String::clone).unwrap_or_default();
        if let Some(detail) = &self.detail {
            log::warn!("request {request_id}: {}: {detail}", self.error);
        }
        let mut body = json!({ "error": self.error, "code": self.code, "request_id": request_id });
        if let Some(expected) = self.expected {
            body["expected"] = json!(expected);
        }
        (self.status, Json(body)).into_response()
    }
}

//! The live push, `/api/v1/live`: Server-Sent Events from the snapshots the live follower
//! receives ([`crate::serve::live`]), resumed from a `Last-Event-ID` on any server.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use trendflow_dataflows::window::WindowSpec;

use crate::serve::api::AppState;
use crate::serve::error::ApiError;
use crate::serve::live::{Cursor, LiveEvent};
use crate::serve::params::{LiveQuery, Params};

/// `GET /api/v1/live[?spec=S][&kind=K]`: Server-Sent Events, one per ranking snapshot the speed
/// layer publishes from now on (or, with a `Last-Event-ID` header, from the one after that id,
/// which any server following the same topics understands: a [`Cursor`] of the broker's offsets).
/// Each event's name is its kind, its data the snapshot as published; a `reset` event tells a
/// client whose id the server cannot resume from to reload what it shows. A client too slow for
/// the stream is disconnected, to reconnect with its `Last-Event-ID`. Each event's frame is
/// encoded once for all clients ([`LiveEvent`]).
pub async fn live_push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Params(query): Params<LiveQuery>,
) -> Result<Response, ApiError> {
    let spec = query
        .spec
        .map(|text| {
            text.parse::<WindowSpec>().map_err(|error| {
                ApiError::bad_request(format!("spec '{text}': {error}"), "a window spec such as 5m/1m")
            })
        })
        .transpose()?;
    let kind = query.kind;
    let last_seen = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(value.to_str().ok().and_then(Cursor::parse).ok_or_else(|| {
            ApiError::bad_request("Last-Event-ID is not an event id", "the id of the last event received")
        })?),
    };
    let subscription =
        state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?.subscribe(last_seen.as_ref());
    let (missed, receiver, cursor, reset) =
        (subscription.missed, subscription.later, subscription.cursor, subscription.reset);
    let connected = state.metrics.sse_connected();
    let wanted = Arc::new(move |event: &LiveEvent| {
        spec.is_none_or(|spec| spec == event.spec) && kind.is_none_or(|kind| kind == event.kind)
    });
    /// What the live push waits for next.
    enum Next {
        Event(Arc<LiveEvent>),
        KeepAlive,
        End,
    }
    let stopping = state.stopping.clone();
    let frames = futures_util::stream::unfold(
        (missed.into_iter(), receiver, cursor, connected, stopping),
        move |(mut missed, mut receiver, mut cursor, connected, mut stopping)| {
            let wanted = wanted.clone();
            async move {
                loop {
                    let next = match missed.next() {
                        Some(event) => Next::Event(event),
                        None => tokio::select! {
                            received = receiver.recv() => match received {
                                Ok(event) => Next::Event(event),
                                // Lagged behind the buffer, or the follower stopped: the client
                                // reconnects with its Last-Event-ID.
                                Err(_) => Next::End,
                            },
                            // The server is stopping: the stream ends, so that its connection can.
                            _ = stopping.wait_for(|stopping| *stopping) => Next::End,
                            () = tokio::time::sleep(KEEP_ALIVE_EVERY) => Next::KeepAlive,
                        },
                    };
                    let event = match next {
                        Next::Event(event) => event,
                        Next::End => return None,
                        Next::KeepAlive => {
                            let comment = Bytes::from_static(b": keep-alive\n\n");
                            return Some((
                                Ok::<_, Infallible>(comment),
                                (missed, receiver, cursor, connected, stopping),
                            ));
                        }
                    };
                    if cursor.has_passed(&event) {
                        continue;
                    }
                    cursor.advance(&event);
                    if wanted(&event) {
                        return Some((Ok(event.frame.clone()), (missed, receiver, cursor, connected, stopping)));
                    }
                }
            }
        },
    );
    // A client the server cannot resume gets a reset first, then everything from now on.
    let frames = futures_util::StreamExt::chain(futures_util::stream::iter(reset.map(Ok::<_, Infallible>)), frames);
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, Body::from_stream(frames)).into_response())
}

/// How long a live-push connection may go without a byte before it gets a comment, so that
/// proxies and clients do not take a quiet stream for a dead one.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

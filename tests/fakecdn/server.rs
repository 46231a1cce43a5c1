//! The fake CDN's API on a loopback port: `GET /v1/traffic/{date}` with
//! `Authorization: Bearer <token>` answers the day's rows as JSON,
//! `{"date": "…", "rows": [{"channel": "…", "drama": "…", "bytes": N}]}`; a wrong token
//! is a 401. It counts the requests it answered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use cdncost::sources::loopback::{serve, Running};

/// One row of a day: a channel's bytes for one drama.
pub type Row = (&'static str, &'static str, i64);

struct Served {
    token: String,
    days: BTreeMap<String, Vec<Row>>,
    answered: AtomicUsize,
}

pub struct FakeServer {
    running: Running,
    state: Arc<Served>,
}

impl FakeServer {
    pub async fn start(token: &str, days: BTreeMap<String, Vec<Row>>) -> FakeServer {
        let state = Arc::new(Served {
            token: token.into(),
            days,
            answered: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/traffic/{date}", get(traffic))
            .with_state(state.clone());
        FakeServer {
            running: serve(app).await.unwrap(),
            state,
        }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn answered(&self) -> usize {
        self.state.answered.load(Ordering::SeqCst)
    }
}

async fn traffic(
    State(state): State<Arc<Served>>,
    Path(date): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let bearer = format!("Bearer {}", state.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    state.answered.fetch_add(1, Ordering::SeqCst);
    let rows: Vec<serde_json::Value> = state
        .days
        .get(&date)
        .into_iter()
        .flatten()
        .map(|(channel, drama, bytes)| {
            serde_json::json!({"channel": channel, "drama": drama, "bytes": bytes})
        })
        .collect();
    Ok(Json(serde_json::json!({"date": date, "rows": rows})))
}

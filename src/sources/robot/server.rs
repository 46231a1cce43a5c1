//! A loopback chat robot of each kind, for tests: it checks what the real ones check (the
//! WeCom key, the DingTalk access token and signature in the URL, the Feishu signature in
//! the body; a timestamp within an hour) and answers in each one's shape. Faults: HTTP
//! 500s, rate-limit codes, a slow answer.
//!
//! Routes: `POST /wecom/send?key=KEY`, `POST /dingtalk/send?access_token=TOKEN[&timestamp
//! &sign]`, `POST /feishu/hook/TOKEN`, `POST /webhook/TOKEN`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{dingtalk_sign, feishu_sign, Kind};
use crate::sources::loopback::{lock, Server};

/// What the robot does wrong, on purpose.
#[derive(Debug, Default, Clone)]
pub struct RobotFaults {
    /// The next N posts answer HTTP 500.
    pub http_500: u32,
    /// The next N posts answer the kind's rate-limit code (HTTP 200).
    pub rate_limited: u32,
    /// Every post answers HTTP 500 (the robot is down).
    pub down: bool,
    /// Answers come this late.
    pub delay: Duration,
}

/// One post the robot accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub kind: Kind,
    pub body: Value,
}

pub struct RobotState {
    /// The key / token in each kind's URL.
    token: String,
    /// The signing secret (DingTalk, Feishu); none: unsigned robots.
    secret: Option<String>,
    faults: Mutex<RobotFaults>,
    received: Mutex<Vec<Received>>,
    /// Every attempt, accepted or not (kind, outcome).
    attempts: Mutex<Vec<(Kind, String)>>,
}

pub type RobotServer = Server<RobotState>;

impl Server<RobotState> {
    /// A robot accepting `token`, checking signatures with `secret` when given.
    pub async fn start(token: &str, secret: Option<&str>) -> std::io::Result<RobotServer> {
        let state = RobotState {
            token: token.into(),
            secret: secret.map(str::to_string),
            faults: Mutex::new(RobotFaults::default()),
            received: Mutex::new(Vec::new()),
            attempts: Mutex::new(Vec::new()),
        };
        let routes = Router::new()
            .route("/wecom/send", post(wecom))
            .route("/dingtalk/send", post(dingtalk))
            .route("/feishu/hook/{token}", post(feishu))
            .route("/webhook/{token}", post(webhook));
        Server::serve(state, routes).await
    }

    /// The webhook URL of `kind` on this robot.
    pub fn webhook_url(&self, kind: Kind) -> String {
        let (base, token) = (self.url(), &self.state().token);
        match kind {
            Kind::Wecom => format!("{base}/wecom/send?key={token}"),
            Kind::Dingtalk => format!("{base}/dingtalk/send?access_token={token}"),
            Kind::Feishu => format!("{base}/feishu/hook/{token}"),
            Kind::Webhook => format!("{base}/webhook/{token}"),
        }
    }

    pub fn faults(&self) -> MutexGuard<'_, RobotFaults> {
        lock(&self.state().faults)
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.state().received).clone()
    }

    pub fn attempts(&self) -> Vec<(Kind, String)> {
        lock(&self.state().attempts).clone()
    }
}

type Robot = State<Arc<RobotState>>;

/// The faults' answer to this attempt, if any.
async fn fault(s: &RobotState, kind: Kind) -> Option<Response> {
    let delay = lock(&s.faults).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut f = lock(&s.faults);
    let answer = if f.down || f.http_500 > 0 {
        f.http_500 = f.http_500.saturating_sub(1);
        Some((
            "HTTP 500",
            (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response(),
        ))
    } else if f.rate_limited > 0 {
        f.rate_limited -= 1;
        let body = match kind {
            Kind::Feishu => json!({"code": 11232, "msg": "frequency limited"}),
            _ => json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
        };
        Some(("rate limited", Json(body).into_response()))
    } else {
        None
    };
    drop(f);
    answer.map(|(what, response)| {
        lock(&s.attempts).push((kind, what.into()));
        response
    })
}

/// Accepts `body`, or refuses with the kind's error shape.
fn answer(s: &RobotState, kind: Kind, refused: Option<&str>, body: Value) -> Response {
    let outcome = refused.unwrap_or("ok").to_string();
    lock(&s.attempts).push((kind, outcome));
    let (ok, code) = (
        refused.is_none(),
        if refused.is_some() { 310000 } else { 0 },
    );
    if ok {
        lock(&s.received).push(Received { kind, body });
    }
    let msg = refused.unwrap_or("ok");
    Json(match kind {
        Kind::Feishu => json!({"code": if ok { 0 } else { 19021 }, "msg": msg}),
        _ => json!({"errcode": code, "errmsg": msg}),
    })
    .into_response()
}

fn within_an_hour(timestamp_ms: i64) -> bool {
    (chrono::Utc::now().timestamp_millis() - timestamp_ms).abs() <= 3_600_000
}

async fn wecom(
    State(s): Robot,
    Query(q): Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = fault(&s, Kind::Wecom).await {
        return r;
    }
    let refused = (q.get("key") != Some(&s.token)).then_some("invalid webhook url");
    answer(&s, Kind::Wecom, refused, body)
}

async fn dingtalk(
    State(s): Robot,
    Query(q): Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = fault(&s, Kind::Dingtalk).await {
        return r;
    }
    let refused = if q.get("access_token") != Some(&s.token) {
        Some("token is not exist")
    } else if let Some(secret) = &s.secret {
        let timestamp: i64 = q.get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
        let signed = q
            .get("sign")
            .is_some_and(|sign| *sign == dingtalk_sign(secret, timestamp));
        (!signed || !within_an_hour(timestamp)).then_some("sign not match")
    } else {
        None
    };
    answer(&s, Kind::Dingtalk, refused, body)
}

async fn feishu(
    State(s): Robot,
    UrlPath(token): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = fault(&s, Kind::Feishu).await {
        return r;
    }
    let refused = if token != s.token {
        Some("incoming webhook access token invalid")
    } else if let Some(secret) = &s.secret {
        let timestamp: i64 = body
            .get("timestamp")
            .and_then(|t| t.as_str())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let signed = body
            .get("sign")
            .and_then(|v| v.as_str())
            .is_some_and(|sign| sign == feishu_sign(secret, timestamp));
        (!signed || !within_an_hour(timestamp * 1000))
            .then_some("sign match fail or timestamp is not within one hour from current time")
    } else {
        None
    };
    answer(&s, Kind::Feishu, refused, body)
}

async fn webhook(
    State(s): Robot,
    UrlPath(token): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = fault(&s, Kind::Webhook).await {
        return r;
    }
    let refused = (token != s.token).then_some("unknown token");
    answer(&s, Kind::Webhook, refused, body)
}

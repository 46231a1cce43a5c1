//! A Polyv traffic API on loopback, for the tests and the demo: it serves per-video daily
//! traffic from a CSV (`date,vid,pc_bytes,mobile_bytes`), checks the signature and the
//! 3-minute `ptime` window exactly as DOMAIN.md §3 describes the real service, keeps the
//! platform's two-day lag, and injects faults on request. Every request is logged so
//! tests can count attempts and see which `ptime` each carried.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::json;

use super::api::sign;
use crate::sources::loopback::{lock, Server};
use crate::util::secret::Secret;

/// Daily traffic per video, as the server knows it.
#[derive(Debug, Clone, Default)]
pub struct PolyvTraffic {
    pub days: BTreeMap<(String, NaiveDate), (u64, u64)>,
    pub vids: BTreeSet<String>,
}

impl PolyvTraffic {
    /// Reads `date,vid,pc_bytes,mobile_bytes`; every vid of `videos` is known to the
    /// server even when it has no traffic.
    pub fn load(csv_path: &Path, videos: impl IntoIterator<Item = String>) -> Result<PolyvTraffic> {
        let mut traffic = PolyvTraffic {
            vids: videos.into_iter().collect(),
            ..Default::default()
        };
        let mut reader = csv::Reader::from_path(csv_path)
            .with_context(|| format!("reading {}", csv_path.display()))?;
        for record in reader.records() {
            let r = record?;
            let date = NaiveDate::parse_from_str(&r[0], "%Y-%m-%d")?;
            traffic.vids.insert(r[1].to_string());
            traffic
                .days
                .insert((r[1].to_string(), date), (r[2].parse()?, r[3].parse()?));
        }
        Ok(traffic)
    }
}

/// Faults to inject; each counter is used up one request at a time.
#[derive(Debug, Default, Clone)]
pub struct PolyvFaults {
    /// The next N requests get HTTP 500.
    pub http_500: u32,
    /// The next N requests get HTTP 429.
    pub rate_limited: u32,
    /// The next N requests get code 500 `query failed.` (with HTTP 200).
    pub query_failed: u32,
    /// The next N requests get `ptime is too old.` whatever their ptime.
    pub ptime_too_old: u32,
    /// Every reply waits this long first.
    pub delay: Duration,
    /// Requests for these videos are signed against another key (always `the sign is not right.`).
    pub bad_sign_vids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub vid: String,
    pub ptime: String,
    pub outcome: String,
}

/// One Polyv account the server serves: its userid, key and videos' traffic (a signature
/// checks with its own key only).
pub struct PolyvUser {
    pub userid: String,
    pub secret: Secret,
    pub traffic: PolyvTraffic,
}

/// What the handlers share.
pub struct PolyvState {
    users: Vec<PolyvUser>,
    today: NaiveDate,
    faults: Mutex<PolyvFaults>,
    log: Mutex<Vec<LoggedRequest>>,
}

pub type PolyvServer = Server<PolyvState>;

impl Server<PolyvState> {
    /// Starts on a free loopback port; runs until dropped. `today` decides the two-day lag.
    pub async fn start(
        userid: &str,
        secret: Secret,
        traffic: PolyvTraffic,
        today: NaiveDate,
    ) -> std::io::Result<PolyvServer> {
        let user = PolyvUser {
            userid: userid.to_string(),
            secret,
            traffic,
        };
        Server::start_users(vec![user], today).await
    }

    /// Starts serving several accounts, each with its own key and videos.
    pub async fn start_users(
        users: Vec<PolyvUser>,
        today: NaiveDate,
    ) -> std::io::Result<PolyvServer> {
        let state = PolyvState {
            users,
            today,
            faults: Mutex::new(PolyvFaults::default()),
            log: Mutex::new(Vec::new()),
        };
        let routes = Router::new().route("/v2/traffic/{userid}/video/{vid}", get(traffic_handler));
        Server::serve(state, routes).await
    }

    pub fn faults(&self) -> MutexGuard<'_, PolyvFaults> {
        lock(&self.state().faults)
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.state().log).clone()
    }
}

fn reply(code: i64, message: &str, data: serde_json::Value) -> Response {
    let status = if code == 200 { "success" } else { "error" };
    Json(json!({ "code": code, "status": status, "message": message, "data": data }))
        .into_response()
}

async fn traffic_handler(
    State(s): State<Arc<PolyvState>>,
    UrlPath((userid, vid)): UrlPath<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let delay = lock(&s.faults).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = answer(&s, &userid, &vid, &query);
    lock(&s.log).push(LoggedRequest {
        vid,
        ptime: query.get("ptime").cloned().unwrap_or_default(),
        outcome: response.1,
    });
    response.0
}

/// The reply and a word on it for the log.
fn answer(
    s: &PolyvState,
    userid: &str,
    vid: &str,
    query: &BTreeMap<String, String>,
) -> (Response, String) {
    if let Some(fault) = take_fault(s) {
        return fault;
    }
    let fail = |code: i64, message: &str| {
        (
            reply(code, message, serde_json::Value::Null),
            message.to_string(),
        )
    };
    let Some(user) = s.users.iter().find(|u| u.userid == userid) else {
        return fail(400, "Could not find user by userid.");
    };
    let now = chrono::Utc::now().timestamp_millis();
    let Some(ptime) = query
        .get("ptime")
        .filter(|p| p.len() == 13)
        .and_then(|p| p.parse::<i64>().ok())
    else {
        return fail(400, "ptime is illegal.");
    };
    if now - ptime > 180_000 {
        return fail(400, "ptime is too old.");
    }
    if ptime - now > 180_000 {
        return fail(400, "ptime is illegal.");
    }
    let params: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let key = if lock(&s.faults).bad_sign_vids.iter().any(|v| v == vid) {
        Secret::new(format!("{}-rotated", user.secret.expose()))
    } else {
        user.secret.clone()
    };
    if query.get("sign").map(String::as_str) != Some(sign(&params, &key).as_str()) {
        return fail(401, "the sign is not right.");
    }
    if !user.traffic.vids.contains(vid) {
        return fail(400, "vid invalid.");
    }
    let Some((start, end)) = range(query, s.today) else {
        return fail(400, "start and end illegal.");
    };
    // Data for a day appears two days later (the 1st is queryable on the 3rd).
    let last_available = s.today - chrono::Days::new(2);
    let rows: Vec<serde_json::Value> = user
        .traffic
        .days
        .range((vid.to_string(), start)..=(vid.to_string(), end.min(last_available)))
        .map(|((_, day), (pc, mobile))| {
            json!({ "currentDay": day.to_string(), "pcFlowSize": pc, "mobileFlowSize": mobile, "totalFlowSize": pc + mobile })
        })
        .collect();
    let n = rows.len();
    (
        reply(200, "", serde_json::Value::Array(rows)),
        format!("ok {n} days"),
    )
}

fn take_fault(s: &PolyvState) -> Option<(Response, String)> {
    let mut f = lock(&s.faults);
    let take = |n: &mut u32| {
        let hit = *n > 0;
        *n = n.saturating_sub(1);
        hit
    };
    if take(&mut f.http_500) {
        return Some((
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            "HTTP 500".into(),
        ));
    }
    if take(&mut f.rate_limited) {
        let body = Json(json!({"code": 429, "status": "error", "message": "request too frequent"}));
        return Some((
            (StatusCode::TOO_MANY_REQUESTS, body).into_response(),
            "HTTP 429".into(),
        ));
    }
    if take(&mut f.query_failed) {
        return Some((
            reply(500, "query failed.", serde_json::Value::Null),
            "query failed.".into(),
        ));
    }
    if take(&mut f.ptime_too_old) {
        return Some((
            reply(400, "ptime is too old.", serde_json::Value::Null),
            "ptime is too old.".into(),
        ));
    }
    None
}

/// `start`/`end` when both are sent (they win over `dr`), else the `dr` period.
fn range(query: &BTreeMap<String, String>, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let day = |k: &str| {
        query
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d"))
    };
    match (day("start"), day("end")) {
        (Some(start), Some(end)) => {
            let (start, end) = (start.ok()?, end.ok()?);
            (start <= end && (end - start).num_days() < 366).then_some((start, end))
        }
        _ => {
            let back = |n: u64| today - chrono::Days::new(n);
            match query.get("dr").map(String::as_str).unwrap_or("7days") {
                "today" => Some((today, today)),
                "yesterday" => Some((back(1), back(1))),
                _ => Some((back(7), back(1))),
            }
        }
    }
}

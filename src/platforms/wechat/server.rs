//! The WeChat media-service API on loopback, for the tests and the demo: access tokens
//! (`/cgi-bin/stable_token`, checked on every call like the real service), the usage
//! series and the log listing backed by a sample data directory, and the log files
//! themselves behind signed-looking URLs. Faults are injected on request, and every
//! request is logged so tests can count calls and downloads.
//!
//! Data: `DIR/cdn_logs/date=YYYY-MM-DD/<YYYYMMDDHH>-<domain>-mainland.gz` (the hour in
//! the name is China time) and `DIR/cdn_usage.csv` (`time,bytes`, 5-minute buckets).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::china_time;
use crate::sources::loopback::{lock, Server};
use crate::util::secret::Secret;

/// Faults to inject. Counters are used up one request at a time.
#[derive(Debug, Default, Clone)]
pub struct WechatFaults {
    /// After this many more successful API calls, every issued token expires (42001).
    pub expire_tokens_after_calls: Option<u32>,
    /// The next N API calls get HTTP 500.
    pub http_500: u32,
    /// The next N API calls get errcode -1 (system busy).
    pub busy: u32,
    /// Every API call answers 45009 (daily quota used up).
    pub daily_quota: bool,
    /// Every API reply waits this long first.
    pub delay: Duration,
    /// The next N downloads send half the file, then cut the connection.
    pub cut_downloads: u32,
    /// The next N downloads send a complete response holding a truncated gzip.
    pub truncated_downloads: u32,
    /// Listings also hold entries with path tricks in `name` and a non-http `url`.
    pub hostile_entries: bool,
    /// Downloads are sent in four parts this far apart (a slow but live connection).
    pub trickle_downloads: Option<Duration>,
    /// The next N token requests get HTTP 429 (rate limited).
    pub token_429: u32,
    /// The next N API calls answer 45011 (per-minute limit).
    pub minute_limit: u32,
    /// Usage replies name another `data_interval` than the one asked for.
    pub wrong_interval: bool,
    /// Listings say one more file in `total_count` than they list.
    pub short_listing: bool,
    /// The next N API calls answer an error whose errcode is a string
    /// (`{"errcode":"45009"}`): not the documented shape.
    pub string_errcode: u32,
    /// Items appended to every usage reply as they are (duplicated or conflicting
    /// points, values out of range).
    pub extra_usage_items: Vec<Value>,
    /// Listings list no file at all (`domestic_cdn_logs: []`), whatever the day.
    pub empty_listing: bool,
    /// API calls are redirected (307, method and body kept) to this base, query and all: a hostile or
    /// misconfigured proxy fishing for the token.
    pub redirect_api_to: Option<String>,
    /// The next N API calls answer an HTML page echoing the request URL, token and all.
    pub echo_url: u32,
    /// API replies are padded to this many bytes (a runaway or hostile reply).
    pub pad_replies_to: usize,
    /// Listings list their first file twice: the second time for another file.
    pub ambiguous_name: bool,
    /// `listmedia` at this offset answers errcode 47003 (a catalogue broken mid-paging).
    pub listmedia_fails_at_offset: Option<usize>,
    /// Media ids no catalogue reply lists any more (taken down since).
    pub taken_down: Vec<i64>,
    /// Listings list their first file twice: the second time under another name
    /// (`<hour>-copy-<rest>`), at the same address (the same content).
    pub renamed_copy: bool,
    /// `listmedia` answers full pages from the start of the catalogue whatever the
    /// `offset` (a server that pages forever).
    pub listmedia_ignores_offset: bool,
    /// The first drama's name and the first media's name are this many characters long
    /// (0: as they are).
    pub huge_names: usize,
    /// Media links carry signatures in their path: a `;sign=` parameter and Tencent's
    /// type-B hotlink segments (`/YYYYMMDDHHMM/<md5>/`).
    pub signed_paths: bool,
    /// The first media is listed twice, and the last media claims the first one's path
    /// prefix (one prefix for two dramas).
    pub inconsistent_catalogue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    Token,
    Api { name: String, outcome: String },
    Download { name: String, outcome: String },
}

/// One mini-program the server serves: its credentials and its own data, which only its
/// tokens reach.
pub struct App {
    appid: String,
    secret: Secret,
    /// Per log file name: its date directory and content (replaceable, for "changed on re-list").
    files: Mutex<BTreeMap<String, (String, Vec<u8>)>>,
    /// 5-minute buckets: start (unix s) → billed bytes.
    usage: BTreeMap<i64, u64>,
    /// Its media catalogue ([`crate::generator::catalogue::media_of_app`]).
    catalogue: Vec<crate::generator::catalogue::CatalogueMedia>,
}

/// A mini-program to serve: its appid and secret, and the data directory it serves (see
/// the module header).
pub struct LoopbackApp {
    pub appid: String,
    pub secret: Secret,
    pub data: std::path::PathBuf,
}

/// What the handlers share.
pub struct WechatState {
    /// Every app served, at one base URL as the real service serves every appid.
    apps: Vec<App>,
    /// Issued tokens: their expiry (unix s) and the app (index) they are good for.
    tokens: Mutex<HashMap<String, (i64, usize)>>,
    next_token: Mutex<u64>,
    faults: Mutex<WechatFaults>,
    log: Mutex<Vec<Logged>>,
    base_url: Mutex<String>,
}

pub type WechatServer = Server<WechatState>;

impl Server<WechatState> {
    /// Starts on a free loopback port, serving one app's `data` (see the module header).
    pub async fn start(appid: &str, secret: Secret, data: &Path) -> Result<WechatServer> {
        let app = LoopbackApp {
            appid: appid.into(),
            secret,
            data: data.to_path_buf(),
        };
        Server::start_apps(vec![app]).await
    }

    /// Starts on a free loopback port, serving several apps, each its own data: a token
    /// of one never reaches another's (40001, as for any unknown token).
    pub async fn start_apps(apps: Vec<LoopbackApp>) -> Result<WechatServer> {
        let mut served = Vec::with_capacity(apps.len());
        for (i, app) in apps.into_iter().enumerate() {
            served.push(App {
                files: Mutex::new(load_files(&app.data.join("cdn_logs"))?),
                usage: load_usage(&app.data.join("cdn_usage.csv"))?,
                catalogue: crate::generator::catalogue::media_of_app(i as u64),
                appid: app.appid,
                secret: app.secret,
            });
        }
        let state = WechatState {
            apps: served,
            tokens: Mutex::new(HashMap::new()),
            next_token: Mutex::new(1),
            faults: Mutex::new(WechatFaults::default()),
            log: Mutex::new(Vec::new()),
            base_url: Mutex::new(String::new()),
        };
        let routes = Router::new()
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/wxa/sec/vod/{name}", post(vod_api))
            .route("/files/{app}/{date}/{file}", get(download));
        let server = Server::serve(state, routes).await?;
        *lock(&server.state().base_url) = server.url();
        Ok(server)
    }

    pub fn faults(&self) -> MutexGuard<'_, WechatFaults> {
        lock(&self.state().faults)
    }

    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state().log).clone()
    }

    /// How many log files were downloaded (whatever the outcome).
    pub fn downloads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| matches!(r, Logged::Download { .. }))
            .count()
    }

    /// Replaces the content of a listed file of the first app (the platform completing a
    /// file late).
    pub fn change_file(&self, name: &str, content: Vec<u8>) {
        if let Some(entry) = lock(&self.state().apps[0].files).get_mut(name) {
            entry.1 = content;
        }
    }

    /// The current content of a listed file of the first app.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        lock(&self.state().apps[0].files)
            .get(name)
            .map(|e| e.1.clone())
    }
}

fn load_files(dir: &Path) -> Result<BTreeMap<String, (String, Vec<u8>)>> {
    let name_of = |entry: &std::fs::DirEntry| entry.file_name().to_string_lossy().into_owned();
    let mut files = BTreeMap::new();
    for day in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let day = day?;
        let date = name_of(&day).trim_start_matches("date=").to_string();
        for file in std::fs::read_dir(day.path())? {
            let file = file?;
            let name = name_of(&file).trim_end_matches(".gz").to_string();
            files.insert(name, (date.clone(), std::fs::read(file.path())?));
        }
    }
    Ok(files)
}

/// The usage series; a data directory without one serves an empty series.
fn load_usage(path: &Path) -> Result<BTreeMap<i64, u64>> {
    let mut usage = BTreeMap::new();
    if !path.exists() {
        return Ok(usage);
    }
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    for record in reader.records() {
        let r = record?;
        usage.insert(r[0].parse()?, r[1].parse()?);
    }
    Ok(usage)
}

/// Unix seconds of the China hour named by a file's `YYYYMMDDHH` prefix.
fn hour_of(name: &str) -> Option<i64> {
    let p = name.get(..10)?;
    let date = NaiveDate::parse_from_str(p.get(..8)?, "%Y%m%d").ok()?;
    let hour: i64 = p.get(8..10)?.parse().ok()?;
    Some(china_time::day_start_unix(date) + hour * 3600)
}

fn wx_error(errcode: i64, errmsg: &str) -> Response {
    Json(json!({"errcode": errcode, "errmsg": errmsg})).into_response()
}

async fn stable_token(State(s): State<Arc<WechatState>>, Json(body): Json<Value>) -> Response {
    lock(&s.log).push(Logged::Token);
    {
        let mut f = lock(&s.faults);
        if f.token_429 > 0 {
            f.token_429 -= 1;
            return (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
        }
    }
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if field("grant_type") != "client_credential" {
        return wx_error(40002, "invalid grant_type");
    }
    let Some(app) = s.apps.iter().position(|a| a.appid == field("appid")) else {
        return wx_error(40013, "invalid appid");
    };
    if field("secret") != s.apps[app].secret.expose() {
        return wx_error(40125, "invalid appsecret");
    }
    let token = {
        let mut n = lock(&s.next_token);
        *n += 1;
        format!("LOOPBACK_TOKEN_{:08}_{}", *n, s.apps[app].appid)
    };
    let expiry = chrono::Utc::now().timestamp() + 7200;
    lock(&s.tokens).insert(token.clone(), (expiry, app));
    Json(json!({"access_token": token, "expires_in": 7200})).into_response()
}

async fn vod_api(
    State(s): State<Arc<WechatState>>,
    UrlPath(name): UrlPath<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let delay = lock(&s.faults).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let echo = {
        let mut f = lock(&s.faults);
        let echo = f.echo_url > 0;
        f.echo_url = f.echo_url.saturating_sub(1);
        echo
    };
    if echo {
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lock(&s.log).push(Logged::Api {
            name: name.clone(),
            outcome: "echoed".into(),
        });
        let page = format!(
            "<html>upstream error for /wxa/sec/vod/{name}?{}</html>",
            query.join("&")
        );
        return page.into_response();
    }
    let redirect = lock(&s.faults).redirect_api_to.clone();
    if let Some(base) = redirect {
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let location = format!("{base}/wxa/sec/vod/{name}?{}", query.join("&"));
        lock(&s.log).push(Logged::Api {
            name,
            outcome: "redirected".into(),
        });
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, location)],
        )
            .into_response();
    }
    let pad = lock(&s.faults).pad_replies_to;
    if pad > 0 {
        lock(&s.log).push(Logged::Api {
            name,
            outcome: "padded".into(),
        });
        let mut text = String::from("{\"errcode\":0,\"item_list\":[],\"pad\":\"");
        text.extend(std::iter::repeat_n('x', pad));
        text.push_str("\"}");
        return text.into_response();
    }
    let (response, outcome) = api_answer(&s, &name, &query, &body);
    lock(&s.log).push(Logged::Api { name, outcome });
    response
}

fn api_answer(
    s: &WechatState,
    name: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> (Response, String) {
    {
        let mut f = lock(&s.faults);
        if f.http_500 > 0 {
            f.http_500 -= 1;
            return (
                (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response(),
                "HTTP 500".into(),
            );
        }
        if f.busy > 0 {
            f.busy -= 1;
            return (wx_error(-1, "system error"), "errcode -1".into());
        }
        if f.daily_quota {
            return (
                wx_error(45009, "reach max api daily quota limit"),
                "errcode 45009".into(),
            );
        }
        if f.string_errcode > 0 {
            f.string_errcode -= 1;
            return (
                Json(json!({"errcode": "45009"})).into_response(),
                "errcode \"45009\"".into(),
            );
        }
        if f.minute_limit > 0 {
            f.minute_limit -= 1;
            return (
                wx_error(45011, "api minute-quota reach limit"),
                "errcode 45011".into(),
            );
        }
    }
    let token = query.get("access_token").cloned().unwrap_or_default();
    let known = lock(&s.tokens).get(&token).copied();
    let app = match known {
        None => {
            return (
                wx_error(
                    40001,
                    "invalid credential, access_token is invalid or not latest",
                ),
                "errcode 40001".into(),
            )
        }
        Some((expires, _)) if expires <= chrono::Utc::now().timestamp() => {
            return (
                wx_error(42001, "access_token expired"),
                "errcode 42001".into(),
            )
        }
        Some((_, app)) => app,
    };
    if matches!(name, "listdramas" | "listmedia") {
        return match catalogue_page(s, &s.apps[app], name, body) {
            Ok(v) => (Json(v).into_response(), "ok".into()),
            Err((code, msg)) => (wx_error(code, &msg), format!("errcode {code}")),
        };
    }
    let start = body.get("start_time").and_then(|v| v.as_i64()).unwrap_or(0);
    let end = body.get("end_time").and_then(|v| v.as_i64()).unwrap_or(0);
    if start <= 0 || end < start {
        return (
            wx_error(47001, "data format error: start_time/end_time"),
            "errcode 47001".into(),
        );
    }
    let response = match name {
        "getcdnusagedata" => usage(
            s,
            &s.apps[app],
            start,
            end,
            body.get("data_interval")
                .and_then(|v| v.as_i64())
                .unwrap_or(1440),
        ),
        "getcdnlogs" => logs(s, app, start, end),
        _ => return (wx_error(40066, "invalid url"), "errcode 40066".into()),
    };
    let outcome = match &response {
        Ok(_) => "ok".to_string(),
        Err((code, _)) => format!("errcode {code}"),
    };
    // A successful call may be the one after which tokens expire.
    if response.is_ok() {
        let mut f = lock(&s.faults);
        if let Some(n) = f.expire_tokens_after_calls.as_mut() {
            if *n == 0 {
                lock(&s.tokens).values_mut().for_each(|e| e.0 = 0);
                f.expire_tokens_after_calls = None;
            } else {
                *n -= 1;
            }
        }
    }
    match response {
        Ok(v) => (Json(v).into_response(), outcome),
        Err((code, msg)) => (wx_error(code, &msg), outcome),
    }
}

/// A page of the catalogue (`crate::generator::catalogue`): its media not deleted nor
/// taken down, with temporary signed links as the platform gives them.
fn catalogue_page(
    s: &WechatState,
    app: &App,
    name: &str,
    body: &Value,
) -> Result<Value, (i64, String)> {
    use crate::generator::catalogue;
    let limit = body.get("limit").and_then(|v| v.as_u64()).unwrap_or(10) as usize;
    let offset = body.get("offset").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    if limit == 0 || limit > 100 {
        return Err((47003, "argument invalid! limit must be 1..100".into()));
    }
    let faults = lock(&s.faults);
    let listed: Vec<catalogue::CatalogueMedia> = app
        .catalogue
        .iter()
        .filter(|m| !m.deleted && !faults.taken_down.contains(&m.media_id))
        .cloned()
        .collect();
    if name == "listdramas" {
        let mut dramas: Vec<Value> = Vec::new();
        for m in &listed {
            if dramas.last().is_none_or(|d| d["drama_id"] != m.drama_id) {
                dramas.push(json!({
                    "drama_id": m.drama_id, "name": m.drama_name, "producer": "示例影视",
                    "media_count": 0, "media_list": [], "audit_detail": {"status": 3}
                }));
            }
            let drama = dramas.last_mut().expect("pushed above");
            drama["media_count"] = json!(drama["media_count"].as_i64().unwrap_or(0) + 1);
            drama["media_list"]
                .as_array_mut()
                .expect("an array")
                .push(json!({"media_id": m.media_id}));
        }
        if faults.huge_names > 0 {
            dramas[0]["name"] = json!("长".repeat(faults.huge_names));
        }
        let page: Vec<Value> = dramas.into_iter().skip(offset).take(limit).collect();
        return Ok(json!({"errcode": 0, "errmsg": "ok", "drama_info_list": page}));
    }
    if faults.listmedia_fails_at_offset == Some(offset) {
        return Err((47003, "argument invalid! (injected mid-paging)".into()));
    }
    let mut listed = listed;
    if faults.inconsistent_catalogue {
        let first = listed[0].clone();
        listed.insert(1, first);
    }
    let first_prefix = listed[0].path_prefix();
    let last = listed.len() - 1;
    let skip = if faults.listmedia_ignores_offset {
        0
    } else {
        offset
    };
    let page: Vec<Value> = listed
        .iter()
        .enumerate()
        .cycle()
        .take(if faults.listmedia_ignores_offset { usize::MAX } else { listed.len() })
        .skip(skip)
        .take(limit)
        .map(|(i, m)| {
            let mut prefix = m.path_prefix();
            if faults.inconsistent_catalogue && i == last {
                prefix = first_prefix.clone();
            }
            if faults.signed_paths {
                let dirs = prefix.trim_start_matches('/');
                prefix = format!(
                    "/202611201200/0123456789abcdef0123456789abcdef/{}",
                    dirs.replacen('/', ";sign=9f3e/", 1)
                );
            }
            let link = |file: &str| {
                format!(
                    "https://1500020822.vod2.myqcloud.com{}{file}?t=6b0a1c2d&us=studio-{}&sign=5e1f{}",
                    prefix,
                    m.media_id,
                    m.media_id % 9973
                )
            };
            let name = if faults.huge_names > 0 && i == 0 {
                "长".repeat(faults.huge_names)
            } else {
                m.name.clone()
            };
            json!({
                "media_id": m.media_id, "drama_id": m.drama_id, "name": name,
                "file_size": m.file_size.to_string(), "duration": m.duration_s,
                "cover_url": link("cover.jpg"), "original_url": link("original.mp4"),
                "mp4_url": link("v.f100030.mp4"), "hls_url": link("v.f1419.m3u8"),
                "audit_detail": {"status": 3}
            })
        })
        .collect();
    Ok(json!({"errcode": 0, "errmsg": "ok", "media_info_list": page}))
}

fn usage(
    s: &WechatState,
    app: &App,
    start: i64,
    end: i64,
    interval_min: i64,
) -> Result<Value, (i64, String)> {
    if ![5, 60, 1440].contains(&interval_min) {
        return Err((47001, "data_interval must be 5, 60 or 1440".into()));
    }
    if end - start > 90 * 86_400 {
        return Err((47001, "the query spans more than 90 days".into()));
    }
    let step = interval_min * 60;
    // Buckets start at China hour/day boundaries.
    let align =
        |t: i64| (t + china_time::OFFSET_SECS).div_euclid(step) * step - china_time::OFFSET_SECS;
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    for (t, bytes) in app.usage.range(align(start)..=end) {
        *buckets.entry(align(*t)).or_default() += bytes;
    }
    let mut items: Vec<Value> = buckets
        .into_iter()
        .map(|(time, value)| json!({"time": time, "value": value}))
        .collect();
    items.extend(lock(&s.faults).extra_usage_items.iter().cloned());
    let answered = if lock(&s.faults).wrong_interval {
        if interval_min == 1440 {
            60
        } else {
            1440
        }
    } else {
        interval_min
    };
    Ok(json!({"errcode": 0, "errmsg": "ok", "data_interval": answered, "item_list": items}))
}

fn logs(s: &WechatState, app: usize, start: i64, end: i64) -> Result<Value, (i64, String)> {
    if end - start > 48 * 3600 {
        return Err((47001, "the query spans more than 48 hours".into()));
    }
    let base = lock(&s.base_url).clone();
    let expiry = chrono::Utc::now().timestamp() + 86_400;
    let mut entries: Vec<Value> = lock(&s.apps[app].files)
        .iter()
        .filter_map(|(name, (date, _))| {
            let hour = hour_of(name)?;
            (hour >= start && hour < end).then(|| {
                json!({
                    "date": date,
                    "name": name,
                    "url": format!("{base}/files/{app}/{date}/{name}.gz?t={expiry:x}&sign={:016x}", hour ^ 0x5EED),
                    "start_time": hour,
                    "end_time": hour + 3600,
                })
            })
        })
        .collect();
    if lock(&s.faults).empty_listing {
        entries.clear();
    }
    if lock(&s.faults).ambiguous_name {
        if let Some(first) = entries.first().cloned() {
            let mut other = first.clone();
            let url = first["url"]
                .as_str()
                .unwrap_or_default()
                .replace("/files/", "/files/other-");
            other["url"] = Value::String(url);
            entries.push(other);
        }
    }
    if lock(&s.faults).renamed_copy {
        if let Some(first) = entries.first().cloned() {
            let mut copy = first.clone();
            let name = first["name"].as_str().unwrap_or_default();
            let (hour, rest) = name.split_once('-').unwrap_or((name, ""));
            copy["name"] = Value::String(format!("{hour}-copy-{rest}"));
            entries.push(copy);
        }
    }
    if lock(&s.faults).hostile_entries {
        let hour = start - start.rem_euclid(3600);
        for (name, url) in [
            ("../../escaped", format!("{base}/files/x/escaped.gz")),
            ("sub/dir-name", format!("{base}/files/x/sub.gz")),
            ("2026111800-nul\u{0}byte", format!("{base}/files/x/nul.gz")),
            ("2026111800-file-scheme", "file:///etc/passwd".to_string()),
        ] {
            entries.push(json!({"date": "2026-11-18", "name": name, "url": url, "start_time": hour, "end_time": hour + 3600}));
        }
    }
    let total_count = entries.len() + lock(&s.faults).short_listing as usize;
    Ok(
        json!({"errcode": 0, "errmsg": "ok", "total_count": total_count, "domestic_cdn_logs": entries}),
    )
}

async fn download(
    State(s): State<Arc<WechatState>>,
    UrlPath((app, date, file)): UrlPath<(String, String, String)>,
) -> Response {
    let name = file.trim_end_matches(".gz").to_string();
    let content = app
        .parse::<usize>()
        .ok()
        .and_then(|app| s.apps.get(app))
        .and_then(|app| {
            lock(&app.files)
                .get(&name)
                .filter(|(d, _)| *d == date)
                .map(|(_, c)| c.clone())
        });
    let Some(content) = content else {
        lock(&s.log).push(Logged::Download {
            name,
            outcome: "404".into(),
        });
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let (cut, truncated) = {
        let mut f = lock(&s.faults);
        let cut = f.cut_downloads > 0;
        f.cut_downloads = f.cut_downloads.saturating_sub(1);
        let truncated = !cut && f.truncated_downloads > 0;
        if truncated {
            f.truncated_downloads -= 1;
        }
        (cut, truncated)
    };
    let outcome = if cut {
        "cut"
    } else if truncated {
        "truncated"
    } else {
        "ok"
    };
    lock(&s.log).push(Logged::Download {
        name,
        outcome: outcome.into(),
    });
    if truncated {
        return content[..content.len() / 2].to_vec().into_response();
    }
    let trickle = lock(&s.faults).trickle_downloads;
    if let Some(gap) = trickle {
        let quarter = content.len().div_ceil(4).max(1);
        let parts: Vec<Vec<u8>> = content.chunks(quarter).map(<[u8]>::to_vec).collect();
        let stream = futures::stream::iter(parts).then(move |part| async move {
            tokio::time::sleep(gap).await;
            Ok::<Vec<u8>, std::io::Error>(part)
        });
        return Response::builder()
            .header("content-length", content.len())
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if cut {
        // Promise the whole length, send half, then fail the stream: the connection drops.
        let half = content[..content.len() / 2].to_vec();
        let stream = futures::stream::iter(vec![
            Ok::<Vec<u8>, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut by fault injection",
            )),
        ]);
        return Response::builder()
            .header("content-length", content.len())
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    Response::builder()
        .header("content-length", content.len())
        .body(Body::from(content))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

//! The media catalogue calls (DOMAIN.md §1, "Media catalogue and the log path"):
//! `listdramas` and `listmedia`, paged by `limit` (at most 100) and `offset` until a short
//! page. Replies carry temporary signed links (`mp4_url`, `hls_url`): only their path
//! prefix is kept ([`path_prefix`]); the links themselves, and their `sign`, `t` and `us`
//! values, never leave this module.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::api::{u64_from_number_or_string, WechatClient, WechatError};

/// The most a page may hold (the API's limit).
pub const PAGE: usize = 100;
/// The most pages one listing may take: 100,000 items, far above a studio's catalogue.
/// A server that never answers a short page (one ignoring `offset`) stops here.
pub const MAX_PAGES: usize = 1000;
/// The most time one listing may take, all pages and retries included.
pub const MAX_LISTING_SECS: u64 = 900;
/// The longest name (drama, producer, media) the lake keeps, in characters; a longer
/// one is cut, and counted.
pub const MAX_NAME_CHARS: usize = 200;

/// One drama as `listdramas` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct DramaInfo {
    pub drama_id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub producer: String,
    #[serde(default)]
    pub media_count: i64,
    /// `audit_detail.status` when given (the platform's review state).
    #[serde(default)]
    pub audit_detail: Option<AuditDetail>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditDetail {
    #[serde(default)]
    pub status: Option<i64>,
}

/// One media (an episode's file) as `listmedia` describes it; the links are read only
/// for their path prefix.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaInfo {
    pub media_id: i64,
    #[serde(default)]
    pub drama_id: i64,
    #[serde(default)]
    pub name: String,
    /// A string of bytes in the documented reply; a number is taken too.
    #[serde(default, deserialize_with = "u64_from_number_or_string")]
    pub file_size: u64,
    #[serde(default)]
    pub duration: f64,
    #[serde(default)]
    pub mp4_url: Option<String>,
    #[serde(default)]
    pub hls_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DramasReply {
    drama_info_list: Vec<DramaInfo>,
}

#[derive(Debug, Deserialize)]
struct MediaReply {
    media_info_list: Vec<MediaInfo>,
}

impl WechatClient {
    /// Every drama, page by page.
    pub async fn list_dramas(&self) -> Result<Vec<DramaInfo>, WechatError> {
        self.every_page(
            "listdramas",
            |r: DramasReply| r.drama_info_list,
            |d| d.drama_id,
        )
        .await
    }

    /// Every media, page by page.
    pub async fn list_media(&self) -> Result<Vec<MediaInfo>, WechatError> {
        self.every_page(
            "listmedia",
            |r: MediaReply| r.media_info_list,
            |m| m.media_id,
        )
        .await
    }

    /// Calls `name` with `limit` and `offset` until a page comes back short, within
    /// [`MAX_PAGES`] and [`MAX_LISTING_SECS`]; a full page that starts where the one
    /// before started (a server ignoring `offset`) is an error at once.
    async fn every_page<R: DeserializeOwned, T>(
        &self,
        name: &'static str,
        items: impl Fn(R) -> Vec<T>,
        id: fn(&T) -> i64,
    ) -> Result<Vec<T>, WechatError> {
        let started = std::time::Instant::now();
        let stop = |detail: String| WechatError::BadReply { call: name, detail };
        let mut all = Vec::new();
        let mut first_of_last: Option<i64> = None;
        for page_no in 1..=MAX_PAGES {
            if started.elapsed().as_secs() > MAX_LISTING_SECS {
                return Err(stop(format!(
                    "the listing took longer than {MAX_LISTING_SECS} s ({} items in {} pages): stopped",
                    all.len(),
                    page_no - 1
                )));
            }
            let body = serde_json::json!({"limit": PAGE, "offset": all.len()});
            let page = items(self.call(name, body).await?);
            let first = page.first().map(id);
            if page.len() == PAGE && first.is_some() && first == first_of_last {
                return Err(stop(format!(
                    "offset {} answered the page offset {} did (it starts with id {}): the server ignores offset",
                    all.len(),
                    all.len() - PAGE,
                    first.unwrap_or_default()
                )));
            }
            first_of_last = first;
            let short = page.len() < PAGE;
            all.extend(page);
            if short {
                return Ok(all);
            }
            if page_no % 20 == 0 {
                tracing::info!("{name}: {} items in {page_no} pages so far", all.len());
            }
        }
        Err(stop(format!(
            "more than {MAX_PAGES} pages ({} items) without a short one: stopped",
            all.len()
        )))
    }
}

/// The path of a link up to and including its last `/`: the directory a media's files
/// share in the CDN log paths (`https://h/sub/123/v.f1.mp4?sign=…` → `/sub/123/`).
/// A signature in the path never stays in it: a segment's `;parameters` are dropped, a
/// segment holding `=` (`/sign=…/`) is dropped, and so are Tencent's leading
/// hotlink-protection segments (type B: `/YYYYMMDDHHMM/<md5>/…`; type C:
/// `/<md5>/<hex time>/…`). `None` for what is not an http(s) link with a directory.
pub fn path_prefix(link: &str) -> Option<String> {
    let url = reqwest::Url::parse(link).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let path = url.path();
    let end = path.rfind('/')?;
    if end == 0 {
        return None;
    }
    let mut dirs: Vec<&str> = path[1..end]
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .filter(|segment| !segment.contains('='))
        .collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if let [first, second, _, ..] = dirs.as_slice() {
        let type_b = digits(first, 12) && hex(second, 32);
        let type_c = hex(first, 32) && hex(second, 8);
        if type_b || type_c {
            dirs.drain(..2);
        }
    }
    let dirs: Vec<&str> = dirs.into_iter().filter(|d| !d.is_empty()).collect();
    (!dirs.is_empty()).then(|| format!("/{}/", dirs.join("/")))
}

/// `text` cut to [`MAX_NAME_CHARS`] characters; whether it was cut.
pub fn bound_name(text: &mut String) -> bool {
    match text.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => {
            text.truncate(cut);
            true
        }
        None => false,
    }
}

/// The episode number of a name that says "第 N 集" (spaces optional).
pub fn episode_number(name: &str) -> Option<u32> {
    let start = name.find('第')? + '第'.len_utf8();
    let rest = name[start..].trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let after = rest[digits.len()..].trim_start();
    if digits.is_empty() || !after.starts_with('集') {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_keep_the_directory_only() {
        assert_eq!(
            path_prefix("https://1500020822.vod2.myqcloud.com/a1b2c3d4vodtranscq1500020822/1144961661379299507/v.f1419.m3u8?t=6aff&us=wxad-1&sign=abc").as_deref(),
            Some("/a1b2c3d4vodtranscq1500020822/1144961661379299507/")
        );
        assert_eq!(path_prefix("https://h/v.mp4?sign=x"), None, "no directory");
        // Item 9 of issue 33: signatures in the path are not kept.
        for signed in [
            "https://h/sub;sign=abc/123/v.mp4",
            "https://h/sub/sign=abc/123/v.mp4",
            "https://h/sub/123;t=1;sign=9/v.mp4",
            "https://h/202611201200/0123456789abcdef0123456789abcdef/sub/123/v.mp4",
            "https://h/0123456789abcdef0123456789abcdef/6b0a1c2d/sub/123/v.mp4",
        ] {
            assert_eq!(
                path_prefix(signed).as_deref(),
                Some("/sub/123/"),
                "{signed}"
            );
        }
        assert_eq!(path_prefix("file:///etc/passwd"), None);
        assert_eq!(path_prefix("not a url"), None);
    }

    #[test]
    fn episodes_from_names() {
        assert_eq!(episode_number("重生归来 - 第 12 集"), Some(12));
        assert_eq!(episode_number("重生归来-第3集"), Some(3));
        assert_eq!(episode_number("重生归来 第 3 话"), None);
        assert_eq!(episode_number("预告片"), None);
    }
}

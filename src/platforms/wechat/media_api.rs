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
        self.every_page("listdramas", |r: DramasReply| r.drama_info_list)
            .await
    }

    /// Every media, page by page.
    pub async fn list_media(&self) -> Result<Vec<MediaInfo>, WechatError> {
        self.every_page("listmedia", |r: MediaReply| r.media_info_list)
            .await
    }

    /// Calls `name` with `limit` and `offset` until a page comes back short.
    async fn every_page<R: DeserializeOwned, T>(
        &self,
        name: &'static str,
        items: impl Fn(R) -> Vec<T>,
    ) -> Result<Vec<T>, WechatError> {
        let mut all = Vec::new();
        loop {
            let body = serde_json::json!({"limit": PAGE, "offset": all.len()});
            let page = items(self.call(name, body).await?);
            let short = page.len() < PAGE;
            all.extend(page);
            if short {
                return Ok(all);
            }
        }
    }
}

/// The path of a link up to and including its last `/`: the directory a media's files
/// share in the CDN log paths (`https://h/sub/123/v.f1.mp4?sign=…` → `/sub/123/`).
/// `None` for what is not an http(s) link with a directory.
pub fn path_prefix(link: &str) -> Option<String> {
    let url = reqwest::Url::parse(link).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let path = url.path();
    let end = path.rfind('/')?;
    (end > 0).then(|| path[..=end].to_string())
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

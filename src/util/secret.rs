//! Secrets (the WeChat app secret and access token, the Polyv secret key) are wrapped so
//! they can't reach a log line, an error or a file by accident: `Debug` and `Display`
//! print `**REDACTED**`, and every URL we show goes through [`redact_url`].

use std::fmt;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Query parameters whose values are secret or grant access.
const SECRET_PARAMS: &[&str] = &["access_token", "secret", "appsecret", "secretkey", "sign"];

/// The URL with the values of secret query parameters replaced by `REDACTED`.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_PARAMS.iter().any(|s| key.eq_ignore_ascii_case(s)) => {
                format!("{key}=REDACTED")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

/// Removes every occurrence of the given secrets from a text (an error body echoed back
/// by a server, say) before it is shown.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if secret.0.len() >= 4 {
            out = out.replace(&secret.0, "**REDACTED**");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("tIQp4ATe9Z");
        assert_eq!(format!("{s} {s:?}"), "**REDACTED** **REDACTED**");
        assert_eq!(s.expose(), "tIQp4ATe9Z");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("https://api.weixin.qq.com/wxa/sec/vod/getcdnlogs?access_token=ACCESS&x=1"),
            "https://api.weixin.qq.com/wxa/sec/vod/getcdnlogs?access_token=REDACTED&x=1"
        );
        assert_eq!(
            redact_url("https://h/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3"),
            "https://h/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=REDACTED"
        );
        assert_eq!(redact_url("https://h/p"), "https://h/p");
        assert_eq!(
            scrub("bad token ACCESS123 here", &[&Secret::new("ACCESS123")]),
            "bad token **REDACTED** here"
        );
    }
}

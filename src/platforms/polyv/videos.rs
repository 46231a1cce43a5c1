//! The mapping file that says which Polyv videos to track and which channel each one's
//! traffic belongs to: `vid,title,channel` (header required; UTF-8, BOM tolerated).
//! A video with an empty channel is attributed to `polyv`. An optional `drama` column
//! names the drama a video belongs to (the drama report; else its title names it).

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The channel for Polyv videos the mapping leaves unassigned.
pub const DEFAULT_CHANNEL: &str = "polyv";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    pub vid: String,
    pub title: String,
    pub channel: String,
    /// The `drama` column, when the file has one and the cell is not empty.
    pub drama: Option<String>,
}

/// vid → drama of the mapping file's `drama` column, for the drama report. A file that
/// is absent names nothing; one that does not read is said once (the report then names
/// Polyv dramas by their titles).
pub fn dramas_of(path: &Path) -> std::collections::BTreeMap<String, String> {
    if !path.exists() {
        return Default::default();
    }
    match read_videos(path) {
        Ok(videos) => videos
            .into_iter()
            .filter_map(|v| Some((v.vid, v.drama?)))
            .collect(),
        Err(e) => {
            tracing::warn!("Polyv dramas are named by the videos' titles: {e:#}");
            Default::default()
        }
    }
}

pub fn read_videos(path: &Path) -> Result<Vec<Video>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the Polyv video mapping {}", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{}: header", path.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(vid_at), Some(title_at), Some(channel_at)) =
        (column("vid"), column("title"), column("channel"))
    else {
        bail!(
            "{}: the header must name the columns vid,title,channel (found: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };
    let mut videos: Vec<Video> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let vid = record.get(vid_at).unwrap_or("").to_string();
        if !super::api::is_safe_token(&vid) {
            bail!(
                "{}: line {line}: '{vid}' is not a Polyv vid (letters, digits, '_' and '-')",
                path.display()
            );
        }
        if videos.iter().any(|v| v.vid == vid) {
            bail!("{}: line {line}: vid {vid} is listed twice", path.display());
        }
        let channel = record.get(channel_at).unwrap_or("").to_string();
        let drama = column("drama")
            .and_then(|at| record.get(at))
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        videos.push(Video {
            vid,
            title: record.get(title_at).unwrap_or("").to_string(),
            channel: if channel.is_empty() {
                DEFAULT_CHANNEL.to_string()
            } else {
                channel
            },
            drama,
        });
    }
    if videos.is_empty() {
        bail!("{}: no videos listed", path.display());
    }
    Ok(videos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mapping_with_defaults_and_rejects_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("videos.csv");
        std::fs::write(
            &path,
            "\u{feff}vid,title,channel\nabc_1,剧 - 第 1 集,wxad\nabc_2,\"Title, with comma\",\n",
        )
        .unwrap();
        let videos = read_videos(&path).unwrap();
        assert_eq!(
            videos[0],
            Video {
                vid: "abc_1".into(),
                title: "剧 - 第 1 集".into(),
                channel: "wxad".into(),
                drama: None,
            }
        );
        // An optional drama column; an empty cell names nothing.
        std::fs::write(
            &path,
            "vid,title,channel,drama\nabc_1,t,wxad,甲剧\nabc_2,t,wxad,\n",
        )
        .unwrap();
        let videos = read_videos(&path).unwrap();
        assert_eq!(videos[0].drama.as_deref(), Some("甲剧"));
        assert_eq!(videos[1].drama, None);
        std::fs::write(
            &path,
            "vid,title,channel\nabc_1,剧 - 第 1 集,wxad\nabc_2,\"Title, with comma\",\n",
        )
        .unwrap();
        let videos = read_videos(&path).unwrap();
        assert_eq!(videos[1].channel, "polyv");
        assert_eq!(videos[1].title, "Title, with comma");
        std::fs::write(&path, "vid,title,channel\n../x,t,c\n").unwrap();
        assert!(read_videos(&path)
            .unwrap_err()
            .to_string()
            .contains("line 2"));
        std::fs::write(&path, "id,name\n").unwrap();
        assert!(read_videos(&path)
            .unwrap_err()
            .to_string()
            .contains("vid,title,channel"));
    }
}

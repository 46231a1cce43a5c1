//! The media catalogue that goes with the generated logs: which drama and episode each
//! media file (the directory in a log path) belongs to. The loopback WeChat server serves
//! it through `listdramas` and `listmedia`, and tests count against it.
//!
//! The log generator draws a drama and an episode and writes the file's directory,
//! `/a1b2c3d4vodtranscq1500020822/<file id>/`, with the file id from [`file_id`]; here each
//! (drama, episode) is a media with ids, names, a duration and a size. A few media are
//! *deleted* (listed by no reply, though the logs hold their traffic), as on a platform
//! where a studio took episodes down.

/// Dramas in the generated logs.
pub const DRAMAS: u64 = 40;
/// Episodes per drama.
pub const EPISODES: u64 = 60;
/// The sub-application directory of the VOD paths.
pub const SUB_APP_DIR: &str = "a1b2c3d4vodtranscq1500020822";
const FILE_ID_BASE: u64 = 1_144_961_661_379_299_507;
/// Apart enough that no two dramas' file ids meet (EPISODES < STRIDE).
const DRAMA_STRIDE: u64 = 7919;
/// (drama, episode index) of the media listed by no reply.
const DELETED: &[(u64, u64)] = &[(3, 0), (11, 7), (25, 59), (38, 30), (39, 1)];

const NAME_HEADS: &[&str] = &[
    "重生", "闪婚", "战神", "总裁", "神医", "千金", "逆袭", "萌宝",
];
const NAME_TAILS: &[&str] = &["归来", "的契约", "在都市", "的替身", "之路"];

/// The file id of episode `episode` (from 0) of drama `drama` (from 0).
pub fn file_id(drama: u64, episode: u64) -> u64 {
    FILE_ID_BASE.wrapping_add(drama * DRAMA_STRIDE + episode)
}

/// One media of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueMedia {
    pub media_id: i64,
    pub drama_id: i64,
    pub drama_name: String,
    /// From 1.
    pub episode: u32,
    /// "剧目名 - 第 N 集", as the platform names episodes.
    pub name: String,
    pub file_id: u64,
    pub duration_s: u32,
    pub file_size: u64,
    pub deleted: bool,
}

impl CatalogueMedia {
    /// The directory of its files in log paths: `/<sub-app dir>/<file id>/`.
    pub fn path_prefix(&self) -> String {
        format!("/{SUB_APP_DIR}/{:019}/", self.file_id)
    }
}

/// A drama's name (`drama` from 0).
pub fn drama_name(drama: u64) -> String {
    let head = NAME_HEADS[(drama % NAME_HEADS.len() as u64) as usize];
    let tail = NAME_TAILS[(drama / NAME_HEADS.len() as u64) as usize % NAME_TAILS.len()];
    format!("{head}{tail}")
}

/// The drama id the platform gives drama `drama` (from 0).
pub fn drama_id(drama: u64) -> i64 {
    200_001 + drama as i64
}

/// Every media of the catalogue, deleted ones included (marked), drama by drama.
pub fn media() -> Vec<CatalogueMedia> {
    media_of_app(0)
}

/// The catalogue of the `app`th mini-program (from 0) a loopback server serves: the same
/// files (the generated logs' directories), but other media ids and drama ids, and
/// each drama under another name (drama `d` is named as drama `d + 7 × app` is in the
/// first app's). So a directory's traffic names one drama in one app and another in the
/// next: only the account's own catalogue may name it.
pub fn media_of_app(app: u64) -> Vec<CatalogueMedia> {
    let mut all = Vec::with_capacity((DRAMAS * EPISODES) as usize);
    for drama in 0..DRAMAS {
        let name = drama_name((drama + 7 * app) % DRAMAS);
        for episode in 0..EPISODES {
            let duration_s = 60 + ((drama * 7 + episode * 13) % 120) as u32;
            all.push(CatalogueMedia {
                media_id: 3_000_000_000 + (app * 100_000 + drama * 1000 + episode) as i64,
                drama_id: drama_id(drama) + (app * 1000) as i64,
                drama_name: name.clone(),
                episode: episode as u32 + 1,
                name: format!("{name} - 第 {} 集", episode + 1),
                file_id: file_id(drama, episode),
                duration_s,
                file_size: duration_s as u64 * 187_500,
                deleted: DELETED.contains(&(drama, episode)),
            });
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_distinct() {
        let all = media();
        let names: std::collections::BTreeSet<String> = (0..DRAMAS).map(drama_name).collect();
        assert_eq!(names.len(), DRAMAS as usize);
        let prefixes: std::collections::BTreeSet<String> =
            all.iter().map(|m| m.path_prefix()).collect();
        assert_eq!(prefixes.len(), all.len());
        assert_eq!(all.iter().filter(|m| m.deleted).count(), DELETED.len());
    }
}

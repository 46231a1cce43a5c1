//! Whose data a unit of the lake is: a platform and one of its accounts.
//!
//! Every row a platform's job writes carries both (the `platform` and `account` columns,
//! first in each table that holds a platform's data), and every unit it publishes (the
//! manifest, the lease, the files it lists) is named under both, so two accounts (or two
//! platforms sharing a table, as CDNs with logs share `cdn_requests`) never write over
//! each other, and two workers may fetch two accounts of one day at once.
//!
//! **The home scope keeps the old names.** A table or manifest kind belongs to one
//! platform (its owner, in [`super::catalogue`]); that platform's account `default` is its
//! home scope, and its units keep the names every lake had before accounts:
//! `_manifest/ingest/<stem>.json`, `cdn_requests/date=D/hour=H/<stem>.parquet`. Any other
//! scope is tagged `<platform>.<account>`: `_manifest/ingest/wechat.alpha/<stem>.json`,
//! `cdn_requests/date=D/hour=H/wechat.alpha.<stem>.parquet`. So a lake written before
//! accounts is the home scope's, read and re-ingested in place without a migration: its
//! files lack the two columns, and [`super::Lake::scan`] reads them as the table owner's
//! `default` account.

use std::fmt;

use polars::prelude::*;

/// The column naming a row's platform (`wechat`, `polyv`, …).
pub const PLATFORM: &str = "platform";
/// The column naming the platform account a row came from.
pub const ACCOUNT: &str = "account";
/// The account a single-account configuration is, and that a lake written before accounts
/// reads as.
pub const DEFAULT_ACCOUNT: &str = "default";

/// The platform whose `default` account the lake's shared tables and manifests from before
/// accounts (logs, usage, catalogue) belong to; a platform's own tables name theirs
/// (`catalogue::owner`).
pub mod platform {
    /// The WeChat mini-drama media service (Tencent Cloud VOD): logs, usage, catalogue.
    pub const WECHAT: &str = "wechat";
}

/// A platform and one of its accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    platform: &'static str,
    account: String,
}

/// An account name that cannot name files: what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("account name {name:?}: {why} (use 1 to 40 of a-z, 0-9, _ and -)")]
pub struct BadAccount {
    pub name: String,
    pub why: &'static str,
}

impl Scope {
    /// `account` becomes part of file and manifest names, so it is checked here: 1 to 40
    /// of `a-z 0-9 _ -`, not starting with `-`, `_` or a dot.
    pub fn new(platform: &'static str, account: &str) -> Result<Scope, BadAccount> {
        let bad = |why| BadAccount {
            name: account.to_string(),
            why,
        };
        if account.is_empty() || account.len() > 40 {
            return Err(bad("it must be 1 to 40 characters"));
        }
        if !account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(bad("it has a character other than a-z, 0-9, _ and -"));
        }
        if account.starts_with(['-', '_']) {
            return Err(bad("it starts with - or _"));
        }
        Ok(Scope {
            platform,
            account: account.to_string(),
        })
    }

    /// The platform's `default` account.
    pub fn default_of(platform: &'static str) -> Scope {
        Scope {
            platform,
            account: DEFAULT_ACCOUNT.to_string(),
        }
    }

    pub fn platform(&self) -> &'static str {
        self.platform
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// What names this scope's units among others of a table or kind owned by `owner`:
    /// `None` at home (the owner's `default` account keeps the names from before
    /// accounts), else `<platform>.<account>` (neither part holds a dot).
    pub fn tag_in(&self, owner: &str) -> Option<String> {
        (self.platform != owner || self.account != DEFAULT_ACCOUNT)
            .then(|| format!("{}.{}", self.platform, self.account))
    }

    /// A file name of this scope in a table owned by `owner`: `name` at home, else
    /// `<platform>.<account>.<name>`.
    pub fn file_name_in(&self, owner: &str, name: &str) -> String {
        match self.tag_in(owner) {
            None => name.to_string(),
            Some(tag) => format!("{tag}.{name}"),
        }
    }

    /// `frame` with this scope's `platform` and `account` columns put first.
    pub fn label(&self, frame: DataFrame) -> PolarsResult<DataFrame> {
        let height = frame.height();
        let mut columns = vec![
            Column::new_scalar(
                PLATFORM.into(),
                Scalar::from(PlSmallStr::from(self.platform)),
                height,
            ),
            Column::new_scalar(
                ACCOUNT.into(),
                Scalar::from(PlSmallStr::from(self.account.as_str())),
                height,
            ),
        ];
        columns.extend(frame.into_columns());
        DataFrame::new(height, columns)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} account {}", self.platform, self.account)
    }
}

/// The key columns of a scan in which some files (written before accounts) lack them:
/// such rows are `owner`'s `default` account. Puts the keys first, as files written now
/// have them.
pub(crate) fn fill_keys(frame: LazyFrame, owner: &str) -> LazyFrame {
    frame
        .with_columns([
            col(PLATFORM).fill_null(lit(owner)),
            col(ACCOUNT).fill_null(lit(DEFAULT_ACCOUNT)),
        ])
        .select([
            col(PLATFORM),
            col(ACCOUNT),
            all().exclude_cols([PLATFORM, ACCOUNT]).as_expr(),
        ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_scope_keeps_the_names_from_before_accounts() {
        let home = Scope::default_of(platform::WECHAT);
        assert_eq!(home.tag_in(platform::WECHAT), None);
        assert_eq!(
            home.file_name_in(platform::WECHAT, "x.parquet"),
            "x.parquet"
        );
        let alpha = Scope::new(platform::WECHAT, "alpha").unwrap();
        assert_eq!(
            alpha.tag_in(platform::WECHAT).as_deref(),
            Some("wechat.alpha")
        );
        assert_eq!(
            alpha.file_name_in(platform::WECHAT, "x.parquet"),
            "wechat.alpha.x.parquet"
        );
        // Another platform's default account, in a table WeChat owns, is tagged: two
        // CDNs' logs of the same name never share a file.
        let other = Scope::default_of("fakecdn");
        assert_eq!(
            other.tag_in(platform::WECHAT).as_deref(),
            Some("fakecdn.default")
        );
    }

    #[test]
    fn account_names_that_could_name_other_files_are_refused() {
        for bad in [
            "",
            "a.b",
            "../x",
            "A",
            "-x",
            "_x",
            "a/b",
            "é",
            &"a".repeat(41),
        ] {
            let err = Scope::new("cdn_b", bad).unwrap_err();
            assert!(err.to_string().contains("account name"), "{err}");
        }
        for good in ["main", "brand-2", "x_1", "0"] {
            assert_eq!(Scope::new("cdn_b", good).unwrap().account(), good);
        }
    }

    #[test]
    fn labels_come_first() {
        let frame = df!("n" => [1i64, 2]).unwrap();
        let labelled = Scope::new("cdn_b", "main").unwrap().label(frame).unwrap();
        let names: Vec<&str> = labelled
            .get_column_names()
            .into_iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(names, ["platform", "account", "n"]);
        assert_eq!(
            labelled.column("account").unwrap().str().unwrap().get(1),
            Some("main")
        );
    }
}

//! Several accounts of one platform (`[wechat.accounts.<name>]`, `[polyv.accounts.<name>]`):
//! what every platform's settings share about them. The single-account form (`[wechat]`
//! with its `appid`, the `WECHAT_*` variables) stays one account named `default`, so a
//! configuration from before accounts means what it meant.
//!
//! Each account is fetched as its own unit ([`crate::lake::Scope`]): its own client, token
//! cache, leases, manifests and files. One account failing leaves the others complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::lake::Scope;
use crate::util::secret::Secret;

/// One account of a platform: whose data it is, and the settings its client uses (or
/// why it has none: a secret's variable unset, said when the account is fetched).
#[derive(Debug, Clone)]
pub struct Account<C> {
    pub scope: Scope,
    pub settings: Result<C, String>,
}

/// Each account's id (`id_of` its settings: the appid, the userid) by its name, for
/// accounts whose settings load and give one.
pub fn ids_of<C>(
    accounts: Vec<Account<C>>,
    id_of: impl Fn(C) -> String,
) -> std::collections::BTreeMap<String, String> {
    accounts
        .into_iter()
        .filter_map(|a| {
            let id = id_of(a.settings.ok()?);
            (!id.is_empty()).then(|| (a.scope.account().to_string(), id))
        })
        .collect()
}

impl<C> Account<C> {
    /// How steps and messages name it, among `all` the platform's accounts: nothing for
    /// a `default` account alone (its steps read as before accounts), else
    /// "<platform> account <name>".
    pub fn whose(&self, platform: &str, all: &[Account<C>]) -> String {
        if all.len() == 1 && self.scope.account() == crate::lake::DEFAULT_ACCOUNT {
            String::new()
        } else {
            format!("{platform} account {}", self.scope.account())
        }
    }
}

/// One `[<platform>.accounts.<name>]` table, as what every platform's share sees it.
pub trait AccountTable {
    /// The key of its id, and of its credential as written and as a variable's name.
    const KEYS: (&'static str, (&'static str, &'static str));
    /// Its id (`appid`, `userid`).
    fn id(&self) -> &str;
    /// Its credential as written, and the name of a variable holding it.
    fn secret(&self) -> (&Option<Secret>, &Option<String>);
    /// A file only it may write (a token cache), when it names one.
    fn own_file(&self) -> Option<&Path> {
        None
    }
}

/// Checks a platform's account tables when the settings load ([`AccountRules`]);
/// `top_id` is the single-account form's id, when set.
pub fn check_tables<T: AccountTable>(
    top_id: &str,
    tables: &BTreeMap<String, T>,
) -> Result<(), String> {
    let (id_key, secret_keys) = T::KEYS;
    let named = tables
        .iter()
        .map(|(name, table)| {
            let (secret, variable) = table.secret();
            let account = NamedAccount {
                id: table.id(),
                has_secret: secret.as_ref().is_some_and(|s| !s.is_empty()),
                has_secret_env: variable.is_some(),
                file: table.own_file(),
            };
            (name.clone(), account)
        })
        .collect();
    AccountRules {
        id_key,
        secret_keys,
        top_id,
    }
    .check(&named)
}

/// A platform's accounts: the single-account form's as `default` when `with_default`
/// (`shared`, as the settings and the environment give it), then each named table's,
/// made by `make` from the table, its secret and the shared settings (its defaults).
/// A table whose secret's variable is unset is an account without settings, said when
/// it is fetched.
pub fn accounts_of<C: Clone, T: AccountTable>(
    platform: &'static str,
    (shared, with_default): (C, bool),
    tables: BTreeMap<String, T>,
    make: impl Fn(&str, &T, Secret, &C) -> C,
) -> Vec<Account<C>> {
    let mut all = Vec::new();
    if with_default {
        all.push(Account {
            scope: Scope::default_of(platform),
            settings: Ok(shared.clone()),
        });
    }
    let (_, (secret_key, env_key)) = T::KEYS;
    for (name, table) in tables {
        let Ok(scope) = Scope::new(platform, &name) else {
            continue; // refused when the settings loaded
        };
        let (secret, variable) = table.secret();
        let settings = secret_of(&name, (secret_key, secret), (env_key, variable))
            .map(|secret| make(&name, &table, secret, &shared));
        all.push(Account { scope, settings });
    }
    all
}

/// " (account NAME)" after a line of the log or of a job's outcome, for an account other
/// than `default` (whose lines read as before accounts).
pub fn of(scope: &Scope) -> String {
    if scope.account() == crate::lake::DEFAULT_ACCOUNT {
        String::new()
    } else {
        format!(" (account {})", scope.account())
    }
}

/// The secret of account `name`: the one written in the file (`key`), else the value of
/// the variable `env_key` names.
pub fn secret_of(
    name: &str,
    (key, written): (&str, &Option<Secret>),
    (env_key, variable): (&str, &Option<String>),
) -> Result<Secret, String> {
    match (written, variable) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
            _ => Err(format!(
                "account {name}: {env_key} = \"{var}\" but the variable {var} is not set"
            )),
        },
        (None, None) => Err(format!("account {name}: no {key} and no {env_key}")),
    }
}

/// What the settings of named accounts must satisfy when the file loads, whatever the
/// platform: names that can name files, an id and a credential on each, no id twice
/// (`top_id` is the single-account form's, when set), no `default` beside that form, no
/// file shared by two token caches.
pub struct AccountRules<'a> {
    /// The key of the account's id (`appid`, `userid`).
    pub id_key: &'a str,
    /// The keys of its credential (`secret` / `secret_env`).
    pub secret_keys: (&'a str, &'a str),
    pub top_id: &'a str,
}

/// One named account as [`AccountRules::check`] sees it.
pub struct NamedAccount<'a> {
    pub id: &'a str,
    pub has_secret: bool,
    pub has_secret_env: bool,
    pub file: Option<&'a Path>,
}

impl AccountRules<'_> {
    pub fn check(&self, accounts: &BTreeMap<String, NamedAccount>) -> Result<(), String> {
        let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
        if !self.top_id.is_empty() {
            ids.insert(self.top_id, crate::lake::DEFAULT_ACCOUNT);
        }
        let mut files: BTreeMap<&Path, &str> = BTreeMap::new();
        let (secret, secret_env) = self.secret_keys;
        for (name, account) in accounts {
            Scope::new("account", name).map_err(|e| format!("[accounts.{name}]: {e}"))?;
            let here = |what: String| format!("account {name}: {what}");
            if name == crate::lake::DEFAULT_ACCOUNT && !self.top_id.is_empty() {
                return Err(here(format!(
                    "the table's own {} is already the account `default`: name this one otherwise",
                    self.id_key
                )));
            }
            if account.id.trim().is_empty() {
                return Err(here(format!("no {}", self.id_key)));
            }
            match (account.has_secret, account.has_secret_env) {
                (false, false) => {
                    return Err(here(format!(
                        "no credentials: set {secret}, or {secret_env} to the name of a variable holding it"
                    )))
                }
                (true, true) => {
                    return Err(here(format!("both {secret} and {secret_env}: keep one")))
                }
                _ => {}
            }
            if let Some(other) = ids.insert(account.id, name) {
                return Err(format!(
                    "accounts {other} and {name} have the same {} {}: one account, one table",
                    self.id_key, account.id
                ));
            }
            if let Some(file) = account.file {
                if let Some(other) = files.insert(file, name) {
                    return Err(format!(
                        "accounts {other} and {name} share the file {}: give each its own",
                        file.display()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Account `name`'s token cache beside the shared one: `tokens.json` → `tokens.<name>.json`.
pub fn file_of_account(shared: &Path, name: &str) -> PathBuf {
    let stem = shared
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match shared.extension() {
        Some(ext) => format!("{stem}.{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{name}"),
    };
    shared.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(top: &str) -> AccountRules<'_> {
        AccountRules {
            id_key: "appid",
            secret_keys: ("secret", "secret_env"),
            top_id: top,
        }
    }

    fn named(id: &str, secret: bool, env: bool) -> NamedAccount<'_> {
        NamedAccount {
            id,
            has_secret: secret,
            has_secret_env: env,
            file: None,
        }
    }

    #[test]
    fn each_bad_account_is_named() {
        let check = |top, list: Vec<(&str, NamedAccount)>| {
            let map = list.into_iter().map(|(n, a)| (n.to_string(), a)).collect();
            rules(top).check(&map)
        };
        assert!(check("", vec![("a", named("wx1", true, false))]).is_ok());
        let cases = [
            (
                check("", vec![("a", named("wx1", false, false))]),
                "account a: no credentials",
            ),
            (
                check("", vec![("a", named("", true, false))]),
                "account a: no appid",
            ),
            (
                check("", vec![("a", named("wx1", true, true))]),
                "account a: both",
            ),
            (
                check(
                    "",
                    vec![
                        ("a", named("wx1", true, false)),
                        ("b", named("wx1", false, true)),
                    ],
                ),
                "accounts a and b have the same appid wx1",
            ),
            (
                check("wx1", vec![("b", named("wx1", true, false))]),
                "accounts default and b",
            ),
            (
                check("wx0", vec![("default", named("wx1", true, false))]),
                "account default:",
            ),
            (
                check("", vec![("Bad.Name", named("wx1", true, false))]),
                "[accounts.Bad.Name]",
            ),
        ];
        for (result, said) in cases {
            let err = result.unwrap_err();
            assert!(err.contains(said), "{err} lacks {said}");
        }
    }

    #[test]
    fn secrets_come_from_the_file_or_a_named_variable() {
        let written = Some(Secret::new("s"));
        assert_eq!(
            secret_of("a", ("secret", &written), ("secret_env", &None))
                .unwrap()
                .expose(),
            "s"
        );
        let unset = Some("CDNCOST_TEST_SURELY_UNSET_VARIABLE".to_string());
        let err = secret_of("a", ("secret", &None), ("secret_env", &unset)).unwrap_err();
        assert!(
            err.contains("CDNCOST_TEST_SURELY_UNSET_VARIABLE is not set"),
            "{err}"
        );
        assert_eq!(
            file_of_account(Path::new("/x/tokens.json"), "alpha"),
            Path::new("/x/tokens.alpha.json")
        );
    }
}

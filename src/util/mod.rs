//! Small tools every room may use, kept below them all: what a secret is and how it is
//! kept out of messages (`secret`), who this process is (`process`), files written whole
//! or not at all (`files`). Nothing here knows the lake, the platforms or the
//! report.

pub mod files;
pub mod process;
pub mod secret;

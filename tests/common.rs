//! Helpers shared by the integration tests.

use chrono::NaiveDate;
use std::path::PathBuf;

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A date from a literal.
pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

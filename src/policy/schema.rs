//! The JSON Schema of policy files, generated from the same Rust types serde
//! reads them with ([`super::raw`]) — never written by hand. Editors use it
//! to complete and check keys while typing (VS Code with Even Better TOML /
//! taplo: `#:schema ./policy.schema.json` at the top of the file).

use super::raw::RawPolicy;

/// The schema of `policy.toml`.
pub fn policy_schema() -> schemars::Schema {
    schemars::schema_for!(RawPolicy)
}

/// The schema as pretty JSON.
pub fn policy_schema_json() -> String {
    serde_json::to_string_pretty(&policy_schema()).unwrap_or_default()
}

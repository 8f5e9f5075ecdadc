//! The policy loader and `recoup check`: the input is a policy.toml, and
//! after the first NUL byte (if any) a script `scripts/s.rhai`. Loading,
//! validating, compiling and rendering every diagnostic (text and JSON) must
//! not panic or hang; a policy that compiles is run on a small ledger, where
//! rule errors are reported, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recoup::ledger::{Ledger, LoadOptions, load};
use std::path::PathBuf;
use std::sync::LazyLock;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let d = base.join(format!("recoup-fuzz-policy-{}", std::process::id()));
    std::fs::create_dir_all(d.join("scripts")).unwrap();
    std::fs::create_dir_all(d.join("templates")).unwrap();
    for t in ["t", "overdue-1", "final-demand"] {
        std::fs::write(d.join("templates").join(format!("{t}.txt")), "Dear customer").unwrap();
    }
    d
});

static LEDGER: LazyLock<Ledger> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/small");
    load(&dir, &LoadOptions::default()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let (toml, script) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    std::fs::write(DIR.join("policy.toml"), toml).unwrap();
    let script_path = DIR.join("scripts").join("s.rhai");
    match script {
        Some(s) => std::fs::write(&script_path, s).unwrap(),
        None => {
            let _ = std::fs::remove_file(&script_path);
        }
    }
    let loaded = recoup::policy::load(&DIR);
    let _ = loaded.report.render();
    let _ = loaded.report.to_json();
    if let Some(policy) = loaded.policy {
        let ctx = recoup::facts::Context::new(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            recoup::facts::FactsConfig::default(),
        );
        let _ = recoup::plan::evaluate(&LEDGER, &policy, &ctx);
    }
});

//! What the crate's own tests share.

use proptest::test_runner::Config;

/// Property-test settings: `PROPTEST_CASES` cases per property when set,
/// else `default_cases`.
pub(crate) fn proptest_config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        ..Config::default()
    }
}

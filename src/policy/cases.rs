//! Policy tests (`tests/*.toml`): given a small inline ledger and an as-of
//! date, the actions the policy must plan.

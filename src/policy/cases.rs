//! Policy tests (`tests/*.toml` in a policy folder): each case gives an
//! as-of date and a small ledger inline (CSV text, the same columns as the
//! ledger files), and the actions the policy must plan — or none. The
//! credit manager's safety net before a policy change goes live, like
//! `opa test`.
//!
//! ```toml
//! [ledger]            # shared by the cases of the file; a case may replace any file
//! customers = """
//! customer_id,name,segment,country,currency,credit_limit,payment_terms
//! C1,Acme,mid_market,US,USD,20000.00,NET30
//! """
//!
//! [[test]]
//! name = "first notice the day after the due date"
//! as_of = 2026-09-02
//! invoices = """
//! invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status
//! I1,C1,2026-08-02,2026-09-01,USD,1000.00,1000.00,open
//! """
//! expect = [{ customer = "C1", action = "email", rule = "first-notice", invoices = ["I1"] }]
//! ```
//!
//! An expectation lists only the fields it cares about; every expected
//! action must be planned, and (unless `partial = true`) nothing else.

use super::CompiledPolicy;
use super::diag::{Code, Diagnostic, Report};
use super::raw::{DateValue, Num, Sp, parse};
use crate::engine::{PlannedAction, evaluate_ledger};
use crate::facts::Context;
use crate::ledger::inline::{InlineLedger, load_inline};
use crate::ledger::{LoadError, LoadOptions};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The ledger files of a test, as CSV text.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLedger {
    pub customers: Option<Sp<String>>,
    pub invoices: Option<Sp<String>>,
    pub payments: Option<Sp<String>>,
    pub promises: Option<Sp<String>>,
    pub actions: Option<Sp<String>>,
}

/// A test file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "recoup policy tests")]
pub struct RawTestFile {
    /// Ledger files shared by every case of the file.
    pub ledger: Option<Sp<RawLedger>>,
    #[serde(default)]
    pub test: Vec<Sp<RawCase>>,
}

/// One case.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub name: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
    /// The run date.
    pub as_of: Option<Sp<DateValue>>,
    pub customers: Option<Sp<String>>,
    pub invoices: Option<Sp<String>>,
    pub payments: Option<Sp<String>>,
    pub promises: Option<Sp<String>>,
    pub actions: Option<Sp<String>>,
    /// The actions the policy must plan; `[]` for none.
    pub expect: Option<Sp<Vec<Sp<RawExpect>>>>,
    /// Other actions may be planned too.
    pub partial: Option<Sp<bool>>,
}

/// An expected action: only the fields given are compared.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub customer: Option<String>,
    /// The action kind: email, call, letter, credit_hold, limit_change, discount_offer, ...
    pub action: Option<String>,
    /// The rule (step id, incentive id, ...).
    pub rule: Option<String>,
    /// The invoices listed, in order.
    pub invoices: Option<Vec<String>>,
    pub channel: Option<String>,
    pub template: Option<String>,
    pub amount_due: Option<Num>,
    pub fee: Option<Num>,
    pub interest: Option<Num>,
    pub compensation: Option<Num>,
    pub discount: Option<Num>,
    pub old_limit: Option<Num>,
    pub new_limit: Option<Num>,
    pub hold: Option<bool>,
    pub instalments: Option<u32>,
    pub owner: Option<String>,
    /// Words the reason must contain.
    pub reason_contains: Option<String>,
    /// Words the rendered message (subject and text, from the policy's templates) must contain.
    pub text_contains: Option<String>,
}

impl RawExpect {
    /// [`RawExpect::matches`], and the rendered message `text` (subject and
    /// text; `None`: the action has no message) contains `text_contains`.
    pub fn matches_text(&self, a: &PlannedAction, text: Option<&str>) -> bool {
        // Money's no-break spaces match a plain space.
        let plain = |x: &str| x.replace(['\u{a0}', '\u{202f}'], " ");
        self.matches(a)
            && self.text_contains.as_ref().is_none_or(|t| text.is_some_and(|x| plain(x).contains(&plain(t))))
    }

    /// Does `a` have every field this expectation gives (its message aside)?
    pub fn matches(&self, a: &PlannedAction) -> bool {
        let dec = |want: &Option<Num>, got: Decimal| want.is_none_or(|w| w.0 == got);
        let opt_dec = |want: &Option<Num>, got: Option<Decimal>| want.is_none_or(|w| Some(w.0) == got);
        self.customer.as_ref().is_none_or(|c| *c == a.customer_id)
            && self.action.as_ref().is_none_or(|x| x == a.action.as_str())
            && self.rule.as_ref().is_none_or(|x| *x == a.rule_id)
            && self.invoices.as_ref().is_none_or(|x| *x == a.invoice_ids)
            && self.channel.as_ref().is_none_or(|x| Some(x.as_str()) == a.channel.map(|c| c.as_str()))
            && self.template.as_ref().is_none_or(|x| Some(x) == a.template.as_ref())
            && dec(&self.amount_due, a.amount_due)
            && dec(&self.fee, a.fee)
            && dec(&self.interest, a.interest)
            && dec(&self.compensation, a.compensation)
            && dec(&self.discount, a.discount)
            && opt_dec(&self.old_limit, a.old_limit)
            && opt_dec(&self.new_limit, a.new_limit)
            && self.hold.is_none_or(|h| h == a.hold)
            && self.instalments.is_none_or(|n| Some(n) == a.instalments)
            && self.owner.as_ref().is_none_or(|o| Some(o) == a.owner.as_ref())
            && self.reason_contains.as_ref().is_none_or(|r| a.reason.contains(r.as_str()))
    }

    /// In words: `C1 email first-notice [I1] fee=25.00`.
    pub fn describe(&self) -> String {
        let mut s = vec![
            self.customer.clone().unwrap_or_else(|| "*".into()),
            self.action.clone().unwrap_or_else(|| "*".into()),
            self.rule.clone().unwrap_or_else(|| "*".into()),
        ];
        if let Some(i) = &self.invoices {
            s.push(format!("[{}]", i.join(", ")));
        }
        let mut kv = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                s.push(format!("{k}={v}"));
            }
        };
        kv("channel", self.channel.clone());
        kv("template", self.template.clone());
        kv("amount_due", self.amount_due.map(|n| n.0.to_string()));
        kv("fee", self.fee.map(|n| n.0.to_string()));
        kv("interest", self.interest.map(|n| n.0.to_string()));
        kv("compensation", self.compensation.map(|n| n.0.to_string()));
        kv("discount", self.discount.map(|n| n.0.to_string()));
        kv("old_limit", self.old_limit.map(|n| n.0.to_string()));
        kv("new_limit", self.new_limit.map(|n| n.0.to_string()));
        kv("hold", self.hold.map(|h| h.to_string()));
        kv("instalments", self.instalments.map(|h| h.to_string()));
        kv("owner", self.owner.clone());
        kv("reason_contains", self.reason_contains.as_ref().map(|r| format!("{r:?}")));
        s.join(" ")
    }
}

/// An action in words, for diffs.
pub fn describe(a: &PlannedAction) -> String {
    let mut s = format!("{} {} {} [{}]", a.customer_id, a.action, a.rule_id, a.invoice_ids.join(", "));
    for (k, v) in [("fee", a.fee), ("interest", a.interest), ("compensation", a.compensation), ("discount", a.discount)]
    {
        if !v.is_zero() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    if let (Some(o), Some(n)) = (a.old_limit, a.new_limit) {
        s.push_str(&format!(" limit={o}->{n}"));
    }
    s.push_str(&format!(" — {}", a.reason));
    s
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// Expected and planned.
    pub matched: Vec<String>,
    /// Expected, not planned.
    pub missing: Vec<String>,
    /// Planned, not expected.
    pub unexpected: Vec<String>,
    /// Ledger problems and rule failures.
    pub errors: Vec<String>,
}

/// Every case of a policy's tests, and the problems of the test files.
#[derive(Debug, Default)]
pub struct TestRun {
    pub report: Report,
    pub cases: Vec<CaseResult>,
}

impl TestRun {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

/// The test files of a policy folder, sorted.
pub fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("tests"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn load_error_words(e: &LoadError) -> Vec<String> {
    match e {
        LoadError::BadRows { problems, .. } => problems
            .iter()
            .map(|p| {
                let s = p.to_string();
                s.strip_prefix("error: ").unwrap_or(&s).trim_end().to_string()
            })
            .collect(),
        e => vec![e.to_string()],
    }
}

/// Run the tests of the policy folder `dir` against `policy`; only cases
/// whose name contains `filter`, when given.
pub fn run_tests(policy: &CompiledPolicy, dir: &Path, filter: Option<&str>) -> TestRun {
    let mut run = TestRun::default();
    for path in test_files(dir) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                run.report
                    .diagnostics
                    .push(Diagnostic::error(Code::Io, format!("cannot read `{}`: {e}", path.display())));
                continue;
            }
        };
        let file = run.report.sources.add(path.clone(), text.clone());
        let (raw, diags, _) = parse::<RawTestFile>(&text, file);
        run.report.diagnostics.extend(diags);
        let Some(raw) = raw else { continue };
        let shared = raw.ledger.as_ref().map(|l| l.value.clone()).unwrap_or_default();
        for (n, case) in raw.test.iter().enumerate() {
            let name = case.name.as_ref().map_or_else(|| format!("test #{}", n + 1), |s| s.value.clone());
            if filter.is_some_and(|f| !name.contains(f)) {
                continue;
            }
            let bad = |what: &str| {
                Diagnostic::error(Code::MissingKey, format!("missing `{what}` in test `{name}`"))
                    .at(file, case.span.clone())
            };
            let Some(as_of) = case.as_of.as_ref() else {
                run.report.diagnostics.push(bad("as_of"));
                continue;
            };
            let Some(as_of_date) = as_of.value.0 else {
                run.report.diagnostics.push(
                    Diagnostic::error(Code::InvalidValue, format!("`{}` is not a date", as_of.value.1))
                        .at(file, as_of.span.clone()),
                );
                continue;
            };
            let Some(expect) = case.expect.as_ref() else {
                run.report.diagnostics.push(bad("expect").help("list the expected actions, or `expect = []` for none"));
                continue;
            };
            let pick = |own: &Option<Sp<String>>, shared: &Option<Sp<String>>| {
                own.as_ref().or(shared.as_ref()).map(|s| s.value.clone())
            };
            let customers = pick(&case.customers, &shared.customers);
            let invoices = pick(&case.invoices, &shared.invoices);
            let (Some(customers), Some(invoices)) = (customers, invoices) else {
                run.report.diagnostics.push(bad("customers` or `invoices"));
                continue;
            };
            let (payments, promises, actions) = (
                pick(&case.payments, &shared.payments),
                pick(&case.promises, &shared.promises),
                pick(&case.actions, &shared.actions),
            );
            let files = InlineLedger {
                customers: &customers,
                invoices: &invoices,
                payments: payments.as_deref(),
                promises: promises.as_deref(),
                actions: actions.as_deref(),
            };
            let mut result = CaseResult {
                file: path.display().to_string(),
                name: name.clone(),
                passed: false,
                matched: Vec::new(),
                missing: Vec::new(),
                unexpected: Vec::new(),
                errors: Vec::new(),
            };
            match load_inline(&files, &LoadOptions::default()) {
                Err(e) => result.errors = load_error_words(&e),
                Ok(ledger) => {
                    let ctx = Context::new(as_of_date, policy.rules.kpis.clone());
                    let mut actual: Vec<PlannedAction> = Vec::new();
                    for r in evaluate_ledger(policy, &ledger, &ctx) {
                        match r {
                            Ok(v) => actual.extend(v),
                            Err(e) => result.errors.push(e.to_string()),
                        }
                    }
                    let mut used = vec![false; actual.len()];
                    // The rendered messages, for `text_contains`.
                    let mut entries: Vec<crate::plan::PlanEntry> = actual
                        .iter()
                        .map(|a| crate::plan::PlanEntry {
                            action_id: crate::plan::action_id(as_of_date, a),
                            action: a.clone(),
                        })
                        .collect();
                    // One message per group for consolidated statements, as a run sends
                    // (their rows then say so in their reasons).
                    crate::plan::group_statement::link(&mut entries, &ledger, policy, &ctx);
                    for (a, e) in actual.iter_mut().zip(&entries) {
                        a.reason.clone_from(&e.action.reason);
                        a.message_id.clone_from(&e.action.message_id);
                        a.undeliverable.clone_from(&e.action.undeliverable);
                        a.channel = e.action.channel;
                    }
                    let mut texts: Vec<Option<String>> = vec![None; actual.len()];
                    if expect.value.iter().any(|x| x.value.text_contains.is_some()) {
                        for r in crate::render::render_plan(&entries, &ledger, policy, as_of_date) {
                            if let Ok(m) = r.message {
                                texts[r.entry] = Some(format!("{}\n{}", m.subject.unwrap_or_default(), m.text));
                            }
                        }
                    }
                    for x in &expect.value {
                        match (0..actual.len())
                            .find(|&i| !used[i] && x.value.matches_text(&actual[i], texts[i].as_deref()))
                        {
                            Some(i) => {
                                used[i] = true;
                                result.matched.push(x.value.describe());
                            }
                            None => result.missing.push(x.value.describe()),
                        }
                    }
                    let partial = case.partial.as_ref().is_some_and(|p| p.value);
                    if !partial {
                        result.unexpected =
                            actual.iter().zip(&used).filter(|(_, u)| !**u).map(|(a, _)| describe(a)).collect();
                    }
                }
            }
            result.passed = result.missing.is_empty() && result.unexpected.is_empty() && result.errors.is_empty();
            run.cases.push(result);
        }
    }
    run.report.sort();
    run
}

/// The results as text: one line per case, a diff under each failure.
pub fn render(run: &TestRun) -> String {
    let mut out = String::new();
    let mut file = "";
    for c in &run.cases {
        if c.file != file {
            file = &c.file;
            out.push_str(&format!("{file}\n"));
        }
        if c.passed {
            out.push_str(&format!("  ok    {}\n", c.name));
            continue;
        }
        out.push_str(&format!("  FAIL  {}\n", c.name));
        for e in &c.errors {
            let mut lines = e.lines();
            out.push_str(&format!("        error: {}\n", lines.next().unwrap_or("")));
            for l in lines {
                out.push_str(&format!("               {l}\n"));
            }
        }
        if !c.missing.is_empty() || !c.unexpected.is_empty() {
            out.push_str("        - expected, not planned / + planned, not expected\n");
            for m in &c.matched {
                out.push_str(&format!("          {m}\n"));
            }
            for m in &c.missing {
                out.push_str(&format!("        - {m}\n"));
            }
            for u in &c.unexpected {
                out.push_str(&format!("        + {u}\n"));
            }
        }
    }
    let (p, f) = (run.passed(), run.failed());
    out.push_str(&format!("{p} passed, {f} failed\n"));
    out
}

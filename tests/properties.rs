//! Properties over generated ledgers (`recoup generate` with a random seed)
//! and generated policies (the standard policy with its pace, grouping,
//! trigger, contact cap and business-day rule varied). Case counts are kept
//! small enough for the whole module to run in well under a minute in a
//! debug build; docs/reliability.md lists them.

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::Config;
use recoup::engine::RuleKind;
use recoup::facts::kpi::PortfolioInputs;
use recoup::facts::kpi::by_currency;
use recoup::facts::{Context, FactsConfig, PerInvoiceRules};
use recoup::generate::{GenerateConfig, generate};
use recoup::ledger::{ActionKind, ActionRecord, FileKind, Ledger, LoadOptions, Outcome, load};
use recoup::plan::shard::{Shard, ShardPart, merge};
use recoup::plan::summary::summarize;
use recoup::plan::write::{Manifest, RunOutputs, plan_csv, plan_jsonl, worklist_csv, write_run};
use recoup::plan::{Plan, evaluate, evaluate_shard};
use recoup::policy::CompiledPolicy;
use std::collections::{HashMap, HashSet};
use std::path::Path;

const AS_OF: (i32, u32, u32) = (2026, 11, 16);

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(AS_OF.0, AS_OF.1, AS_OF.2).unwrap()
}

/// A generated ledger written to `dir`.
fn generated(dir: &Path, seed: u64, customers: u64, months: u32) {
    generate(&GenerateConfig { customers, seed, as_of: as_of(), months }, dir).unwrap();
}

fn load_generated(seed: u64, customers: u64, months: u32) -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path(), seed, customers, months);
    load(dir.path(), &LoadOptions::default()).unwrap()
}

/// The knobs of a generated policy.
#[derive(Debug, Clone)]
struct Knobs {
    jump: bool,
    per_invoice: bool,
    each: bool,
    max_contacts: u32,
    business_days_only: bool,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (any::<bool>(), any::<bool>(), any::<bool>(), 1u32..=4, any::<bool>()).prop_map(
        |(jump, per_invoice, each, max_contacts, business_days_only)| Knobs {
            jump,
            per_invoice,
            each,
            max_contacts,
            business_days_only,
        },
    )
}

/// The standard policy with `k` applied.
fn policy(k: &Knobs) -> CompiledPolicy {
    let text = std::fs::read_to_string(crate::common::repo("policies/standard/policy.toml")).unwrap();
    let swap = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "the standard policy has `{from}`");
        text.replacen(from, to, 1)
    };
    let mut t = text;
    if k.jump {
        t = swap(t, "pace = \"sequential\"", "pace = \"jump\"");
    }
    if k.per_invoice {
        t = swap(t, "grouping = \"customer\"", "grouping = \"invoice\"");
    }
    if k.each {
        t = swap(t, "trigger = \"oldest\"", "trigger = \"each\"");
    }
    t = swap(t, "max_contacts_per_7_days = 3", &format!("max_contacts_per_7_days = {}", k.max_contacts));
    if !k.business_days_only {
        t = swap(t, "business_days_only = true", "business_days_only = false");
    }
    let loaded = recoup::policy::load_str("generated.toml", &t);
    match loaded.policy {
        Some(p) => p,
        None => panic!("{k:?}:\n{}", loaded.report.render()),
    }
}

/// Flag some customers do-not-contact and put some open invoices in
/// dispute, so that the guardrails have something to hold back.
fn stress(ledger: &mut Ledger, dnc_every: usize, dispute_every: usize) {
    for (i, c) in ledger.customers.iter_mut().enumerate() {
        if i % dnc_every == 0 {
            c.do_not_contact = true;
        }
    }
    for (i, inv) in ledger.invoices.iter_mut().enumerate() {
        if inv.is_open() && i % dispute_every == 0 && inv.disputed_since.is_none() {
            inv.disputed_since = Some(inv.due_date + Duration::days(3));
        }
    }
}

/// Everything a run writes but the manifest, as bytes.
fn run_bytes(ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, plan: &Plan) -> Vec<u8> {
    let summary = summarize(plan, (policy.name(), policy.version()), &ledger.report, by_currency(ledger, ctx));
    let mut bytes = Vec::new();
    plan_csv(&mut bytes, plan).unwrap();
    plan_jsonl(&mut bytes, plan).unwrap();
    worklist_csv(&mut bytes, plan).unwrap();
    serde_json::to_writer_pretty(&mut bytes, &summary).unwrap();
    bytes
}

/// Check the guardrails that hold in any single plan.
fn check_plan(ledger: &Ledger, plan: &Plan, day: NaiveDate) -> Result<(), TestCaseError> {
    let inv: HashMap<&str, &recoup::ledger::Invoice> = ledger.invoices.iter().map(|i| (i.id.as_str(), i)).collect();
    let cust: HashMap<&str, &recoup::ledger::Customer> = ledger.customers.iter().map(|c| (c.id.as_str(), c)).collect();
    for e in &plan.entries {
        let a = &e.action;
        for id in &a.invoice_ids {
            let i = inv[id.as_str()];
            prop_assert!(i.is_open(), "{day}: {} on {:?} invoice {id} (open {})", a.rule_id, i.status, i.open_amount);
            if a.rule_kind == RuleKind::Step || a.action == ActionKind::PaymentPlanOffer {
                prop_assert!(!i.is_disputed(), "{day}: {} dunned disputed invoice {id}", a.rule_id);
            }
        }
        if cust[a.customer_id.as_str()].do_not_contact {
            prop_assert!(!a.is_customer_facing(), "{day}: {} contacts do-not-contact {}", a.rule_id, a.customer_id);
        }
    }
    Ok(())
}

/// Replace one cell of a CSV line, or break the line, in one of `n` ways.
fn corrupt(line: &str, how: u8, col: usize) -> String {
    let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
    let k = col % cells.len();
    match how % 6 {
        0 => cells[k] = "garbage".into(),
        1 => cells[k] = String::new(),
        2 => cells[k] = "-1".into(),
        3 => cells[k] = "2026-02-30".into(),
        4 => {
            cells.pop();
        }
        _ => cells.push("extra".into()),
    }
    cells.join(",")
}

const FILES: [FileKind; 5] =
    [FileKind::Customers, FileKind::Invoices, FileKind::Payments, FileKind::Promises, FileKind::Actions];

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// Every data row of every file is either loaded or rejected: `read`
    /// equals the file's data lines, and `loaded + rejected`.
    #[test]
    fn rows_read_are_loaded_or_rejected(
        seed in any::<u64>(),
        customers in 5u64..40,
        damage in prop::collection::vec((0usize..5, any::<prop::sample::Index>(), any::<u8>(), 0usize..20), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        generated(dir.path(), seed, customers, 6);
        for (file, line, how, col) in &damage {
            let path = dir.path().join(FILES[*file].file_name());
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() < 2 {
                continue;
            }
            let at = 1 + line.index(lines.len() - 1);
            if lines[at].contains('"') {
                // Splitting a quoted cell leaves a quote open: a broken file, not a bad row.
                continue;
            }
            lines[at] = corrupt(&lines[at], *how, *col);
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        }
        // Only data lines are damaged: with rejects allowed the ledger always loads.
        let ledger = load(dir.path(), &LoadOptions { reject_bad_rows: true })
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let loaded = [ledger.customers.len(), ledger.invoices.len(), ledger.payments.len(), ledger.promises.len(), ledger.actions.len()];
        for ((kind, counts), n) in ledger.report.files().into_iter().zip(loaded) {
            let text = std::fs::read_to_string(dir.path().join(kind.file_name())).unwrap();
            let data_lines = text.lines().skip(1).filter(|l| !l.is_empty()).count() as u64;
            prop_assert_eq!(counts.read, data_lines, "{:?}", kind);
            // The file's physical lines reconcile with its rows.
            prop_assert_eq!(counts.lines, text.lines().count() as u64, "{:?}", kind);
            prop_assert_eq!(counts.lines, 1 + counts.read + counts.blank_lines + counts.quoted_line_breaks, "{:?}", kind);
            prop_assert_eq!(counts.read, counts.loaded + counts.rejected, "{:?}", kind);
            prop_assert_eq!(counts.loaded, n as u64, "{:?}", kind);
            let rejected_lines: HashSet<u64> =
                ledger.report.rejects.iter().filter(|p| p.file == kind).map(|p| p.line).collect();
            prop_assert_eq!(counts.rejected, rejected_lines.len() as u64, "{:?}", kind);
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 32, failure_persistence: None, ..Config::default() })]

    /// On one day: the plan is byte-identical at 1, 2 and 8 threads; a
    /// re-run from a fresh load gives the same plan and action ids; no
    /// action names a closed invoice, a disputed invoice is never dunned, a
    /// do-not-contact customer is never contacted; and the summary's open
    /// AR is the ledger's, to the cent, split without loss into current and
    /// overdue and into the aging buckets.
    #[test]
    fn one_day(seed in any::<u64>(), customers in 10u64..60, k in knobs(), day in 0i64..40) {
        let dir = tempfile::tempdir().unwrap();
        generated(dir.path(), seed, customers, 12);
        let policy = policy(&k);
        let ctx = Context::new(as_of() + Duration::days(day), FactsConfig::default());
        let fresh = || {
            let mut l = load(dir.path(), &LoadOptions::default()).unwrap();
            stress(&mut l, 7, 5);
            l
        };
        let ledger = fresh();
        let at = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let plan = evaluate(&ledger, &policy, &ctx).unwrap();
                let bytes = run_bytes(&ledger, &policy, &ctx, &plan);
                (plan, bytes)
            })
        };
        let (plan, one) = at(1);
        prop_assert!(one == at(2).1, "2 threads differ");
        prop_assert!(one == at(8).1, "8 threads differ");
        let again = fresh();
        let replan = evaluate(&again, &policy, &ctx).unwrap();
        prop_assert!(run_bytes(&again, &policy, &ctx, &replan) == one, "a re-run differs");
        let ids = |p: &Plan| p.entries.iter().map(|e| e.action_id.clone()).collect::<Vec<_>>();
        prop_assert_eq!(ids(&plan), ids(&replan));
        check_plan(&ledger, &plan, ctx.as_of)?;

        let summary = summarize(&plan, (policy.name(), policy.version()), &ledger.report, by_currency(&ledger, &ctx));
        for (code, k) in &summary.kpis {
            let open: rust_decimal::Decimal = ledger
                .invoices
                .iter()
                .filter(|i| i.is_open() && i.issue_date <= ctx.as_of && ledger.customers[i.customer as usize].currency == code.as_str())
                .map(|i| i.open_amount)
                .sum();
            prop_assert_eq!(k.ar_total, open);
            prop_assert_eq!(k.ar_current + k.ar_overdue, open);
            prop_assert_eq!(k.aging.iter().map(|b| b.amount).sum::<rust_decimal::Decimal>(), open);
            let counted: u64 = k.aging.iter().map(|b| b.count).sum();
            prop_assert_eq!(counted, k.open_invoices);
        }
    }
}

/// Append the day's plan to the history, as executed that day: one row per
/// invoice an action lists (one row for an account-level action), as
/// `recoup simulate` records a plan.
fn execute(ledger: &mut Ledger, plan: &Plan, day: NaiveDate) {
    let cix: HashMap<String, u32> =
        ledger.customers.iter().enumerate().map(|(i, c)| (c.id.to_string(), i as u32)).collect();
    let iix: HashMap<String, u32> =
        ledger.invoices.iter().enumerate().map(|(i, v)| (v.id.to_string(), i as u32)).collect();
    for e in &plan.entries {
        let a = &e.action;
        let invoices: Vec<Option<u32>> =
            if a.invoice_ids.is_empty() { vec![None] } else { a.invoice_ids.iter().map(|i| Some(iix[i])).collect() };
        let outcome = if a.action == ActionKind::Call { Outcome::NoAnswer } else { Outcome::Sent };
        for (n, invoice) in invoices.into_iter().enumerate() {
            ledger.actions.push(ActionRecord {
                id: format!("{}-{n}", e.action_id).into(),
                customer: cix[&a.customer_id],
                invoice,
                rule_id: a.rule_id.as_str().into(),
                action: a.action,
                channel: a.channel,
                decided_on: day,
                executed_on: Some(day),
                outcome: Some(outcome),
                arm: Some(a.arm),
            });
        }
    }
    ledger.index();
}

/// A message, as the history's rows of it share it: decided and executed on,
/// action, channel, rule, and for a per-invoice rule the invoice.
type MessageKey = (NaiveDate, Option<NaiveDate>, ActionKind, Option<recoup::ledger::Channel>, String, Option<u32>);

/// A message planned today: its action, channel and rule, and for a
/// per-invoice rule the invoices.
type PlannedMessage<'a> = (ActionKind, Option<recoup::ledger::Channel>, &'a str, Option<&'a [String]>);

/// Distinct executed messages of customer `c` whose action `kind` accepts,
/// executed on a day in `[from, to]`, the rows of `per_invoice` rules one
/// message per invoice: the oracle of the contact facts, by a set of keys
/// rather than the facts' scan of the rows.
fn messages(
    ledger: &Ledger,
    per_invoice: &PerInvoiceRules,
    c: u32,
    kind: impl Fn(ActionKind) -> bool,
    from: NaiveDate,
    to: NaiveDate,
) -> u32 {
    let keys: HashSet<MessageKey> = ledger
        .acts
        .rows(c)
        .iter()
        .map(|a| &ledger.actions[a.row as usize])
        .filter(|a| a.was_executed() && kind(a.action) && a.executed_on.is_some_and(|x| from <= x && x <= to))
        .map(|a| {
            let invoice = if per_invoice.contains(&a.rule_id) { a.invoice } else { None };
            (a.decided_on, a.executed_on, a.action, a.channel, a.rule_id.to_string(), invoice)
        })
        .collect();
    keys.len() as u32
}

fn facing(k: ActionKind) -> bool {
    k.is_contact() || matches!(k, ActionKind::DiscountOffer | ActionKind::PaymentPlanOffer)
}

/// Every customer's contact facts on `day` against the oracle ([`messages`]),
/// the rows of `per_invoice` rules one message per invoice.
fn check_contact_facts(ledger: &Ledger, day: NaiveDate, per_invoice: &PerInvoiceRules) -> Result<(), TestCaseError> {
    let ctx = Context::new(day, FactsConfig::default()).with_per_invoice_rules(per_invoice.clone());
    let mut buf = Vec::new();
    let since = |n: i64| day - Duration::days(n - 1);
    for c in 0..ledger.customers.len() as u32 {
        let f = recoup::facts::derive_customer(ledger, c, &ctx, &mut buf);
        let contacts = |n| messages(ledger, per_invoice, c, ActionKind::is_contact, since(n), day);
        let calls = messages(ledger, per_invoice, c, |k| k == ActionKind::Call, since(7), day);
        prop_assert_eq!(
            (f.contacts_7d, f.contacts_30d, f.contacts_90d, f.calls_7d),
            (contacts(7), contacts(30), contacts(90), calls),
            "{}: contacts 7/30/90 days and calls 7 days on {}",
            &f.customer.id,
            day
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 16, failure_persistence: None, ..Config::default() })]

    /// A month of daily runs, each day's plan executed and appended to the
    /// history (one row per invoice an action lists): every day's plan keeps
    /// the single-day guardrails; every day, each customer's contact facts
    /// count the distinct messages of the history (a set of keys); no run
    /// takes a customer past the contact cap (messages executed in the six
    /// days before plus the day's customer-facing messages), and once the
    /// generated history is a week old no seven-day window holds more; a
    /// fee is charged at most once per step and invoice, never again for a
    /// step the history already holds; and re-running a day with the same
    /// history gives the same action ids.
    #[test]
    fn a_month_of_daily_runs(seed in any::<u64>(), customers in 10u64..40, k in knobs(), rerun in 0i64..30) {
        let mut ledger = load_generated(seed, customers, 12);
        stress(&mut ledger, 9, 6);
        let policy = policy(&k);
        let start = as_of() + Duration::days(1);
        let mut fees: HashSet<(String, String)> = HashSet::new();
        for a in ledger.actions.iter().filter(|a| a.was_executed()) {
            if let Some(i) = a.invoice {
                fees.insert((a.rule_id.to_string(), ledger.invoices[i as usize].id.to_string()));
            }
        }
        let (mut actions, mut fees_charged, mut at_cap) = (0usize, 0usize, 0usize);
        let mut facing_by_day: HashMap<(String, NaiveDate), u32> = HashMap::new();
        let mut kinds: HashMap<String, Vec<(NaiveDate, &'static str)>> = HashMap::new();
        for d in 0..30 {
            let day = start + Duration::days(d);
            let ctx = Context::new(day, FactsConfig::default());
            let plan = evaluate(&ledger, &policy, &ctx).unwrap();
            check_plan(&ledger, &plan, day)?;
            if d == rerun {
                let again = evaluate(&ledger, &policy, &ctx).unwrap();
                prop_assert_eq!(&plan.entries, &again.entries);
            }
            check_contact_facts(&ledger, day, &policy.per_invoice)?;
            // The cap: messages executed in the six days before, plus today's
            // (actions of one rule, action and channel are one message; of a
            // per-invoice step, one per invoice).
            let mut today: HashMap<&str, HashSet<PlannedMessage<'_>>> = HashMap::new();
            for e in plan.entries.iter().filter(|e| e.action.is_customer_facing()) {
                let a = &e.action;
                let invoices = policy.per_invoice.contains(&a.rule_id).then_some(a.invoice_ids.as_slice());
                let key = (a.action, a.channel, a.rule_id.as_str(), invoices);
                today.entry(a.customer_id.as_str()).or_default().insert(key);
                kinds.entry(a.customer_id.clone()).or_default().push((day, a.action.as_str()));
            }
            for (c, n) in &today {
                let n = n.len() as u32;
                let ix = ledger.customer_ix(c).unwrap();
                let before =
                    messages(&ledger, &policy.per_invoice, ix, facing, day - Duration::days(6), day - Duration::days(1));
                prop_assert!(before + n <= k.max_contacts,
                    "{day}: {c} has {before} contacts in 6 days and {n} planned (cap {})", k.max_contacts);
                facing_by_day.insert((c.to_string(), day), n);
                at_cap += usize::from(before + n == k.max_contacts);
            }
            for e in plan.entries.iter().filter(|e| e.action.fee > rust_decimal::Decimal::ZERO) {
                for i in &e.action.invoice_ids {
                    prop_assert!(fees.insert((e.action.rule_id.clone(), i.clone())),
                        "{day}: fee of {} charged again on {i}", e.action.rule_id);
                }
                if e.action.invoice_ids.is_empty() {
                    // An account-level record covers every invoice issued by then.
                    for i in ledger.invoices_by_customer.rows(ledger.customer_ix(&e.action.customer_id).unwrap()) {
                        fees.insert((e.action.rule_id.clone(), ledger.invoices[*i as usize].id.to_string()));
                    }
                }
            }
            actions += plan.entries.len();
            fees_charged += plan.entries.iter().filter(|e| e.action.fee > rust_decimal::Decimal::ZERO).count();
            execute(&mut ledger, &plan, day);
        }
        if std::env::var_os("RECOUP_PROPERTY_STATS").is_some() {
            eprintln!("month: {actions} actions, {fees_charged} with a fee, {at_cap} customer-days at the cap");
        }
        // Windows of seven days wholly inside the simulated month after its
        // first week hold only simulated contacts: never more than the cap.
        let customers_with: HashSet<&String> = facing_by_day.keys().map(|(c, _)| c).collect();
        for c in customers_with {
            for w in 7..24 {
                let from = start + Duration::days(w);
                let n: u32 = (0..7).map(|d| facing_by_day.get(&(c.clone(), from + Duration::days(d))).copied().unwrap_or(0)).sum();
                prop_assert!(n <= k.max_contacts, "{c}: {n} contacts in the week from {from}: {:?}", kinds[c]);
            }
        }
    }
}

/// Write shard `shard`'s outputs of a run into `dir`, as `recoup run --shard` does.
fn write_shard(dir: &Path, ledger: &Ledger, policy: &CompiledPolicy, ctx: &Context, shard: Shard) {
    let mask = shard.mask(ledger);
    let plan = evaluate_shard(ledger, policy, ctx, Some(&mask), &|| {}).unwrap();
    let inputs = PortfolioInputs::collect_by_currency(ledger, ctx, |c| mask[c as usize]);
    let summary = summarize(
        &plan,
        (policy.name(), policy.version()),
        &ledger.report,
        recoup::facts::kpi::finish_all(&inputs, ctx),
    );
    let part = ShardPart::new(shard, &plan, ledger.customers.len(), &summary, inputs);
    let mut manifest = Manifest {
        recoup_version: "test".into(),
        as_of: Some(ctx.as_of),
        policy: policy.name().into(),
        policy_version: policy.version().into(),
        policy_blake3: policy.hash.clone(),
        ledger: "generated".into(),
        inputs: Manifest::inputs(&ledger.report),
        outputs: Vec::new(),
        actions: plan.entries.len() as u64,
        customers_skipped: part.customers_skipped,
        threads: 1,
        timings_ms: Vec::new(),
        shard: Some(shard.to_string()),
        merged_shards: None,
        source_ledger: Some("the generated ledger".into()),
        files: Vec::new(),
    };
    let out = RunOutputs {
        plan: &plan,
        summary: &summary,
        rejects: &[],
        rejects_csv: None,
        shard: Some(&part),
        outbox: None,
    };
    write_run(dir, &[], &out, &mut manifest).unwrap();
}

proptest! {
    #![proptest_config(Config { cases: 16, failure_persistence: None, ..Config::default() })]

    /// Sharded and merged equals unsharded: the plan, plan.jsonl, worklist
    /// and summary that `merge` rebuilds from N shards (given in any order)
    /// are byte-identical to one run's, for any N.
    #[test]
    fn sharded_and_merged_equals_unsharded(
        seed in any::<u64>(), customers in 10u64..60, k in knobs(), day in 0i64..40, n in 1u32..6, rot in 0usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        generated(&dir.path().join("ledger"), seed, customers, 12);
        let mut ledger = load(&dir.path().join("ledger"), &LoadOptions::default()).unwrap();
        stress(&mut ledger, 7, 5);
        let policy = policy(&k);
        let ctx = Context::new(as_of() + Duration::days(day), FactsConfig::default());
        let whole = run_bytes(&ledger, &policy, &ctx, &evaluate(&ledger, &policy, &ctx).unwrap());
        let mut dirs: Vec<_> = (0..n).map(|i| dir.path().join(format!("shard-{i}"))).collect();
        for (i, d) in dirs.iter().enumerate() {
            write_shard(d, &ledger, &policy, &ctx, Shard { index: i as u32, count: n });
        }
        dirs.rotate_left(rot % n as usize);
        let merged = merge(&dirs).unwrap();
        let mut bytes = Vec::new();
        plan_csv(&mut bytes, &merged.plan).unwrap();
        plan_jsonl(&mut bytes, &merged.plan).unwrap();
        worklist_csv(&mut bytes, &merged.plan).unwrap();
        serde_json::to_writer_pretty(&mut bytes, &merged.summary).unwrap();
        prop_assert!(bytes == whole, "merged outputs of {n} shards differ from the unsharded run");
    }
}

proptest! {
    #![proptest_config(Config { cases: 16, failure_persistence: None, ..Config::default() })]

    /// The contact facts count messages, whatever the order of the rows of
    /// actions.csv: with the rows shuffled (a message's rows no longer
    /// adjacent, dates out of order) every customer's facts are those of the
    /// file in date order and those of the oracle, with or without some of
    /// the history's rules counted per invoice.
    #[test]
    fn contact_counts_do_not_depend_on_row_order(
        seed in any::<u64>(), customers in 5u64..30, shuffle in any::<u64>(), day in 0i64..20, per in 0usize..3,
    ) {
        let mut ledger = load_generated(seed, customers, 6);
        let day = as_of() + Duration::days(day);
        let per_invoice = match per {
            0 => PerInvoiceRules::default(),
            1 => PerInvoiceRules::new(["first-notice", "call"]),
            _ => PerInvoiceRules::new(["pre-due", "first-notice", "second-notice", "call", "final-demand"]),
        };
        let ctx = Context::new(day, FactsConfig::default()).with_per_invoice_rules(per_invoice.clone());
        let counts = |l: &Ledger| {
            let mut buf = Vec::new();
            (0..l.customers.len() as u32)
                .map(|c| {
                    let f = recoup::facts::derive_customer(l, c, &ctx, &mut buf);
                    (f.contacts_7d, f.contacts_30d, f.contacts_90d, f.calls_7d, f.days_since_contact)
                })
                .collect::<Vec<_>>()
        };
        let in_order = counts(&ledger);
        // A seeded Fisher-Yates shuffle (splitmix64).
        let mut state = shuffle;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for i in (1..ledger.actions.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            ledger.actions.swap(i, j);
        }
        ledger.index();
        prop_assert_eq!(counts(&ledger), in_order);
        check_contact_facts(&ledger, day, &per_invoice)?;
    }
}

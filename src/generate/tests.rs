//! Whole-ledger tests: determinism, thread-count independence, and the
//! invariants of the files read back with the csv crate.

use super::*;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

fn config(customers: u64, seed: u64) -> GenerateConfig {
    GenerateConfig { customers, seed, ..demo_config() }
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    render::FILES.iter().map(|(name, _)| std::fs::read(dir.join(name)).unwrap()).collect()
}

fn generated(cfg: &GenerateConfig) -> (tempfile::TempDir, GenerateStats) {
    let dir = tempfile::tempdir().unwrap();
    let stats = generate(cfg, dir.path()).unwrap();
    (dir, stats)
}

/// One CSV file read back: header and records.
struct Table {
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(dir: &Path, name: &str) -> Table {
        let mut rdr = csv::Reader::from_path(dir.join(name)).unwrap();
        let header = rdr.headers().unwrap().clone();
        let rows = rdr.records().map(Result::unwrap).collect();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap()
    }

    /// The values of one column, row by row.
    fn column<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.col(name);
        self.rows.iter().map(move |r| &r[i])
    }
}

/// The five files of a ledger.
struct Ledger {
    customers: Table,
    invoices: Table,
    payments: Table,
    promises: Table,
    actions: Table,
}

impl Ledger {
    fn read(dir: &Path) -> Ledger {
        let t = |n| Table::read(dir, n);
        Ledger {
            customers: t("customers.csv"),
            invoices: t("invoices.csv"),
            payments: t("payments.csv"),
            promises: t("promises.csv"),
            actions: t("actions.csv"),
        }
    }
}

fn money(s: &str) -> Decimal {
    let (_, cents) = s.split_once('.').unwrap();
    assert_eq!(cents.len(), 2, "money `{s}` must have two decimals");
    Decimal::from_str(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Sum of the payments applied to each invoice on or before `by` (all when `None`).
fn paid_by(ledger: &Ledger, by: Option<NaiveDate>) -> HashMap<String, Decimal> {
    let p = &ledger.payments;
    let (inv, on, amount) = (p.col("invoice_id"), p.col("paid_on"), p.col("amount"));
    let mut paid = HashMap::new();
    for r in p.rows.iter().filter(|r| !r[inv].is_empty() && by.is_none_or(|by| date(&r[on]) <= by)) {
        *paid.entry(r[inv].to_string()).or_insert(Decimal::ZERO) += money(&r[amount]);
    }
    paid
}

#[test]
fn same_config_gives_the_same_bytes() {
    let cfg = config(250, 7);
    let (a, sa) = generated(&cfg);
    let (b, sb) = generated(&cfg);
    assert_eq!(files(a.path()), files(b.path()));
    assert_eq!(sa, sb);
}

#[test]
fn another_seed_gives_another_ledger() {
    let (a, _) = generated(&config(100, 1));
    let (b, _) = generated(&config(100, 2));
    let (fa, fb) = (files(a.path()), files(b.path()));
    for (x, y) in fa.iter().zip(&fb) {
        assert_ne!(x, y);
    }
}

#[test]
fn output_does_not_depend_on_thread_count() {
    // More than one batch of chunks, so chunk and batch seams are crossed.
    let cfg = GenerateConfig { customers: CHUNK * BATCH + 2 * CHUNK + 17, months: 1, ..config(0, 5) };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let (dir, stats) = generated(&cfg);
            (files(dir.path()), stats)
        })
    };
    let (one, s1) = run(1);
    let (two, s2) = run(2);
    assert_eq!(s1, s2);
    assert!(one == two, "1 and 2 threads wrote different files");
    assert_eq!(s1.customers, cfg.customers);
}

#[test]
fn headers_are_the_documented_columns() {
    let (dir, _) = generated(&config(20, 3));
    for (name, header) in render::FILES {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(text.lines().next(), Some(header), "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 6, "only the five files and recoup's marker remain: {leftovers:?}");
    assert!(dir.path().join(crate::output::MARKER).exists());
}

#[test]
fn row_counts_match_the_stats() {
    let (dir, stats) = generated(&config(300, 11));
    let l = Ledger::read(dir.path());
    let counts = GenerateStats {
        customers: l.customers.rows.len() as u64,
        invoices: l.invoices.rows.len() as u64,
        payments: l.payments.rows.len() as u64,
        promises: l.promises.rows.len() as u64,
        actions: l.actions.rows.len() as u64,
    };
    assert_eq!(counts, stats);
}

#[test]
fn invariants_hold() {
    let cfg = config(400, 99);
    let (dir, _) = generated(&cfg);
    let l = Ledger::read(dir.path());
    let as_of = cfg.as_of;
    let currency: HashMap<&str, &str> = l.customers.column("customer_id").zip(l.customers.column("currency")).collect();
    check_customers(&l.customers, as_of);
    let owner = check_invoices(&l, &currency, as_of);
    check_payments(&l, &owner, as_of);
    check_promises(&l, &owner, as_of);
    check_actions(&l, &owner, as_of);
}

fn check_customers(c: &Table, as_of: NaiveDate) {
    let ids: HashSet<&str> = c.column("customer_id").collect();
    assert_eq!(ids.len(), c.rows.len());
    let (score, risk) = (c.col("credit_score"), c.col("risk_class"));
    for r in &c.rows {
        assert_eq!(r[score].is_empty(), r[risk].is_empty());
        if let Ok(s) = r[score].parse::<u16>() {
            assert!((300..=850).contains(&s));
        }
        assert!(money(&r[c.col("credit_limit")]) >= Decimal::from(1_000));
        assert!(date(&r[c.col("opened_on")]) < as_of);
        assert_eq!(&r[c.col("account_type")], "business");
        assert!(matches!(&r[c.col("do_not_contact")], "true" | "false"));
    }
}

/// Checks invoices; returns each invoice's customer.
fn check_invoices<'a>(l: &'a Ledger, currency: &HashMap<&str, &str>, as_of: NaiveDate) -> HashMap<&'a str, &'a str> {
    let i = &l.invoices;
    let paid = paid_by(l, None);
    let mut owner = HashMap::new();
    for r in &i.rows {
        let (id, customer) = (&r[i.col("invoice_id")], &r[i.col("customer_id")]);
        assert_eq!(currency.get(customer), Some(&&r[i.col("currency")]), "{id}: customer and currency");
        let (issue, due) = (date(&r[i.col("issue_date")]), date(&r[i.col("due_date")]));
        assert!(issue <= due && issue <= as_of, "{id}: dates");
        let (amount, open) = (money(&r[i.col("amount")]), money(&r[i.col("open_amount")]));
        assert!(amount >= Decimal::from(50) && open >= Decimal::ZERO && open <= amount, "{id}: amounts");
        assert_eq!(paid.get(id).copied().unwrap_or_default(), amount - open, "{id}: payments");
        let (status, since) = (&r[i.col("status")], &r[i.col("disputed_since")]);
        assert_eq!(status == "paid", open.is_zero(), "{id}: paid iff nothing open");
        assert_eq!(status == "disputed", !since.is_empty(), "{id}: disputed_since");
        assert_eq!(since.is_empty(), r[i.col("dispute_reason")].is_empty(), "{id}: dispute reason");
        if !since.is_empty() {
            assert!(date(since) <= as_of && date(since) >= issue, "{id}: disputed_since");
        }
        assert!(owner.insert(id, customer).is_none(), "{id}: duplicate");
    }
    owner
}

fn check_payments(l: &Ledger, owner: &HashMap<&str, &str>, as_of: NaiveDate) {
    let p = &l.payments;
    for r in &p.rows {
        assert!(date(&r[p.col("paid_on")]) <= as_of);
        assert!(money(&r[p.col("amount")]) > Decimal::ZERO);
        let inv = &r[p.col("invoice_id")];
        if !inv.is_empty() {
            assert_eq!(owner.get(inv), Some(&&r[p.col("customer_id")]), "payment of another customer's invoice");
        }
    }
}

fn check_promises(l: &Ledger, owner: &HashMap<&str, &str>, as_of: NaiveDate) {
    let p = &l.promises;
    for r in &p.rows {
        let (made, due) = (date(&r[p.col("made_on")]), date(&r[p.col("due_on")]));
        assert!(made <= as_of && made <= due);
        assert!(money(&r[p.col("amount")]) > Decimal::ZERO);
        let (inv, plan) = (&r[p.col("invoice_id")], &r[p.col("plan_id")]);
        assert_ne!(inv.is_empty(), plan.is_empty(), "a promise is on an invoice or part of a plan");
        if !inv.is_empty() {
            assert_eq!(owner.get(inv), Some(&&r[p.col("customer_id")]));
        }
    }
}

fn check_actions(l: &Ledger, owner: &HashMap<&str, &str>, as_of: NaiveDate) {
    let a = &l.actions;
    let rules: HashSet<&str> =
        ladder::LADDER.iter().chain([&ladder::RELEASE, &ladder::REVIEW]).map(|s| s.rule).collect();
    for r in &a.rows {
        let decided = date(&r[a.col("decided_on")]);
        assert!(decided < as_of, "actions are decided before the as-of date");
        let executed = &r[a.col("executed_on")];
        if !executed.is_empty() {
            assert!(date(executed) >= decided && date(executed) <= as_of);
        }
        assert_eq!(executed.is_empty(), r[a.col("outcome")].is_empty());
        assert!(rules.contains(&r[a.col("rule_id")]));
        let invoice = &r[a.col("invoice_id")];
        if [ladder::REVIEW.rule, ladder::RELEASE.rule].contains(&&r[a.col("rule_id")]) {
            assert!(invoice.is_empty(), "reviews and hold releases are account-level");
        } else {
            assert_eq!(owner.get(invoice), Some(&&r[a.col("customer_id")]));
        }
    }
}

#[test]
fn every_profile_leaves_its_fingerprint_on_the_demo() {
    let cfg = demo_config();
    let (dir, _) = generated(&cfg);
    let l = Ledger::read(dir.path());
    let statuses: Vec<&str> = l.invoices.column("status").collect();
    for status in ["open", "paid", "disputed", "written_off"] {
        assert!(statuses.contains(&status), "no {status} invoice");
    }
    let partial = l.invoices.rows.iter().any(|r| {
        let (amount, open) = (money(&r[l.invoices.col("amount")]), money(&r[l.invoices.col("open_amount")]));
        open > Decimal::ZERO && open < amount
    });
    assert!(partial, "no partly paid invoice");
    assert!(l.payments.column("invoice_id").any(str::is_empty), "no unapplied cash");
    assert!(l.customers.column("on_hold").any(|h| h == "true"), "no customer on hold");
    assert!(l.customers.column("name").any(|n| n.contains(',')), "no name with a comma");
    let rules: Vec<&str> = l.actions.column("rule_id").collect();
    for rule in ["credit-hold", "release-hold", "credit-review", "agency"] {
        assert!(rules.contains(&rule), "no {rule} action in the history");
    }
    check_promise_kinds(&l, cfg.as_of);
    check_plans(&l.promises);
}

/// The history follows `policies/standard`'s per-customer cadence: one step per customer per run (its rows, one
/// per listed invoice, share the run's date and the message's outcome), each invoice's executed steps in ladder
/// order and never twice, no contact decided while three messages were executed in the seven days before (a
/// message counts once, however many rows it has: some contacts are decided after three or more rows), and no
/// contact after a referral.
#[test]
fn the_history_follows_the_policys_per_customer_cadence() {
    let cfg = demo_config();
    let (dir, _) = generated(&cfg);
    let a = Ledger::read(dir.path()).actions;
    let (col, rank) = (|n: &str| a.col(n), |rule: &str| ladder::LADDER.iter().position(|s| s.rule == rule));
    let mut runs: HashMap<(&str, &str), (&str, &str, &str)> = HashMap::new();
    let mut per_invoice: HashMap<&str, Vec<usize>> = HashMap::new();
    // Executed contacts of each customer: (day, rows) per message.
    let mut contacts: HashMap<&str, Vec<(NaiveDate, usize)>> = HashMap::new();
    let mut referred: HashMap<&str, NaiveDate> = HashMap::new();
    let (mut listed_together, mut messages, mut past_three_rows) = (0, 0, 0);
    for r in &a.rows {
        let (customer, rule, decided) = (&r[col("customer_id")], &r[col("rule_id")], &r[col("decided_on")]);
        let Some(k) = rank(rule) else { continue };
        let message = (rule, &r[col("executed_on")][..], &r[col("outcome")][..]);
        let day = date(decided);
        let first = match runs.insert((customer, decided), message) {
            Some(m) => {
                assert_eq!(m, message, "{customer} on {decided}: two steps, or one message with two fates");
                listed_together += 1;
                false
            }
            None if !r[col("channel")].is_empty() => {
                messages += 1;
                let recent: Vec<usize> = contacts.get(customer).map_or(Vec::new(), |c| {
                    c.iter().filter(|&&(e, _)| (day - e).num_days() < 7).map(|&(_, rows)| rows).collect()
                });
                assert!(
                    recent.len() < 3,
                    "{customer} on {decided}: contacted after {} messages in 7 days",
                    recent.len()
                );
                past_three_rows += usize::from(recent.iter().sum::<usize>() >= 3);
                let referral = referred.get(customer);
                assert!(referral.is_none_or(|&on| on > day), "{customer} contacted on {decided} after its referral");
                true
            }
            None => {
                messages += 1;
                true
            }
        };
        if r[col("executed_on")].is_empty() {
            continue;
        }
        let done = per_invoice.entry(&r[col("invoice_id")]).or_default();
        assert!(done.last().is_none_or(|&last| last < k), "{}: step {rule} after {done:?}", &r[col("invoice_id")]);
        done.push(k);
        let executed = date(&r[col("executed_on")]);
        if !r[col("channel")].is_empty() {
            let c = contacts.entry(customer).or_default();
            match c.last_mut() {
                Some(last) if !first => last.1 += 1,
                _ => c.push((executed, 1)),
            }
        }
        if rule == "agency" || rule == "legal" {
            referred.entry(customer).or_insert(executed);
        }
    }
    // Customer-level messages list several invoices now and then.
    assert!(listed_together > messages / 50, "{listed_together} extra rows for {messages} messages");
    // The cap counts messages: some contacts follow three or more rows of fewer than three messages.
    assert!(past_three_rows > 0, "no contact after three rows in 7 days: the cap counts rows");
}

fn check_promise_kinds(l: &Ledger, as_of: NaiveDate) {
    let p = &l.promises;
    let (mut kept, mut broken, mut active) = (0, 0, 0);
    for r in p.rows.iter().filter(|r| !r[p.col("invoice_id")].is_empty()) {
        let due = date(&r[p.col("due_on")]);
        let paid = paid_by(l, Some(due));
        let amount = money(&r[p.col("amount")]);
        if paid.get(&r[p.col("invoice_id")]).is_some_and(|&sum| sum >= amount) {
            kept += 1;
        } else if due < as_of {
            broken += 1;
        } else {
            active += 1;
        }
    }
    assert!(kept > 0 && broken > 0 && active > 0, "kept {kept}, broken {broken}, active {active}");
}

fn check_plans(p: &Table) {
    let mut plans: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for r in p.rows.iter().filter(|r| !r[p.col("plan_id")].is_empty()) {
        plans.entry(&r[p.col("plan_id")]).or_default().push(date(&r[p.col("due_on")]));
    }
    assert!(!plans.is_empty(), "no payment plan");
    for (plan, dues) in plans {
        assert!((3..=6).contains(&dues.len()), "{plan} has {} instalments", dues.len());
        assert!(dues.windows(2).all(|w| w[1] > w[0] && (w[1] - w[0]).num_days() <= 31), "{plan}: monthly");
    }
}

#[test]
fn open_receivables_age_realistically() {
    let cfg = config(1_000, 8);
    let (dir, _) = generated(&cfg);
    let i = Table::read(dir.path(), "invoices.csv");
    let mut buckets = [Decimal::ZERO; 5];
    for r in i.rows.iter().filter(|r| &r[i.col("status")] == "open") {
        let late = (cfg.as_of - date(&r[i.col("due_date")])).num_days();
        let bucket = [0, 30, 60, 90].iter().filter(|&&edge| late > edge).count();
        buckets[bucket] += money(&r[i.col("open_amount")]);
    }
    let total: Decimal = buckets.iter().sum();
    assert!(buckets[0] + buckets[1] > total / Decimal::TWO, "most open AR is current or 1-30: {buckets:?}");
    assert!(buckets[4] > Decimal::ZERO, "a tail over 90 days: {buckets:?}");
}

#[test]
fn fewer_months_give_proportionally_fewer_invoices() {
    let (_, year) = generated(&config(500, 4));
    let (_, quarter) = generated(&GenerateConfig { months: 3, ..config(500, 4) });
    let ratio = quarter.invoices as f64 / year.invoices as f64;
    assert!((0.18..0.32).contains(&ratio), "3 of 12 months gave {ratio:.2} of the invoices");
}

#[test]
fn bad_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = |cfg| generate(&cfg, dir.path()).unwrap_err();
    assert!(matches!(err(config(0, 1)), GenerateError::NoCustomers));
    assert!(matches!(err(GenerateConfig { months: 0, ..config(1, 1) }), GenerateError::NoMonths));
    let far = NaiveDate::from_ymd_opt(1850, 1, 1).unwrap();
    assert!(matches!(err(GenerateConfig { as_of: far, ..config(1, 1) }), GenerateError::OutOfRange { .. }));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
}

#[test]
fn io_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("ledger");
    std::fs::write(&blocker, "not a folder").unwrap();
    let err = generate(&config(5, 1), &blocker).unwrap_err();
    assert!(
        matches!(&err, GenerateError::Output(crate::output::OutputError::Refused { path, .. }) if path == &blocker),
        "{err:?}"
    );
    assert!(err.to_string().contains("ledger"), "{err}");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "not a folder", "the file is untouched");
}

#[test]
fn the_demo_config_is_the_committed_one() {
    let demo = demo_config();
    assert_eq!((demo.customers, demo.seed, demo.months), (400, 1633, 12));
    assert_eq!(demo.as_of, NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
    // The committed files are what the generator makes of it (regenerate with the README's command).
    let (dir, _) = generated(&demo);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    for f in ["customers.csv", "invoices.csv", "payments.csv", "promises.csv", "actions.csv"] {
        let same = std::fs::read(dir.path().join(f)).unwrap() == std::fs::read(committed.join(f)).unwrap();
        assert!(same, "fixtures/demo/{f} is not what `recoup generate` makes of demo_config(): regenerate it");
    }
}

/// Most B2B invoices are paid by their due date or a few days after, and
/// enough customers are reliable for a limit raise to be earned: the shares
/// a real book shows (measured on 1,000 customers: about 60 % settled by the
/// due date, 70 % within a week of it).
#[test]
fn most_invoices_are_paid_on_time_or_a_few_days_late() {
    let cfg = config(1_000, 5);
    let (dir, _) = generated(&cfg);
    let l = Ledger::read(dir.path());
    let p = &l.payments;
    let mut last: HashMap<&str, NaiveDate> = HashMap::new();
    for r in p.rows.iter().filter(|r| !r[p.col("invoice_id")].is_empty()) {
        let day = date(&r[p.col("paid_on")]);
        let e = last.entry(&r[p.col("invoice_id")]).or_insert(day);
        *e = (*e).max(day);
    }
    let i = &l.invoices;
    let late: Vec<i64> = i
        .rows
        .iter()
        .filter(|r| &r[i.col("status")] == "paid")
        .filter_map(|r| Some((*last.get(&r[i.col("invoice_id")])? - date(&r[i.col("due_date")])).num_days()))
        .collect();
    let share = |f: &dyn Fn(i64) -> bool| late.iter().filter(|&&d| f(d)).count() as f64 / late.len() as f64;
    let on_time = share(&|d| d <= 0);
    let within_a_week = share(&|d| d <= 7);
    assert!((0.5..0.75).contains(&on_time), "{on_time:.3} paid by the due date");
    assert!((0.62..0.85).contains(&within_a_week), "{within_a_week:.3} paid within 7 days of it");
    assert!(share(&|d| d > 60) > 0.01, "a long tail of very late payments");
}

//! Facts and KPIs on the hand-built ledger in fixtures/small, as of
//! 2026-11-16; every expected number is computed by hand in the comments.

use crate::common::{date, repo};
use recoup::facts::registry::{Facts, Value};
use recoup::facts::{Context, CustomerFacts, FactsConfig, InvoiceFacts, NEVER, derive_customer, kpi};
use recoup::ledger::{LoadOptions, load};
use rust_decimal::Decimal;
use std::str::FromStr;

fn money(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn with_customer<T>(id: &str, f: impl FnOnce(&CustomerFacts<'_>, &[InvoiceFacts<'_>]) -> T) -> T {
    let l = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let c = l.customer_ix(id).unwrap();
    let mut inv = Vec::new();
    let cf = derive_customer(&l, c, &ctx, &mut inv);
    f(&cf, &inv)
}

#[test]
fn open_invoices_and_aging_of_c1() {
    with_customer("C1", |f, inv| {
        // I1 due 2026-10-01: 46 days past due (bucket 31-60); I2 due 11-19: -3;
        // I5 due 09-14, disputed: 63 days (61-90). I3 and I4 are paid.
        let got: Vec<(&str, i32, u8, bool)> =
            inv.iter().map(|i| (&*i.invoice.id, i.days_past_due, i.bucket, i.disputed)).collect();
        assert_eq!(got, vec![("I1", 46, 2, false), ("I2", -3, 0, false), ("I5", 63, 3, true)]);
        assert_eq!(f.open_total, money("3000.00"));
        assert_eq!(f.overdue_total, money("1500.00"));
        assert_eq!(f.current_total, money("1500.00"));
        assert_eq!(f.disputed_total, money("500.00"));
        assert_eq!((f.open_count, f.overdue_count, f.max_days_past_due), (3, 2, 63));
        // (1000 x 46 + 500 x 63) / 1500 = 51.67
        assert!((f.weighted_days_past_due - 77_500.0 / 1_500.0).abs() < 1e-9);
        assert_eq!(f.utilization, 0.3);
        assert_eq!(f.headroom, money("7000.00"));
        assert_eq!(inv[1].paid_amount, money("500.00"));
    });
}

#[test]
fn payment_behaviour_of_c1() {
    with_customer("C1", |f, _| {
        // I3 due 07-01 settled 07-11: 10 days late, 40 days to pay (prior period).
        // I4 due 08-31 settled 08-26: 5 days early, 25 days to pay (recent: after 08-16).
        assert_eq!(f.paid_invoices, 2);
        assert_eq!(f.avg_days_late, 2.5);
        assert_eq!(f.weighted_days_late, 6.25); // (3000 x 10 - 1000 x 5) / 4000
        assert_eq!(f.on_time_ratio, 0.5);
        assert_eq!(f.trend, -15.0); // -5 recent minus 10 prior
        assert_eq!(f.avg_days_to_pay, 32.5);
        assert_eq!(f.days_since_payment, 15); // P3 on 11-01
    });
}

#[test]
fn contacts_and_steps_of_c1() {
    with_customer("C1", |f, _| {
        // A1 10-02 (45 days ago), A2 10-15 (32), A3 call answered 11-10 (6); A4 not executed.
        assert_eq!((f.contacts_7d, f.contacts_30d, f.contacts_90d), (1, 1, 3));
        assert_eq!((f.calls_7d, f.days_since_conversation, f.days_since_contact), (1, 6, 6));
        assert_eq!((f.last_step.as_str(), f.days_since_step), ("call", 6));
        assert!(!f.referred && !f.on_hold);
    });
}

/// Contacts count messages: the rows of actions.csv that share the day a
/// message was decided and executed, its action, channel and rule are one
/// message, however many invoices it lists and wherever its rows are in the file.
#[test]
fn contacts_count_messages_not_rows() {
    let customers =
        "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,Acme,small,US,USD,10000.00,NET30";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
        I1,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open\n\
        I2,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open\n\
        I3,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open\n\
        I4,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open";
    // As of 2026-11-16: 11-10 is 6 days ago, 11-09 7, 10-18 29, 10-17 30, 08-19 89, 08-18 90.
    let rows = [
        // M1: one email listing I1-I3 (its third row is at the end of the file).
        "A1,C1,I1,first-notice,email,email,2026-11-10,2026-11-10,sent",
        "A2,C1,I2,first-notice,email,email,2026-11-10,2026-11-10,sent",
        // M2: the same day and rule, another action and channel.
        "A4,C1,I1,first-notice,sms,sms,2026-11-10,2026-11-10,sent",
        // M3: the same day, action and channel, another rule.
        "A5,C1,I1,statement-note,email,email,2026-11-10,2026-11-10,sent",
        "A6,C1,I2,statement-note,email,email,2026-11-10,2026-11-10,sent",
        // M4: a call listing three invoices, 6 days ago.
        "A7,C1,I1,call,call,call,2026-11-10,2026-11-10,no_answer",
        "A8,C1,I2,call,call,call,2026-11-10,2026-11-10,no_answer",
        "A9,C1,I3,call,call,call,2026-11-10,2026-11-10,no_answer",
        // M5: decided earlier, executed the same day as M1, same rule: another message.
        "A10,C1,I4,first-notice,email,email,2026-11-07,2026-11-10,sent",
        // M11, M12: the same day, action and rule, two channels.
        "A22,C1,I1,monthly-statement,statement,email,2026-11-12,2026-11-12,sent",
        "A23,C1,I1,monthly-statement,statement,letter,2026-11-12,2026-11-12,sent",
        // M6: a call 7 days ago: in 30 days, not in 7.
        "A11,C1,I1,call,call,call,2026-11-09,2026-11-09,no_answer",
        "A12,C1,I2,call,call,call,2026-11-09,2026-11-09,no_answer",
        // M7: a letter 29 days ago (in 30 days); M8: 30 days ago (in 90 only).
        "A13,C1,I1,final-demand,letter,letter,2026-10-18,2026-10-18,sent",
        "A14,C1,I2,final-demand,letter,letter,2026-10-18,2026-10-18,sent",
        "A15,C1,I1,final-demand,letter,letter,2026-10-17,2026-10-17,sent",
        // M9: 89 days ago (in 90); M10: 90 days ago (out).
        "A16,C1,I1,pre-due,email,email,2026-08-19,2026-08-19,sent",
        "A17,C1,I2,pre-due,email,email,2026-08-19,2026-08-19,sent",
        "A18,C1,I1,pre-due,email,email,2026-08-18,2026-08-18,sent",
        // Not executed: not contacts.
        "A19,C1,I3,second-notice,email,email,2026-11-12,2026-11-12,failed",
        "A20,C1,I3,second-notice,email,email,2026-11-12,,pending",
        // Not a contact.
        "A21,C1,I1,credit-hold,credit_hold,,2026-11-11,2026-11-11,sent",
        "A3,C1,I3,first-notice,email,email,2026-11-10,2026-11-10,sent",
    ];
    let actions = format!(
        "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n{}",
        rows.join("\n")
    );
    let files = recoup::ledger::inline::InlineLedger {
        customers,
        invoices,
        payments: None,
        promises: None,
        actions: Some(&actions),
    };
    let l = recoup::ledger::inline::load_inline(&files, &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let f = derive_customer(&l, 0, &ctx, &mut Vec::new());
    // 7 days: M1, M2, M3, M4, M5, M11, M12 = 7 (15 rows). 30 days: + M6, M7 = 9. 90 days: + M8, M9 = 11.
    assert_eq!((f.contacts_7d, f.contacts_30d, f.contacts_90d), (7, 9, 11));
    // Calls in 7 days: M4 (three rows); M6 is 7 days old. The last contact: M11 and M12, 4 days ago.
    assert_eq!((f.calls_7d, f.days_since_contact), (1, 4));
}

#[test]
fn promises_plans_and_holds_of_c2() {
    with_customer("C2", |f, inv| {
        // PR1 for I6 due 10-15 unpaid: broken. PR2 (plan) due 11-20: active.
        assert_eq!((f.promises_broken, f.promises_active), (1, 1));
        assert_eq!(f.promised_amount, money("1000.00"));
        assert!(f.plan_active);
        assert!(inv[0].promise_broken && !inv[0].promise_active);
        assert_eq!(inv[0].days_past_due, 108);
        assert_eq!(inv[0].bucket, 4);
        // credit-hold (09-15) is later than final-demand (09-01).
        assert!(f.on_hold);
        assert_eq!(f.last_step.as_str(), "credit-hold");
        assert_eq!(f.contacts_90d, 1);
        assert_eq!(f.days_since_payment, NEVER);
        assert_eq!(f.paid_invoices, 0);
    });
}

#[test]
fn customer_without_limit_or_invoices() {
    with_customer("C3", |f, inv| {
        assert!(inv.is_empty());
        assert_eq!(f.utilization, 0.0);
        assert_eq!(f.days_since_payment, 46); // unapplied P4 on 10-01
        assert!(f.on_hold && f.customer.do_not_contact);
        assert_eq!(f.get("credit_score"), Some(Value::Float(580.0)));
        assert_eq!(f.get("risk_class"), Some(Value::Text("high")));
    });
}

#[test]
fn every_fact_has_a_value_and_a_doc() {
    with_customer("C1", |f, inv| {
        for (i, d) in CustomerFacts::defs().iter().enumerate() {
            assert!(!d.doc.is_empty(), "{}", d.name);
            let _ = f.value(i);
        }
        assert_eq!(inv[0].get("days_past_due"), Some(Value::Int(46)));
        assert_eq!(f.get("no_such_fact"), None);
    });
}

#[test]
fn portfolio_kpis_of_the_small_ledger() {
    let l = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let p = kpi::portfolio(&l, &ctx);
    // AR = 1000 + 1500 + 500 (C1) + 2500 (C2) = 5500; current = I2's 1500.
    assert_eq!((p.ar_total, p.ar_current, p.ar_disputed), (money("5500"), money("1500"), money("500")));
    // Sales issued after 2026-08-18 (90 days): I1 1000 + I2 2000 = 3000.
    assert_eq!(p.sales_dso_period, money("3000"));
    // C3's 100 on account (P4, 10-01): net AR 5400.
    assert_eq!((p.unapplied_cash, p.ar_net), (money("100.00"), money("5400.00")));
    assert_eq!(p.dso, Some(162.0)); // 5400 / 3000 x 90
    assert_eq!(p.best_possible_dso, Some(45.0)); // 1500 / 3000 x 90
    assert_eq!(p.average_days_delinquent, Some(117.0));
    // Countback of 5400, months ending 11-16: 2000 (31 days) → 3400 left; 0 (30) → 3400;
    // 1000 (31) → 2400; 1500 (31) → 900; 2500 (30): 900/2500 x 30 = 10.8. Total 133.8.
    assert_eq!(p.dso_countback, Some(133.8));
    // CEI since 08-16: beginning AR = I4 1000 (paid 08-26) + I5 500 + I6 2500 = 4000;
    // sales 3000 / 3 months = 1000; (4000 + 1000 - 5400) / (4000 + 1000 - 1500) = -11.43 %.
    assert_eq!(p.cei, Some(-11.43));
    let aging: Vec<(String, u64, Decimal)> = p.aging.iter().map(|b| (b.bucket.clone(), b.count, b.amount)).collect();
    assert_eq!(
        aging,
        vec![
            ("current".into(), 1, money("1500")),
            ("1-30".into(), 0, money("0")),
            ("31-60".into(), 1, money("1000")),
            ("61-90".into(), 1, money("500")),
            ("91+".into(), 1, money("2500")),
        ]
    );
}

#[test]
fn bucket_edges_are_configurable() {
    let cfg = FactsConfig { bucket_edges: vec![15, 45], ..FactsConfig::default() };
    assert_eq!(cfg.bucket_labels(), vec!["current", "1-15", "16-45", "46+"]);
    assert_eq!((cfg.bucket(0), cfg.bucket(15), cfg.bucket(16), cfg.bucket(46)), (0, 1, 2, 3));
}

#[test]
fn calendar_facts() {
    let c = recoup::facts::Calendar::of(date("2026-11-16"));
    assert_eq!((c.quarter, c.month, c.weekday, c.is_business_day), (4, 11, 1, true));
    assert_eq!((c.days_to_month_end, c.days_to_year_end), (14, 45));
    let s = recoup::facts::Calendar::of(date("2026-11-21"));
    assert!(!s.is_business_day);
}

/// A plan of three instalments of 100.00 due 06-10, 07-10 and 08-10, agreed
/// on 06-01; facts as of 07-20.
fn plan_facts(payments: &str) -> (u32, u32, bool) {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let ledger = load_inline(
        &InlineLedger {
            customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,A,small,US,USD,1000.00,NET30\n",
            invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                       I1,C1,2026-04-01,2026-05-01,USD,300.00,300.00,open\n",
            payments: Some(payments),
            promises: Some(
                "promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id\n\
                 PR1,C1,,2026-06-01,2026-06-10,100.00,PL1\n\
                 PR2,C1,,2026-06-01,2026-07-10,100.00,PL1\n\
                 PR3,C1,,2026-06-01,2026-08-10,100.00,PL1\n",
            ),
            actions: None,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let ctx = Context::new(date("2026-07-20"), FactsConfig::default());
    let mut inv = Vec::new();
    let f = derive_customer(&ledger, 0, &ctx, &mut inv);
    (f.promises_broken, f.promises_active, f.plan_active)
}

#[test]
fn a_plan_is_kept_only_by_the_cumulative_amount_due() {
    let header = "payment_id,customer_id,invoice_id,paid_on,amount\n";
    // 100 by 06-10 and another 100 by 07-10: kept so far, one instalment to come.
    let kept = format!("{header}P1,C1,,2026-06-05,100.00\nP2,C1,,2026-07-08,100.00\n");
    assert_eq!(plan_facts(&kept), (0, 1, true));
    // One payment of 100 cannot keep both the first and the second instalment.
    let short = format!("{header}P1,C1,,2026-06-05,100.00\n");
    assert_eq!(plan_facts(&short), (1, 1, false));
    // Paid ahead: 200 on 06-05 keeps both.
    let ahead = format!("{header}P1,C1,,2026-06-05,200.00\n");
    assert_eq!(plan_facts(&ahead), (0, 1, true));
}

#[test]
fn an_invoice_paid_with_a_discount_is_settled_on_its_last_payment() {
    use recoup::facts::settled_on;
    use recoup::ledger::inline::{InlineLedger, load_inline};
    // I1 (100.00, due 06-30) was paid 98.00 on 06-25: a 2 % discount taken,
    // 5 days early. I2 (200.00, due 07-15) was paid 100.00 on 07-10 and
    // 100.00 on 08-20: on 07-20 only half of it is in.
    let ledger = load_inline(
        &InlineLedger {
            customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,A,small,US,USD,1000.00,NET30\n",
            invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                       I1,C1,2026-05-31,2026-06-30,USD,100.00,0.00,paid\n\
                       I2,C1,2026-06-15,2026-07-15,USD,200.00,0.00,paid\n",
            payments: Some(
                "payment_id,customer_id,invoice_id,paid_on,amount\n\
                 P1,C1,I1,2026-06-25,98.00\n\
                 P2,C1,I2,2026-07-10,100.00\n\
                 P3,C1,I2,2026-08-20,100.00\n",
            ),
            promises: None,
            actions: None,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let on = |i: u32, d: &str| settled_on(&ledger, i, date(d));
    assert_eq!(on(0, "2026-07-20"), Some(date("2026-06-25")));
    assert_eq!(on(0, "2026-06-24"), None, "not paid yet");
    assert_eq!(on(1, "2026-07-20"), None, "half paid then");
    assert_eq!(on(1, "2026-08-31"), Some(date("2026-08-20")));
    // The discounted invoice counts in the payment behaviour: 5 days early.
    let ctx = Context::new(date("2026-07-20"), FactsConfig::default());
    let f = derive_customer(&ledger, 0, &ctx, &mut Vec::new());
    assert_eq!((f.paid_invoices, f.avg_days_late, f.on_time_ratio), (1, -5.0, 1.0));
}

/// Cash on account and credit notes: the customer's credit is applied to its
/// open invoices oldest due date first, undisputed before disputed; the net
/// facts are what is left.
#[test]
fn credit_is_applied_oldest_due_first() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                     C1,Acme,small,US,USD,4000.00,NET30\n";
    // I1 due 09-01 (disputed), I2 due 09-10, I3 due 10-20 (current on 10-01).
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n\
                    I1,C1,2026-08-02,2026-09-01,USD,500.00,500.00,disputed,\n\
                    I2,C1,2026-08-11,2026-09-10,USD,1000.00,1000.00,open,\n\
                    I3,C1,2026-09-20,2026-10-20,USD,2000.00,2000.00,open,\n\
                    CN1,C1,2026-09-15,2026-09-15,USD,400.00,300.00,open,credit_note\n\
                    CN2,C1,2026-10-02,2026-10-02,USD,999.00,999.00,open,credit_note\n";
    let payments = "payment_id,customer_id,invoice_id,paid_on,amount\n\
                    P1,C1,,2026-09-20,900.00\nP2,C1,I2,2026-09-21,0.01\nP3,C1,,2026-10-05,50.00\n";
    let files = InlineLedger { customers, invoices, payments: Some(payments), promises: None, actions: None };
    let l = load_inline(&files, &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-10-01"), FactsConfig::default());
    let mut inv = Vec::new();
    let f = derive_customer(&l, 0, &ctx, &mut inv);
    // Credit on 10-01: 900.00 on account (P3 comes later) + 300.00 left of
    // CN1 (CN2 is issued later) = 1,200.00. I2 (undisputed, oldest) takes
    // 1,000.00, then I3 (not yet due) 200.00; disputed I1 comes last.
    assert_eq!((f.unapplied_cash, f.credit_notes), (money("900.00"), money("300.00")));
    let applied: Vec<(&str, Decimal)> = inv.iter().map(|i| (&*i.invoice.id, i.credit_applied)).collect();
    assert_eq!(applied, [("I1", money("0")), ("I2", money("1000.00")), ("I3", money("200.00"))]);
    // Open 3,500.00 - 1,200.00; overdue I1 500.00 + I2 0.00.
    assert_eq!((f.net_open, f.net_overdue), (money("2300.00"), money("500.00")));
    assert_eq!((f.open_total, f.overdue_total), (money("3500.00"), money("1500.00")));
    // Exposure is the net balance: 2,300.00 of a 4,000.00 limit.
    assert_eq!((f.exposure, f.headroom), (money("2300.00"), money("1700.00")));
    assert_eq!(f.utilization, 0.575);
    assert_eq!(inv[2].net_open_amount(), money("1800.00"));
    // Under the gross balance the exposure is the open total.
    let gross = Context::new(date("2026-10-01"), FactsConfig::default()).with_balance(recoup::facts::Balance::Gross);
    let g = derive_customer(&l, 0, &gross, &mut inv);
    assert_eq!((g.exposure, g.net_open), (money("3500.00"), money("2300.00")));
    // On 10-06 P3 and CN2 are in too: 2,249.00 of credit covers I2 and
    // 1,249.00 of I3; the disputed I1 still waits (applied last).
    let later = Context::new(date("2026-10-06"), FactsConfig::default());
    let f = derive_customer(&l, 0, &later, &mut inv);
    assert_eq!((f.net_open, f.net_overdue, f.exposure), (money("1251.00"), money("500.00"), money("1251.00")));
}

/// KPIs follow accounting practice for cash on account and credit notes: the
/// receivables balance the DSO and CEI read is net of both, and a credit
/// note reduces the credit sales of the month it is issued in.
#[test]
fn kpis_read_ar_net_of_unapplied_cash_and_credit_notes() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let customers = "customer_id,name,segment,country,currency,credit_limit,payment_terms\n\
                     C1,Acme,small,US,USD,9000.00,NET30\n";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status,document_type\n\
                    I0,C1,2026-06-01,2026-07-01,USD,2000.00,0.00,paid,\n\
                    I1,C1,2026-08-15,2026-09-14,USD,3000.00,3000.00,open,\n\
                    I2,C1,2026-09-20,2026-10-20,USD,1000.00,1000.00,open,\n\
                    CN1,C1,2026-09-10,2026-09-10,USD,400.00,400.00,open,credit_note\n";
    let payments = "payment_id,customer_id,invoice_id,paid_on,amount\n\
                    P0,C1,I0,2026-07-15,2000.00\nP1,C1,,2026-09-25,500.00\n";
    let files = InlineLedger { customers, invoices, payments: Some(payments), promises: None, actions: None };
    let l = load_inline(&files, &LoadOptions::default()).unwrap();
    let k = kpi::portfolio(&l, &Context::new(date("2026-10-01"), FactsConfig::default()));
    // Open AR 4,000.00 (I1 + I2), less 500.00 on account and 400.00 of credit: 3,100.00.
    assert_eq!((k.ar_total, k.unapplied_cash, k.credit_notes), (money("4000.00"), money("500.00"), money("400.00")));
    assert_eq!(k.ar_net, money("3100.00"));
    // Net credit sales of the 90 days after 07-03: 3,000 + 1,000 - 400 = 3,600.
    assert_eq!(k.sales_dso_period, money("3600.00"));
    // DSO 3,100 / 3,600 x 90 = 77.50; best possible (current 1,000, gross) 25.00.
    assert_eq!((k.dso, k.best_possible_dso, k.average_days_delinquent), (Some(77.5), Some(25.0), Some(52.5)));
    // Countback: September's net sales 600 (30 days), then 2,500 of August's
    // 3,000 (31 days): 30 + 25.83 = 55.83.
    assert_eq!(k.dso_countback, Some(55.83));
    // CEI since 07-01: beginning AR 2,000 (I0, paid since), sales 3,600 / 3
    // = 1,200, ending total 3,100 (net), current 1,000:
    // (2,000 + 1,200 - 3,100) / (2,000 + 1,200 - 1,000) = 100 / 2,200 = 4.55 %.
    assert_eq!(k.cei, Some(4.55));
}

/// The facts actions.csv's outcomes give (docs/facts.md, "Outcomes"), on a
/// hand-built history as of 2026-11-16.
fn outcome_facts(rows: &[&str]) -> (u32, u32, bool, u32, i32, String) {
    let customers =
        "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,Acme,small,US,USD,10000.00,NET30";
    let invoices = "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
        I1,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open\n\
        I2,C1,2026-07-01,2026-07-31,USD,100.00,100.00,open";
    let actions = format!(
        "action_id,customer_id,invoice_id,rule_id,action,channel,decided_on,executed_on,outcome\n{}",
        rows.join("\n")
    );
    let files = recoup::ledger::inline::InlineLedger {
        customers,
        invoices,
        payments: None,
        promises: None,
        actions: Some(&actions),
    };
    let l = recoup::ledger::inline::load_inline(&files, &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let f = derive_customer(&l, 0, &ctx, &mut Vec::new());
    let last = f.get("last_conversation_date").unwrap().to_string();
    (
        f.failed_contacts_30d,
        f.failed_contacts_90d,
        f.email_bounced,
        f.consecutive_unanswered_calls,
        f.days_since_conversation,
        last,
    )
}

#[test]
fn failed_contacts_bounces_and_unanswered_calls() {
    // As of 2026-11-16: 11-10 is 6 days ago, 10-17 30, 08-19 89, 08-18 90.
    let rows = [
        // F1: a bounced email listing two invoices: one failed attempt, 6 days ago.
        "A1,C1,I1,first-notice,email,email,2026-11-10,2026-11-10,bounced",
        "A2,C1,I2,first-notice,email,email,2026-11-10,2026-11-10,bounced",
        // F2: a letter returned, 30 days ago (in 90, not in 30).
        "A3,C1,I1,final-demand,letter,letter,2026-10-17,2026-10-17,returned_mail",
        // F3: a wrong number, 89 days ago (in 90).
        "A4,C1,I1,call,call,call,2026-08-19,2026-08-19,wrong_number",
        // 90 days ago: out of both windows.
        "A5,C1,I1,call,call,call,2026-08-18,2026-08-18,no_answer",
        // Calls: answered 10-20 (27 days ago), then no answer 10-25, 11-01
        // (two rows of one call) and 11-05: three days unanswered, F4-F6.
        "A6,C1,I1,call,call,call,2026-10-20,2026-10-20,conversation",
        "A7,C1,I1,call,call,call,2026-10-25,2026-10-25,no_answer",
        "A8,C1,I1,call,call,call,2026-11-01,2026-11-01,no_answer",
        "A9,C1,I2,call,call,call,2026-11-01,2026-11-01,no_answer",
        "A10,C1,I1,call,call,call,2026-11-05,2026-11-05,no_answer",
        // Delivered and opened: reached, not failures.
        "A11,C1,I1,pre-due,email,email,2026-10-01,2026-10-01,delivered",
        "A12,C1,I1,pre-due,email,email,2026-10-02,2026-10-02,opened",
        // Not executed: no attempt.
        "A13,C1,I1,second-notice,email,email,2026-11-12,2026-11-12,failed",
    ];
    // 30 days: F1 and F4-F6 = 4 (the bounce once, the two-row call once);
    // 90 days: + F2, F3 = 6. The latest email with a known fate (11-10)
    // bounced. Last conversation 10-20, 27 days ago.
    assert_eq!(outcome_facts(&rows), (4, 6, true, 3, 27, "2026-10-20".into()));

    // An email delivered later than the bounce clears it; one merely `sent`
    // (its fate unknown) does not.
    let mut later = rows.to_vec();
    later.push("A14,C1,I1,second-notice,email,email,2026-11-12,2026-11-12,sent");
    assert!(outcome_facts(&later).2);
    later.push("A15,C1,I1,second-notice,email,email,2026-11-13,2026-11-13,delivered");
    assert!(!outcome_facts(&later).2);
    // A delivered email the same day as the bounce, later in the file, wins the tie.
    later.truncate(rows.len());
    later.push("A16,C1,I1,statement,statement,email,2026-11-10,2026-11-10,delivered");
    assert!(!outcome_facts(&later).2);

    // A call answered after them ends the unanswered run, whatever the row
    // order (here the answered call is the first row); `answered` and
    // `promise` are conversations as well.
    let mut answered = vec!["A0,C1,I1,call,call,call,2026-11-06,2026-11-06,promise"];
    answered.extend_from_slice(&rows);
    let got = outcome_facts(&answered);
    assert_eq!((got.3, got.4, got.5.as_str()), (0, 10, "2026-11-06"));

    // No history: nothing failed, no bounce, never a conversation.
    assert_eq!(outcome_facts(&[]), (0, 0, false, 0, NEVER, String::new()));
}

#[test]
fn every_outcome_word_loads() {
    // Old and new words alike; an unknown word is a bad value.
    for w in recoup::ledger::Outcome::WORDS {
        let row = format!("A1,C1,I1,first-notice,email,email,2026-11-10,2026-11-10,{w}");
        outcome_facts(&[&row]);
    }
    let words = recoup::ledger::Outcome::WORDS.join(",");
    assert_eq!(
        words,
        "pending,sent,delivered,bounced,answered,no_answer,promise,failed,cancelled,\
         opened,conversation,returned_mail,wrong_number"
    );
}

/// A policy's `[kpis]` table is what facts and KPIs are derived with
/// (`CompiledPolicy::context`), hand-computed on fixtures/small as of 11-16.
#[test]
fn kpis_table_changes_facts_and_kpis() {
    let l = load(&repo("fixtures/small"), &LoadOptions::default()).unwrap();
    let head = "[policy]\nname = \"n\"\nversion = \"1\"\n";
    let policy = |kpis: &str| recoup::policy::load_str("p", &format!("{head}[kpis]\n{kpis}\n")).policy.unwrap();
    let p = policy("bucket_edges = [15, 45, 90]\ndso_days = 30");
    let ctx = p.context(date("2026-11-16"));
    let k = kpi::portfolio(&l, &ctx);
    // Edges 15/45/90: I1 46 days and I5 63 days are both 46-90; I6 108 days is 91+.
    let aging: Vec<(String, u64, Decimal)> = k.aging.iter().map(|b| (b.bucket.clone(), b.count, b.amount)).collect();
    assert_eq!(
        aging,
        vec![
            ("current".into(), 1, money("1500")),
            ("1-15".into(), 0, money("0")),
            ("16-45".into(), 0, money("0")),
            ("46-90".into(), 2, money("1500")),
            ("91+".into(), 1, money("2500")),
        ]
    );
    // 30 days of sales: issued after 10-17, only I2's 2000. DSO = 5400 / 2000 x 30 = 81 (90 days: 162);
    // best possible 1500 / 2000 x 30 = 22.5; ADD 58.5.
    assert_eq!(k.dso_days, 30);
    assert_eq!(k.sales_dso_period, money("2000"));
    assert_eq!((k.dso, k.best_possible_dso, k.average_days_delinquent), (Some(81.0), Some(22.5), Some(58.5)));
    // The invoice facts use the same edges: C1's I1 (46 days) is bucket 3 = 46-90 (2 with 30/60/90).
    let c1 = l.customer_ix("C1").unwrap();
    let mut inv = Vec::new();
    derive_customer(&l, c1, &ctx, &mut inv);
    assert_eq!((&*inv[0].invoice.id, inv[0].bucket), ("I1", 3));
    // CEI over 1 month (since 10-16): beginning AR = I1 1000 + I5 500 + I6 2500 = 4000 (I2 issued
    // 10-20 is a sale), less C3's 100 paid on account before it = 3900; sales 2000 / 1;
    // (3900 + 2000 - 5400) / (3900 + 2000 - 1500) = 500 / 4400 = 11.36 %.
    let one = kpi::portfolio(&l, &policy("cei_months = 1").context(date("2026-11-16")));
    assert_eq!(one.cei, Some(11.36));
}

/// A promise of 100.00 due 07-10, paid 07-11: broken as of 07-20 with no
/// grace, kept with `promise_grace_days = 3` (07-11 is within 07-10 + 3).
#[test]
fn promise_grace_days_keep_a_promise_paid_a_day_late() {
    use recoup::ledger::inline::{InlineLedger, load_inline};
    let ledger = load_inline(
        &InlineLedger {
            customers: "customer_id,name,segment,country,currency,credit_limit,payment_terms\nC1,A,small,US,USD,1000.00,NET30\n",
            invoices: "invoice_id,customer_id,issue_date,due_date,currency,amount,open_amount,status\n\
                       I1,C1,2026-05-01,2026-06-01,USD,300.00,200.00,open\n",
            payments: Some("payment_id,customer_id,invoice_id,paid_on,amount\nP1,C1,I1,2026-07-11,100.00\n"),
            promises: Some("promise_id,customer_id,invoice_id,made_on,due_on,amount,plan_id\nPR1,C1,I1,2026-07-01,2026-07-10,100.00,\n"),
            actions: None,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let facts = |kpis: &str, as_of: &str| {
        let text = format!("[policy]\nname = \"n\"\nversion = \"1\"\n[kpis]\n{kpis}\n");
        let p = recoup::policy::load_str("p", &text).policy.unwrap();
        let mut inv = Vec::new();
        let f = derive_customer(&ledger, 0, &p.context(date(as_of)), &mut inv);
        (f.promises_broken, f.promises_active, inv[0].promise_broken)
    };
    assert_eq!(facts("promise_grace_days = 0", "2026-07-20"), (1, 0, true));
    assert_eq!(facts("promise_grace_days = 3", "2026-07-20"), (0, 0, false));
    // 07-13 is the last day of grace: as of 07-14 an unpaid promise would be broken; this one is kept.
    assert_eq!(facts("promise_grace_days = 3", "2026-07-14"), (0, 0, false));
    assert_eq!(facts("promise_grace_days = 0", "2026-07-11"), (1, 0, true));
}

// ------------------------------------------- customer groups and no limit

/// fixtures/groups as of 2026-11-16: head G (USD, limit 10,000) with members
/// M1 and M2 (USD) and M3 (EUR); X in no group with no limit; H (EUR, on
/// hold in customers.csv) with member HM.
fn group_facts(id: &str, f: impl FnOnce(&CustomerFacts<'_>)) {
    let l = load(&repo("fixtures/groups"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default()).with_groups(&l);
    let c = l.customer_ix(id).unwrap();
    let mut inv = Vec::new();
    f(&derive_customer(&l, c, &ctx, &mut inv));
}

fn fact<'f>(f: &'f CustomerFacts<'_>, name: &str) -> Value<'f> {
    f.get(name).unwrap_or_else(|| panic!("no fact {name}"))
}

#[test]
fn group_figures_are_summed_over_the_members_in_one_currency() {
    // USD group of G: G open 1000 (due 10-01, overdue) + 500 (due 12-01);
    // M1 2000 (due 11-01, overdue); M2 1500 (due 11-30), less 200 on
    // account: exposure 1300. Open 1500 + 2000 + 1500 = 5000; overdue
    // 1000 + 2000 = 3000; exposure 1500 + 2000 + 1300 = 4800; G's limit
    // 10,000 shared: 4800 / 10000 = 0.48.
    for id in ["G", "M1", "M2"] {
        group_facts(id, |f| {
            assert_eq!(fact(f, "group_members"), Value::Int(3), "{id}");
            assert_eq!(fact(f, "group_open"), Value::Money(money("5000.00")), "{id}");
            assert_eq!(fact(f, "group_overdue"), Value::Money(money("3000.00")), "{id}");
            assert_eq!(fact(f, "group_exposure"), Value::Money(money("4800.00")), "{id}");
            assert_eq!(fact(f, "group_limit"), Value::Money(money("10000.00")), "{id}");
            assert_eq!(fact(f, "group_utilization"), Value::Float(0.48), "{id}");
        });
    }
    group_facts("M1", |f| {
        assert_eq!(fact(f, "parent"), Value::Text("G"));
        assert_eq!(fact(f, "sales_rep"), Value::Text("rep-anna"));
        // Its own limit still counts for its own utilisation: 2000 / 2500.
        assert_eq!(f.utilization, 0.8);
    });
    group_facts("G", |f| assert_eq!(fact(f, "parent"), Value::Text("")));
    // M3 is in EUR: never added to the USD figures; G's limit is in USD,
    // so its EUR group has no shared limit.
    group_facts("M3", |f| {
        assert_eq!(fact(f, "group_members"), Value::Int(1));
        assert_eq!(fact(f, "group_open"), Value::Money(money("700.00")));
        assert_eq!(fact(f, "group_overdue"), Value::Money(money("700.00")));
        assert_eq!(fact(f, "group_limit"), Value::Money(Decimal::ZERO));
        assert_eq!(fact(f, "group_utilization"), Value::Float(0.0));
    });
}

#[test]
fn a_customer_in_no_group_is_its_own_group_and_an_empty_limit_is_no_limit() {
    // X: 5000 open and overdue, credit_limit empty.
    group_facts("X", |f| {
        assert_eq!(fact(f, "group_members"), Value::Int(1));
        assert_eq!(fact(f, "group_open"), Value::Money(money("5000.00")));
        assert_eq!(fact(f, "group_exposure"), Value::Money(money("5000.00")));
        assert_eq!(fact(f, "has_limit"), Value::Bool(false));
        assert_eq!(fact(f, "credit_limit"), Value::Money(Decimal::ZERO));
        // No limit: never over it, not 99.99 as a zero limit would give.
        assert_eq!(f.utilization, 0.0);
        assert_eq!(f.headroom, Decimal::ZERO);
        assert_eq!(fact(f, "group_utilization"), Value::Float(0.0));
    });
    group_facts("M2", |f| assert_eq!(fact(f, "has_limit"), Value::Bool(false)));
    group_facts("M1", |f| assert_eq!(fact(f, "has_limit"), Value::Bool(true)));
}

#[test]
fn a_hold_on_the_parent_holds_its_members() {
    group_facts("H", |f| assert!(f.on_hold));
    group_facts("HM", |f| {
        assert!(f.on_hold);
        // H and HM, EUR: HM's 100 (due 10-31) over H's limit of 1000.
        assert_eq!(fact(f, "group_members"), Value::Int(2));
        assert_eq!(fact(f, "group_overdue"), Value::Money(money("100.00")));
        assert_eq!(fact(f, "group_utilization"), Value::Float(0.1));
    });
    group_facts("M1", |f| assert!(!f.on_hold));
}

/// Without `with_groups`, every customer reads its own figures.
#[test]
fn group_facts_without_groups_in_the_context_are_the_customers_own() {
    let l = load(&repo("fixtures/groups"), &LoadOptions::default()).unwrap();
    let ctx = Context::new(date("2026-11-16"), FactsConfig::default());
    let mut inv = Vec::new();
    let f = derive_customer(&l, l.customer_ix("M1").unwrap(), &ctx, &mut inv);
    assert_eq!(fact(&f, "group_open"), Value::Money(money("2000.00")));
    assert_eq!(fact(&f, "group_members"), Value::Int(1));
}

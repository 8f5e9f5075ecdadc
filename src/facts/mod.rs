//! Facts: everything rules read, derived once per run from the ledger and an
//! explicit as-of date (never the wall clock). Per invoice, per customer, the
//! calendar of the as-of date, and portfolio KPIs ([`kpi`]).

pub mod cache;
pub mod group;
pub mod kpi;
pub mod registry;

use crate::ledger::{
    Act, ActionKind, ActionRecord, Channel, Credit, CustIx, Customer, Invoice, InvoiceStatus, Ledger, Outcome, RuleId,
};
use chrono::{Datelike, NaiveDate, Weekday};
use registry::{Scope, fact_table};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

/// "Days since" facts use this value when the event never happened, so a
/// rule such as `customer.days_since_payment > 60` reads naturally.
pub const NEVER: i32 = 9999;

/// Settings of fact derivation (aging edges, windows): a policy's `[kpis]`
/// table ([`crate::policy::compile::Rules::kpis`]). Defaults are documented
/// in docs/facts.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FactsConfig {
    /// Upper edges (days past due) of the overdue aging buckets; the last
    /// bucket is open-ended. Default `[30, 60, 90]` → current, 1-30, 31-60, 61-90, 91+.
    pub bucket_edges: Vec<i32>,
    /// Days after `due_on` before an unpaid promise counts as broken.
    pub promise_grace_days: i32,
    /// Months of settled invoices used for payment behaviour.
    pub behaviour_months: u32,
    /// Recent months for the payment trend (compared with the rest of the window).
    pub trend_recent_months: u32,
    /// Days of credit sales for the standard DSO and best possible DSO.
    pub dso_days: i64,
    /// Months counted back by the countback DSO at most.
    pub countback_months: u32,
    /// Months of the collection effectiveness index period.
    pub cei_months: u32,
}

impl Default for FactsConfig {
    fn default() -> Self {
        FactsConfig {
            bucket_edges: vec![30, 60, 90],
            promise_grace_days: 0,
            behaviour_months: 12,
            trend_recent_months: 3,
            dso_days: 90,
            countback_months: 12,
            cei_months: 3,
        }
    }
}

impl FactsConfig {
    /// The bucket index of a days-past-due value: 0 is current.
    pub fn bucket(&self, dpd: i32) -> usize {
        if dpd <= 0 {
            return 0;
        }
        1 + self.bucket_edges.iter().take_while(|&&e| dpd > e).count()
    }

    /// Bucket labels: `current`, `1-30`, ..., `91+`.
    pub fn bucket_labels(&self) -> Vec<String> {
        let mut out = vec!["current".to_string()];
        let mut lo = 1;
        for &e in &self.bucket_edges {
            out.push(format!("{lo}-{e}"));
            lo = e + 1;
        }
        out.push(format!("{lo}+"));
        out
    }
}

/// Which balance the engine acts on (`[policy] balance`): `net` (default) —
/// the open invoices less the customer's cash on account and open credit
/// notes, applied to its invoices oldest due date first — or `gross`, the
/// open invoices alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    #[default]
    Net,
    Gross,
}

/// Calendar facts of the as-of date (`as_of.*` in expressions).
#[derive(Debug, Clone, Serialize)]
pub struct Calendar<'a> {
    pub date: NaiveDate,
    pub year: i32,
    pub month: u32,
    pub quarter: u32,
    pub day: u32,
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    pub is_business_day: bool,
    pub days_to_month_end: i32,
    pub days_to_year_end: i32,
    #[serde(skip)]
    _p: std::marker::PhantomData<&'a ()>,
}

impl Calendar<'_> {
    /// The calendar facts of `d`.
    pub fn of(d: NaiveDate) -> Self {
        let next_month = if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        };
        let month_end = next_month.and_then(|n| n.pred_opt()).unwrap_or(d);
        let year_end = NaiveDate::from_ymd_opt(d.year(), 12, 31).unwrap_or(d);
        Calendar {
            date: d,
            year: d.year(),
            month: d.month(),
            quarter: (d.month() - 1) / 3 + 1,
            day: d.day(),
            weekday: d.weekday().number_from_monday(),
            is_business_day: !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
            days_to_month_end: (month_end - d).num_days() as i32,
            days_to_year_end: (year_end - d).num_days() as i32,
            _p: std::marker::PhantomData,
        }
    }
}

fact_table! { Calendar, Scope::Calendar, f;
    date: Date = "the as-of date" => f.date;
    year: Int = "calendar year" => f.year;
    month: Int = "month, 1-12" => f.month;
    quarter: Int = "quarter, 1-4" => f.quarter;
    day: Int = "day of month" => f.day;
    weekday: Int = "day of week, 1 = Monday ... 7 = Sunday" => f.weekday;
    is_business_day: Bool = "Monday to Friday" => f.is_business_day;
    days_to_month_end: Int = "days until the last day of the month (0 on it)" => f.days_to_month_end;
    days_to_year_end: Int = "days until 31 December (0 on it)" => f.days_to_year_end;
}

/// Facts of one open invoice (`invoice.*`).
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceFacts<'a> {
    #[serde(skip)]
    pub invoice: &'a Invoice,
    pub ix: u32,
    pub days_past_due: i32,
    pub days_to_due: i32,
    pub days_since_issue: i32,
    pub bucket: u8,
    pub disputed: bool,
    pub promise_active: bool,
    pub promise_broken: bool,
    pub paid_amount: Decimal,
    /// The customer's credit (cash on account, open credit notes) applied to
    /// it, oldest due date first (undisputed invoices before disputed ones).
    pub credit_applied: Decimal,
}

impl InvoiceFacts<'_> {
    /// What is left to pay once the customer's credit is applied.
    #[inline]
    pub fn net_open_amount(&self) -> Decimal {
        self.invoice.open_amount - self.credit_applied
    }
}

fact_table! { InvoiceFacts, Scope::Invoice, f;
    id: Text = "invoice id" => &f.invoice.id;
    amount: Money = "original amount" => f.invoice.amount;
    open_amount: Money = "amount still to pay" => f.invoice.open_amount;
    paid_amount: Money = "payments applied to it up to the as-of date" => f.paid_amount;
    issue_date: Date = "issue date" => f.invoice.issue_date;
    due_date: Date = "due date" => f.invoice.due_date;
    days_past_due: Int = "as-of date minus due date; negative before the due date" => f.days_past_due;
    days_to_due: Int = "due date minus as-of date; negative once overdue" => f.days_to_due;
    days_since_issue: Int = "as-of date minus issue date" => f.days_since_issue;
    bucket: Int = "aging bucket: 0 current, 1 = 1-30, 2 = 31-60, 3 = 61-90, 4 = 91+ (default edges)" => f.bucket;
    disputed: Bool = "status disputed or a disputed_since date" => f.disputed;
    promise_active: Bool = "a promise to pay covering it is due on or after the as-of date (less grace)" => f.promise_active;
    promise_broken: Bool = "a promise to pay covering it fell due unpaid" => f.promise_broken;
    credit_applied: Money = "the customer's unapplied cash and open credit notes applied to it, oldest due date first (undisputed invoices first)" => f.credit_applied;
    net_open_amount: Money = "open_amount - credit_applied: what the engine acts on under `balance = \"net\"` (the default)" => f.net_open_amount();
}

/// Facts of one customer (`customer.*`).
#[derive(Debug, Clone, Serialize)]
pub struct CustomerFacts<'a> {
    #[serde(skip)]
    pub customer: &'a Customer,
    pub ix: CustIx,
    pub open_total: Decimal,
    pub overdue_total: Decimal,
    pub current_total: Decimal,
    pub disputed_total: Decimal,
    pub unapplied_cash: Decimal,
    pub credit_notes: Decimal,
    pub net_open: Decimal,
    pub net_overdue: Decimal,
    pub open_count: u32,
    pub overdue_count: u32,
    pub max_days_past_due: i32,
    pub weighted_days_past_due: f64,
    pub oldest_due_date: Option<NaiveDate>,
    pub exposure: Decimal,
    pub utilization: f64,
    pub headroom: Decimal,
    pub paid_invoices: u32,
    pub avg_days_late: f64,
    pub weighted_days_late: f64,
    pub on_time_ratio: f64,
    pub trend: f64,
    pub avg_days_to_pay: f64,
    pub days_since_payment: i32,
    pub open_disputes: u32,
    pub promises_active: u32,
    pub promises_broken: u32,
    pub promised_amount: Decimal,
    pub plan_active: bool,
    pub contacts_7d: u32,
    pub contacts_30d: u32,
    pub contacts_90d: u32,
    pub calls_7d: u32,
    pub failed_contacts_30d: u32,
    pub failed_contacts_90d: u32,
    pub email_bounced: bool,
    pub consecutive_unanswered_calls: u32,
    pub days_since_conversation: i32,
    pub last_conversation_date: Option<NaiveDate>,
    pub days_since_contact: i32,
    #[serde(skip)]
    pub last_step: LastStep<'a>,
    pub last_step_date: Option<NaiveDate>,
    pub days_since_step: i32,
    pub referred: bool,
    pub on_hold: bool,
    /// The figures of the customer's group (its own when in none).
    #[serde(skip)]
    pub group: group::GroupFigures,
    /// On hold because its group's head is (customers.csv): a release of
    /// the member alone would change nothing.
    #[serde(skip)]
    pub group_held: bool,
}

/// The rule id of the last executed dunning action (`customer.last_step`),
/// kept as its row: read only when asked for (its text is far from the
/// rows the other facts read).
#[derive(Clone, Copy, Default)]
pub struct LastStep<'a>(Option<&'a ActionRecord>);

impl<'a> LastStep<'a> {
    /// The rule id; empty if none.
    pub fn as_str(&self) -> &'a str {
        self.0.map_or("", |a| &*a.rule_id)
    }
}

impl std::fmt::Debug for LastStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<'a> CustomerFacts<'a> {
    /// The facts of a customer with no invoices, payments, promises or
    /// actions (the starting point of a derivation).
    fn blank(customer: &'a Customer, c: CustIx) -> Self {
        CustomerFacts {
            customer,
            ix: c,
            open_total: Decimal::ZERO,
            overdue_total: Decimal::ZERO,
            current_total: Decimal::ZERO,
            disputed_total: Decimal::ZERO,
            unapplied_cash: Decimal::ZERO,
            credit_notes: Decimal::ZERO,
            net_open: Decimal::ZERO,
            net_overdue: Decimal::ZERO,
            open_count: 0,
            overdue_count: 0,
            max_days_past_due: 0,
            weighted_days_past_due: 0.0,
            oldest_due_date: None,
            exposure: Decimal::ZERO,
            utilization: 0.0,
            headroom: Decimal::ZERO,
            paid_invoices: 0,
            avg_days_late: 0.0,
            weighted_days_late: 0.0,
            on_time_ratio: 0.0,
            trend: 0.0,
            avg_days_to_pay: 0.0,
            days_since_payment: NEVER,
            open_disputes: 0,
            promises_active: 0,
            promises_broken: 0,
            promised_amount: Decimal::ZERO,
            plan_active: false,
            contacts_7d: 0,
            contacts_30d: 0,
            contacts_90d: 0,
            calls_7d: 0,
            failed_contacts_30d: 0,
            failed_contacts_90d: 0,
            email_bounced: false,
            consecutive_unanswered_calls: 0,
            days_since_conversation: NEVER,
            last_conversation_date: None,
            days_since_contact: NEVER,
            last_step: LastStep(None),
            last_step_date: None,
            days_since_step: NEVER,
            referred: false,
            on_hold: customer.on_hold,
            group: group::GroupFigures::default(),
            group_held: false,
        }
    }
}

fn date_or_never(d: Option<NaiveDate>, as_of: NaiveDate) -> i32 {
    d.map_or(NEVER, |d| (as_of - d).num_days() as i32)
}

fn opt_date_fact(d: Option<NaiveDate>) -> NaiveDate {
    d.unwrap_or(NaiveDate::MIN)
}

fact_table! { CustomerFacts, Scope::Customer, f;
    id: Text = "customer id" => &f.customer.id;
    segment: Text = "segment from customers.csv" => &f.customer.segment;
    country: Text = "country code" => &f.customer.country;
    currency: Text = "currency code" => &f.customer.currency;
    risk_class: Text = "low, medium, high, or empty" => f.customer.risk_class.map_or("", |r| r.as_str());
    account_type: Text = "business or consumer" => f.customer.account_type.as_str();
    credit_score: Float = "credit score; -1 when unknown" => f.customer.credit_score.unwrap_or(-1.0);
    credit_limit: Money = "credit limit; 0 when the customer has none (an empty cell: no limit, see has_limit)" => f.customer.credit_limit.unwrap_or(Decimal::ZERO);
    terms_days: Int = "net days of the payment terms" => f.customer.terms.net_days;
    do_not_contact: Bool = "do-not-contact flag" => f.customer.do_not_contact;
    preferred_channel: Text = "email, sms, call, letter, or empty when not given" => f.customer.preferred_channel.map_or("", |c| c.as_str());
    on_hold: Bool = "on credit hold: the customers.csv flag, or a credit_hold action not released since, or its group's parent on hold in customers.csv" => f.on_hold;
    open_total: Money = "sum of open amounts of open and disputed invoices" => f.open_total;
    overdue_total: Money = "open amount past its due date" => f.overdue_total;
    current_total: Money = "open amount not yet due" => f.current_total;
    disputed_total: Money = "open amount under dispute" => f.disputed_total;
    unapplied_cash: Money = "payments with no invoice (cash on account) dated up to the as-of date" => f.unapplied_cash;
    credit_notes: Money = "unused part of the open credit notes issued up to the as-of date" => f.credit_notes;
    net_open: Money = "open_total - unapplied_cash - credit_notes (negative: the customer is in credit)" => f.net_open;
    net_overdue: Money = "overdue open amount left once unapplied cash and credit notes are applied, oldest due date first" => f.net_overdue;
    open_count: Int = "open invoices" => f.open_count;
    overdue_count: Int = "overdue invoices" => f.overdue_count;
    max_days_past_due: Int = "days past due of the oldest overdue invoice; 0 when none is overdue" => f.max_days_past_due;
    weighted_days_past_due: Float = "days past due of overdue invoices weighted by open amount" => f.weighted_days_past_due;
    oldest_due_date: Date = "due date of the oldest open invoice; empty when none" => opt_date_fact(f.oldest_due_date);
    exposure: Money = "credit in use: net_open, not below 0 (open_total under `balance = \"gross\"`)" => f.exposure;
    utilization: Float = "exposure / credit_limit, capped at 99.99 (99.99 when the limit is 0 and exposure > 0; 0 when there is no limit)" => f.utilization;
    headroom: Money = "credit_limit - exposure (negative when over the limit; 0 when there is no limit)" => f.headroom;
    paid_invoices: Int = "invoices settled in the behaviour window (default 12 months)" => f.paid_invoices;
    avg_days_late: Float = "mean of settlement date - due date over settled invoices (negative = early); 0 with no history" => f.avg_days_late;
    weighted_days_late: Float = "the same weighted by invoice amount" => f.weighted_days_late;
    on_time_ratio: Float = "share of settled invoices settled on or before the due date; 0 with no history" => f.on_time_ratio;
    trend: Float = "avg_days_late of the recent 3 months minus that of the 9 before; > 0 = paying later" => f.trend;
    avg_days_to_pay: Float = "mean of settlement date - issue date" => f.avg_days_to_pay;
    days_since_payment: Int = "days since the last payment (9999 if never)" => f.days_since_payment;
    open_disputes: Int = "open invoices under dispute" => f.open_disputes;
    promises_active: Int = "promises to pay not yet due (or within grace) and not yet kept" => f.promises_active;
    promises_broken: Int = "promises in the behaviour window that fell due unpaid" => f.promises_broken;
    promised_amount: Money = "amount of the active promises" => f.promised_amount;
    plan_active: Bool = "an agreed payment plan has instalments still to come and none broken" => f.plan_active;
    contacts_7d: Int = "messages executed in the last 7 days (email, sms, call, letter, statement; one per message, however many invoices it lists)" => f.contacts_7d;
    contacts_30d: Int = "messages executed in the last 30 days" => f.contacts_30d;
    contacts_90d: Int = "messages executed in the last 90 days" => f.contacts_90d;
    calls_7d: Int = "calls executed in the last 7 days (one per call, however many invoices it lists)" => f.calls_7d;
    failed_contacts_30d: Int = "failed contact attempts in the last 30 days: messages whose outcome is bounced, returned_mail, wrong_number or no_answer (one per message)" => f.failed_contacts_30d;
    failed_contacts_90d: Int = "failed contact attempts in the last 90 days" => f.failed_contacts_90d;
    email_bounced: Bool = "the latest email whose fate is known bounced: no email delivered, opened or answered since" => f.email_bounced;
    consecutive_unanswered_calls: Int = "days with a call not answered (no_answer) since the last conversation (all of them if none)" => f.consecutive_unanswered_calls;
    days_since_conversation: Int = "days since a call was answered (outcome answered, conversation or promise; 9999 if never)" => f.days_since_conversation;
    last_conversation_date: Date = "date of the last call answered; empty when none" => opt_date_fact(f.last_conversation_date);
    days_since_contact: Int = "days since the last executed contact (9999 if never)" => f.days_since_contact;
    last_step: Text = "rule id of the last executed dunning action; empty if none" => f.last_step.as_str();
    last_step_date: Date = "date the last step was executed; empty when none" => opt_date_fact(f.last_step_date);
    days_since_step: Int = "days since the last step (9999 if none)" => f.days_since_step;
    referred: Bool = "referred to an agency or legal (an executed refer_agency / refer_legal action)" => f.referred;
    has_limit: Bool = "the customer has a credit limit (false when credit_limit is empty in customers.csv: no limit)" => f.customer.credit_limit.is_some();
    sales_rep: Text = "sales representative from customers.csv; empty when none" => f.customer.sales_rep.as_deref().unwrap_or("");
    parent: Text = "the customer's group: its parent customer id from customers.csv; empty when in no group (a group's head also has it empty)" => f.customer.parent.as_deref().unwrap_or("");
    group_members: Int = "customers of the group in this customer's currency, the head included; 1 when in no group" => f.group.members;
    group_open: Money = "open_total summed over the group (the parent and the customers naming it as parent) in this customer's currency; open_total when in no group" => f.group.open;
    group_overdue: Money = "overdue_total summed over the group in this customer's currency" => f.group.overdue;
    group_exposure: Money = "exposure summed over the group in this customer's currency" => f.group.exposure;
    group_limit: Money = "the group's shared credit limit: the parent's credit_limit (the customer's own when in no group); 0 when none" => f.group.limit.unwrap_or(Decimal::ZERO);
    group_utilization: Float = "group_exposure / group_limit, capped at 99.99; 0 when the group has no limit" => f.group.utilization();
}

/// Everything derived for one run: the as-of date, the config and the calendar.
#[derive(Debug, Clone)]
pub struct Context {
    pub as_of: NaiveDate,
    pub config: FactsConfig,
    behaviour_from: NaiveDate,
    trend_from: NaiveDate,
    /// Rules whose actions are one message per invoice (see [`PerInvoiceRules`]).
    per_invoice: PerInvoiceRules,
    /// Net (default) or gross: what `exposure` counts.
    pub balance: Balance,
    /// The ledger's customer groups on this date ([`Context::with_groups`]);
    /// `None`: every customer is its own group.
    pub groups: Option<std::sync::Arc<group::Groups>>,
    /// Work out `customer.weighted_days_past_due` (a Decimal product per
    /// overdue invoice and a division per customer). On unless the reader
    /// knows no one reads it: the simulation, when no condition of the
    /// policy does (it shows no facts; `simulate::wake` says which read it).
    /// Off, the fact is 0.
    pub weighted_dpd: bool,
    /// The same for `customer.weighted_days_late` (a product per settled
    /// invoice and a division per customer).
    pub weighted_late: bool,
}

impl Context {
    /// A context for `as_of` with `config`, in which every rule's rows group
    /// into messages by [`same_message`] (no per-invoice rules).
    pub fn new(as_of: NaiveDate, config: FactsConfig) -> Self {
        let behaviour_from = months_before(as_of, config.behaviour_months);
        let trend_from = months_before(as_of, config.trend_recent_months);
        Context {
            as_of,
            config,
            behaviour_from,
            trend_from,
            per_invoice: PerInvoiceRules::default(),
            balance: Balance::Net,
            groups: None,
            weighted_dpd: true,
            weighted_late: true,
        }
    }

    /// This context with other settings (the windows they imply recomputed):
    /// a policy's `[kpis]` (`CompiledPolicy::facts_context` sets them).
    pub fn with_config(self, config: FactsConfig) -> Self {
        let Context { as_of, per_invoice, balance, groups, weighted_dpd, weighted_late, .. } = self;
        Context { per_invoice, balance, groups, weighted_dpd, weighted_late, ..Context::new(as_of, config) }
    }

    /// This context with `rules` as the per-invoice rules: the steps of a
    /// policy's `grouping = "invoice"` ladders (`CompiledPolicy::facts_context`
    /// sets them from the policy).
    pub fn with_per_invoice_rules(mut self, rules: PerInvoiceRules) -> Self {
        self.per_invoice = rules;
        self
    }

    /// This context with `balance` (`CompiledPolicy::facts_context` sets it
    /// from the policy).
    pub fn with_balance(mut self, balance: Balance) -> Self {
        self.balance = balance;
        self
    }

    /// This context with the customer groups of `ledger` (its settings
    /// first: the groups' figures are derived with them). Costs one pass
    /// over the customers when the ledger has no groups.
    pub fn with_groups(mut self, ledger: &Ledger) -> Self {
        self.groups = group::Groups::of(ledger, &self);
        self
    }

    /// The rules whose actions count one message per invoice.
    pub fn per_invoice_rules(&self) -> &PerInvoiceRules {
        &self.per_invoice
    }

    /// The calendar facts of the as-of date.
    pub fn calendar(&self) -> Calendar<'static> {
        Calendar::of(self.as_of)
    }
}

/// `d` minus `n` months (clamped to the month's end).
pub fn months_before(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(chrono::Months::new(n)).unwrap_or(NaiveDate::MIN)
}

#[inline(always)]
pub(crate) fn ratio(num: Decimal, den: Decimal) -> f64 {
    if den.is_zero() {
        return if num > Decimal::ZERO { 99.99 } else { 0.0 };
    }
    (num / den).to_f64().unwrap_or(0.0).min(99.99)
}

/// Settlement date of a paid invoice: the date of its last payment up to the
/// as-of date, if by then all of its payments are in (status paid: a paid
/// invoice whose payments sum to less than its amount was settled with an
/// early-payment discount, or its short-paid rest forgiven), or it is paid in
/// full; `None` if it is not settled by then. Payment behaviour facts and the
/// simulation's learned behaviour both use it.
pub fn settled_on(ledger: &Ledger, i: u32, as_of: NaiveDate) -> Option<NaiveDate> {
    let inv = &ledger.invoices[i as usize];
    if inv.status != InvoiceStatus::Paid {
        return None;
    }
    let rows = ledger.payments_by_invoice.rows(i);
    let mut last = None;
    let mut later = false;
    for &p in rows {
        let d = ledger.payments[p as usize].paid_on;
        if d <= as_of {
            last = last.max(Some(d));
        } else {
            later = true;
        }
    }
    if later {
        // Some of it was paid after the as-of date: settled by then only if
        // what came before covers it.
        let paid: Decimal =
            rows.iter().map(|&p| &ledger.payments[p as usize]).filter(|p| p.paid_on <= as_of).map(|p| p.amount).sum();
        if paid < inv.amount {
            return None;
        }
    }
    last
}

/// Derive the facts of customer `c`, filling `invoices` with the facts of its
/// open invoices (the buffer is cleared first, so it can be reused).
pub fn derive_customer<'a>(
    ledger: &'a Ledger,
    c: CustIx,
    ctx: &Context,
    invoices: &mut Vec<InvoiceFacts<'a>>,
) -> CustomerFacts<'a> {
    let as_of = ctx.as_of;
    let customer = &ledger.customers[c as usize];
    invoices.clear();
    // The customer's promises, read from the index without collecting them
    // (no allocation per customer in the hot path).
    let promises = Promises::new(ledger, c, ctx, None);

    let mut f = CustomerFacts::blank(customer, c);

    // Open invoices.
    let mut weighted_dpd = Decimal::ZERO;
    let mut late = Behaviour::of(ctx);
    for &i in ledger.invoices_by_customer.rows(c) {
        let inv = &ledger.invoices[i as usize];
        if inv.is_open() {
            open_invoice(i, inv, ctx, &promises, &mut f, &mut weighted_dpd, invoices);
        } else if let Some(settled) = settled_on(ledger, i, as_of)
            && settled > ctx.behaviour_from
        {
            late.add(inv, settled, settled > ctx.trend_from);
        }
    }
    // Payments: the last one, and the cash on account, in one pass.
    let mut last_payment = None;
    let mut credit = Credit::default();
    for &p in ledger.payments_by_customer.rows(c) {
        let p = &ledger.payments[p as usize];
        if p.paid_on <= as_of {
            last_payment = last_payment.max(Some(p.paid_on));
            if p.invoice.is_none() {
                credit.unapplied_cash += p.amount;
            }
        }
    }
    f.days_since_payment = date_or_never(last_payment, as_of);
    credit.credit_notes = ledger.credit_notes_of(c, as_of);
    f.apply_credit(credit, invoices);
    f.finish_open(ctx.weighted_dpd.then_some(weighted_dpd), ctx.balance);
    f.group_figures(ctx);
    late.finish(&mut f);

    promise_facts(ledger, &promises, ctx, &mut f);
    action_facts(ledger, c, as_of, &ctx.per_invoice, &mut f);
    f
}

impl CustomerFacts<'_> {
    /// The figures of the customer's group, once its own totals are in:
    /// the context's when it has groups and the customer is in one, else
    /// its own.
    #[inline]
    pub(crate) fn group_figures(&mut self, ctx: &Context) {
        self.group = match &ctx.groups {
            Some(g) => g.get(self.customer, self.ix).unwrap_or_else(|| group::GroupFigures::own(self)),
            None => group::GroupFigures::own(self),
        };
    }

    /// The totals of the open invoices once they are all added.
    #[inline]
    fn finish_open(&mut self, weighted_dpd: Option<Decimal>, balance: Balance) {
        self.finish_open_with(weighted_dpd, balance, ratio);
    }

    /// The customer's credit applied to its open invoices (`invoices`, just
    /// derived), oldest due date first, undisputed before disputed: sets
    /// the credit facts, the net totals and each invoice's `credit_applied`.
    #[inline(always)]
    fn apply_credit(&mut self, credit: Credit, invoices: &mut [InvoiceFacts<'_>]) {
        self.unapplied_cash = credit.unapplied_cash;
        self.credit_notes = credit.credit_notes;
        let mut left = credit.total();
        self.net_open = self.open_total - left;
        if left <= Decimal::ZERO {
            self.net_overdue = self.overdue_total;
            return;
        }
        let mut order: Vec<usize> = (0..invoices.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&invoices[a], &invoices[b]);
            (x.disputed, x.invoice.due_date, &x.invoice.id).cmp(&(y.disputed, y.invoice.due_date, &y.invoice.id))
        });
        for k in order {
            let inv = &mut invoices[k];
            let applied = left.min(inv.invoice.open_amount);
            inv.credit_applied = applied;
            left -= applied;
            if left.is_zero() {
                break;
            }
        }
        self.net_overdue = invoices.iter().filter(|i| i.days_past_due > 0).map(InvoiceFacts::net_open_amount).sum();
    }

    /// [`finish_open`](Self::finish_open) with `ratio` for the utilisation
    /// (the facts cache passes one that remembers its last answer).
    #[inline(always)]
    fn finish_open_with(
        &mut self,
        weighted_dpd: Option<Decimal>,
        balance: Balance,
        ratio: impl FnOnce(Decimal, Decimal) -> f64,
    ) {
        if let Some(w) = weighted_dpd
            && !self.overdue_total.is_zero()
        {
            self.weighted_days_past_due = (w / self.overdue_total).to_f64().unwrap_or(0.0);
        }
        self.exposure = match balance {
            Balance::Net => self.net_open.max(Decimal::ZERO),
            Balance::Gross => self.open_total,
        };
        // No limit: never over it (utilisation 0), and no headroom to speak of.
        (self.headroom, self.utilization) = match self.customer.credit_limit {
            Some(limit) => (limit - self.exposure, ratio(self.exposure, limit)),
            None => (Decimal::ZERO, 0.0),
        };
    }
}

/// Add open invoice `i` (`inv`) to the customer's facts `f` and push its
/// invoice facts.
#[inline(always)]
fn open_invoice<'a>(
    i: u32,
    inv: &'a Invoice,
    ctx: &Context,
    promises: &Promises<'_, '_>,
    f: &mut CustomerFacts<'_>,
    weighted_dpd: &mut Decimal,
    invoices: &mut Vec<InvoiceFacts<'a>>,
) {
    let as_of = ctx.as_of;
    let grace = promises.grace;
    let dpd = (as_of - inv.due_date).num_days() as i32;
    let covering = promises.each().filter(|(_, p)| p.invoice == Some(i) && p.made_on <= as_of);
    let (mut active, mut broken) = (false, false);
    for (k, p) in covering {
        let kept = promises.paid(k, p) >= p.amount;
        if !kept && p.due_on + grace < as_of {
            broken = true;
        } else if !kept {
            active = true;
        }
    }
    let disputed = inv.is_disputed();
    // (`money::add`: `+=`'s sums, on a short path.)
    crate::money::add(&mut f.open_total, inv.open_amount);
    f.open_count += 1;
    f.oldest_due_date = Some(f.oldest_due_date.map_or(inv.due_date, |d| d.min(inv.due_date)));
    if disputed {
        crate::money::add(&mut f.disputed_total, inv.open_amount);
        f.open_disputes += 1;
    }
    if dpd > 0 {
        crate::money::add(&mut f.overdue_total, inv.open_amount);
        f.overdue_count += 1;
        f.max_days_past_due = f.max_days_past_due.max(dpd);
        if ctx.weighted_dpd {
            *weighted_dpd += inv.open_amount * Decimal::from(dpd);
        }
    } else {
        crate::money::add(&mut f.current_total, inv.open_amount);
    }
    invoices.push(InvoiceFacts {
        invoice: inv,
        ix: i,
        days_past_due: dpd,
        days_to_due: -dpd,
        days_since_issue: (as_of - inv.issue_date).num_days() as i32,
        bucket: ctx.config.bucket(dpd) as u8,
        disputed,
        promise_active: active,
        promise_broken: broken,
        paid_amount: inv.amount - inv.open_amount,
        credit_applied: Decimal::ZERO,
    });
}

/// A customer's promises, each with what its own window holds
/// ([`promise_paid`]): computed on each read, or read from the facts
/// cache's memo of them.
pub(crate) struct Promises<'l, 'm> {
    ledger: &'l Ledger,
    c: CustIx,
    /// The customer's promise rows, looked up once (they are read for each
    /// open invoice, and most customers have none).
    rows: &'l [u32],
    grace: chrono::Duration,
    /// By the promise's position among the customer's promise rows.
    memo: Option<&'m [Decimal]>,
}

impl<'l, 'm> Promises<'l, 'm> {
    pub(crate) fn new(ledger: &'l Ledger, c: CustIx, ctx: &Context, memo: Option<&'m [Decimal]>) -> Self {
        let rows = ledger.promises_by_customer.rows(c);
        Promises { ledger, c, rows, grace: chrono::Duration::days(i64::from(ctx.config.promise_grace_days)), memo }
    }

    /// The customer's promises with their positions, in row order.
    fn each(&self) -> impl Iterator<Item = (usize, &'l crate::ledger::Promise)> + use<'l> {
        let ledger = self.ledger;
        self.rows.iter().map(move |&p| &ledger.promises[p as usize]).enumerate()
    }

    /// What the `k`th promise `p`'s own window holds.
    fn paid(&self, k: usize, p: &crate::ledger::Promise) -> Decimal {
        match self.memo.and_then(|m| m.get(k)) {
            Some(&paid) => paid,
            None => promise_paid(self.ledger, self.c, p, self.grace),
        }
    }
}

/// The payments that keep promise `p` of customer `c`: those applied to its
/// invoice (the customer's, for a promise on the account) dated from the day
/// it was made to its due date plus `grace`. A function of the payment rows
/// alone (not of the as-of date).
pub(crate) fn promise_paid(ledger: &Ledger, c: CustIx, p: &crate::ledger::Promise, grace: chrono::Duration) -> Decimal {
    match p.invoice {
        Some(i) => paid_between(ledger, i, p.made_on, p.due_on + grace),
        None => customer_paid_between(ledger, c, p.made_on, p.due_on + grace),
    }
}

/// Payments applied to invoice `i` dated within `[from, to]`.
#[inline]
fn paid_between(ledger: &Ledger, i: u32, from: NaiveDate, to: NaiveDate) -> Decimal {
    ledger
        .payments_by_invoice
        .rows(i)
        .iter()
        .map(|&p| &ledger.payments[p as usize])
        .filter(|p| p.paid_on >= from && p.paid_on <= to)
        .map(|p| p.amount)
        .sum()
}

/// Payments of the customer dated within `[from, to]` (for promises not tied to one invoice).
fn customer_paid_between(ledger: &Ledger, c: CustIx, from: NaiveDate, to: NaiveDate) -> Decimal {
    ledger
        .payments_by_customer
        .rows(c)
        .iter()
        .map(|&p| &ledger.payments[p as usize])
        .filter(|p| p.paid_on >= from && p.paid_on <= to)
        .map(|p| p.amount)
        .sum()
}

fn promise_facts(ledger: &Ledger, promises: &Promises<'_, '_>, ctx: &Context, f: &mut CustomerFacts<'_>) {
    let as_of = ctx.as_of;
    let grace = promises.grace;
    // Single promises: each is kept by the payments made for it.
    for (k, p) in promises.each().filter(|(_, p)| p.made_on <= as_of && p.plan_id.is_none()) {
        let kept = promises.paid(k, p) >= p.amount;
        let due_passed = p.due_on + grace < as_of;
        if !kept && due_passed && p.due_on > ctx.behaviour_from {
            f.promises_broken += 1;
        } else if !kept && !due_passed {
            f.promises_active += 1;
            f.promised_amount += p.amount;
        }
    }
    // Payment plans: instalments are checked cumulatively — by each
    // instalment's due date (plus grace) the customer must have paid, since
    // the plan was agreed, the sum of the instalments due so far — so one
    // payment never keeps two instalments.
    let mut plans: std::collections::BTreeMap<&str, Vec<&crate::ledger::Promise>> = std::collections::BTreeMap::new();
    for (_, p) in promises.each().filter(|(_, p)| p.made_on <= as_of) {
        if let Some(plan) = &p.plan_id {
            plans.entry(plan.as_str()).or_default().push(p);
        }
    }
    for instalments in plans.values_mut() {
        instalments.sort_by_key(|p| p.due_on);
        let start = instalments.iter().map(|p| p.made_on).min().unwrap_or(as_of);
        let (mut due_so_far, mut broken, mut to_come) = (Decimal::ZERO, false, false);
        for p in instalments.iter() {
            due_so_far += p.amount;
            let deadline = p.due_on + grace;
            if deadline < as_of {
                let paid = match p.invoice {
                    Some(i) => paid_between(ledger, i, start, deadline),
                    None => customer_paid_between(ledger, f.ix, start, deadline),
                };
                if paid < due_so_far {
                    broken = true;
                    f.promises_broken += u32::from(p.due_on > ctx.behaviour_from);
                }
            } else {
                to_come = true;
                f.promises_active += 1;
                f.promised_amount += p.amount;
            }
        }
        f.plan_active |= to_come && !broken;
    }
}

fn action_facts<'a>(
    ledger: &'a Ledger,
    c: CustIx,
    as_of: NaiveDate,
    per_invoice: &PerInvoiceRules,
    f: &mut CustomerFacts<'a>,
) {
    let mut fold = ActionFold::default();
    let acts = ledger.acts.rows(c);
    // Contacts of the last 90 days: the rows the message counts look at.
    let since = as_of - chrono::Duration::days(90);
    let contact = |a: &Act| a.is_contact() && a.executed_on.is_some_and(|d| d > since);
    let mut messages = Messages::new(&ledger.actions, acts, as_of, per_invoice);
    for (pos, a) in acts.iter().enumerate() {
        let Some(done) = a.executed_on.filter(|&d| d <= as_of) else { continue };
        if !a.was_executed() {
            continue;
        }
        let age = (as_of - done).num_days();
        // One contact per message, however many invoice rows it has.
        if a.is_contact() && age < 90 && messages.is_first(pos, contact) {
            f.contacts_7d += u32::from(age < 7);
            f.contacts_30d += u32::from(age < 30);
            f.contacts_90d += 1;
            f.calls_7d += u32::from(age < 7 && a.action == ActionKind::Call);
            if a.outcome.is_some_and(Outcome::is_failed_attempt) {
                f.failed_contacts_30d += u32::from(age < 30);
                f.failed_contacts_90d += 1;
            }
        }
        fold.add(a, done);
    }
    fold.finish(ledger, as_of, f);
}

/// What an action history gives besides the message counts, added row by
/// row (in row order: the last step, the hold and the last email's fate go to
/// the later row of two on the same day): the executed rows up to the as-of
/// date.
#[derive(Debug, Clone, Default)]
struct ActionFold {
    last_contact: Option<NaiveDate>,
    last_conversation: Option<NaiveDate>,
    /// Date of the latest email whose fate is known, and whether it bounced.
    last_email: Option<(NaiveDate, bool)>,
    /// The days with a call not answered after `last_conversation`, sorted
    /// and distinct (empty for most customers: no allocation).
    unanswered: Vec<NaiveDate>,
    /// Date and row (in `ledger.actions`) of the last dunning step.
    last_step: Option<(NaiveDate, u32)>,
    hold: Option<(NaiveDate, bool)>,
    referred: bool,
}

impl ActionFold {
    /// Add executed row `a`, executed on `done`.
    #[inline(always)]
    fn add(&mut self, a: &Act, done: NaiveDate) {
        let row = a.row;
        if a.is_contact() {
            self.last_contact = self.last_contact.max(Some(done));
        }
        if a.action == ActionKind::Call {
            match a.outcome {
                Some(o) if o.is_conversation() => {
                    self.last_conversation = self.last_conversation.max(Some(done));
                    self.unanswered.retain(|&d| d > done);
                }
                Some(Outcome::NoAnswer) if self.last_conversation.is_none_or(|c| done > c) => {
                    if let Err(at) = self.unanswered.binary_search(&done) {
                        self.unanswered.insert(at, done);
                    }
                }
                _ => {}
            }
        }
        if a.action == ActionKind::Email || (a.action.is_contact() && a.channel == Some(Channel::Email)) {
            let fate = match a.outcome {
                Some(Outcome::Bounced) => Some(true),
                Some(o) if o.reached() => Some(false),
                _ => None,
            };
            if let Some(bounced) = fate
                && self.last_email.is_none_or(|(d, _)| done >= d)
            {
                self.last_email = Some((done, bounced));
            }
        }
        if a.action.is_referral() {
            self.referred = true;
        }
        if is_dunning(a.action) && self.last_step.is_none_or(|(d, _)| done >= d) {
            self.last_step = Some((done, row));
        }
        match a.action {
            ActionKind::CreditHold if self.hold.is_none_or(|(d, _)| done >= d) => self.hold = Some((done, true)),
            ActionKind::ReleaseHold if self.hold.is_none_or(|(d, _)| done >= d) => self.hold = Some((done, false)),
            _ => {}
        }
    }

    #[inline]
    fn finish<'a>(&self, ledger: &'a Ledger, as_of: NaiveDate, f: &mut CustomerFacts<'a>) {
        f.referred |= self.referred;
        if let Some((_, held)) = self.hold {
            f.on_hold = held;
        }
        // A hold on the group (its head's customers.csv flag) holds its members.
        if let Some(p) = f.customer.group
            && ledger.customers.get(p as usize).is_some_and(|g| g.on_hold)
        {
            f.on_hold = true;
            f.group_held = true;
        }
        f.days_since_contact = date_or_never(self.last_contact, as_of);
        f.days_since_conversation = date_or_never(self.last_conversation, as_of);
        f.last_conversation_date = self.last_conversation;
        f.email_bounced = self.last_email.is_some_and(|(_, bounced)| bounced);
        f.consecutive_unanswered_calls = u32::try_from(self.unanswered.len()).unwrap_or(u32::MAX);
        if let Some((d, row)) = self.last_step {
            // Its row is read only if its rule id is (few policies do).
            f.last_step = LastStep(ledger.actions.get(row as usize));
            f.last_step_date = Some(d);
            f.days_since_step = date_or_never(Some(d), as_of);
        }
    }
}

/// Rule ids whose actions are one message per invoice: the steps of a
/// policy's `grouping = "invoice"` ladders, which send one message for each
/// invoice. Their rows in actions.csv look like the rows of one message
/// listing several invoices (same rule, action, channel and days), so only
/// the policy can tell them apart: [`same_message`] counts their rows of
/// different invoices as different messages. A step id used both by a
/// per-invoice and a customer-grouped ladder counts per invoice in both
/// (never fewer contacts than were sent). Empty (the default, and
/// `recoup facts`, which reads no policy): every rule's rows group into
/// messages.
///
/// It also holds the steps of `advance = "each_invoice"` ladders (the
/// *merged* rules, [`PerInvoiceRules::with_merged`]): every invoice of a
/// customer at its own step, the invoices of one channel sent as one
/// message. Their rows of one day and channel are one message whatever
/// their rule and invoice.
#[derive(Debug, Clone, Default)]
pub struct PerInvoiceRules(Vec<Box<str>>, Vec<u32>, Vec<Box<str>>, Vec<u32>);

/// The same set: the same symbols, or (for a symbol that does not stand for
/// its text) the same texts. Compared on every evaluation of the simulation
/// (the facts cache's): no text compared in the common case.
impl PartialEq for PerInvoiceRules {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.1, &other.1);
        let same = |a: &[u32], b: &[u32], x: &[Box<str>], y: &[Box<str>]| {
            a.len() == b.len()
                && a.iter().zip(b).all(|(p, q)| p == q)
                && (a.last() != Some(&RuleId::UNNUMBERED) || x == y)
        };
        same(a, b, &self.0, &other.0) && same(&self.3, &other.3, &self.2, &other.2)
    }
}

impl Eq for PerInvoiceRules {}

impl PerInvoiceRules {
    /// The set of `rules` (any order, duplicates allowed).
    pub fn new<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> Self {
        let (v, syms) = Self::set(rules);
        PerInvoiceRules(v, syms, Vec::new(), Vec::new())
    }

    /// The names, sorted and distinct, and their symbols ([`RuleId::sym`]), for rows compared by symbol.
    fn set<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> (Vec<Box<str>>, Vec<u32>) {
        let mut v: Vec<Box<str>> = rules.into_iter().map(|r| r.as_ref().into()).collect();
        v.sort_unstable();
        v.dedup();
        let mut syms: Vec<u32> = v.iter().map(|r| RuleId::new(r).sym()).collect();
        syms.sort_unstable();
        (v, syms)
    }

    /// With the merged rules `rules`: the steps of `advance = "each_invoice"`
    /// ladders, whose rows of one day and channel are one message.
    pub fn with_merged<S: AsRef<str>>(mut self, rules: impl IntoIterator<Item = S>) -> Self {
        (self.2, self.3) = Self::set(rules);
        self
    }

    /// Is `rule` a merged one ([`Self::with_merged`])?
    pub fn merges(&self, rule: &str) -> bool {
        !self.2.is_empty() && self.2.binary_search_by(|r| (**r).cmp(rule)).is_ok()
    }

    /// [`merges`](Self::merges) for the rule id of row `a`.
    fn merges_act(&self, a: &Act, actions: &[ActionRecord]) -> bool {
        if self.2.is_empty() {
            return false;
        }
        if a.sym != RuleId::UNNUMBERED {
            return self.3.binary_search(&a.sym).is_ok();
        }
        a.record(actions).is_some_and(|r| self.merges(&r.rule_id))
    }

    /// Is `rule` one whose actions are one message per invoice?
    pub fn contains(&self, rule: &str) -> bool {
        !self.0.is_empty() && self.0.binary_search_by(|r| (**r).cmp(rule)).is_ok()
    }

    /// [`contains`](Self::contains) for the rule id of row `a` (its text
    /// read from `actions` only for a symbol that does not stand for it).
    fn contains_act(&self, a: &Act, actions: &[ActionRecord]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        if a.sym != RuleId::UNNUMBERED {
            return self.1.binary_search(&a.sym).is_ok();
        }
        a.record(actions).is_some_and(|r| self.contains(&r.rule_id))
    }

    /// No rule counts per invoice, and none is merged.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.2.is_empty()
    }

    /// The rule ids, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| &**r)
    }
}

/// Do two rows of actions.csv record the same message? A message to a
/// customer that lists several invoices is recorded as one row per invoice
/// (as `recoup simulate` and `recoup generate` record a plan's action), and
/// its rows share the day it was decided and executed, the action, the
/// channel and the rule. Contact counts count messages, not rows. The rows
/// of a per-invoice rule ([`PerInvoiceRules`]) are one message per invoice:
/// two of its rows are the same message only if they are for the same
/// invoice too.
pub fn same_message(a: &ActionRecord, b: &ActionRecord, per_invoice: &PerInvoiceRules) -> bool {
    a.executed_on == b.executed_on
        && a.decided_on == b.decided_on
        && a.channel == b.channel
        && ((a.action == b.action
            && a.rule_id == b.rule_id
            && (a.invoice == b.invoice || !per_invoice.contains(&a.rule_id)))
            || (a.channel.is_some() && per_invoice.merges(&a.rule_id) && per_invoice.merges(&b.rule_id)))
}

/// [`same_message`] for the compact rows `a` and `b` of `actions`.
fn same_act_message(a: &Act, b: &Act, actions: &[ActionRecord], per_invoice: &PerInvoiceRules) -> bool {
    a.executed_on == b.executed_on
        && a.decided_on == b.decided_on
        && a.channel == b.channel
        && ((a.action == b.action
            && a.sym == b.sym
            && (a.sym != RuleId::UNNUMBERED
                || a.record(actions).map(|r| &r.rule_id) == b.record(actions).map(|r| &r.rule_id))
            && (a.invoice() == b.invoice() || !per_invoice.contains_act(a, actions)))
            || (a.channel.is_some() && per_invoice.merges_act(a, actions) && per_invoice.merges_act(b, actions)))
}

/// Which executed rows of a customer's action history are the first row of
/// their message ([`same_message`]), without allocating.
///
/// The rows of a message are normally adjacent, and a history in date order
/// (as runs append it) is the common case: a row is compared with the
/// previous row of interest, and when it differs, with the earlier rows of
/// the same execution date only. Rows out of date order are handled too, by
/// comparing with every earlier row of interest (slower, still exact).
pub struct Messages<'a> {
    /// Every action row (for the rule texts the compact rows leave out).
    actions: &'a [ActionRecord],
    acts: &'a [Act],
    as_of: NaiveDate,
    per_invoice: &'a PerInvoiceRules,
    /// Position in `acts` of the previous row of interest.
    prev: Option<usize>,
    /// Rows of interest so far are in non-decreasing execution date.
    sorted: bool,
}

impl<'a> Messages<'a> {
    /// For the rows `acts` (one customer's compact rows, `Ledger::acts`, of
    /// the rows `actions`) as of `as_of`, the rows of `per_invoice` rules one
    /// message per invoice.
    pub fn new(
        actions: &'a [ActionRecord],
        acts: &'a [Act],
        as_of: NaiveDate,
        per_invoice: &'a PerInvoiceRules,
    ) -> Self {
        Messages { actions, acts, as_of, per_invoice, prev: None, sorted: true }
    }

    /// Is `acts[pos]` the first row of its message? `keep` picks the rows of
    /// interest (e.g. contacts of the last 90 days), among which only the
    /// executed ones up to the as-of date count. Call it for every such row,
    /// in order, and for no other: the answer for a row depends on the rows
    /// of interest before it.
    pub fn is_first(&mut self, pos: usize, keep: impl Fn(&Act) -> bool) -> bool {
        let Some(a) = self.acts.get(pos) else { return false };
        let Some(p) = self.prev.replace(pos) else { return true };
        let Some(b) = self.acts.get(p) else { return true };
        if same_act_message(a, b, self.actions, self.per_invoice) {
            return false;
        }
        self.sorted &= b.executed_on <= a.executed_on;
        if self.sorted && b.executed_on < a.executed_on {
            return true;
        }
        let as_of = self.as_of;
        for b in self.acts[..p.min(self.acts.len())].iter().rev() {
            if !(keep(b) && b.was_executed() && b.executed_on.is_some_and(|d| d <= as_of)) {
                continue;
            }
            if self.sorted && b.executed_on < a.executed_on {
                break;
            }
            if same_act_message(a, b, self.actions, self.per_invoice) {
                return false;
            }
        }
        true
    }
}

/// Actions that are steps of a dunning ladder.
fn is_dunning(a: ActionKind) -> bool {
    a.is_contact() || a.is_referral() || a == ActionKind::CreditHold
}

/// Running sums for payment behaviour.
#[derive(Default)]
struct Behaviour {
    n: u32,
    on_time: u32,
    sum_late: i64,
    sum_to_pay: i64,
    /// Amount x days late and amount, of the amounts with more than two
    /// decimals (rare: the others are summed in `cents`).
    w_late: Decimal,
    w: Decimal,
    /// The same sums, in whole cents, of the amounts with at most two
    /// decimals, and the most decimals among them: integer additions instead
    /// of Decimal products, the same sums in the end (see `weights`).
    w_late_cents: i128,
    w_cents: i128,
    cents_scale: u32,
    recent: (i64, u32),
    prior: (i64, u32),
    /// Leave `weighted_days_late` at 0 ([`Context::weighted_late`] off).
    no_weights: bool,
}

impl Behaviour {
    /// Empty sums, with the weighted ones if `ctx` asks for them.
    fn of(ctx: &Context) -> Self {
        Behaviour { no_weights: !ctx.weighted_late, ..Behaviour::default() }
    }

    /// Add `amount` settled `late` days late to the weighted sums.
    #[inline(always)]
    fn add_weight(&mut self, amount: Decimal, late: i64) {
        let scale = amount.scale();
        if scale <= 2 {
            let cents = amount.mantissa() * if scale == 2 { 1 } else { 10i128.pow(2 - scale) };
            self.w_late_cents += cents * i128::from(late);
            self.w_cents += cents;
            self.cents_scale = self.cents_scale.max(scale);
        } else {
            self.w_late += amount * Decimal::from(late);
            self.w += amount;
        }
    }

    /// The sums of amount x days late and of amount, the same values as
    /// adding the Decimal products one by one, at the most decimals of an
    /// added amount (a Decimal sum that cancels to zero may keep fewer; the
    /// ratio is the same f64 either way: tested below).
    fn weights(&self) -> (Decimal, Decimal) {
        let dec = |cents: i128| {
            // Out of range only beyond 10^26 cents, where a Decimal product
            // would have overflowed first.
            let mut d = Decimal::try_from_i128_with_scale(cents, 2).unwrap_or_default();
            d.rescale(self.cents_scale);
            d
        };
        if self.w_cents == 0 && self.w_late_cents == 0 && self.cents_scale == 0 {
            return (self.w_late, self.w);
        }
        (self.w_late + dec(self.w_late_cents), self.w + dec(self.w_cents))
    }

    #[inline(always)]
    fn add(&mut self, inv: &Invoice, settled: NaiveDate, recent: bool) {
        let late = (settled - inv.due_date).num_days();
        self.add_settled(late, (settled - inv.issue_date).num_days(), inv.amount, recent);
    }

    /// Add an invoice of `amount` settled `late` days after its due date and
    /// `to_pay` days after its issue date.
    #[inline(always)]
    fn add_settled(&mut self, late: i64, to_pay: i64, amount: Decimal, recent: bool) {
        self.n += 1;
        self.on_time += u32::from(late <= 0);
        self.sum_late += late;
        self.sum_to_pay += to_pay;
        if !self.no_weights {
            self.add_weight(amount, late);
        }
        let bucket = if recent { &mut self.recent } else { &mut self.prior };
        bucket.0 += late;
        bucket.1 += 1;
    }

    #[inline(always)]
    fn finish(&self, f: &mut CustomerFacts<'_>) {
        f.paid_invoices = self.n;
        if self.n == 0 {
            return;
        }
        let n = f64::from(self.n);
        f.avg_days_late = self.sum_late as f64 / n;
        f.avg_days_to_pay = self.sum_to_pay as f64 / n;
        f.on_time_ratio = f64::from(self.on_time) / n;
        if !self.no_weights {
            let (w_late, w) = self.weights();
            if !w.is_zero() {
                f.weighted_days_late = (w_late / w).to_f64().unwrap_or(0.0);
            }
        }
        if self.recent.1 > 0 && self.prior.1 > 0 {
            f.trend = self.recent.0 as f64 / f64::from(self.recent.1) - self.prior.0 as f64 / f64::from(self.prior.1);
        }
    }
}

/// Derive every customer's facts in parallel and apply `f` to each with its
/// invoice facts; results come back in customer order.
pub fn map_customers<T: Send>(
    ledger: &Ledger,
    ctx: &Context,
    f: impl Fn(&CustomerFacts<'_>, &[InvoiceFacts<'_>]) -> T + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    (0..ledger.customers.len() as u32)
        .into_par_iter()
        .map_init(Vec::new, |buf, c| {
            let cf = derive_customer(ledger, c, ctx, buf);
            f(&cf, buf)
        })
        .collect()
}

#[cfg(test)]
mod behaviour_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The weighted sums in cents are the Decimal sums and their ratio is
        /// the same f64, bit for bit (the Decimal sums' scale depends on the
        /// order of additions that cancel, the ratio does not), amounts of 0
        /// to 4 decimals mixed, days late positive, zero and negative.
        #[test]
        fn weights_in_cents_are_the_decimal_sums(
            rows in proptest::collection::vec((-10_000_000i64..10_000_000, 0u32..5, -400i64..400), 0..12)
        ) {
            let mut b = Behaviour::default();
            let (mut w_late, mut w) = (Decimal::ZERO, Decimal::ZERO);
            for &(m, scale, late) in &rows {
                let amount = Decimal::new(m, scale);
                b.add_weight(amount, late);
                w_late += amount * Decimal::from(late);
                w += amount;
            }
            let (got_late, got_w) = b.weights();
            prop_assert_eq!(got_late, w_late);
            prop_assert_eq!(got_w, w);
            if !w.is_zero() {
                prop_assert_eq!((got_late / got_w).to_f64().map(f64::to_bits), (w_late / w).to_f64().map(f64::to_bits));
            }
        }
    }

    /// Amounts that cancel: a zero ratio either way.
    #[test]
    fn cancelling_weights_match_the_decimal_sums() {
        let mut b = Behaviour::default();
        let (mut w_late, mut w) = (Decimal::ZERO, Decimal::ZERO);
        for (amount, late) in [(Decimal::new(150, 2), 5), (Decimal::new(150, 2), -5), (Decimal::new(-3, 1), 0)] {
            b.add_weight(amount, late);
            w_late += amount * Decimal::from(late);
            w += amount;
        }
        let (got_late, got_w) = b.weights();
        assert_eq!((got_late, got_w), (w_late, w));
        assert_eq!((got_late / got_w).to_f64().map(f64::to_bits), (w_late / w).to_f64().map(f64::to_bits));
        assert_eq!((got_late / got_w).to_f64(), Some(0.0));
    }
}

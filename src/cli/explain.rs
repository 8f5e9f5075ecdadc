//! `recoup explain`: one customer — its facts, every rule of its strategy in
//! order with its inputs and outcome, and the final actions. The trace comes
//! from the same evaluation `recoup run` performs, in trace mode.

use super::run::compiled_policy;
use super::{Exit, ExitError, Format, LedgerArgs, as_of_or_today, load_ledger};
use crate::engine::{Outcome, Trace, evaluate_customer};
use crate::facts::registry::Facts;
use crate::facts::{CustomerFacts, derive_customer};
use crate::plan::action_id;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy: a folder with policy.toml, or a .toml file.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// The customer to explain.
    #[arg(long, value_name = "ID")]
    pub customer: String,
    /// Text for people, or JSON (facts and trace) for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `recoup explain`.
pub fn run(a: ExplainArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    let policy = compiled_policy(&a.policy, true)?;
    let ledger = load_ledger(&a.ledger)?;
    let c = ledger.customer_ix(&a.customer).ok_or_else(|| super::unknown_customer(&ledger, &a.customer))?;
    let ctx = policy.context(as_of).with_groups(&ledger);
    let cal = ctx.calendar();
    let mut invoices = Vec::new();
    let cf = derive_customer(&ledger, c, &ctx, &mut invoices);
    // Every amount explain shows is in the customer's currency, with its minor units.
    let _scope = crate::money::Scope::enter(&cf.customer.currency);
    let mut trace = Trace::default();
    let result = evaluate_customer(&policy, &ledger, &cf, &invoices, &cal, Some(&mut trace));
    crate::plan::group_statement::note_actions(&mut trace, &ledger, &policy, &ctx, c);
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        // Facts by name, typed as the machine contract says (docs/output.md).
        let facts: serde_json::Map<String, serde_json::Value> = CustomerFacts::defs()
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.to_string(), super::facts::fact_json(cf.value(i))))
            .collect();
        let ids: Vec<String> = trace.actions.iter().map(|x| action_id(as_of, x)).collect();
        let mut doc = serde_json::json!({ "facts": facts, "trace": trace, "action_ids": ids });
        // A rule that failed: the trace up to it, and the error object in the
        // same document (one JSON document on stdout, docs/output.md).
        if let Err(e) = &result {
            let text = e.to_string();
            super::say!("{} {text}", super::style::error_word("error:"));
            if let (Some(obj), serde_json::Value::Object(err)) = (
                doc.as_object_mut(),
                super::error_json(Exit::Failed, &text, e.location.as_deref().map(super::parse_place).as_ref()),
            ) {
                obj.extend(err);
            }
        }
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        if result.is_err() {
            return Ok(Exit::Failed);
        }
    } else {
        print_text(&mut out, &cf, &trace)?;
    }
    match result {
        Ok(_) => Ok(Exit::Ok),
        Err(e) => Err(ExitError { code: Exit::Failed, message: e.to_string() }.into()),
    }
}

fn print_text(out: &mut dyn Write, cf: &CustomerFacts<'_>, t: &Trace) -> std::io::Result<()> {
    let c = cf.customer;
    let as_of = t.as_of.map(|d| d.to_string()).unwrap_or_default();
    writeln!(out, "customer {} ({}) as of {as_of}; amounts in {}", c.id, c.name, c.currency)?;
    writeln!(
        out,
        "  strategy {} ({} arm), ladder {}, pace {}, priority {:.2}",
        t.strategy.as_deref().unwrap_or("-"),
        t.arm,
        t.ladder.as_deref().unwrap_or("-"),
        t.pace.map(|p| format!("{p:?}").to_lowercase()).unwrap_or_else(|| "-".into()),
        t.priority
    )?;
    writeln!(out, "\nfacts:")?;
    let cells: Vec<String> =
        CustomerFacts::defs().iter().enumerate().map(|(i, d)| format!("{} = {}", d.name, cf.value(i))).collect();
    for row in cells.chunks(3) {
        let line: Vec<String> = row.iter().map(|s| format!("{s:<38}")).collect();
        writeln!(out, "  {}", line.join("").trim_end())?;
    }
    if !t.invoices.is_empty() {
        writeln!(out, "\nopen invoices:")?;
        for i in &t.invoices {
            writeln!(
                out,
                "  {:<14} {:>5} days past due {:>14}  {}{}",
                i.id,
                i.days_past_due,
                crate::money::json::text(i.open_amount),
                if i.eligible { "in dunning" } else { "not dunned" },
                if i.note.is_empty() { String::new() } else { format!(": {}", i.note) }
            )?;
        }
    }
    writeln!(out, "\nrules, in order:")?;
    for r in &t.rules {
        let mark = match r.outcome {
            Outcome::Fired => "fired     ",
            Outcome::NotFired => "not fired ",
            Outcome::Suppressed => "suppressed",
            Outcome::Overridden => "overridden",
            Outcome::Skipped => "skipped   ",
        };
        let by = r.guardrail.as_deref().map(|g| format!(" [guardrail {g}]")).unwrap_or_default();
        writeln!(out, "  {mark} {} `{}`: {}{by}", r.kind.words(), r.rule_id, r.detail)?;
        if !r.inputs.is_empty() {
            let inputs: Vec<String> = r.inputs.iter().map(|f| format!("{} = {}", f.name, f.value)).collect();
            writeln!(out, "             read {}", inputs.join(", "))?;
        }
    }
    writeln!(out, "\nactions:")?;
    if t.actions.is_empty() {
        writeln!(out, "  none")?;
    }
    for a in &t.actions {
        writeln!(
            out,
            "  {} `{}` {}: {}",
            a.action.as_str(),
            a.rule_id,
            crate::money::json::text(a.amount_due),
            a.reason
        )?;
    }
    if let Some(e) = &t.error {
        writeln!(out, "\nerror: {e}")?;
    }
    Ok(())
}

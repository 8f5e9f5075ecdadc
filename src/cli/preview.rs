//! `recoup preview`: the messages one customer would receive today — the
//! same evaluation and rendering as `recoup run`, printed instead of written.

use super::run::compiled_policy;
use super::{Exit, ExitError, LedgerArgs, as_of_or_today, load_ledger};
use crate::plan::{PlanEntry, action_id};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The policy: a folder with policy.toml and its templates.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// The customer whose messages to show.
    #[arg(long, value_name = "ID")]
    pub customer: String,
}

/// Run `recoup preview`.
pub fn run(a: PreviewArgs) -> anyhow::Result<Exit> {
    let as_of = as_of_or_today(a.ledger.as_of);
    let policy = compiled_policy(&a.policy, true)?;
    let ledger = load_ledger(&a.ledger)?;
    let c = ledger.customer_ix(&a.customer).ok_or_else(|| super::unknown_customer(&ledger, &a.customer))?;
    // The policy's facts settings (`[kpis]`, per-invoice rules, net or gross), as run and explain use them.
    let ctx = policy.context(as_of).with_groups(&ledger);
    let mut invoices = Vec::new();
    let cf = crate::facts::derive_customer(&ledger, c, &ctx, &mut invoices);
    let actions = crate::engine::evaluate_customer(&policy, &ledger, &cf, &invoices, &ctx.calendar(), None)
        .map_err(|e| ExitError { code: Exit::Failed, message: e.to_string() })?;
    let entries: Vec<PlanEntry> =
        actions.into_iter().map(|action| PlanEntry { action_id: action_id(as_of, &action), action }).collect();
    let rendered = crate::render::render_plan(&entries, &ledger, &policy, as_of);
    let mut out = std::io::stdout().lock();
    let cust = &ledger.customers[c as usize];
    writeln!(out, "customer {} ({}) as of {as_of}: {} action(s)", cust.id, cust.name, entries.len())?;
    let mut failed = false;
    for (k, e) in entries.iter().enumerate() {
        let a = &e.action;
        let ch = a.channel.map_or(String::new(), |c| format!(" by {c}"));
        writeln!(out, "\n== {} {}{ch} ({} `{}`)", e.action_id, a.action, a.rule_kind.as_str(), a.rule_id)?;
        if let Some(why) = &a.undeliverable {
            writeln!(out, "   undeliverable: {why}")?;
            continue;
        }
        match rendered.iter().find(|r| r.entry == k).map(|r| &r.message) {
            None => writeln!(out, "   no message (not sent to the customer, or no template)")?,
            Some(Err(e)) => {
                failed = true;
                writeln!(out, "   cannot render: {e}")?;
            }
            Some(Ok(m)) => {
                let to = match m.channel {
                    crate::ledger::Channel::Email => cust.email.as_deref().unwrap_or("").to_string(),
                    crate::ledger::Channel::Sms | crate::ledger::Channel::Call => {
                        cust.phone.as_deref().and_then(crate::engine::contact::e164).unwrap_or_default()
                    }
                    crate::ledger::Channel::Letter => {
                        let k = &cust.contact;
                        [&k.contact_name, &k.address_line1, &k.address_line2, &k.postcode, &k.city]
                            .into_iter()
                            .flatten()
                            .map(|s| s.as_str())
                            .chain([cust.country.as_str()])
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                writeln!(out, "   to: {to} (language {})", m.language)?;
                if let Some(s) = &m.subject {
                    writeln!(out, "   subject: {s}")?;
                }
                writeln!(out)?;
                for line in m.text.lines() {
                    if line.is_empty() { writeln!(out)? } else { writeln!(out, "   {line}")? }
                }
            }
        }
    }
    if failed {
        return Err(ExitError { code: Exit::Failed, message: "some messages could not be rendered".into() }.into());
    }
    Ok(Exit::Ok)
}

//! Validation: from the policy as written ([`super::raw`]) to resolved rules
//! ([`super::compile::Rules`]). Ids are resolved, defaults applied, every
//! expression checked (syntax, facts, functions, type), and the ladder
//! checked as a whole (order, overlaps, steps that can never fire, referrals
//! placed before the dunning they should follow). Errors and warnings are
//! collected in one pass; nothing stops at the first problem.

use super::compile::{
    Amount, Basis, Challenger, Cost, Costs, Guardrails, Incentive, Interest, KindDecl, Ladder, LimitRule, Meta, Notify,
    PaymentPlan, Priority, Repeat, Reporting, Review, Rules, Step, Strategy,
};
use super::diag::{Code, Diagnostic, FileId, StringMap, closest, did_you_mean};
use super::expr::{Expression, FactRef, Ty, fact_access, lower, root_expr, static_type};
use super::raw::{
    Advance, AgeFrom, CostValue, Every, Grouping, InvoiceSet, LimitChange, MoneyValue, Num, OnError, Pace, RawAction,
    RawChannel, RawCosts, RawLimit, RawPolicy, RawRiskClass, RawStep, Regime, Removed, Sp, StepAction, Trigger,
};
use super::script::{Allowed, Loc, Scripts, expand_call};
use crate::facts::CustomerFacts;
use crate::facts::registry::{FactType, Facts, Scope};
use crate::ledger::{ActionKind, Channel, RiskClass, is_kind_name};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

/// What validation needs besides the raw policy.
pub struct Ctx<'a> {
    pub file: FileId,
    pub text: &'a str,
    /// The policy's template folder, when it exists, with the template names in it.
    pub templates: Option<(PathBuf, Vec<String>)>,
    pub scripts: &'a Scripts,
    pub removed: &'a Removed,
}

struct V<'a> {
    ctx: &'a Ctx<'a>,
    diags: Vec<Diagnostic>,
    /// `[amounts]`, read first: expressions name them.
    named: Vec<(String, Amount)>,
    /// `[kinds.*]`, read first: steps name them.
    kinds: Vec<KindDecl>,
}

impl V<'_> {
    fn at(&self, span: &Range<usize>) -> (FileId, Range<usize>) {
        (self.ctx.file, span.clone())
    }
    fn error(&mut self, code: Code, msg: String, span: &Range<usize>) -> &mut Diagnostic {
        let (f, r) = self.at(span);
        self.diags.push(Diagnostic::error(code, msg).at(f, r));
        let n = self.diags.len() - 1;
        &mut self.diags[n]
    }
    fn warning(&mut self, code: Code, msg: String, span: &Range<usize>) -> &mut Diagnostic {
        let (f, r) = self.at(span);
        self.diags.push(Diagnostic::warning(code, msg).at(f, r));
        let n = self.diags.len() - 1;
        &mut self.diags[n]
    }
    /// Was `key` (or a key close to it: a typo reported as unknown) removed
    /// from this table because it did not read? Then it is already reported.
    fn was_removed(&self, table: &Range<usize>, key: &str) -> bool {
        self.ctx.removed.iter().any(|(start, k)| *start == table.start && (k == key || closest(k, [key]).is_some()))
    }
    /// A required key: report it missing (unless it was already reported as bad).
    fn required<'v, T>(
        &mut self,
        v: &'v Option<Sp<T>>,
        key: &str,
        table: &Range<usize>,
        what: &str,
    ) -> Option<&'v Sp<T>> {
        if v.is_none() && !self.was_removed(table, key) {
            self.error(Code::MissingKey, format!("missing `{key}` in {what}"), table);
        }
        v.as_ref()
    }
    fn id(&mut self, v: &Option<Sp<String>>, table: &Range<usize>, kind: &str, n: usize) -> String {
        match self.required(v, "id", table, &format!("{kind} #{}", n + 1)) {
            Some(id) => {
                let ok =
                    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if !ok {
                    self.error(Code::InvalidValue, format!("{kind} id `{}` is not a valid id", id.value), &id.span)
                        .help = Some("ids are recorded in actions.csv: use letters, digits, `-`, `_` and `.`".into());
                }
                id.value.clone()
            }
            None => format!("#{}", n + 1),
        }
    }
    fn nonneg(&mut self, v: &Option<Sp<Num>>, key: &str, what: &str) -> Option<Decimal> {
        let v = v.as_ref()?;
        if v.value.0 < Decimal::ZERO {
            self.error(Code::InvalidValue, format!("`{key}` of {what} is negative: `{}`", v.value.0), &v.span);
        }
        Some(v.value.0)
    }
    /// A policy amount: one, or one per currency (3-letter codes), none negative.
    fn money(&mut self, v: &Option<Sp<MoneyValue>>, key: &str, what: &str) -> Option<Amount> {
        let v = v.as_ref()?;
        match &v.value {
            MoneyValue::One(d) => {
                if *d < Decimal::ZERO {
                    self.error(Code::InvalidValue, format!("`{key}` of {what} is negative: `{d}`"), &v.span);
                }
                Some(Amount::one(*d))
            }
            MoneyValue::PerCurrency(by) => {
                if by.is_empty() {
                    self.error(Code::InvalidValue, format!("`{key}` of {what} gives no currency"), &v.span).help =
                        Some("write one amount, or one per currency: { USD = \"25.00\", GBP = \"20.00\" }".into());
                }
                for (code, d) in by {
                    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                        self.error(
                            Code::InvalidValue,
                            format!("`{key}` of {what}: `{}` is not a 3-letter currency code", code.escape_debug()),
                            &v.span,
                        )
                        .help = Some("use ISO 4217 codes in capitals, such as USD, EUR, GBP".into());
                    }
                    if *d < Decimal::ZERO {
                        self.error(
                            Code::InvalidValue,
                            format!("`{key}` of {what} is negative for {code}: `{d}`"),
                            &v.span,
                        );
                    }
                }
                Some(Amount { one: None, by: by.iter().map(|(c, d)| (c.clone(), *d)).collect() })
            }
        }
    }
    /// The kind a step's `action` names: a built-in step action or a kind
    /// of `[kinds]`; an error with the closest name otherwise.
    fn step_action(&mut self, a: &Sp<RawAction>, what: &str) -> Option<ActionKind> {
        let word = a.value.0.as_str();
        if let Some(k) = StepAction::of(word) {
            return Some(step_action(k));
        }
        if let Some(d) = self.kinds.iter().find(|d| d.kind.as_str() == word) {
            return Some(d.kind);
        }
        let names: Vec<&str> =
            StepAction::ALL.iter().map(|x| x.0).chain(self.kinds.iter().map(|d| d.kind.as_str())).collect();
        let help = did_you_mean(word, names.iter().copied()).unwrap_or_else(|| {
            format!(
                "a step's action is one of {}, or a kind the policy declares as `[kinds.{}]` (docs/policy.md)",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                if is_kind_name(word) { word } else { "<name>" }
            )
        });
        let place = what.strip_prefix("step ").unwrap_or(what);
        self.error(
            Code::InvalidValue,
            format!("unknown value `{}` for `action` in [[ladder.step]] {place}", word.escape_debug()),
            &a.span,
        )
        .help = Some(help);
        None
    }
    fn template(&mut self, t: &Option<Sp<String>>, table: &Range<usize>, what: &str, needed: bool) -> Option<String> {
        match t {
            None if needed => {
                self.error(Code::MissingTemplate, format!("{what} sends a message but names no `template`"), table)
                    .help = Some("add `template = \"...\"`: the mailer needs to know which message to send".into());
                None
            }
            None => None,
            Some(t) if !is_plain_name(&t.value) => {
                self.error(
                    Code::InvalidValue,
                    format!("template `{}` of {what} is not a plain file name", t.value.escape_debug()),
                    &t.span,
                )
                .help = Some(
                    "name a file of the templates folder, without `/`, `\\` or `..`: the mailer must not be sent outside it"
                        .into(),
                );
                None
            }
            Some(t) => {
                if let Some((dir, names)) = &self.ctx.templates
                    && !names.iter().any(|n| n == &t.value)
                {
                    let help = did_you_mean(&t.value, names.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("add a file `{}` to {}", t.value, dir.display()));
                    self.error(
                        Code::MissingTemplate,
                        format!("template `{}` of {what} is not in {}", t.value, dir.display()),
                        &t.span,
                    )
                    .help = Some(help);
                }
                Some(t.value.clone())
            }
        }
    }
    /// Check and compile an expression; report problems and return `None` on error.
    /// One that reads per-currency `amounts.<name>` gets a variant per currency.
    fn expr(&mut self, v: &Option<Sp<String>>, allowed: Allowed, what: &str, want: Want) -> Option<Expression> {
        let v = v.as_ref()?;
        let loc = Loc { file: self.ctx.file, span: v.span.clone(), map: StringMap::new(self.ctx.text, v.span.clone()) };
        let src = match want {
            Want::Number => expand_call(&v.value),
            Want::Bool => v.value.clone(),
        };
        let refs = amount_refs(&src);
        if refs.is_empty() {
            return self.expr_text(src, &v.span, &loc, allowed, what, want);
        }
        let mut used: Vec<(String, Amount)> = Vec::new();
        for r in &refs {
            match self.named.iter().find(|(n, _)| *n == r.name) {
                Some((n, a)) => {
                    if !used.iter().any(|(u, _)| u == n) {
                        used.push((n.clone(), a.clone()));
                    }
                }
                None => {
                    let (line, col) = line_col(&src, r.at);
                    let names: Vec<&str> = self.named.iter().map(|(n, _)| n.as_str()).collect();
                    let help = did_you_mean(&r.name, names.iter().copied()).unwrap_or_else(|| {
                        if names.is_empty() {
                            "name the amount in an [amounts] table: `[amounts]` then `big_debt = \"5000.00\"`".into()
                        } else {
                            format!(
                                "the policy's [amounts] are {}",
                                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                            )
                        }
                    });
                    let range = loc.map.range(line, col, r.len);
                    self.error(Code::UnknownFact, format!("unknown amount `amounts.{}` in {what}", r.name), &range)
                        .help = Some(help);
                }
            }
        }
        if used.len() < refs.iter().map(|r| &r.name).collect::<std::collections::BTreeSet<_>>().len() {
            return None;
        }
        // The currencies some amount it reads is given in; none: every amount is one value.
        let mut codes: Vec<&String> = used.iter().flat_map(|(_, a)| a.by.iter().map(|(c, _)| c)).collect();
        codes.sort();
        codes.dedup();
        let write = |code: Option<&str>| -> Option<String> {
            let mut out = String::with_capacity(src.len());
            let mut last = 0;
            for r in &refs {
                let a = &used.iter().find(|(n, _)| *n == r.name)?.1;
                let d = match code {
                    Some(c) => a.get(c)?,
                    None => a.one.or_else(|| a.by.first().map(|x| x.1))?,
                };
                let mut lit = d.to_string();
                if !lit.contains('.') {
                    lit.push_str(".0");
                }
                // Padded to the reference's width, so that positions after it stay where they were written.
                let width = r.len.max(lit.len());
                out.push_str(&src[last..r.at]);
                out.push_str(&format!("{lit:<width$}"));
                last = r.at + r.len;
            }
            out.push_str(&src[last..]);
            Some(out)
        };
        // Checked once, with the first values: every variant has the same shape.
        let mut e = self.expr_text(write(None)?, &v.span, &loc, allowed, what, want)?;
        e.src = src.clone();
        e.amounts = used.iter().map(|(n, _)| n.clone()).collect();
        if codes.is_empty() {
            return Some(e);
        }
        let mut by = Vec::new();
        for code in codes {
            let Some(text) = write(Some(code)) else { continue };
            if let Ok((ast, reads)) = self.ctx.scripts.expression(&text, &loc, allowed, what) {
                let ty = root_expr(&ast).as_ref().and_then(lower).map(|(_, t)| t);
                let x = Expression {
                    src: src.clone(),
                    file: self.ctx.file,
                    map: loc.map.clone(),
                    ast,
                    reads,
                    native: None,
                    ty,
                    per_currency: None,
                    amounts: Vec::new(),
                };
                by.push((code.clone(), x));
            }
        }
        let names = used.iter().filter(|(_, a)| !a.is_single()).map(|(n, _)| n.clone()).collect();
        e.per_currency = Some(Box::new(super::expr::PerCurrency { by, names }));
        Some(e)
    }

    fn expr_text(
        &mut self,
        src: String,
        span: &Range<usize>,
        loc: &Loc,
        allowed: Allowed,
        what: &str,
        want: Want,
    ) -> Option<Expression> {
        let v = Sp { span: span.clone(), value: () };
        match self.ctx.scripts.expression(&src, loc, allowed, what) {
            Ok((ast, reads)) => {
                let ty = root_expr(&ast).as_ref().and_then(lower).map(|(_, t)| t);
                let bad = match (want, ty) {
                    (Want::Bool, Some(t)) if t != Ty::Bool => Some(t),
                    (Want::Number, Some(t @ (Ty::Bool | Ty::Str))) => Some(t),
                    _ => None,
                };
                if let Some(t) = bad {
                    let (need, help) = match want {
                        Want::Bool => ("true or false", "compare it, e.g. `customer.overdue_total > 1000`"),
                        Want::Number => ("a number", "a score is a number, e.g. `customer.overdue_total * 0.01`"),
                    };
                    self.error(Code::ExpressionType, format!("{what} gives {}, not {need}", t.words()), &v.span).help =
                        Some(help.into());
                    return None;
                }
                if !self.lint(&ast, loc, what) {
                    return None;
                }
                Some(Expression {
                    src,
                    file: self.ctx.file,
                    map: loc.map.clone(),
                    ast,
                    reads,
                    native: None,
                    ty,
                    per_currency: None,
                    amounts: Vec::new(),
                })
            }
            Err(ds) => {
                self.diags.extend(ds);
                None
            }
        }
    }
}

/// The words a text fact can hold, where the ledger fixes them.
fn known_words(f: FactRef) -> Option<&'static [&'static str]> {
    let def = f.def()?;
    match (f.scope, def.name) {
        (Scope::Customer, "risk_class") => Some(&["low", "medium", "high", ""]),
        (Scope::Customer, "account_type") => Some(&["business", "consumer"]),
        _ => None,
    }
}

impl V<'_> {
    /// Comparisons that cannot work: text with a number (always false, or a
    /// run-time error for `<`), or a text fact with a word it never holds.
    /// Returns false when an error was reported.
    fn lint(&mut self, ast: &rhai::AST, loc: &Loc, what: &str) -> bool {
        use rhai::{ASTNode, Expr};
        let mut found: Vec<Diagnostic> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            let (f, pos) = match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(f, pos))) => (f, pos),
                Some(ASTNode::Stmt(rhai::Stmt::FnCall(f, pos))) => (f, pos),
                _ => return true,
            };
            let op = f.name.as_str();
            let Some(_) = f.op_token.as_ref() else { return true };
            let [a, b] = f.args.as_slice() else { return true };
            let cmp = matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=");
            if !cmp {
                return true;
            }
            let (ta, tb) = (static_type(a), static_type(b));
            let number = |t: Option<Ty>| matches!(t, Some(Ty::Int | Ty::Float | Ty::Dec));
            let mixed = (ta == Some(Ty::Str) && (number(tb) || tb == Some(Ty::Bool)))
                || (tb == Some(Ty::Str) && (number(ta) || ta == Some(Ty::Bool)))
                || (ta == Some(Ty::Bool) && number(tb))
                || (tb == Some(Ty::Bool) && number(ta));
            let range = loc.range(*pos, op.len());
            if mixed {
                let (x, y) = (ta.map_or("?", Ty::words), tb.map_or("?", Ty::words));
                let d = if matches!(op, "==" | "!=") {
                    Diagnostic::warning(
                        Code::Suspicious,
                        format!("{what} compares {x} with {y}: `{op}` is always {}", op == "!="),
                    )
                } else {
                    Diagnostic::error(
                        Code::ExpressionType,
                        format!("{what} orders {x} against {y}: `{op}` cannot compare them"),
                    )
                };
                found.push(
                    d.at(loc.file, range)
                        .help("compare a fact with a value of its own type (`recoup facts` shows them)"),
                );
                return true;
            }
            // A fixed-vocabulary text fact compared with a word it never holds.
            let fact_and_word = match (a, b) {
                (Expr::Dot(d, _, _), Expr::StringConstant(w, wpos))
                | (Expr::StringConstant(w, wpos), Expr::Dot(d, _, _)) => {
                    fact_access(&d.lhs, &d.rhs).map(|f| (f, w.as_str(), *wpos))
                }
                _ => None,
            };
            if let Some((fact, word, wpos)) = fact_and_word
                && let Some(words) = known_words(fact)
                && !words.contains(&word)
            {
                let help = did_you_mean(word, words.iter().copied().filter(|w| !w.is_empty())).unwrap_or_else(|| {
                    format!(
                        "`{}` is one of {}",
                        fact.full_name(),
                        words.iter().filter(|w| !w.is_empty()).map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
                    )
                });
                found.push(
                    Diagnostic::warning(
                        Code::Suspicious,
                        format!("`{}` is never `{word}` in {what}", fact.full_name()),
                    )
                    .at(loc.file, loc.range(wpos, word.chars().count() + 2))
                    .help(help),
                );
            }
            true
        });
        let ok = !found.iter().any(Diagnostic::is_error);
        self.diags.extend(found);
        ok
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Bool,
    Number,
}

const CUSTOMER: Allowed = Allowed { invoice: false };
const INVOICE: Allowed = Allowed { invoice: true };

fn step_action(a: StepAction) -> ActionKind {
    match a {
        StepAction::Email => ActionKind::Email,
        StepAction::Sms => ActionKind::Sms,
        StepAction::Call => ActionKind::Call,
        StepAction::Letter => ActionKind::Letter,
        StepAction::Statement => ActionKind::Statement,
        StepAction::CreditHold => ActionKind::CreditHold,
        StepAction::ReferAgency => ActionKind::ReferAgency,
        StepAction::ReferLegal => ActionKind::ReferLegal,
        StepAction::WriteOffReview => ActionKind::WriteOffReview,
        StepAction::NotifyOwner => ActionKind::NotifyOwner,
    }
}

fn channel(c: RawChannel) -> Channel {
    match c {
        RawChannel::Email => Channel::Email,
        RawChannel::Sms => Channel::Sms,
        RawChannel::Call => Channel::Call,
        RawChannel::Letter => Channel::Letter,
    }
}

fn is_false(e: &Expression) -> bool {
    matches!(root_expr(&e.ast), Some(rhai::Expr::BoolConstant(false, _)))
}

fn is_true(e: &Option<Expression>) -> bool {
    match e {
        None => true,
        Some(e) => matches!(root_expr(&e.ast), Some(rhai::Expr::BoolConstant(true, _))),
    }
}

/// A template name: one file name, nothing that walks out of its folder.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', ':'])
        && !name.chars().any(char::is_control)
}

/// A relative folder path that stays inside the folder it is relative to.
pub fn is_inside(path: &str) -> bool {
    use std::path::Component;
    !path.is_empty()
        && !path.contains(['\\', ':'])
        && !path.chars().any(char::is_control)
        && std::path::Path::new(path).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Validate a parsed policy. Returns the rules when there is no error.
pub fn validate(raw: &RawPolicy, ctx: &Ctx<'_>) -> (Option<Rules>, Vec<Diagnostic>) {
    let mut v = V { ctx, diags: Vec::new(), named: Vec::new(), kinds: Vec::new() };
    v.named = named_amounts(&mut v, raw);
    v.kinds = kinds(&mut v, raw);
    let meta = meta(&mut v, raw);
    let guardrails = guardrails(&mut v, raw);
    let costs = costs(&mut v, raw);
    let interest = interest(&mut v, raw, &meta);
    let priority = priority(&mut v, raw);
    let ladders = ladders(&mut v, raw, &meta, interest.is_some());
    let strategies = strategies(&mut v, raw, &ladders, &meta);
    let incentives = incentives(&mut v, raw);
    let plans = plans(&mut v, raw);
    let limits = limits(&mut v, raw);
    let reviews = reviews(&mut v, raw);
    let challenger = challenger(&mut v, raw, &strategies);
    let reporting = reporting(&mut v, raw);
    let kpis = kpis(&mut v, raw);
    let notify = notify(&mut v, raw);
    unique_ids(&mut v, raw);
    let out_of_range = super::range::out_of_range(raw);
    for o in &out_of_range {
        v.error(Code::InvalidValue, o.message.clone(), &o.span).help =
            Some("recoup supports amounts below 10^12 and percentages below 10,000 (docs/policy.md)".into());
    }
    let replaces = replaces(&mut v, raw);
    // A value already refused as out of range is not refused again as implausible.
    let before = v.diags.len();
    plausible_numbers(&mut v, raw, &meta);
    let refused =
        |d: &Diagnostic| d.span.as_ref().is_some_and(|s| out_of_range.iter().any(|o| o.span.start == s.range.start));
    let mut k = 0;
    v.diags.retain(|d| {
        k += 1;
        k <= before || !refused(d)
    });
    if let Some(t) = raw.policy.as_ref().and_then(|p| p.templates.as_ref())
        && !is_inside(&t.value)
    {
        v.error(
            Code::InvalidValue,
            format!("templates folder `{}` is outside the policy folder", t.value.escape_debug()),
            &t.span,
        )
        .help = Some("give a folder inside the policy folder, e.g. `templates = \"templates\"`".into());
    }
    let rules = Rules {
        meta,
        guardrails,
        costs,
        interest,
        priority,
        strategies,
        ladders,
        incentives,
        plans,
        limits,
        reviews,
        challenger,
        reporting,
        replaces,
        kpis,
        named: std::mem::take(&mut v.named),
        kinds: std::mem::take(&mut v.kinds),
        notify,
    };
    let ok = !v.diags.iter().any(Diagnostic::is_error);
    (ok.then_some(rules), v.diags)
}

fn meta(v: &mut V<'_>, raw: &RawPolicy) -> Meta {
    let mut m = Meta {
        name: String::new(),
        version: String::new(),
        currency: None,
        description: None,
        effective: None,
        pace: Pace::Sequential,
        age_from: AgeFrom::DueDate,
        balance: crate::facts::Balance::Net,
        grouping: Grouping::Customer,
        trigger: Trigger::Oldest,
        advance: Advance::Customer,
        standing_effects: false,
        on_script_error: OnError::Skip,
        max_failed_share: crate::policy::compile::MAX_FAILED_SHARE,
    };
    let Some(p) = &raw.policy else {
        if !v.was_removed(&(0..0), "policy") {
            v.error(Code::MissingKey, "missing [policy] table".into(), &(0..0)).help =
                Some("start the file with `[policy]`, `name = \"...\"` and `version = \"...\"`".into());
        }
        return m;
    };
    let t = &p.span;
    if let Some(n) = v.required(&p.name, "name", t, "[policy]") {
        m.name = n.value.clone();
    }
    if let Some(n) = v.required(&p.version, "version", t, "[policy]") {
        m.version = n.value.clone();
    }
    if let Some(c) = &p.currency {
        if c.value.len() != 3 || !c.value.chars().all(|x| x.is_ascii_uppercase()) {
            v.error(Code::InvalidValue, format!("currency `{}` is not a 3-letter code", c.value), &c.span).help =
                Some("use an ISO 4217 code such as `USD`, `EUR` or `GBP`".into());
        }
        m.currency = Some(c.value.clone());
    }
    m.description = p.description.as_ref().map(|d| d.value.clone());
    if let Some(e) = &p.effective {
        match e.value.0 {
            Some(d) => m.effective = Some(d),
            None => {
                v.error(Code::InvalidValue, format!("`{}` is not a date", e.value.1), &e.span).help =
                    Some("write dates as YYYY-MM-DD".into());
            }
        }
    }
    m.pace = p.pace.as_ref().map_or(m.pace, |x| x.value);
    m.age_from = p.age_from.as_ref().map_or(m.age_from, |x| x.value);
    m.balance = p.balance.as_ref().map_or(m.balance, |x| x.value);
    m.grouping = p.grouping.as_ref().map_or(m.grouping, |x| x.value);
    m.trigger = p.trigger.as_ref().map_or(m.trigger, |x| x.value);
    m.advance = p.advance.as_ref().map_or(m.advance, |x| x.value);
    m.standing_effects = p.standing_effects.as_ref().is_some_and(|x| x.value);
    m.on_script_error = p.on_script_error.as_ref().map_or(m.on_script_error, |x| x.value);
    if let Some(x) = &p.max_failed_share {
        if !(0.0..=1.0).contains(&x.value) {
            v.error(Code::InvalidValue, format!("`max_failed_share = {}` is not between 0 and 1", x.value), &x.span)
                .help = Some("give the share of customers that may fail a rule as a fraction, e.g. `0.01`".into());
        } else if m.on_script_error == OnError::Fail {
            v.warning(
                Code::Unused,
                "`max_failed_share` has no effect with `on_script_error = \"fail\"`".into(),
                &x.span,
            )
            .help = Some("a run that fails on the first error allows no failed customer".into());
        }
        m.max_failed_share = x.value;
    }
    m
}

fn guardrails(v: &mut V<'_>, raw: &RawPolicy) -> Guardrails {
    let mut g = Guardrails::default();
    let Some(r) = &raw.guardrails else { return g };
    if let Some(m) = &r.max_contacts_per_7_days {
        if m.value == 0 {
            v.warning(Code::Suspicious, "`max_contacts_per_7_days = 0` forbids every contact".into(), &m.span).help =
                Some("remove the key for no cap, or give the number of contacts allowed in 7 days".into());
        }
        g.max_contacts_per_7_days = Some(m.value);
    }
    let b = |x: &Option<Sp<bool>>, d: bool| x.as_ref().map_or(d, |x| x.value);
    g.do_not_contact = b(&r.do_not_contact, g.do_not_contact);
    g.skip_disputed = b(&r.skip_disputed, g.skip_disputed);
    g.promise_pauses = b(&r.promise_pauses, g.promise_pauses);
    g.business_days_only = b(&r.business_days_only, g.business_days_only);
    g.regulation_f = b(&r.regulation_f, g.regulation_f);
    g.min_overdue = v.money(&r.min_overdue, "min_overdue", "[guardrails]");
    calendar_keys(v, r, &mut g);
    for (key, val) in [("do_not_contact", &r.do_not_contact), ("skip_disputed", &r.skip_disputed)] {
        if let Some(x) = val
            && !x.value
        {
            v.warning(Code::Suspicious, format!("guardrail `{key}` is turned off"), &x.span).help =
                Some("customers will be dunned despite it; make sure that is what you mean".into());
        }
    }
    g
}

/// `public_holidays` and `holidays` (the file itself is read by `policy::calendar`).
fn calendar_keys(v: &mut V<'_>, r: &super::raw::RawGuardrails, g: &mut Guardrails) {
    g.public_holidays = r.public_holidays.as_ref().is_some_and(|x| x.value);
    if let Some(h) = &r.holidays {
        if is_inside(&h.value) {
            g.holidays = Some(h.value.clone());
        } else {
            v.error(Code::InvalidValue, format!("`{}` is not a file inside the policy folder", h.value), &h.span)
                .help = Some("give a path relative to the policy folder, e.g. `holidays.csv`".into());
        }
    }
    if !g.business_days_only {
        let set = [
            ("public_holidays", r.public_holidays.as_ref().filter(|x| x.value).map(|x| &x.span)),
            ("holidays", r.holidays.as_ref().map(|x| &x.span)),
        ];
        for (key, span) in set {
            if let Some(span) = span {
                v.warning(Code::Unused, format!("`{key}` holds actions only under `business_days_only`"), span).help =
                    Some("set `business_days_only = true` in [guardrails], or remove the key".into());
            }
        }
    }
}

fn costs(v: &mut V<'_>, raw: &RawPolicy) -> Costs {
    let mut out = Costs::default();
    let Some(c) = &raw.costs else { return out };
    let mut all: Vec<(ActionKind, &Sp<CostValue>)> = Vec::new();
    for (name, x) in &c.value.by_kind {
        match cost_kind(v, name) {
            Some(k) => all.push((k, x)),
            None => continue,
        }
    }
    // In the order of the kinds (the built-in ones first, then the declared
    // ones by name), whatever the file's: what `run` warns of comes in it.
    all.sort_by_key(|(k, _)| *k);
    for (k, x) in all {
        let cost = match &x.value {
            CostValue::Amount(a) => Cost::Amount(Amount::one(*a)),
            CostValue::Percent(p) => Cost::Percent(*p),
            // Codes and signs checked as every per-currency amount is.
            CostValue::PerCurrency(by) => {
                let m = Sp { span: x.span.clone(), value: MoneyValue::PerCurrency(by.clone()) };
                match v.money(&Some(m), k.as_str(), "[costs]") {
                    Some(a) => Cost::Amount(a),
                    None => continue,
                }
            }
        };
        if let CostValue::Amount(n) | CostValue::Percent(n) = &x.value
            && *n < Decimal::ZERO
        {
            v.error(Code::InvalidValue, format!("cost of `{k}` is negative"), &x.span);
        }
        if let Cost::Percent(p) = cost
            && p > Decimal::ONE_HUNDRED
        {
            v.error(Code::InvalidValue, format!("cost of `{k}` is more than 100% of the amount"), &x.span);
        }
        out.by_kind.push((k, cost));
    }
    out
}

/// The kind a `[costs]` key names: a built-in kind with a unit cost
/// ([`RawCosts::built_in`]) or a kind the policy declares; an error at the
/// key otherwise, with the closest name.
fn cost_kind(v: &mut V<'_>, name: &Sp<String>) -> Option<ActionKind> {
    let word = name.value.as_str();
    if RawCosts::built_in().any(|w| w == word) {
        return ActionKind::named(word);
    }
    if let Some(d) = v.kinds.iter().find(|d| d.kind.as_str() == word) {
        return Some(d.kind);
    }
    if ActionKind::named(word).is_some_and(|k| !k.is_declared()) {
        v.error(Code::UnknownKey, format!("action kind `{word}` has no unit cost in [costs]"), &name.span).help = Some(
            "fees and interest are charged to the customer, and a `notify` is recoup's own e-mail: remove the key"
                .into(),
        );
        return None;
    }
    let names = RawCosts::built_in().chain(v.kinds.iter().map(|d| d.kind.as_str()));
    let help = did_you_mean(word, names).unwrap_or_else(|| {
        format!(
            "a cost is for a built-in kind ({}) or a kind the policy declares: add `[kinds.{word}]`, or remove the key",
            RawCosts::built_in().collect::<Vec<_>>().join(", ")
        )
    });
    v.error(Code::UnknownKey, format!("unknown action kind `{}` in [costs]", word.escape_debug()), &name.span).help =
        Some(help);
    None
}

fn interest(v: &mut V<'_>, raw: &RawPolicy, meta: &Meta) -> Option<Interest> {
    let r = raw.interest.as_ref()?;
    let t = &r.span;
    let regime = r.regime.as_ref().map_or(Regime::Simple, |x| x.value);
    let days = r.days_in_year.as_ref().map_or(365, |x| x.value);
    if let Some(d) = &r.days_in_year
        && !(360..=366).contains(&d.value)
    {
        v.error(Code::InvalidValue, format!("`days_in_year = {}` is not a year", d.value), &d.span).help =
            Some("use 365 (the default), 360 or 366".into());
    }
    let mut exact = reference_rates(v, r, regime);
    let rate = match regime {
        Regime::Simple => {
            if let Some(x) = &r.reference_rate_pct {
                v.warning(Code::Unused, "`reference_rate_pct` is only used by the statutory regimes".into(), &x.span)
                    .help = Some("give the yearly rate as `rate_pct`".into());
            }
            v.required(&r.rate_pct, "rate_pct", t, "[interest]").map_or(Decimal::ZERO, |x| x.value.0)
        }
        Regime::Eu2011_7 | Regime::UkLatePayment => {
            if let Some(x) = &r.rate_pct {
                v.error(
                    Code::InvalidValue,
                    "`rate_pct` is set by the regime: give `reference_rate_pct` instead".into(),
                    &x.span,
                )
                .help = Some("the rate is the reference rate plus `margin_pct` (8 points by default)".into());
            }
            let reference = if let Some(table) = &exact {
                table.rates.last().map_or(Decimal::ZERO, |x| x.1)
            } else {
                v.required(&r.reference_rate_pct, "reference_rate_pct", t, "[interest]")
                    .map_or(Decimal::ZERO, |x| x.value.0)
            };
            let margin = r.margin_pct.as_ref().map_or(Decimal::from(8), |x| x.value.0);
            statutory_checks(v, r, regime);
            let (cur, law) =
                if regime == Regime::Eu2011_7 { ("EUR", "2011/7/EU") } else { ("GBP", "Late Payment Act") };
            if meta.currency.as_deref().is_some_and(|c| c != cur) {
                let span = r.regime.as_ref().map_or(t.clone(), |x| x.span.clone());
                v.warning(
                    Code::Suspicious,
                    format!(
                        "the {law} compensation is in {cur}, but the policy's currency is `{}`",
                        meta.currency.as_deref().unwrap_or("")
                    ),
                    &span,
                )
                .help = Some("set `compensation` to the amount in your currency".into());
            }
            reference + margin
        }
    };
    if rate < Decimal::ZERO {
        v.error(Code::InvalidValue, "the interest rate is negative".into(), t);
    }
    let compensation = v.nonneg(&r.compensation, "compensation", "[interest]");
    if let Some(e) = exact.as_mut() {
        e.margin_pct = r.margin_pct.as_ref().map_or(Decimal::from(8), |x| x.value.0);
    }
    if regime == Regime::Simple && compensation.is_none() {
        let claims =
            raw.ladder.iter().flat_map(|l| &l.step).filter_map(|s| s.value.compensation.as_ref()).find(|c| c.value);
        if let Some(c) = claims {
            v.warning(Code::Suspicious, "the `simple` regime has no fixed compensation: `compensation = true` claims nothing".into(), &c.span)
                .help = Some("use `regime = \"uk_late_payment\"` or `\"eu_2011_7\"`, or give the amount as `compensation` in [interest]".into());
        }
    }
    Some(Interest { regime, rate_pct: rate, days_in_year: days, compensation, exact })
}

/// What the statutory regimes' laws do not allow: a UK margin other than 8
/// points (the Act's rate is fixed), an EU margin under 8 points, a UK
/// compensation other than the Act's bands, an EU one under EUR 40.
fn statutory_checks(v: &mut V<'_>, r: &super::raw::RawInterest, regime: Regime) {
    let eight = Decimal::from(8);
    if let Some(m) = &r.margin_pct {
        if regime == Regime::UkLatePayment && m.value.0 != eight {
            v.warning(
                Code::Suspicious,
                format!("the Late Payment Act's margin is 8 points, not {}", m.value.0),
                &m.span,
            )
            .help = Some("remove `margin_pct` (a contract's own rate is a `simple` regime)".into());
        } else if m.value.0 < eight {
            v.warning(Code::Suspicious, "the statutory margin is at least 8 points".into(), &m.span);
        }
    }
    if let Some(c) = &r.compensation {
        if regime == Regime::UkLatePayment {
            v.warning(
                Code::Suspicious,
                "the Late Payment Act fixes the compensation by the debt's size".into(),
                &c.span,
            )
            .help = Some(
                "remove `compensation`: the Act's 40, 70 or 100 GBP (under 1,000 / under 10,000 / from 10,000) apply"
                    .into(),
            );
        } else if regime == Regime::Eu2011_7 && c.value.0 < Decimal::from(40) {
            v.warning(Code::Suspicious, "the 2011/7/EU compensation is at least EUR 40".into(), &c.span);
        }
    }
}

/// `reference_rates`: dates and rates, for the statutory regimes only.
fn reference_rates(v: &mut V<'_>, r: &super::raw::RawInterest, regime: Regime) -> Option<crate::interest::RateTable> {
    let table = r.reference_rates.as_ref()?;
    if regime == Regime::Simple {
        v.error(Code::InvalidValue, "`reference_rates` is only used by the statutory regimes".into(), &table.span)
            .help =
            Some("set `regime = \"uk_late_payment\"` or `\"eu_2011_7\"`, or give the yearly rate as `rate_pct`".into());
        return None;
    }
    if let Some(x) = &r.reference_rate_pct {
        v.warning(Code::Unused, "`reference_rate_pct` is not used when `reference_rates` is given".into(), &x.span);
    }
    let mut rates = Vec::new();
    for (k, x) in &table.value {
        match chrono::NaiveDate::parse_from_str(k, "%Y-%m-%d") {
            Ok(d) => rates.push((d, x.value.0)),
            Err(_) => {
                v.error(Code::InvalidValue, format!("`{k}` of `reference_rates` is not a date"), &x.span).help =
                    Some("key each rate by the date it took effect, e.g. `\"2025-12-18\" = \"3.75\"`".into());
            }
        }
    }
    if rates.is_empty() {
        v.error(Code::MissingKey, "`reference_rates` lists no rate".into(), &table.span).help =
            Some("give each rate with the date it took effect, e.g. `{ \"2025-12-18\" = \"3.75\" }`".into());
        return None;
    }
    rates.sort();
    Some(crate::interest::RateTable { rates, margin_pct: Decimal::from(8) })
}

fn priority(v: &mut V<'_>, raw: &RawPolicy) -> Priority {
    let mut p = Priority::default();
    let Some(r) = &raw.priority else { return p };
    p.score = v.expr(&r.score, CUSTOMER, "[priority] score", Want::Number);
    if let Some(w) = &r.weights {
        for (name, weight) in &w.value {
            let key_span = weight.span.clone();
            let name = name.strip_prefix("customer.").unwrap_or(name);
            match FactRef::find(Scope::Customer, name) {
                Some(f)
                    if matches!(
                        f.def().map(|d| d.ty),
                        Some(FactType::Int | FactType::Float | FactType::Money | FactType::Bool)
                    ) =>
                {
                    use rust_decimal::prelude::ToPrimitive;
                    p.weights.push((f, weight.value.0.to_f64().unwrap_or(0.0)));
                }
                Some(_) => {
                    v.error(
                        Code::ExpressionType,
                        format!("fact `customer.{name}` is not a number and cannot be weighted"),
                        &key_span,
                    );
                }
                None => {
                    let help = did_you_mean(name, CustomerFacts::defs().iter().map(|d| d.name))
                        .unwrap_or_else(|| "weights are keyed by customer facts; `recoup facts` lists them".into());
                    v.error(
                        Code::UnknownFact,
                        format!("unknown fact `customer.{name}` in [priority] weights"),
                        &key_span,
                    )
                    .help = Some(help);
                }
            }
        }
    }
    p
}

fn step_of(v: &mut V<'_>, s: &Sp<RawStep>, n: usize, meta: &Meta, has_interest: bool) -> Option<Step> {
    let t = &s.span;
    let id = v.id(&s.id, t, "step", n);
    let what = format!("step `{id}`");
    let triggers: Vec<(&str, &Sp<i32>)> = [
        ("days_past_due", &s.days_past_due),
        ("days_before_due", &s.days_before_due),
        ("days_after_issue", &s.days_after_issue),
        ("days", &s.days),
    ]
    .into_iter()
    .filter_map(|(k, x)| x.as_ref().map(|x| (k, x)))
    .collect();
    let removed_trigger =
        ["days_past_due", "days_before_due", "days_after_issue", "days"].iter().any(|k| v.was_removed(t, k));
    let (basis, offset) = match triggers.as_slice() {
        [] => {
            if !removed_trigger {
                v.error(Code::MissingKey, format!("{what} has no trigger"), t).help =
                    Some("give `days_past_due`, `days_before_due` or `days_after_issue`".into());
            }
            (Basis::DueDate, 0)
        }
        [(k, x)] => match *k {
            "days_past_due" => {
                if x.value < 0 {
                    v.error(Code::InvalidValue, format!("`days_past_due` of {what} is negative"), &x.span).help =
                        Some(format!("for a reminder before the due date write `days_before_due = {}`", -x.value));
                }
                (Basis::DueDate, x.value)
            }
            "days_before_due" => {
                if x.value <= 0 {
                    v.error(Code::InvalidValue, format!("`days_before_due` of {what} must be 1 or more"), &x.span)
                        .help = Some("for a step on or after the due date use `days_past_due`".into());
                }
                (Basis::DueDate, -x.value)
            }
            "days_after_issue" => {
                if x.value < 0 {
                    v.error(Code::InvalidValue, format!("`days_after_issue` of {what} is negative"), &x.span);
                }
                (Basis::IssueDate, x.value)
            }
            _ => match meta.age_from {
                AgeFrom::DueDate => (Basis::DueDate, x.value),
                AgeFrom::InvoiceDate => (Basis::IssueDate, x.value),
            },
        },
        [_, (k, x), ..] => {
            v.error(Code::InvalidValue, format!("{what} has more than one trigger (`{k}` too)"), &x.span).help = Some(
                "a step fires at one point: keep one of `days_past_due`, `days_before_due`, `days_after_issue`".into(),
            );
            (Basis::DueDate, x.value)
        }
    };
    let action = v.required(&s.action, "action", t, &what).and_then(|a| v.step_action(a, &what));
    let kind = action.unwrap_or(ActionKind::NotifyOwner);
    let declared = v.kinds.iter().find(|d| d.kind == kind).cloned();
    let ch = match (kind, &s.channel) {
        (ActionKind::Statement, c) => Some(c.as_ref().map_or(Channel::Email, |c| channel(c.value))),
        (_, Some(c)) if declared.is_some() => {
            v.error(Code::InvalidValue, format!("`channel` of {what}: a `{kind}` has its kind's channel"), &c.span)
                .help = Some(format!("give the channel in `[kinds.{kind}]`"));
            None
        }
        (_, None) if declared.is_some() => declared.as_ref().and_then(|d| d.channel),
        (_, Some(c)) => {
            v.error(Code::InvalidValue, format!("`channel` of {what}: a `{kind}` has its own channel"), &c.span).help =
                Some("`channel` applies to statements only".into());
            None
        }
        (ActionKind::Email, None) => Some(Channel::Email),
        (ActionKind::Sms, None) => Some(Channel::Sms),
        (ActionKind::Call, None) => Some(Channel::Call),
        (ActionKind::Letter, None) => Some(Channel::Letter),
        _ => None,
    };
    let needs_template =
        matches!(kind, ActionKind::Email | ActionKind::Sms | ActionKind::Letter | ActionKind::Statement);
    // A declared kind with a channel (not a call) needs a template: the step's, else the kind's.
    let kind_template = declared.as_ref().and_then(|d| d.template.clone());
    let needs_template = needs_template
        || declared.as_ref().is_some_and(|d| d.channel.is_some_and(|c| c != Channel::Call) && kind_template.is_none());
    let template = v.template(&s.template, t, &what, needs_template && action.is_some()).or(kind_template);
    let max = s.max_days.as_ref().map(|m| m.value).or((basis == Basis::DueDate && offset < 0).then_some(0));
    if let (Some(m), Some(mx)) = (max, &s.max_days)
        && m < offset
    {
        v.error(
            Code::NeverFires,
            format!("{what} can never fire: `max_days = {m}` is below its trigger ({offset})"),
            &mx.span,
        );
    }
    let when = v.expr(&s.when, INVOICE, &what, Want::Bool);
    if let (Some(w), Some(raw)) = (&when, &s.when)
        && is_false(w)
    {
        v.error(Code::NeverFires, format!("{what} can never fire: its `when` is always false"), &raw.span);
    }
    let fee = v.money(&s.fee, "fee", &what).unwrap_or_default();
    let fee_pct = v.nonneg(&s.fee_pct, "fee_pct", &what).unwrap_or_default();
    let interest = s.interest.as_ref().is_some_and(|x| x.value);
    let compensation = s.compensation.as_ref().is_some_and(|x| x.value);
    for (on, key, x) in [(interest, "interest", &s.interest), (compensation, "compensation", &s.compensation)] {
        if let Some(x) = x
            && on
            && !has_interest
        {
            v.error(Code::MissingKey, format!("{what} claims {key} but the policy has no [interest]"), &x.span).help =
                Some("add an [interest] table with the regime and rate".into());
        }
    }
    if let Some(o) = &s.optional
        && o.value
        && s.when.is_none()
        && s.min_overdue.is_none()
    {
        v.warning(Code::Unused, format!("`optional` of {what} has no effect without `when` or `min_overdue`"), &o.span);
    }
    let fallback = step_fallback(v, &s.fallback, ch, &what);
    let repeat = step_repeat(v, s, &what);
    let interest_rate_pct = v.nonneg(&s.interest_rate_pct, "interest_rate_pct", &what);
    if let (Some(x), Some(_)) = (s.interest.as_ref().filter(|x| x.value), &interest_rate_pct) {
        v.warning(
            Code::Unused,
            format!("{what} has its own `interest_rate_pct`: `interest = true` is not used"),
            &x.span,
        );
    }
    let consolidated = s.consolidated.as_ref().is_some_and(|x| x.value);
    if let Some(x) = &s.consolidated
        && x.value
        && action.is_some()
        && kind != ActionKind::Statement
    {
        v.error(Code::InvalidValue, format!("`consolidated` of {what}: a `{kind}` is not a statement"), &x.span).help =
            Some("`consolidated = true` sends one statement per customer group; it applies to `action = \"statement\"` steps only".into());
    }
    Some(Step {
        id,
        action: kind,
        channel: ch,
        fallback,
        template,
        basis,
        offset,
        max,
        min_overdue: v.money(&s.min_overdue, "min_overdue", &what),
        // A repeating step keeps `every` days from the step before it too, unless told otherwise.
        cooldown_days: s.cooldown_days.as_ref().map_or(repeat.map_or(0, |r| r.every), |x| x.value),
        repeat,
        when,
        optional: s.optional.as_ref().is_some_and(|x| x.value),
        fee,
        fee_pct,
        interest,
        compensation,
        owner: s.owner.as_ref().map(|x| x.value.clone()),
        interest_rate_pct,
        consolidated,
        task: declared.as_ref().is_some_and(|d| d.task),
        standing: kind == ActionKind::CreditHold || declared.as_ref().is_some_and(|d| d.standing),
    })
}

/// A step's `repeat`: `every` a number of days of at least 1, `max` at least 1.
fn step_repeat(v: &mut V<'_>, s: &Sp<RawStep>, what: &str) -> Option<Repeat> {
    let r = s.repeat.as_ref()?;
    let every = match &r.value.every {
        None => {
            v.error(Code::MissingKey, format!("`repeat` of {what} has no `every`"), &r.span).help =
                Some("say how often it is sent again, e.g. `repeat = { every = \"7d\", max = 4 }`".into());
            return None;
        }
        Some(e) => match e.value.0 {
            Some(n) if n >= 1 => n,
            _ => {
                v.error(
                    Code::InvalidValue,
                    format!("`every` of {what} is `{}`: not a number of days of 1 or more", e.value.1),
                    &e.span,
                )
                .help = Some("write it as `\"7d\"` (days), `\"2w\"` (weeks) or a whole number of days".into());
                return None;
            }
        },
    };
    if let Some(m) = &r.value.max
        && m.value == 0
    {
        v.error(Code::InvalidValue, format!("`max = 0` of {what}'s `repeat` never repeats it"), &m.span).help =
            Some("remove `repeat`, or allow at least one repeat".into());
        return None;
    }
    let stands = |a: &RawAction| match StepAction::of(&a.0) {
        Some(k) => matches!(k, StepAction::CreditHold | StepAction::ReferAgency | StepAction::ReferLegal),
        None => v.kinds.iter().any(|d| d.standing && d.kind.as_str() == a.0),
    };
    if s.action.as_ref().is_some_and(|a| stands(&a.value)) {
        v.error(
            Code::InvalidValue,
            format!("{what} cannot repeat: a hold or a referral stands once placed"),
            &r.span,
        )
        .help = Some("repeat a message (email, sms, call, letter, statement) or an internal task; a `standing` kind stands once placed too".into());
        return None;
    }
    Some(Repeat { every, max: r.value.max.as_ref().map(|m| m.value) })
}

fn ladders(v: &mut V<'_>, raw: &RawPolicy, meta: &Meta, has_interest: bool) -> Vec<Ladder> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    for (n, l) in raw.ladder.iter().enumerate() {
        let id = v.id(&l.id, &l.span, "ladder", n);
        dup(v, &mut seen, &id, l.id.as_ref(), "ladder");
        if l.step.is_empty() {
            v.warning(Code::Unused, format!("ladder `{id}` has no steps"), &l.span).help =
                Some("add steps with [[ladder.step]] under it".into());
        }
        if l.step.len() > 64 {
            v.error(Code::InvalidValue, format!("ladder `{id}` has more than 64 steps"), &l.span);
        }
        let mut steps = Vec::new();
        let mut step_ids: HashMap<String, Range<usize>> = HashMap::new();
        for (i, s) in l.step.iter().enumerate() {
            if let Some(step) = step_of(v, s, i, meta, has_interest) {
                dup(v, &mut step_ids, &step.id, s.id.as_ref(), "step");
                steps.push((step, s));
            }
        }
        ladder_shape(v, &steps);
        let grouping = l.grouping.as_ref().map_or(meta.grouping, |x| x.value);
        let advance = l.advance.as_ref().map_or(meta.advance, |x| x.value);
        if advance == Advance::EachInvoice && grouping != Grouping::Invoice {
            let span = l
                .advance
                .as_ref()
                .or(raw.policy.as_ref().and_then(|p| p.advance.as_ref()))
                .map_or(l.span.clone(), |x| x.span.clone());
            v.error(
                Code::InvalidValue,
                format!("`advance = \"each_invoice\"` of ladder `{id}` needs `grouping = \"invoice\"`"),
                &span,
            )
            .help = Some("every invoice moves to its own step: set `grouping = \"invoice\"` (its messages are still one per customer and channel)".into());
        }
        out.push(Ladder {
            id,
            trigger: l.trigger.as_ref().map_or(meta.trigger, |x| x.value),
            grouping,
            advance,
            steps: steps.into_iter().map(|(s, _)| s).collect(),
        });
    }
    out
}

fn trigger_span(s: &RawStep, table: &Range<usize>) -> Range<usize> {
    [&s.days_past_due, &s.days_before_due, &s.days_after_issue, &s.days]
        .into_iter()
        .find_map(|x| x.as_ref().map(|x| x.span.clone()))
        .unwrap_or_else(|| table.clone())
}

/// Order, overlaps, referrals before dunning.
fn ladder_shape(v: &mut V<'_>, steps: &[(Step, &Sp<RawStep>)]) {
    for (i, (b, rb)) in steps.iter().enumerate() {
        let span = trigger_span(rb, &rb.span);
        // The latest earlier step with the same basis.
        let Some((a, _)) = steps[..i].iter().rev().find(|(a, _)| a.basis == b.basis) else { continue };
        if b.offset < a.offset {
            if b.is_referral() && a.is_contact() {
                v.error(
                    Code::ReferralBeforeStep,
                    format!(
                        "referral step `{}` ({}) is set below the dunning step `{}` ({}) it follows",
                        b.id,
                        b.trigger_words(),
                        a.id,
                        a.trigger_words()
                    ),
                    &span,
                )
                .help = Some(format!(
                    "a referred customer gets no more dunning: give `{}` at least {} so `{}` is sent first",
                    b.id,
                    a.trigger_words(),
                    a.id
                ));
            } else {
                v.error(
                    Code::StepOrder,
                    format!("step `{}` ({}) comes after `{}` ({})", b.id, b.trigger_words(), a.id, a.trigger_words()),
                    &span,
                )
                .help = Some("list the steps of a ladder in the order they fire".into());
            }
        } else if b.offset == a.offset {
            // A cooldown (or a repeat's `every`) sends the second that many days after the first.
            if b.cooldown_days > 0 {
                continue;
            }
            let msg = format!("steps `{}` and `{}` both fire at {}", a.id, b.id, b.trigger_words());
            if a.when.is_none() && b.when.is_none() && a.min_overdue.is_none() && b.min_overdue.is_none() {
                v.error(Code::Overlap, msg, &span).help =
                    Some(format!("give `{}` a later trigger, or a `when` that tells them apart", b.id));
            } else {
                v.warning(Code::Overlap, msg, &span).help =
                    Some("in sequential pace the second waits for the first; in jump pace the later one wins".into());
            }
        }
    }
    // A contact step listed after a referral can never be sent.
    if let Some(r) = steps.iter().position(|(s, _)| s.is_referral()) {
        let referral = &steps[r].0;
        for (s, rs) in &steps[r + 1..] {
            if s.is_contact() && s.basis == referral.basis && s.offset >= referral.offset {
                v.error(
                    Code::ReferralBeforeStep,
                    format!(
                        "step `{}` ({}) comes after the referral `{}` ({}) and can never be sent",
                        s.id,
                        s.trigger_words(),
                        referral.id,
                        referral.trigger_words()
                    ),
                    &trigger_span(rs, &rs.span),
                )
                .help = Some(format!(
                    "a referred customer gets no more dunning: move `{}` after `{}`, with a later trigger",
                    referral.id, s.id
                ));
            }
        }
    }
}

fn dup(v: &mut V<'_>, seen: &mut HashMap<String, Range<usize>>, id: &str, at: Option<&Sp<String>>, kind: &str) {
    let Some(at) = at else { return };
    if let Some(first) = seen.get(id) {
        let (line, _) = super::diag::Source::new(PathBuf::new(), v.ctx.text.to_string()).line_col(first.start);
        v.error(Code::DuplicateId, format!("duplicate {kind} id `{id}`"), &at.span).help =
            Some(format!("the first `{id}` is on line {line}; ids must be unique"));
    } else {
        seen.insert(id.to_string(), at.span.clone());
    }
}

fn strategies(v: &mut V<'_>, raw: &RawPolicy, ladders: &[Ladder], meta: &Meta) -> Vec<Strategy> {
    let challenger_id = raw.challenger.as_ref().and_then(|c| c.strategy.as_ref()).map(|s| s.value.as_str());
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    let mut used = vec![false; ladders.len()];
    let mut catch_all: Option<String> = None;
    for (n, s) in raw.strategy.iter().enumerate() {
        let id = v.id(&s.id, &s.span, "strategy", n);
        dup(v, &mut seen, &id, s.id.as_ref(), "strategy");
        let what = format!("strategy `{id}`");
        let when = v.expr(&s.when, CUSTOMER, &what, Want::Bool);
        // The challenger's strategy may sit after a catch-all: [challenger] reaches it.
        let challenger_only = catch_all.is_some() && challenger_id == Some(id.as_str());
        if let Some(first) = catch_all.as_ref().filter(|_| !challenger_only) {
            v.error(
                Code::NeverFires,
                format!("{what} can never match: `{first}` before it matches every customer"),
                &s.span,
            )
            .help = Some(format!("move `{first}` last, or give it a `when`"));
        }
        if s.when.is_none() || (s.when.is_some() && when.is_some() && is_true(&when)) {
            catch_all.get_or_insert(id.clone());
        }
        let ladder = match &s.ladder {
            None => None,
            Some(l) => match ladders.iter().position(|x| x.id == l.value) {
                Some(i) => {
                    used[i] = true;
                    Some(i)
                }
                None => {
                    let help = did_you_mean(&l.value, ladders.iter().map(|x| x.id.as_str())).unwrap_or_else(|| {
                        format!(
                            "the ladders are {}",
                            ladders.iter().map(|x| format!("`{}`", x.id)).collect::<Vec<_>>().join(", ")
                        )
                    });
                    v.error(Code::UnknownReference, format!("unknown ladder `{}` in {what}", l.value), &l.span).help =
                        Some(help);
                    None
                }
            },
        };
        out.push(Strategy {
            id,
            when,
            ladder,
            owner: s.owner.as_ref().map(|x| x.value.clone()),
            pace: s.pace.as_ref().map_or(meta.pace, |x| x.value),
        });
    }
    if raw.strategy.is_empty() {
        match ladders.len() {
            0 => {}
            1 => {
                out.push(Strategy { id: "default".into(), when: None, ladder: Some(0), owner: None, pace: meta.pace });
                return out;
            }
            _ => {
                let span = raw.ladder.get(1).map_or(0..0, |l| l.span.clone());
                v.error(Code::MissingKey, "several ladders but no [[strategy]] says who follows which".into(), &span)
                    .help =
                    Some("add [[strategy]] tables with `when` and `ladder`, the last one without `when`".into());
            }
        }
    } else {
        if catch_all.is_none() {
            let span = raw.strategy.last().map_or(0..0, |s| s.span.clone());
            v.warning(Code::Suspicious, "customers that match no strategy get no dunning".into(), &span).help =
                Some("add a last [[strategy]] without `when` if that is not what you mean".into());
        }
        for (i, l) in ladders.iter().enumerate() {
            if !used[i] {
                let span = raw.ladder.get(i).map_or(0..0, |x| x.span.clone());
                v.warning(Code::Unused, format!("ladder `{}` is not used by any strategy", l.id), &span);
            }
        }
    }
    out
}

/// A 3-letter capital code.
fn is_code(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn reporting(v: &mut V<'_>, raw: &RawPolicy) -> Option<Reporting> {
    let r = raw.reporting.as_ref()?;
    let t = &r.span;
    let what = "[reporting]";
    let currency = v.required(&r.currency, "currency", t, what).map(|c| c.value.clone());
    if let Some(c) = &r.currency
        && !is_code(&c.value)
    {
        v.error(
            Code::InvalidValue,
            format!("currency `{}` of {what} is not a 3-letter code", c.value.escape_debug()),
            &c.span,
        )
        .help = Some("use an ISO 4217 code such as `USD`, `EUR` or `GBP`".into());
    }
    let date = match v.required(&r.rates_date, "rates_date", t, what) {
        Some(d) => match d.value.0 {
            Some(d) => Some(d),
            None => {
                v.error(Code::InvalidValue, format!("`{}` is not a date", d.value.1), &d.span).help =
                    Some("write dates as YYYY-MM-DD: the day the rates are of".into());
                None
            }
        },
        None => None,
    };
    let mut rates = std::collections::BTreeMap::new();
    if let Some(list) = v.required(&r.rates, "rates", t, what) {
        for (code, rate) in &list.value {
            if !is_code(code) {
                v.error(
                    Code::InvalidValue,
                    format!("`{}` in {what} rates is not a 3-letter code", code.escape_debug()),
                    &rate.span,
                );
            }
            if rate.value.0 <= Decimal::ZERO {
                v.error(Code::InvalidValue, format!("the rate of {code} in {what} must be above zero"), &rate.span);
            }
            rates.insert(code.clone(), rate.value.0);
        }
    }
    Some(Reporting { currency: currency?, rates_date: date?, rates })
}

/// One `amounts.<name>` in an expression's text: its byte offset and length.
struct AmountRef {
    at: usize,
    len: usize,
    name: String,
}

/// Every `amounts.<name>` in `src`, outside string literals.
fn amount_refs(src: &str) -> Vec<AmountRef> {
    let b = src.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let (mut i, mut quote) = (0, None);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'`' || c == b'\'' => quote = Some(c),
            None if src[i..].starts_with("amounts.") && (i == 0 || !(word(b[i - 1]) || b[i - 1] == b'.')) => {
                let start = i + "amounts.".len();
                let end = start + b[start..].iter().take_while(|&&c| word(c)).count();
                if end > start {
                    out.push(AmountRef { at: i, len: end - i, name: src[start..end].to_string() });
                    i = end;
                    continue;
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// The 1-based line and column (in characters) of byte `at` of `src`.
fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `[amounts]`: each name a plain identifier, each amount as `min_overdue`'s.
fn named_amounts(v: &mut V<'_>, raw: &RawPolicy) -> Vec<(String, Amount)> {
    let Some(t) = &raw.amounts else { return Vec::new() };
    let mut out = Vec::new();
    for (name, val) in &t.value {
        let ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            v.error(
                Code::InvalidValue,
                format!("`{}` in [amounts] is not a name expressions can read", name.escape_debug()),
                &val.span,
            )
            .help = Some("use letters, digits and `_`, starting with a letter: `big_debt`".into());
            continue;
        }
        if let Some(a) = v.money(&Some(val.clone()), name, "[amounts]") {
            out.push((name.clone(), a));
        }
    }
    out
}

/// `[kinds.*]`: each name new (not a built-in kind), a plain name, at most
/// one of `task` and `channel`, a template only with a channel.
fn kinds(v: &mut V<'_>, raw: &RawPolicy) -> Vec<KindDecl> {
    let Some(t) = &raw.kinds else { return Vec::new() };
    let mut out = Vec::new();
    for (name, k) in &t.value {
        let what = format!("[kinds.{name}]");
        if ActionKind::named(name).is_some_and(|k| !k.is_declared()) {
            v.error(Code::InvalidValue, format!("{what} is a built-in action kind"), &k.span).help = Some(format!(
                "a step uses `action = \"{name}\"` as it is; give your own kind another name, e.g. `[kinds.{name}_custom]`"
            ));
            continue;
        }
        if !is_kind_name(name) {
            v.error(Code::InvalidValue, format!("`{}` in [kinds] is not a kind name", name.escape_debug()), &k.span)
                .help = Some(
                "use lowercase letters, digits and `_`, starting with a letter, at most 40: `suspend_service`".into(),
            );
            continue;
        }
        let task = k.value.task.as_ref().is_some_and(|x| x.value);
        let channel = k.value.channel.as_ref().map(|c| self::channel(c.value));
        if let (true, Some(c)) = (task, &k.value.channel) {
            v.error(Code::InvalidValue, format!("{what} is a task and a message"), &c.span).help = Some(
                "a kind is a task on the worklist (`task = true`) or a message (`channel = \"email\"`), not both"
                    .into(),
            );
        }
        if let (None, Some(tp)) = (channel, &k.value.template) {
            v.error(Code::InvalidValue, format!("{what} has a `template` but no `channel`"), &tp.span).help =
                Some("a template is a message's: add `channel = \"email\"` (or sms, letter), or remove it".into());
        }
        let template = v.template(&k.value.template, &k.span, &what, false);
        let Ok(kind) = ActionKind::declare(name) else {
            v.error(Code::InvalidValue, format!("{what}: too many declared action kinds"), &k.span);
            continue;
        };
        let label = k.value.label.as_ref().map_or_else(|| name.clone(), |l| l.value.trim().to_string());
        let standing = k.value.standing.as_ref().is_some_and(|x| x.value);
        out.push(KindDecl { kind, label, task, channel, template, standing });
    }
    out
}

/// `[notify]` and `[sales_reps]`: kinds that exist, addresses that are addresses.
fn notify(v: &mut V<'_>, raw: &RawPolicy) -> Notify {
    let mut n = Notify::default();
    if let Some(t) = &raw.sales_reps {
        for (rep, a) in &t.value {
            if !crate::engine::contact::is_email(&a.value) {
                v.error(
                    Code::InvalidValue,
                    format!(
                        "`{}` of sales rep `{}` in [sales_reps] is not an e-mail address",
                        a.value.escape_debug(),
                        rep.escape_debug()
                    ),
                    &a.span,
                )
                .help = Some("give the representative's address: `\"Dana Reyes\" = \"dana.reyes@example.com\"`".into());
                continue;
            }
            n.addresses.insert(rep.clone(), a.value.trim().to_string());
        }
    }
    let Some(t) = &raw.notify else {
        if let Some(t) = &raw.sales_reps {
            v.warning(Code::Unused, "[sales_reps] is not used: the policy has no [notify]".into(), &t.span).help = Some(
                "add `[notify]` with `sales_rep = [\"credit_hold\", ...]` to tell representatives of actions".into(),
            );
        }
        return n;
    };
    n.id = t.value.id.as_ref().map_or_else(|| Notify::DEFAULT_ID.to_string(), |x| x.value.clone());
    let names: Vec<&str> = ActionKind::WORDS
        .iter()
        .copied()
        .filter(|w| *w != "notify")
        .chain(v.kinds.iter().map(|d| d.kind.as_str()))
        .collect();
    for k in t.value.sales_rep.iter().flat_map(|l| &l.value) {
        let found = ActionKind::named(&k.value)
            .filter(|x| *x != ActionKind::Notify && (!x.is_declared() || v.kinds.iter().any(|d| d.kind == *x)));
        match found {
            Some(x) => n.sales_rep.push(x),
            None => {
                let help = did_you_mean(&k.value, names.iter().copied()).unwrap_or_else(|| {
                    format!("the kinds are {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                });
                v.error(
                    Code::InvalidValue,
                    format!("unknown action kind `{}` in `sales_rep` of [notify]", k.value.escape_debug()),
                    &k.span,
                )
                .help = Some(help);
            }
        }
    }
    n.sales_rep.sort_unstable();
    n.sales_rep.dedup();
    if n.sales_rep.is_empty() {
        v.warning(Code::Unused, "[notify] tells no one of anything: `sales_rep` lists no kind".into(), &t.span).help =
            Some(
                "list the kinds: `sales_rep = [\"credit_hold\", \"limit_change\", \"refer_agency\", \"refer_legal\"]`"
                    .into(),
            );
    }
    n
}

/// The largest `[kpis]` values: windows of 10 years, edges and grace of 10 years of days.
const MAX_KPI_MONTHS: i64 = 120;
const MAX_KPI_DAYS: i64 = 3650;

fn kpis(v: &mut V<'_>, raw: &RawPolicy) -> crate::facts::FactsConfig {
    let mut k = crate::facts::FactsConfig::default();
    let Some(r) = &raw.kpis else { return k };
    let what = "[kpis]";
    // A whole number between `lo` and `hi`, or an error naming the key.
    let count = |v: &mut V<'_>, x: &Option<Sp<i64>>, key: &str, lo: i64, hi: i64, unit: &str| -> Option<i64> {
        let x = x.as_ref()?;
        if (lo..=hi).contains(&x.value) {
            return Some(x.value);
        }
        v.error(Code::InvalidValue, format!("`{key} = {}` of {what} is not between {lo} and {hi}", x.value), &x.span)
            .help = Some(format!("give a whole number of {unit} from {lo} to {hi}, or remove the key for the default"));
        None
    };
    if let Some(d) = count(v, &r.promise_grace_days, "promise_grace_days", 0, MAX_KPI_DAYS, "days") {
        k.promise_grace_days = d as i32;
    }
    if let Some(d) = count(v, &r.dso_days, "dso_days", 1, MAX_KPI_DAYS, "days") {
        k.dso_days = d;
    }
    for (x, key, slot) in [
        (&r.behaviour_months, "behaviour_months", &mut k.behaviour_months),
        (&r.trend_recent_months, "trend_recent_months", &mut k.trend_recent_months),
        (&r.countback_months, "countback_months", &mut k.countback_months),
        (&r.cei_months, "cei_months", &mut k.cei_months),
    ] {
        if let Some(m) = count(v, x, key, 1, MAX_KPI_MONTHS, "months") {
            *slot = m as u32;
        }
    }
    if let (Some(t), true) = (&r.trend_recent_months, k.trend_recent_months >= k.behaviour_months) {
        v.error(
            Code::InvalidValue,
            format!(
                "`trend_recent_months = {}` of {what} leaves nothing of the {}-month behaviour window to compare with",
                k.trend_recent_months, k.behaviour_months
            ),
            &t.span,
        )
        .help = Some("`trend` compares the recent months with the rest of `behaviour_months`: make it shorter".into());
    }
    if let Some(edges) = &r.bucket_edges {
        let mut ok = !edges.value.is_empty();
        if !ok {
            v.error(Code::InvalidValue, format!("`bucket_edges` of {what} is empty"), &edges.span).help =
                Some("give the upper edges of the overdue buckets in days past due, e.g. [30, 60, 90]".into());
        }
        let mut prev: Option<i64> = None;
        for e in &edges.value {
            if !(1..=MAX_KPI_DAYS).contains(&e.value) {
                v.error(
                    Code::InvalidValue,
                    format!("bucket edge `{}` of {what} is not between 1 and {MAX_KPI_DAYS} days", e.value),
                    &e.span,
                )
                .help = Some("edges are days past due: the first overdue bucket starts at day 1".into());
                ok = false;
            } else if let Some(p) = prev.filter(|&p| e.value <= p) {
                v.error(
                    Code::InvalidValue,
                    format!("bucket edges of {what} are not increasing: `{}` comes after `{p}`", e.value),
                    &e.span,
                )
                .help = Some("list the edges from the smallest up, each once, e.g. [30, 60, 90]".into());
                ok = false;
            }
            prev = Some(e.value);
        }
        if ok {
            k.bucket_edges = edges.value.iter().map(|e| e.value as i32).collect();
        }
    }
    k
}

fn challenger(v: &mut V<'_>, raw: &RawPolicy, strategies: &[Strategy]) -> Option<Challenger> {
    let c = raw.challenger.as_ref()?;
    let strategy_of = |v: &mut V<'_>, id: &Sp<String>, key: &str| {
        let found = strategies.iter().position(|s| s.id == id.value);
        if found.is_none() {
            let help = did_you_mean(&id.value, strategies.iter().map(|s| s.id.as_str())).unwrap_or_else(|| {
                format!(
                    "the strategies are {}",
                    strategies.iter().map(|s| format!("`{}`", s.id)).collect::<Vec<_>>().join(", ")
                )
            });
            v.error(
                Code::UnknownReference,
                format!("unknown strategy `{}` in [challenger] {key}", id.value),
                &id.span,
            )
            .help = Some(help);
        }
        found
    };
    let strategy =
        v.required(&c.strategy, "strategy", &c.span, "[challenger]").and_then(|s| strategy_of(v, s, "strategy"));
    let only_strategy = c.only_strategy.as_ref().map(|o| strategy_of(v, o, "only_strategy"));
    let share = v.required(&c.share, "share", &c.span, "[challenger]").and_then(|s| {
        if s.value > 0.0 && s.value < 1.0 {
            Some(s.value)
        } else {
            v.error(
                Code::InvalidValue,
                format!("`share = {}` of [challenger] is not between 0 and 1", s.value),
                &s.span,
            )
            .help = Some("give the challenger arm's share of customers as a fraction, e.g. `share = 0.10`".into());
            None
        }
    });
    let salt = v.required(&c.salt, "salt", &c.span, "[challenger]").map(|s| s.value.clone());
    let only_strategy = match only_strategy {
        Some(found) => Some(found?),
        None => None,
    };
    Some(Challenger { strategy: strategy?, share: share?, salt: salt?, only_strategy })
}

fn quarters(v: &mut V<'_>, q: &Option<Sp<Vec<u32>>>, what: &str) -> Vec<u32> {
    let Some(q) = q else { return Vec::new() };
    for x in &q.value {
        if !(1..=4).contains(x) {
            v.error(Code::InvalidValue, format!("quarter `{x}` of {what} is not 1-4"), &q.span);
        }
    }
    q.value.clone()
}

fn incentives(v: &mut V<'_>, raw: &RawPolicy) -> Vec<Incentive> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (n, r) in raw.incentive.iter().enumerate() {
        let t = &r.span;
        let id = v.id(&r.id, t, "incentive", n);
        dup(v, &mut seen, &id, r.id.as_ref(), "incentive");
        let what = format!("incentive `{id}`");
        let pct = v.required(&r.discount_pct, "discount_pct", t, &what).map_or(Decimal::ZERO, |x| x.value.0);
        if let Some(x) = &r.discount_pct
            && (x.value.0 <= Decimal::ZERO || x.value.0 >= Decimal::ONE_HUNDRED)
        {
            v.error(Code::InvalidValue, format!("`discount_pct` of {what} must be between 0 and 100"), &x.span);
        }
        let within = v.required(&r.pay_within_days, "pay_within_days", t, &what).map_or(0, |x| x.value);
        if let Some(x) = &r.pay_within_days
            && x.value == 0
        {
            v.error(Code::InvalidValue, format!("`pay_within_days` of {what} must be 1 or more"), &x.span);
        }
        let when = v.expr(&r.when, INVOICE, &what, Want::Bool);
        let ch = r.channel.as_ref().map_or(Channel::Email, |c| channel(c.value));
        out.push(Incentive {
            id,
            when,
            invoices: r.invoices.as_ref().map_or(InvoiceSet::Current, |x| x.value),
            discount_pct: pct,
            pay_within_days: within,
            max_discount: v.money(&r.max_discount, "max_discount", &what),
            min_invoice_amount: v.money(&r.min_invoice_amount, "min_invoice_amount", &what),
            quarters: quarters(v, &r.quarters, &what),
            channel: ch,
            fallback: step_fallback(v, &r.fallback, Some(ch), &what),
            template: v.template(&r.template, t, &what, true),
            priority: r.priority.as_ref().map_or(0, |x| x.value),
        });
    }
    out
}

fn plans(v: &mut V<'_>, raw: &RawPolicy) -> Vec<PaymentPlan> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (n, r) in raw.payment_plan.iter().enumerate() {
        let t = &r.span;
        let id = v.id(&r.id, t, "payment plan", n);
        dup(v, &mut seen, &id, r.id.as_ref(), "payment plan");
        let what = format!("payment plan `{id}`");
        let k = v.required(&r.instalments, "instalments", t, &what).map_or(2, |x| x.value);
        if let Some(x) = &r.instalments
            && x.value < 2
        {
            v.error(Code::InvalidValue, format!("`instalments` of {what} must be 2 or more"), &x.span);
        }
        if let Some(x) = &r.interval_days
            && x.value == 0
        {
            v.error(Code::InvalidValue, format!("`interval_days` of {what} must be 1 or more"), &x.span);
        }
        let when = v.expr(&r.when, CUSTOMER, &what, Want::Bool);
        let ch = r.channel.as_ref().map_or(Channel::Email, |c| channel(c.value));
        out.push(PaymentPlan {
            id,
            when,
            instalments: k,
            interval_days: r.interval_days.as_ref().map_or(30, |x| x.value),
            min_instalment: v.money(&r.min_instalment, "min_instalment", &what),
            reoffer_after_days: r.reoffer_after_days.as_ref().map_or(90, |x| x.value),
            channel: ch,
            fallback: step_fallback(v, &r.fallback, Some(ch), &what),
            template: v.template(&r.template, t, &what, true),
            priority: r.priority.as_ref().map_or(0, |x| x.value),
        });
    }
    out
}

fn limit_of(v: &mut V<'_>, r: &Sp<RawLimit>, n: usize) -> LimitRule {
    let t = &r.span;
    let id = v.id(&r.id, t, "limit rule", n);
    let what = format!("limit rule `{id}`");
    let change = v.required(&r.change, "change", t, &what).map_or(LimitChange::Freeze, |x| x.value);
    let by_pct = v.nonneg(&r.by_pct, "by_pct", &what);
    let by_amount = v.money(&r.by_amount, "by_amount", &what);
    let to = v.money(&r.to, "to", &what);
    let floor = v.money(&r.floor, "floor", &what);
    let cap = v.money(&r.cap, "cap", &what);
    let round_to = r.round_to.as_ref().map(|x| x.value.0);
    if let Some(x) = &r.round_to
        && x.value.0 <= Decimal::ZERO
    {
        v.error(Code::InvalidValue, format!("`round_to` of {what} must be above zero"), &x.span);
    }
    match change {
        LimitChange::Raise | LimitChange::Lower => match (&r.by_pct, &r.by_amount) {
            (None, None) if !v.was_removed(t, "by_pct") && !v.was_removed(t, "by_amount") => {
                v.error(Code::MissingKey, format!("{what} says how much to change with `by_pct` or `by_amount`"), t);
            }
            (Some(_), Some(b)) => {
                v.error(Code::InvalidValue, format!("{what} has both `by_pct` and `by_amount`"), &b.span).help =
                    Some("keep one of them".into());
            }
            _ => {}
        },
        LimitChange::Set => {
            v.required(&r.to, "to", t, &what);
        }
        _ => {}
    }
    if let Some(x) = &r.by_pct
        && change == LimitChange::Lower
        && x.value.0 > Decimal::ONE_HUNDRED
    {
        v.error(Code::InvalidValue, format!("{what} lowers by more than 100%"), &x.span);
    }
    if let (Some(f), Some(c), Some(cs)) = (&floor, &cap, &r.cap) {
        // Compared per currency where both give one (a single amount counts for every currency).
        let mut codes: Vec<&str> = f.by.iter().chain(&c.by).map(|(k, _)| k.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let pairs: Vec<(String, Decimal, Decimal)> = if codes.is_empty() {
            f.one.zip(c.one).map(|(a, b)| (String::new(), a, b)).into_iter().collect()
        } else {
            codes.iter().filter_map(|k| Some((format!(" ({k})"), f.get(k).or(f.one)?, c.get(k).or(c.one)?))).collect()
        };
        for (k, f, c) in pairs {
            if f > c {
                v.error(Code::FloorAboveCap, format!("{what}: floor {f} is above cap {c}{k}"), &cs.span).help =
                    Some("the floor is the lowest limit and the cap the highest: swap them or fix one".into());
            }
        }
    }
    let pointless = match change {
        LimitChange::Raise => r.floor.as_ref().map(|x| ("floor", x)),
        LimitChange::Lower => r.cap.as_ref().map(|x| ("cap", x)),
        _ => None,
    };
    if let Some((k, x)) = pointless {
        v.warning(Code::Unused, format!("`{k}` of {what} has no effect on a `{change:?}`").to_lowercase(), &x.span);
    }
    let when = v.expr(&r.when, CUSTOMER, &what, Want::Bool);
    LimitRule {
        id,
        when,
        change,
        by_pct,
        by_amount,
        to,
        floor,
        cap,
        round_to,
        every_days: r.every_days.as_ref().map_or(90, |x| x.value),
        review_in_days: r.review_in_days.as_ref().map(|x| x.value),
        owner: r.owner.as_ref().map(|x| x.value.clone()),
        priority: r.priority.as_ref().map_or(0, |x| x.value),
    }
}

fn limits(v: &mut V<'_>, raw: &RawPolicy) -> Vec<LimitRule> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (n, r) in raw.limit.iter().enumerate() {
        let l = limit_of(v, r, n);
        dup(v, &mut seen, &l.id, r.id.as_ref(), "limit rule");
        out.push(l);
    }
    out
}

fn reviews(v: &mut V<'_>, raw: &RawPolicy) -> Vec<Review> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (n, r) in raw.review.iter().enumerate() {
        let t = &r.span;
        let id = v.id(&r.id, t, "review", n);
        dup(v, &mut seen, &id, r.id.as_ref(), "review");
        let what = format!("review `{id}`");
        let every = match (&r.every, &r.every_days) {
            (Some(e), None) => match e.value {
                Every::Monthly => 30,
                Every::Quarterly => 91,
                Every::Yearly => 365,
            },
            (None, Some(d)) => d.value.max(1),
            (Some(_), Some(d)) => {
                v.error(Code::InvalidValue, format!("{what} has both `every` and `every_days`"), &d.span);
                d.value.max(1)
            }
            (None, None) => {
                if !v.was_removed(t, "every") && !v.was_removed(t, "every_days") {
                    v.error(Code::MissingKey, format!("{what} says how often with `every` or `every_days`"), t).help =
                        Some("e.g. `every = \"quarterly\"`".into());
                }
                365
            }
        };
        let when = v.expr(&r.when, CUSTOMER, &what, Want::Bool);
        out.push(Review {
            id,
            when,
            risk_class: r.risk_class.as_ref().map(|x| match x.value {
                RawRiskClass::Low => RiskClass::Low,
                RawRiskClass::Medium => RiskClass::Medium,
                RawRiskClass::High => RiskClass::High,
            }),
            every_days: every,
            owner: r.owner.as_ref().map(|x| x.value.clone()),
        });
    }
    out
}

/// The decimals an amount of `currency` can have in this policy: its ISO 4217 minor unit,
/// at most 2 (the ledger's amounts have at most 2 decimals); 2 when the policy names no currency.
pub fn minor_units(currency: Option<&str>) -> u32 {
    currency.map_or(2, |c| crate::money::minor_units(c).min(2))
}

/// The finest percentage a policy may write: 0.0001 points. A rate or share written finer
/// than that is a typo, not a contract term.
pub const PCT_DECIMALS: u32 = 4;

/// The highest yearly interest rate a policy may charge, in percent: well above any late-payment
/// law (statutory B2B rates are the reference rate plus 8 points), far below a typo of 1e18 %.
pub const MAX_RATE_PCT: u32 = 100;

/// The checks of numbers that parse but make no sense (docs/policy.md, "Numbers"): an amount
/// with more decimals than the currency has (it would be rounded silently in every action),
/// a percentage finer than [`PCT_DECIMALS`] or outside 0-100, an interest rate above
/// [`MAX_RATE_PCT`] a year.
fn plausible_numbers(v: &mut V<'_>, raw: &RawPolicy, meta: &Meta) {
    let unit_of = |code: Option<&str>, minor: u32| match (code, minor) {
        (Some(c), 0) => format!("amounts in `{c}` have no decimals"),
        (Some(c), m) => format!("amounts in `{c}` have at most {m} decimals, as in the ledger"),
        (None, m) => format!("amounts have at most {m} decimals, as in the ledger"),
    };
    let own = meta.currency.as_deref();
    // One amount at `span`, in `code` (the policy's currency when `None`).
    let amount =
        |v: &mut V<'_>, span: &std::ops::Range<usize>, d: Decimal, code: Option<&str>, key: &str, what: &str| {
            let minor = minor_units(code.or(own));
            let scale = d.normalize().scale();
            if scale > minor {
                let mut rounded = d.round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero);
                if rounded.is_zero() {
                    rounded = Decimal::new(1, minor);
                }
                v.error(
                    Code::InvalidValue,
                    format!("`{key}` of {what} has {scale} decimal{}: `{d}`", if scale == 1 { "" } else { "s" }),
                    span,
                )
                .help = Some(format!("{}: write `\"{rounded}\"`", unit_of(code.or(own), minor)));
            }
        };
    let money = |v: &mut V<'_>, x: &Option<Sp<Num>>, key: &str, what: &str| {
        if let Some(x) = x {
            amount(v, &x.span, x.value.0, None, key, what);
        }
    };
    // A policy amount: one value in the policy's currency, or each currency's in its own.
    let money_by = |v: &mut V<'_>, x: &Option<Sp<MoneyValue>>, key: &str, what: &str| match x {
        Some(Sp { span, value: MoneyValue::One(d) }) => amount(v, span, *d, None, key, what),
        Some(Sp { span, value: MoneyValue::PerCurrency(by) }) => {
            for (code, d) in by {
                amount(v, span, *d, Some(code), &format!("{key}.{code}"), what);
            }
        }
        None => {}
    };
    let pct = |v: &mut V<'_>, x: &Sp<Num>, key: &str, what: &str, range: (Decimal, Decimal)| {
        let n = x.value.0;
        if n < range.0 || n > range.1 {
            v.error(Code::InvalidValue, format!("`{key}` of {what} is out of range: `{n}`"), &x.span).help =
                Some(format!("a percentage here is between {} and {}", range.0, range.1));
        } else if n.normalize().scale() > PCT_DECIMALS {
            v.error(Code::InvalidValue, format!("`{key}` of {what} is finer than 0.0001 points: `{n}`"), &x.span)
                .help = Some(format!(
                "write percentages with at most {PCT_DECIMALS} decimals, e.g. `\"{}\"`",
                n.round_dp(PCT_DECIMALS)
            ));
        }
    };
    let hundred = (Decimal::ZERO, Decimal::ONE_HUNDRED);
    if let Some(g) = &raw.guardrails {
        money_by(v, &g.min_overdue, "min_overdue", "[guardrails]");
    }
    if let Some(t) = &raw.amounts {
        for (name, x) in &t.value {
            money_by(v, &Some(x.clone()), name, "[amounts]");
        }
    }
    if let Some(c) = &raw.costs {
        for (key, x) in &c.value.by_kind {
            let key = key.value.as_str();
            match &x.value {
                CostValue::Amount(a) => {
                    money(v, &Some(Sp { span: x.span.clone(), value: Num(*a) }), key, "[costs]");
                }
                CostValue::PerCurrency(by) => {
                    for (code, d) in by {
                        amount(v, &x.span, *d, Some(code), &format!("{key}.{code}"), "[costs]");
                    }
                }
                CostValue::Percent(p) if p.normalize().scale() > PCT_DECIMALS => {
                    v.error(
                        Code::InvalidValue,
                        format!("`{key}` of [costs] is finer than 0.0001 points: `{p}%`"),
                        &x.span,
                    )
                    .help = Some(format!("write percentages with at most {PCT_DECIMALS} decimals"));
                }
                CostValue::Percent(_) => {}
            }
        }
    }
    if let Some(i) = &raw.interest {
        money(v, &i.compensation, "compensation", "[interest]");
        let max = Decimal::from(MAX_RATE_PCT);
        for (key, x, lo) in [
            ("rate_pct", &i.rate_pct, Decimal::ZERO),
            ("reference_rate_pct", &i.reference_rate_pct, -max),
            ("margin_pct", &i.margin_pct, Decimal::ZERO),
        ] {
            if let Some(x) = x {
                if x.value.0 > max {
                    v.error(
                        Code::InvalidValue,
                        format!("`{key}` of [interest] is {}% a year, beyond any late-payment law", x.value.0),
                        &x.span,
                    )
                    .help = Some(format!(
                        "rates are yearly percentages between 0 and {MAX_RATE_PCT}: 1% a month is `\"12\"`"
                    ));
                } else if x.value.0 >= lo {
                    pct(v, x, key, "[interest]", (lo, max));
                }
            }
        }
        if let (Some(r), Some(m)) = (&i.reference_rate_pct, &i.margin_pct)
            && r.value.0 <= max
            && m.value.0 <= max
            && r.value.0 + m.value.0 > max
        {
            v.error(
                Code::InvalidValue,
                format!("the interest rate ({}% a year) is beyond any late-payment law", r.value.0 + m.value.0),
                &r.span,
            )
            .help = Some(format!("the reference rate plus the margin is at most {MAX_RATE_PCT}% a year"));
        }
    }
    for l in &raw.ladder {
        for (n, s) in l.step.iter().enumerate() {
            let what = s.id.as_ref().map_or(format!("step #{}", n + 1), |id| format!("step `{}`", id.value));
            money_by(v, &s.fee, "fee", &what);
            money_by(v, &s.min_overdue, "min_overdue", &what);
            if let Some(x) = &s.fee_pct {
                pct(v, x, "fee_pct", &what, hundred);
            }
        }
    }
    for (n, r) in raw.incentive.iter().enumerate() {
        let what = r.id.as_ref().map_or(format!("incentive #{}", n + 1), |id| format!("incentive `{}`", id.value));
        money_by(v, &r.max_discount, "max_discount", &what);
        money_by(v, &r.min_invoice_amount, "min_invoice_amount", &what);
        if let Some(x) = &r.discount_pct
            && x.value.0.normalize().scale() > PCT_DECIMALS
        {
            pct(v, x, "discount_pct", &what, hundred);
        }
    }
    for (n, r) in raw.payment_plan.iter().enumerate() {
        let what =
            r.id.as_ref().map_or(format!("payment plan #{}", n + 1), |id| format!("payment plan `{}`", id.value));
        money_by(v, &r.min_instalment, "min_instalment", &what);
    }
    for (n, r) in raw.limit.iter().enumerate() {
        let what = r.id.as_ref().map_or(format!("limit rule #{}", n + 1), |id| format!("limit rule `{}`", id.value));
        for (key, x) in [("by_amount", &r.by_amount), ("to", &r.to), ("floor", &r.floor), ("cap", &r.cap)] {
            money_by(v, x, key, &what);
        }
        money(v, &r.round_to, "round_to", &what);
        if let Some(x) = &r.by_pct
            && x.value.0 >= Decimal::ZERO
            && (x.value.0 <= Decimal::ONE_HUNDRED || r.change.as_ref().is_some_and(|c| c.value == LimitChange::Raise))
        {
            pct(v, x, "by_pct", &what, (Decimal::ZERO, Decimal::from(1000)));
        }
    }
}

/// `replaces = ["old-id"]` of every rule: the (rule id, old id) pairs. An old id must not be a
/// rule of the policy (its rows are that rule's already), nor be replaced by two different rules.
fn replaces(v: &mut V<'_>, raw: &RawPolicy) -> Vec<(String, String)> {
    /// A rule's id, its `replaces` and its kind in words.
    type Named<'r> = (&'r Option<Sp<String>>, &'r Option<Sp<Vec<String>>>, &'static str);
    let mut all: Vec<Named<'_>> = Vec::new();
    for l in &raw.ladder {
        all.extend(l.step.iter().map(|s| (&s.id, &s.replaces, "step")));
    }
    all.extend(raw.incentive.iter().map(|x| (&x.id, &x.replaces, "incentive")));
    all.extend(raw.payment_plan.iter().map(|x| (&x.id, &x.replaces, "payment plan")));
    all.extend(raw.limit.iter().map(|x| (&x.id, &x.replaces, "limit rule")));
    all.extend(raw.review.iter().map(|x| (&x.id, &x.replaces, "review")));
    let live: Vec<&str> = all.iter().filter_map(|(id, _, _)| id.as_ref().map(|i| i.value.as_str())).collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for (id, reps, kind) in &all {
        let (Some(id), Some(reps)) = (id, reps) else { continue };
        for old in &reps.value {
            let valid =
                !old.is_empty() && old.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                v.error(
                    Code::InvalidValue,
                    format!("{kind} `{}` replaces `{old}`, which is not a rule id", id.value),
                    &reps.span,
                );
            } else if live.contains(&old.as_str()) {
                v.error(
                    Code::InvalidValue,
                    format!("{kind} `{}` replaces `{old}`, which is still a rule of this policy", id.value),
                    &reps.span,
                )
                .help = Some(format!(
                    "`replaces` names the old id of a renamed rule; if `{old}` was renamed to `{}`, remove the rule `{old}`",
                    id.value
                ));
            } else if let Some((other, _)) = out.iter().find(|(n, o)| o == old && *n != id.value) {
                v.error(
                    Code::DuplicateId,
                    format!("`{old}` is replaced by both `{other}` and `{}`", id.value),
                    &reps.span,
                )
                .help = Some("the rows of an old id can continue one rule only".into());
            } else if !out.iter().any(|(n, o)| o == old && *n == id.value) {
                out.push((id.value.clone(), old.clone()));
            }
        }
    }
    out
}

/// Rule ids are recorded in actions.csv: one id must not name rules of two kinds.
fn unique_ids(v: &mut V<'_>, raw: &RawPolicy) {
    let mut kinds: HashMap<String, (&str, Range<usize>)> = HashMap::new();
    let mut check = |v: &mut V<'_>, id: &Option<Sp<String>>, kind: &'static str| {
        let Some(id) = id else { return };
        match kinds.get(&id.value) {
            Some((k, _)) if *k != kind => {
                v.error(Code::DuplicateId, format!("id `{}` names both a {k} and a {kind}", id.value), &id.span).help =
                    Some("actions.csv records rules by id: give each rule its own".into());
            }
            Some(_) => {}
            None => {
                kinds.insert(id.value.clone(), (kind, id.span.clone()));
            }
        }
    };
    for l in &raw.ladder {
        for s in &l.step {
            check(v, &s.id, "step");
        }
    }
    for x in &raw.incentive {
        check(v, &x.id, "incentive");
    }
    for x in &raw.payment_plan {
        check(v, &x.id, "payment plan");
    }
    for x in &raw.limit {
        check(v, &x.id, "limit rule");
    }
    for x in &raw.review {
        check(v, &x.id, "review");
    }
}

/// A step's (or an offer's) `fallback` channels: only for a rule with a
/// channel, none twice nor the rule's own.
fn step_fallback(v: &mut V<'_>, f: &Option<Sp<Vec<RawChannel>>>, own: Option<Channel>, what: &str) -> Vec<Channel> {
    let Some(f) = f else { return Vec::new() };
    let Some(own) = own else {
        v.error(Code::InvalidValue, format!("`fallback` of {what}: the step sends no message"), &f.span).help =
            Some("`fallback` applies to steps that email, text, call, write or send a statement".into());
        return Vec::new();
    };
    let mut out: Vec<Channel> = Vec::with_capacity(f.value.len());
    for &c in &f.value {
        let c = channel(c);
        if c == own || out.contains(&c) {
            v.error(Code::InvalidValue, format!("`fallback` of {what} names `{c}` twice"), &f.span).help =
                Some("list each channel once, without the rule's own channel".into());
            continue;
        }
        out.push(c);
    }
    out
}

//! Message templates: reading a policy's templates folder (one file per
//! template, its parts per channel, a subfolder per language), checking
//! every template against the fields its rules can see (`recoup check`),
//! and rendering a planned action into the message a customer receives,
//! with minijinja and strict undefined variables (docs/outbox.md).

pub mod fields;
mod notify;

use crate::engine::PlannedAction;
use crate::ledger::{Channel, Ledger};
use crate::policy::compile::Rules;
use crate::policy::diag::{Code, Diagnostic, Sources};
use crate::policy::raw::RawSender;
use chrono::NaiveDate;
use fields::{ATTRIBUTES, FIELDS, Scope};
pub use fields::{Fields, Sender, Subject};
use minijinja::{Environment, UndefinedBehavior};
use std::collections::BTreeMap;
use std::path::Path;

/// The parts a template may have, in the order a file usually gives them.
pub const PARTS: &[&str] = &["subject", "text", "html", "sms", "letter", "call"];

/// The parts a message on `channel` needs.
pub fn needed(channel: Channel) -> &'static [&'static str] {
    match channel {
        Channel::Email => &["subject", "text"],
        Channel::Sms => &["sms"],
        Channel::Letter => &["letter"],
        Channel::Call => &["call"],
    }
}

/// A policy's templates, parsed and checked, with its `[sender]`.
pub struct Templates {
    env: Environment<'static>,
    /// The parts of each (language, template name).
    files: BTreeMap<(String, String), Vec<&'static str>>,
    /// The language of a customer without one, and of the top-level files.
    pub default_language: String,
    pub sender: Sender,
    /// The sender's payment-link pattern was given.
    payment_link: bool,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            env: env(),
            files: BTreeMap::new(),
            default_language: "en".into(),
            sender: Sender::default(),
            payment_link: false,
        }
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("files", &self.files).finish_non_exhaustive()
    }
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(false);
    // A line holding only a block tag (`{% for %}`, `{% endfor %}`) leaves no blank line.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // `{{ n | plural("day", "days") }}`: `1 day`, `3 days` (the one form for 1 and -1).
    env.add_filter("plural", plural);
    // Text parts are plain text; the html part is escaped.
    env.set_auto_escape_callback(|name| {
        if name.ends_with("#html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
    });
    // recoup's own sales representative's message (a policy's file of that name wins).
    for p in split(notify::SHIPPED, 0, &mut Vec::new()) {
        // The shipped file parses (a unit test renders it).
        let _ = env.add_template_owned(notify::shipped_key(p.name), p.text);
    }
    env
}

/// The `plural` filter: `n` and the word for its number, singular for 1 and -1
/// (en, de: `1 day`, `1 Tag`, `0 days`); a template whose language counts
/// otherwise writes its own `{% if %}`.
fn plural(n: i64, one: String, many: String) -> String {
    format!("{n} {}", if n.abs() == 1 { one } else { many })
}

/// Where a template is used: the rule, the fields it sees and the channels it goes by.
#[derive(Debug, Clone)]
pub struct Use {
    pub template: String,
    pub rule: String,
    pub scope: Scope,
    pub channels: Vec<Channel>,
}

/// Every use of a template by the rules.
pub fn uses(r: &Rules) -> Vec<Use> {
    let mut out = Vec::new();
    for l in &r.ladders {
        for s in &l.steps {
            if let (Some(t), Some(ch)) = (&s.template, s.channel) {
                let mut channels = vec![ch];
                channels.extend(&s.fallback);
                out.push(Use { template: t.clone(), rule: format!("step `{}`", s.id), scope: Scope::Any, channels });
            }
        }
    }
    for x in &r.incentives {
        if let Some(t) = &x.template {
            out.push(Use {
                template: t.clone(),
                rule: format!("incentive `{}`", x.id),
                scope: Scope::Incentive,
                channels: std::iter::once(x.channel).chain(x.fallback.iter().copied()).collect(),
            });
        }
    }
    for p in &r.plans {
        if let Some(t) = &p.template {
            out.push(Use {
                template: t.clone(),
                rule: format!("payment plan `{}`", p.id),
                scope: Scope::PaymentPlan,
                channels: std::iter::once(p.channel).chain(p.fallback.iter().copied()).collect(),
            });
        }
    }
    out
}

/// A template name as the policy gives it (`overdue-1` or `overdue-1.md`).
fn stem(name: &str) -> &str {
    name.strip_suffix(".md").unwrap_or(name)
}

/// One part of a template file: its name, text and byte offset in the file.
struct Part {
    name: &'static str,
    text: String,
    at: usize,
}

/// Split a template file into its parts: a line `=== name` starts one.
fn split(text: &str, file: usize, diags: &mut Vec<Diagnostic>) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut at = 0;
    let mut stray = false;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if let Some(name) = line.strip_prefix("===") {
            let name = name.trim();
            match PARTS.iter().find(|p| **p == name) {
                Some(p) if parts.iter().any(|x| x.name == *p) => diags.push(
                    Diagnostic::error(Code::TemplateField, format!("part `{name}` given twice"))
                        .at(file, start..start + line.trim_end().len()),
                ),
                Some(p) => parts.push(Part { name: p, text: String::new(), at }),
                None => diags.push(
                    Diagnostic::error(Code::TemplateField, format!("unknown part `{name}`"))
                        .at(file, start..start + line.trim_end().len())
                        .help(format!("a template's parts are {}", PARTS.join(", "))),
                ),
            }
            continue;
        }
        match parts.last_mut() {
            Some(p) => p.text.push_str(line),
            None if !line.trim().is_empty() && !stray => {
                stray = true;
                diags.push(
                Diagnostic::error(Code::TemplateField, "text before the first part")
                    .at(file, start..start + line.trim_end().len())
                    .help("start each part with a line `=== subject`, `=== text`, `=== sms`, `=== letter` or `=== call`"),
                )
            }
            _ => {}
        }
    }
    parts
}

impl Templates {
    /// Read and check the templates of folder `dir` against the rules that
    /// use them; each file read is added to `sources` (for carets), every
    /// problem is a diagnostic.
    pub fn load(
        dir: Option<&Path>,
        sender: Option<&RawSender>,
        rules: &Rules,
        sources: &mut Sources,
    ) -> (Templates, Vec<Diagnostic>) {
        let mut t = Templates::default();
        let mut diags = Vec::new();
        if let Some(s) = sender {
            t.sender = Sender {
                company: s.company.clone().unwrap_or_default(),
                address: s.address.clone().unwrap_or_default(),
                email: s.email.clone().unwrap_or_default(),
                phone: s.phone.clone().unwrap_or_default(),
                bank: s.bank.clone().unwrap_or_default(),
            };
            if let Some(l) = &s.language {
                t.default_language = l.to_ascii_lowercase();
            }
            if let Some(p) = &s.payment_link {
                if let Err(e) = t.env.add_template_owned("sender#payment_link", p.clone()) {
                    diags.push(Diagnostic::error(
                        Code::TemplateField,
                        format!("`payment_link` of [sender] does not parse: {}", e.detail().unwrap_or("")),
                    ));
                }
                t.payment_link = true;
            }
        }
        let Some(dir) = dir.filter(|d| d.is_dir()) else { return (t, diags) };
        let uses = uses(rules);
        // The files: top level (default language), then one folder per language.
        let mut files: Vec<(String, String, std::path::PathBuf)> = Vec::new();
        let list = |d: &Path| -> Vec<std::path::PathBuf> {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            v.sort();
            v
        };
        for p in list(dir) {
            if p.is_dir() {
                let Some(lang) = p.file_name().map(|s| s.to_string_lossy().to_ascii_lowercase()) else { continue };
                for f in list(&p) {
                    if f.extension().is_some_and(|e| e == "md") {
                        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                        files.push((lang.clone(), name, f));
                    }
                }
            } else if p.extension().is_some_and(|e| e == "md") {
                let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((t.default_language.clone(), name, p));
            }
        }
        let sample = sample_fields(&t.sender);
        let notify_sample = notify::sample(&t.sender);
        for (lang, name, path) in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => {
                    diags.push(Diagnostic::error(Code::Io, format!("cannot read `{}`: {e}", path.display())));
                    continue;
                }
            };
            let file = sources.add(path.clone(), text.clone());
            let parts = split(&text, file, &mut diags);
            let used: Vec<&Use> = uses.iter().filter(|u| stem(&u.template) == name).collect();
            // Fields the template may read: those of every rule that uses it;
            // the sales representative's message has its own.
            let scopes: Vec<Scope> = used.iter().map(|u| u.scope).collect();
            let is_notify = name == notify::TEMPLATE;
            let vocabulary: Vocabulary = if is_notify {
                (notify::FIELDS, notify::ATTRIBUTES, "the sales representative's message")
            } else {
                (FIELDS, ATTRIBUTES, "messages")
            };
            for p in &parts {
                let key = format!("{lang}/{name}#{}", p.name);
                if p.name == "html"
                    && let Some((at, what)) = unescaped_include(&p.text)
                {
                    diags.push(
                        Diagnostic::error(
                            Code::TemplateField,
                            format!("the `html` part includes {what}, which would go out unescaped"),
                        )
                        .at(file, p.at + at..p.at + at)
                        .help("an html part may include, import or extend only html parts (`…#html`): write the text again in the html part"),
                    );
                    continue;
                }
                if let Err(e) = t.env.add_template_owned(key.clone(), p.text.clone()) {
                    diags.push(at_error(&e, file, p, "does not parse"));
                    continue;
                }
                let before = diags.len();
                check_fields(&t.env, &key, p, file, (&scopes, &used), vocabulary, &mut diags);
                // A field misspelt inside a loop (`{{ i.idd }}`) is found by filling the part in.
                let sample = if is_notify { &notify_sample } else { &sample };
                if diags.len() == before
                    && let Ok(tpl) = t.env.get_template(&key)
                    && let Err(e) = tpl.render(sample)
                {
                    diags.push(
                        at_error(&e, file, p, "reads something that is not there")
                            .help("the fields and their attributes are listed in docs/outbox.md"),
                    );
                }
            }
            let mut missing: Vec<&str> = Vec::new();
            if is_notify && !rules.notify.sales_rep.is_empty() {
                for need in needed(Channel::Email) {
                    if !parts.iter().any(|p| p.name == *need) {
                        diags.push(
                            Diagnostic::error(
                                Code::MissingTemplate,
                                format!("template `{name}` has no `{need}` part, which the sales representative's message ([notify]) needs"),
                            )
                            .at(file, 0..0)
                            .help(format!("add a line `=== {need}` followed by its text")),
                        );
                    }
                }
            }
            for u in &used {
                for ch in &u.channels {
                    for need in needed(*ch) {
                        if *need == "call" {
                            continue; // a call sheet falls back on the plan's reason
                        }
                        if !parts.iter().any(|p| p.name == *need) && !missing.contains(need) {
                            missing.push(need);
                            diags.push(
                                Diagnostic::error(
                                    Code::MissingTemplate,
                                    format!(
                                        "template `{name}` has no `{need}` part, which {} needs to go by {ch}",
                                        u.rule
                                    ),
                                )
                                .at(file, 0..0)
                                .help(format!("add a line `=== {need}` followed by the {ch} text")),
                            );
                        }
                    }
                }
            }
            t.files.insert((lang, name), parts.iter().map(|p| p.name).collect());
        }
        (t, diags)
    }

    /// Is there any template at all?
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The language `template` is rendered in for a customer speaking `lang`.
    fn language(&self, template: &str, lang: Option<&str>) -> Option<String> {
        let name = stem(template).to_string();
        if let Some(l) = lang.map(str::to_ascii_lowercase)
            && self.files.contains_key(&(l.clone(), name.clone()))
        {
            return Some(l);
        }
        let d = self.default_language.clone();
        self.files.contains_key(&(d.clone(), name)).then_some(d)
    }

    /// Render the message of `s` on its channel.
    pub fn render(&self, s: &Subject<'_>) -> Result<Message, RenderError> {
        let a: &PlannedAction = s.action;
        let (Some(template), Some(channel)) = (a.template.as_deref(), a.channel) else {
            return Err(RenderError::NoTemplate);
        };
        let lang = self
            .language(template, s.customer.contact.language.as_deref())
            .ok_or_else(|| RenderError::Missing(template.to_string()))?;
        let name = stem(template);
        let mut f = Fields::of(s, &self.sender, &lang);
        if self.payment_link {
            let link = self.part("sender#payment_link", &f)?;
            f.set_payment_link(link);
        }
        let has = |p: &str| self.files.get(&(lang.clone(), name.to_string())).is_some_and(|v| v.contains(&p));
        let get = |p: &str| -> Result<Option<String>, RenderError> {
            if has(p) { self.part(&format!("{lang}/{name}#{p}"), &f).map(Some) } else { Ok(None) }
        };
        let (subject, body, html) = match channel {
            Channel::Email => (get("subject")?, get("text")?, get("html")?),
            Channel::Sms => (None, get("sms")?, None),
            Channel::Letter => (None, get("letter")?, None),
            Channel::Call => (None, get("call")?, None),
        };
        let Some(body) = body else {
            return Err(RenderError::NoPart {
                template: template.to_string(),
                part: needed(channel)[needed(channel).len() - 1],
            });
        };
        Ok(Message {
            channel,
            language: lang,
            subject: subject.map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")),
            text: tidy(&body),
            html: html.map(|h| tidy(&h)),
            to: None,
        })
    }

    fn part(&self, key: &str, f: &impl serde::Serialize) -> Result<String, RenderError> {
        let tpl = self.env.get_template(key).map_err(|e| RenderError::Template(key.to_string(), e.to_string()))?;
        tpl.render(f).map_err(|e| RenderError::Template(key.to_string(), e.to_string()))
    }
}

/// Trailing blanks and blank lines at either end removed; one newline at the end.
fn tidy(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.is_empty()).map_or(start, |e| e + 1);
    let mut out = lines[start..end].join("\n");
    out.push('\n');
    out
}

/// A diagnostic at a minijinja error's place in part `p` of `file`.
/// Where an html part's `include`, `import`, `from` or `extends` names a
/// template that is not an html part, and what it names. minijinja renders
/// an included template with that template's own escaping, so a text part
/// included in the html part would put a customer's name in the e-mail's
/// HTML unescaped. A name computed when rendering counts too.
fn unescaped_include(src: &str) -> Option<(usize, String)> {
    let mut from = 0;
    while let Some(open) = src[from..].find("{%").map(|k| from + k) {
        let close = src[open..].find("%}").map_or(src.len(), |k| open + k);
        let tag = src[open + 2..close].trim_start_matches(['-', '+']).trim();
        let word = tag.split_whitespace().next().unwrap_or("");
        if matches!(word, "include" | "import" | "from" | "extends") {
            let rest = tag[word.len()..].trim_start();
            let quoted = rest.strip_prefix(['"', '\'']).and_then(|r| {
                let q = rest.as_bytes()[0] as char;
                r.find(q).map(|end| &r[..end])
            });
            match quoted {
                Some(name) if name.ends_with("#html") => {}
                Some(name) => return Some((open, format!("`{name}`"))),
                None => return Some((open, "a template named when rendering".to_string())),
            }
        }
        from = close.min(src.len());
        if from == open {
            break;
        }
    }
    None
}

fn at_error(e: &minijinja::Error, file: usize, p: &Part, what: &str) -> Diagnostic {
    let range = e.range().map_or(p.at..p.at, |r| p.at + r.start..p.at + r.end);
    let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    Diagnostic::error(Code::TemplateField, format!("the `{}` part {what}: {detail}", p.name)).at(file, range)
}

/// The fields a template may read, their attributes, and what they are of
/// (in the message of an unknown field).
type Vocabulary = (&'static [(&'static str, Scope)], &'static [(&'static str, &'static [&'static str])], &'static str);

/// Check the fields part `p` reads against those its rules see (`rules`:
/// the scope of each rule using it, and the rule) among `vocabulary`.
fn check_fields(
    env: &Environment<'static>,
    key: &str,
    p: &Part,
    file: usize,
    rules: (&[Scope], &[&Use]),
    vocabulary: Vocabulary,
    diags: &mut Vec<Diagnostic>,
) {
    let (scopes, used) = rules;
    let (fields, attributes, of) = vocabulary;
    let Ok(tpl) = env.get_template(key) else { return };
    let mut vars: Vec<String> = tpl.undeclared_variables(true).into_iter().collect();
    vars.sort();
    for v in vars {
        let top = v.split('.').next().unwrap_or(&v);
        let place =
            find(&p.text, &v).or_else(|| find(&p.text, top)).map_or(p.at..p.at, |r| p.at + r.start..p.at + r.end);
        let Some((_, scope)) = fields.iter().find(|(n, _)| *n == top) else {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            diags.push(
                Diagnostic::error(Code::TemplateField, format!("unknown field `{top}` in the `{}` part", p.name))
                    .at(file, place)
                    .label(format!("not a field of {of}"))
                    .maybe_help(
                        crate::policy::diag::did_you_mean(top, names.iter().copied())
                            .or_else(|| Some(format!("the fields are {} (docs/outbox.md)", names.join(", ")))),
                    ),
            );
            continue;
        };
        if *scope != Scope::Any
            && let Some(u) = used.iter().zip(scopes).find(|(_, s)| **s != *scope).map(|(u, _)| u)
        {
            diags.push(
                Diagnostic::error(Code::TemplateField, format!("field `{top}` is not available to {}", u.rule))
                    .at(file, place.clone())
                    .help(format!("`{top}` is filled in for {} only", scope.words())),
            );
        }
        if let Some(attr) = v.split('.').nth(1)
            && let Some((_, known)) = attributes.iter().find(|(n, _)| *n == top)
            && !known.contains(&attr)
        {
            diags.push(
                Diagnostic::error(
                    Code::TemplateField,
                    format!("unknown field `{top}.{attr}` in the `{}` part", p.name),
                )
                .at(file, place)
                .label(format!("`{top}` has no `{attr}`"))
                .maybe_help(
                    crate::policy::diag::did_you_mean(attr, known.iter().copied())
                        .or_else(|| Some(format!("`{top}` has {}", known.join(", ")))),
                ),
            );
        }
    }
}

/// The byte range of the first use of `path` inside a `{{ }}` or `{% %}` tag of `text`.
fn find(text: &str, path: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(open) = text[from..].find(['{']).map(|i| from + i) {
        let inner = &text[open..];
        let close = match inner.get(1..2) {
            Some("{") => inner.find("}}"),
            Some("%") => inner.find("%}"),
            _ => None,
        };
        let Some(close) = close else {
            from = open + 1;
            continue;
        };
        let tag = &inner[..close];
        let mut at = 0;
        while let Some(i) = tag[at..].find(path).map(|i| at + i) {
            let before = tag[..i].chars().next_back();
            let after = tag[i + path.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
            if !ident(before) && !ident(after) {
                return Some(open + i..open + i + path.len());
            }
            at = i + path.len();
        }
        from = open + close;
    }
    None
}

/// Fields with every part filled, to try a template on (`check`).
fn sample_fields(sender: &Sender) -> minijinja::Value {
    use crate::ledger::{AccountType, ActionKind, Contact, Customer, Invoice, InvoiceStatus, Terms, Text};
    use rust_decimal::Decimal;
    let t = |s: &str| Some(Text::from(s));
    let c = Customer {
        id: "C1".into(),
        name: "Sample Ltd".into(),
        segment: "small".into(),
        country: "US".into(),
        currency: "USD".into(),
        credit_limit: Some(Decimal::ZERO),
        terms: Terms { net_days: 30, discount_pct: None, discount_days: None },
        credit_score: None,
        risk_class: None,
        account_owner: None,
        email: t("ap@sample.example"),
        phone: t("+15550100100"),
        preferred_channel: None,
        contact: Contact {
            contact_name: t("Sam Sample"),
            address_line1: t("1 Main Street"),
            address_line2: t("Suite 1"),
            postcode: t("62701"),
            city: t("Springfield, IL"),
            language: t("en"),
        },
        do_not_contact: false,
        on_hold: false,
        opened_on: None,
        account_type: AccountType::Business,
        parent: None,
        group: None,
        sales_rep: None,
    };
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let a = PlannedAction {
        invoice_ids: vec!["INV1".into()],
        channel: Some(Channel::Email),
        template: Some("sample".into()),
        step: Some("sample".into()),
        amount_due: Decimal::new(100_000, 2),
        fee: Decimal::new(2_500, 2),
        compensation: Decimal::new(4_000, 2),
        interest: Decimal::new(123, 2),
        discount_pct: Some(Decimal::new(20, 1)),
        discount: Decimal::new(2_000, 2),
        discount_cost: Decimal::new(2_000, 2),
        pay_by: Some(day),
        instalments: Some(2),
        instalment_amount: Some(Decimal::new(50_000, 2)),
        ..PlannedAction::blank("C1".into(), "USD".into(), ActionKind::Email, "sample", crate::engine::RuleKind::Step)
    };
    let inv = Invoice {
        id: "INV1".into(),
        customer: 0,
        issue_date: day,
        due_date: day,
        amount: Decimal::new(100_000, 2),
        open_amount: Decimal::new(100_000, 2),
        status: InvoiceStatus::Open,
        disputed_since: None,
        dispute_reason: None,
    };
    let s = Subject {
        action_id: "R0000000000000000",
        action: &a,
        customer: &c,
        invoices: vec![&inv],
        as_of: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        plan_interval_days: 30,
        steps: vec![("sample", 1)],
        group: Vec::new(),
    };
    let mut f = Fields::of(&s, sender, "en");
    f.set_payment_link("https://pay.example/R0000000000000000".into());
    minijinja::Value::from_serialize(&f)
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub channel: Channel,
    pub language: String,
    /// E-mail subject, on one line.
    pub subject: Option<String>,
    /// The text: an e-mail's plain text, an SMS, a letter's body, a call's talking points.
    pub text: String,
    /// An e-mail's HTML part, when the template has one.
    pub html: Option<String>,
    /// The recipient when it is not the customer: a `notify` action's sales representative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Why a message could not be rendered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    #[error("the action names no template or channel")]
    NoTemplate,
    #[error("template `{0}` is not in the templates folder")]
    Missing(String),
    #[error("template `{template}` has no `{part}` part")]
    NoPart { template: String, part: &'static str },
    #[error("template `{0}`: {1}")]
    Template(String, String),
}

/// The invoices of `ledger` an action lists, found among its customer's.
pub fn listed<'l>(
    ledger: &'l Ledger,
    customer: crate::ledger::CustIx,
    ids: &[String],
) -> Vec<&'l crate::ledger::Invoice> {
    let rows = ledger.invoices_by_customer.rows(customer);
    ids.iter()
        .filter_map(|id| rows.iter().map(|&i| &ledger.invoices[i as usize]).find(|inv| inv.id == id.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_part_includes_only_html_parts() {
        assert_eq!(unescaped_include("Dear {{ name }}"), None);
        assert_eq!(unescaped_include("{% include \"en/footer#html\" %}"), None);
        assert_eq!(unescaped_include("{% if x %}y{% endif %}"), None);
        let bad = "<p>{%- include 'en/overdue-1#text' -%}</p>";
        assert_eq!(unescaped_include(bad), Some((3, "`en/overdue-1#text`".to_string())));
        assert!(unescaped_include("{% import \"en/x#text\" as x %}").is_some());
        assert!(unescaped_include("{% extends name %}").is_some_and(|(_, w)| w.contains("when rendering")));
        assert!(unescaped_include("{% from 'a#subject' import b %}").is_some());
    }

    #[test]
    fn a_file_splits_into_its_parts() {
        let mut d = Vec::new();
        let p = split("\n=== subject\nHello {{ x }}\n=== text\nBody\n", 0, &mut d);
        assert!(d.is_empty());
        assert_eq!(
            p.iter().map(|p| (p.name, p.text.as_str(), p.at)).collect::<Vec<_>>(),
            [("subject", "Hello {{ x }}\n", 13), ("text", "Body\n", 36)]
        );
        split("oops\n=== nope\n", 0, &mut d);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn plural_follows_the_number() {
        let env = env();
        let t = env.template_from_str("{{ a | plural('Tag', 'Tage') }}, {{ b | plural('day', 'days') }}").unwrap();
        assert_eq!(t.render(minijinja::context! { a => 1, b => 0 }).unwrap(), "1 Tag, 0 days");
        assert_eq!(t.render(minijinja::context! { a => 3, b => 1 }).unwrap(), "3 Tage, 1 day");
    }

    #[test]
    fn a_field_is_found_inside_tags_only() {
        let t = "customer {{ customer.nme }} {% if customer.nme %}";
        assert_eq!(find(t, "customer.nme"), Some(12..24));
        assert_eq!(find("{{ xcustomer }} {{ customer }}", "customer"), Some(19..27));
    }
}

/// One planned action's rendered message, or why it has none.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Index of the action in the plan.
    pub entry: usize,
    pub message: Result<Message, RenderError>,
    /// Who it is addressed to when not the action's customer: a consolidated
    /// group statement goes to the group's head.
    pub to: Option<crate::ledger::CustIx>,
}

/// Does the action of `a` get a message? A customer-facing action on a
/// channel, with a template, deliverable.
/// A `notify` action has one too, to the sales representative, from the
/// template `notify-sales-rep` (`notify::message`).
pub fn has_message(a: &PlannedAction) -> bool {
    a.channel.is_some()
        && a.undeliverable.is_none()
        && ((a.template.is_some() && a.is_customer_facing()) || a.action == crate::ledger::ActionKind::Notify)
}

/// Render the message of every action of `entries` that has one
/// ([`has_message`]), in parallel, in plan order. The actions sharing a
/// message (`message_id`: `advance = "each_invoice"`, or a consolidated
/// group statement) are one message, the lead's (the action whose id is the
/// message id), listing each of their invoices at its own step; the others
/// have none of their own. A consolidated group statement is addressed to
/// the group's head and lists each customer's invoices and credit
/// ([`crate::plan::group_statement`]).
pub fn render_plan(
    entries: &[crate::plan::PlanEntry],
    ledger: &Ledger,
    policy: &crate::policy::CompiledPolicy,
    as_of: NaiveDate,
) -> Vec<Rendered> {
    use crate::plan::group_statement as gs;
    use rayon::prelude::*;
    let ix: hashbrown::HashMap<&str, crate::ledger::CustIx> =
        ledger.customers.iter().enumerate().map(|(i, c)| (c.id.as_str(), i as crate::ledger::CustIx)).collect();
    // The rows of each shared message, in plan order.
    let mut messages: hashbrown::HashMap<&str, Vec<usize>> = hashbrown::HashMap::new();
    for (k, e) in entries.iter().enumerate() {
        if let Some(m) = e.action.message_id.as_deref() {
            messages.entry(m).or_default().push(k);
        }
    }
    let consolidated = gs::consolidated_steps(policy);
    let heads = if consolidated.is_empty() { Vec::new() } else { gs::heads(ledger) };
    let t = &policy.messages;
    entries
        .par_iter()
        .enumerate()
        .filter(|(_, e)| has_message(&e.action) && e.action.message_id.as_ref().is_none_or(|m| *m == e.action_id))
        .map(|(entry, e)| {
            let rows = e.action.message_id.as_deref().and_then(|m| messages.get(m)).map(Vec::as_slice);
            let merged = rows.map(|rows| merged(policy, entries, rows));
            let a = merged.as_ref().map_or(&e.action, |(a, _)| a);
            let mut addressee = None;
            let message = match ix.get(a.customer_id.as_str()) {
                None => Err(RenderError::Template(String::new(), format!("unknown customer `{}`", a.customer_id))),
                Some(&c) if a.action == crate::ledger::ActionKind::Notify => {
                    notify::message(policy, entries, entry, &ledger.customers[c as usize], as_of)
                }
                Some(&c) => {
                    let head =
                        if gs::is_consolidated(a, &consolidated) { gs::head_of(ledger, &heads, c) } else { None };
                    let group = match (head, rows) {
                        (Some(_), Some(rows)) => members(ledger, &ix, entries, rows, as_of),
                        _ => Vec::new(),
                    };
                    let invoices = if group.is_empty() {
                        listed(ledger, c, &a.invoice_ids)
                    } else {
                        group.iter().flat_map(|m| m.invoices.iter().copied()).collect()
                    };
                    addressee = head.filter(|&h| !group.is_empty() && h != c);
                    let to = addressee.unwrap_or(c);
                    t.render(&Subject {
                        action_id: &e.action_id,
                        action: a,
                        customer: &ledger.customers[to as usize],
                        invoices,
                        as_of,
                        plan_interval_days: policy
                            .rules
                            .plans
                            .iter()
                            .find(|p| p.id == a.rule_id)
                            .map_or(30, |p| p.interval_days),
                        steps: merged.as_ref().map_or_else(
                            || {
                                let step = a.step.as_deref().unwrap_or("");
                                let level = level(policy, a);
                                a.invoice_ids.iter().map(|_| (step, level)).collect()
                            },
                            |(_, s)| s.clone(),
                        ),
                        group,
                    })
                }
            };
            Rendered { entry, message, to: addressee }
        })
        .collect()
}

/// The customers of a consolidated group statement (the rows `rows` of one
/// message), one per customer in plan (customer-id) order: the invoices its rows list,
/// their open amount (gross: what the invoices show) and its credit on `as_of`.
fn members<'l>(
    ledger: &'l Ledger,
    ix: &hashbrown::HashMap<&str, crate::ledger::CustIx>,
    entries: &[crate::plan::PlanEntry],
    rows: &[usize],
    as_of: NaiveDate,
) -> Vec<fields::Member<'l>> {
    let mut out: Vec<(crate::ledger::CustIx, fields::Member<'l>)> = Vec::new();
    for &k in rows {
        let a = &entries[k].action;
        let Some(&c) = ix.get(a.customer_id.as_str()) else { continue };
        let listed = listed(ledger, c, &a.invoice_ids);
        // The items as the customer's books show them: gross of its credit,
        // which the statement lists beside them.
        let open: rust_decimal::Decimal = listed.iter().map(|i| i.open_amount).sum();
        match out.iter_mut().find(|(x, _)| *x == c) {
            Some((_, m)) => {
                m.invoices.extend(listed);
                m.open += open;
            }
            None => {
                let unapplied_cash = ledger
                    .payments_by_customer
                    .rows(c)
                    .iter()
                    .map(|&p| &ledger.payments[p as usize])
                    .filter(|p| p.invoice.is_none() && p.paid_on <= as_of)
                    .map(|p| p.amount)
                    .sum();
                let member = fields::Member {
                    customer: &ledger.customers[c as usize],
                    invoices: listed,
                    open,
                    credit_notes: ledger.credit_notes_of(c, as_of),
                    unapplied_cash,
                };
                out.push((c, member));
            }
        }
    }
    out.into_iter().map(|(_, m)| m).collect()
}

/// The place of `a`'s step in its strategy's ladder (1 = first; 0: none).
fn level(policy: &crate::policy::CompiledPolicy, a: &PlannedAction) -> u32 {
    let r = &policy.rules;
    let Some(step) = a.step.as_deref() else { return 0 };
    let ladder = r.strategies.iter().find(|s| a.strategy.as_deref() == Some(s.id.as_str())).and_then(|s| s.ladder);
    let ladders = ladder.map_or(&r.ladders[..], |l| r.ladders.get(l..=l).unwrap_or(&[]));
    ladders.iter().find_map(|l| l.steps.iter().position(|s| s.id == step)).map_or(0, |p| p as u32 + 1)
}

/// The one action of a shared message (the lead's — the row whose action id
/// is the message id — with the invoices and amounts of every row of the
/// message, in plan order) and each invoice's step and level. Amounts are
/// added only within the lead's currency: the rows of a consolidated group
/// statement in other currencies keep theirs in the customers' lines
/// ([`members`]).
fn merged<'e>(
    policy: &crate::policy::CompiledPolicy,
    entries: &'e [crate::plan::PlanEntry],
    rows: &[usize],
) -> (PlannedAction, Vec<(&'e str, u32)>) {
    let lead = rows
        .iter()
        .copied()
        .find(|&k| entries[k].action.message_id.as_deref() == Some(entries[k].action_id.as_str()))
        .unwrap_or(rows[0]);
    let mut a = entries[lead].action.clone();
    a.invoice_ids.clear();
    for m in [&mut a.amount_due, &mut a.fee, &mut a.interest, &mut a.compensation] {
        *m = rust_decimal::Decimal::ZERO;
    }
    let mut steps = Vec::new();
    for &k in rows {
        let b = &entries[k].action;
        let (step, level) = (b.step.as_deref().unwrap_or(""), level(policy, b));
        for id in &b.invoice_ids {
            a.invoice_ids.push(id.clone());
            steps.push((step, level));
        }
        if b.currency == a.currency {
            a.amount_due += b.amount_due;
            a.fee += b.fee;
            a.interest += b.interest;
            a.compensation += b.compensation;
        }
    }
    (a, steps)
}

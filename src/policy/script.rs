//! The rhai side of a policy: the sandboxed engine (raw engine, only the
//! packages rules need, strict variables, limits, no `eval`, no I/O), the
//! scripts in `scripts/*.rhai` loaded as modules, and the static checks of an
//! expression or script — syntax, facts, functions — with positions mapped
//! back to the policy files.

use super::diag::{Code, Diagnostic, FileId, StringMap, closest, did_you_mean};
use super::expr::{FactRef, Reads, SCOPES, ScriptDefs, scope_ix, scope_of};
use crate::facts::registry::{Scope, all_defs};
use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicMathPackage, BasicStringPackage, LogicPackage, MoreStringPackage,
    Package,
};
use rhai::{ASTNode, Engine, Expr, Position};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::ops::Range;

/// Operations one evaluation may take before it is stopped.
pub const MAX_OPERATIONS: u64 = 100_000;

/// The most functions one script file may define. rhai's parser looks every
/// variable up among the functions parsed so far, so compiling a file takes time
/// quadratic in its functions (10,000 one-line functions: about 20 s); rules need
/// a few dozen (docs/policy.md, "Scripts").
pub const MAX_SCRIPT_FUNCTIONS: usize = 1_000;

/// The largest script file, in bytes (256 KiB): checked before it is read as rhai.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;

/// Functions rules may call (besides operators and script functions).
/// docs/policy.md lists them; a unit test checks each one is callable.
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "ceiling",
    "contains",
    "ends_with",
    "exp",
    "floor",
    "is_empty",
    "is_zero",
    "len",
    "ln",
    "log",
    "max",
    "min",
    "parse_decimal",
    "parse_float",
    "parse_int",
    "round",
    "sign",
    "sqrt",
    "starts_with",
    "to_decimal",
    "to_float",
    "to_int",
    "to_lower",
    "to_string",
    "to_upper",
    "type_of",
];

fn dec_of(f: f64) -> Result<Decimal, Box<rhai::EvalAltResult>> {
    Decimal::try_from(f).map_err(|_| format!("cannot use `{f}` as an amount").into())
}

/// A raw engine with only what rules need.
pub fn engine() -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(ArithmeticPackage::new().as_shared_module());
    e.register_global_module(LogicPackage::new().as_shared_module());
    e.register_global_module(BasicMathPackage::new().as_shared_module());
    e.register_global_module(BasicStringPackage::new().as_shared_module());
    e.register_global_module(MoreStringPackage::new().as_shared_module());
    e.register_global_module(BasicArrayPackage::new().as_shared_module());
    e.set_strict_variables(true);
    e.set_max_operations(MAX_OPERATIONS);
    e.set_max_call_levels(32);
    e.set_max_expr_depths(64, 32);
    e.set_max_string_size(10_000);
    e.set_max_array_size(10_000);
    e.set_max_map_size(1_000);
    e.set_max_modules(64);
    e.disable_symbol("eval");
    // Money is decimal; a float written in a rule (`1000.5`) meets it as a decimal.
    macro_rules! mixed {
        ($($op:literal => $f:expr),+ $(,)?) => {$(
            e.register_fn($op, |a: Decimal, b: f64| -> Result<_, Box<rhai::EvalAltResult>> { let b = dec_of(b)?; $f(a, b) });
            e.register_fn($op, |a: f64, b: Decimal| -> Result<_, Box<rhai::EvalAltResult>> { let a = dec_of(a)?; $f(a, b) });
        )+};
    }
    type R<T> = Result<T, Box<rhai::EvalAltResult>>;
    fn ok<T>(v: T) -> R<T> {
        Ok(v)
    }
    fn arith(r: Option<Decimal>, what: &str) -> R<Decimal> {
        r.ok_or_else(|| format!("{what} overflow or division by zero").into())
    }
    mixed! {
        "==" => |a: Decimal, b: Decimal| ok(a == b),
        "!=" => |a: Decimal, b: Decimal| ok(a != b),
        "<" => |a: Decimal, b: Decimal| ok(a < b),
        "<=" => |a: Decimal, b: Decimal| ok(a <= b),
        ">" => |a: Decimal, b: Decimal| ok(a > b),
        ">=" => |a: Decimal, b: Decimal| ok(a >= b),
        "+" => |a: Decimal, b: Decimal| arith(a.checked_add(b), "addition"),
        "-" => |a: Decimal, b: Decimal| arith(a.checked_sub(b), "subtraction"),
        "*" => |a: Decimal, b: Decimal| arith(a.checked_mul(b), "multiplication"),
        "/" => |a: Decimal, b: Decimal| arith(if b.is_zero() { None } else { a.checked_div(b) }, "division"),
    }
    e
}

/// A script function: name and number of parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFn {
    pub name: String,
    pub params: usize,
}

/// The engine with the policy's scripts registered, and what they define.
pub struct Scripts {
    pub engine: Engine,
    /// Functions of each script module, by module name (file stem).
    pub modules: BTreeMap<String, Vec<ScriptFn>>,
    /// Their bodies, for the native lowering to inline.
    pub defs: ScriptDefs,
}

/// Where an expression was written, to point at it.
#[derive(Clone)]
pub struct Loc {
    pub file: FileId,
    /// The TOML value's span.
    pub span: Range<usize>,
    pub map: StringMap,
}

impl Loc {
    /// The file range of `len` characters at a rhai position.
    pub fn range(&self, pos: Position, len: usize) -> Range<usize> {
        match (pos.line(), pos.position()) {
            (Some(l), Some(c)) => self.map.range(l, c, len),
            _ => self.span.clone(),
        }
    }
}

/// What an expression may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// `invoice.*` is in scope (steps, incentives).
    pub invoice: bool,
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn all_fact_names() -> impl Iterator<Item = String> {
    all_defs().map(|d| format!("{}.{}", d.scope.prefix(), d.name))
}

/// `risk::score` alone means `risk::score(customer)`.
pub fn expand_call(src: &str) -> String {
    let t = src.trim();
    let ident = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
    };
    match t.split_once("::") {
        Some((m, f)) if ident(m) && ident(f) => format!("{src}(customer)"),
        _ => src.to_string(),
    }
}

impl Scripts {
    /// Check an expression and compile it: the AST and the facts it reads,
    /// or every problem found. `what` names the rule in messages
    /// ("step `final-demand`").
    pub fn expression(
        &self,
        src: &str,
        loc: &Loc,
        allowed: Allowed,
        what: &str,
    ) -> Result<(rhai::AST, Reads), Vec<Diagnostic>> {
        let mut scope = rhai::Scope::new();
        for s in SCOPES {
            scope.push(s.prefix(), rhai::Map::new());
        }
        let ast = match self.engine.compile_expression_with_scope(&scope, src) {
            Ok(a) => a,
            Err(e) => return Err(vec![self.parse_error(&e, loc, what)]),
        };
        let mut diags = Vec::new();
        let mut reads = Reads::default();
        self.check_ast(&ast, &mut reads, &mut diags, &|pos, len| loc.range(pos, len), loc.file, allowed, what, &[]);
        if diags.is_empty() { Ok((ast, reads)) } else { Err(diags) }
    }

    fn parse_error(&self, e: &rhai::ParseError, loc: &Loc, what: &str) -> Diagnostic {
        use rhai::ParseErrorType as P;
        match e.err_type() {
            P::VariableUndefined(name) => {
                let names: Vec<String> = all_fact_names().collect();
                let suffix: Vec<&str> = names.iter().map(String::as_str).collect();
                let bare = all_defs().find(|d| d.name == name.as_str());
                let help = match bare {
                    Some(d) => format!("facts are read with their scope: `{}.{}`", d.scope.prefix(), d.name),
                    None => did_you_mean(name, suffix.iter().copied()).unwrap_or_else(|| {
                        "read facts as `customer.<fact>`, `invoice.<fact>` or `as_of.<fact>`".into()
                    }),
                };
                Diagnostic::error(Code::UnknownFact, format!("unknown name `{name}` in {what}"))
                    .at(loc.file, loc.range(e.position(), name.chars().count()))
                    .help(help)
            }
            P::ModuleUndefined(m) => {
                let known: Vec<&str> = self.modules.keys().map(String::as_str).collect();
                let help = did_you_mean(m, known.iter().copied()).unwrap_or_else(|| {
                    if known.is_empty() {
                        "this policy has no scripts: functions live in scripts/<name>.rhai".into()
                    } else {
                        format!(
                            "the scripts are {}",
                            known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                        )
                    }
                });
                Diagnostic::error(Code::UnknownFunction, format!("unknown script `{m}` in {what}"))
                    .at(loc.file, loc.range(e.position(), m.chars().count()))
                    .help(help)
            }
            t => Diagnostic::error(Code::RhaiSyntax, format!("{} in {what}", lower_first(&t.to_string())))
                .at(loc.file, loc.range(e.position(), 1)),
        }
    }

    /// Walk an AST: facts read (checked against the registry), functions
    /// called (checked against [`FUNCTIONS`], the scripts and `own`).
    #[allow(clippy::too_many_arguments)]
    fn check_ast(
        &self,
        ast: &rhai::AST,
        reads: &mut Reads,
        diags: &mut Vec<Diagnostic>,
        range: &dyn Fn(Position, usize) -> Range<usize>,
        file: FileId,
        allowed: Allowed,
        what: &str,
        own: &[ScriptFn],
    ) {
        ast.walk(&mut |path: &[ASTNode]| {
            // A call used as a statement (`risk::score(customer)` alone) is a statement node.
            let stmt_call;
            let e: &Expr = match path.last() {
                Some(ASTNode::Expr(e)) => e,
                Some(ASTNode::Stmt(rhai::Stmt::FnCall(f, pos))) => {
                    stmt_call = Expr::FnCall(f.clone(), *pos);
                    &stmt_call
                }
                _ => return true,
            };
            let parent = path.len().checked_sub(2).and_then(|i| match path[i] {
                ASTNode::Expr(p) => Some(p),
                _ => None,
            });
            match e {
                Expr::Dot(b, _, _) => {
                    if let (Expr::Variable(v, _, vpos), Expr::Property(p, ppos)) = (&b.lhs, &b.rhs)
                        && v.2.is_empty()
                        && let Some(scope) = scope_of(v.1.as_str())
                    {
                        self.check_fact(scope, p.2.as_str(), *vpos, *ppos, reads, diags, range, file, allowed, what);
                    } else if let (Expr::Variable(v, _, vpos), Expr::Dot(inner, _, _)) = (&b.lhs, &b.rhs)
                        && v.2.is_empty()
                        && let Some(scope) = scope_of(v.1.as_str())
                        && let Expr::Property(p, ppos) = &inner.lhs
                    {
                        self.check_fact(scope, p.2.as_str(), *vpos, *ppos, reads, diags, range, file, allowed, what);
                    }
                }
                Expr::Variable(v, _, pos) if v.2.is_empty() => {
                    let under_dot = matches!(parent, Some(Expr::Dot(b, _, _)) if std::ptr::eq(&b.lhs, e));
                    if !under_dot && let Some(scope) = scope_of(v.1.as_str()) {
                        if scope == Scope::Invoice && !allowed.invoice {
                            diags.push(not_available("invoice", *pos, 7, range, file, what));
                        }
                        reads.whole[scope_ix(scope)] = true;
                    }
                }
                Expr::FnCall(f, pos) | Expr::MethodCall(f, pos) if f.op_token.is_none() => {
                    let name = f.name.as_str();
                    if f.namespace.is_empty() {
                        if FUNCTIONS.contains(&name) || own.iter().any(|g| g.name == name) || name.starts_with("get$") {
                            return true;
                        }
                        let cands: Vec<&str> =
                            FUNCTIONS.iter().copied().chain(own.iter().map(|g| g.name.as_str())).collect();
                        let help = did_you_mean(name, cands.iter().copied()).unwrap_or_else(|| {
                            "see docs/policy.md for the functions rules can call, or define it in scripts/".into()
                        });
                        diags.push(
                            Diagnostic::error(Code::UnknownFunction, format!("unknown function `{name}` in {what}"))
                                .at(file, range(*pos, name.chars().count()))
                                .help(help),
                        );
                    } else {
                        let module = f.namespace.root().to_string();
                        let argc = f.args.len();
                        if let Some(fns) = self.modules.get(&module)
                            && !fns.iter().any(|g| g.name == name && g.params == argc)
                        {
                            let same = fns.iter().find(|g| g.name == name);
                            let help = match same {
                                Some(g) => format!("`{module}::{name}` takes {} argument(s)", g.params),
                                None => closest(name, fns.iter().map(|g| g.name.as_str()))
                                    .map(|c| format!("did you mean `{module}::{c}`?"))
                                    .unwrap_or_else(|| format!("script `{module}` defines {}", list_fns(fns))),
                            };
                            let msg = match same {
                                Some(_) => format!("`{module}::{name}` called with {argc} argument(s) in {what}"),
                                None => format!("unknown function `{module}::{name}` in {what}"),
                            };
                            diags.push(
                                Diagnostic::error(Code::UnknownFunction, msg)
                                    .at(file, range(f.namespace.position(), module.len() + 2 + name.len()))
                                    .help(help),
                            );
                        }
                    }
                }
                _ => {}
            }
            true
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn check_fact(
        &self,
        scope: Scope,
        name: &str,
        vpos: Position,
        ppos: Position,
        reads: &mut Reads,
        diags: &mut Vec<Diagnostic>,
        range: &dyn Fn(Position, usize) -> Range<usize>,
        file: FileId,
        allowed: Allowed,
        what: &str,
    ) {
        let prefix = scope.prefix();
        let full = prefix.len() + 1 + name.chars().count();
        if scope == Scope::Invoice && !allowed.invoice {
            diags.push(not_available(&format!("invoice.{name}"), vpos, full, range, file, what));
            return;
        }
        match FactRef::find(scope, name) {
            Some(f) => reads.add(f),
            None => {
                let in_scope = crate::facts::registry::lookup(scope, name).err().flatten();
                let help = match in_scope {
                    Some(s) => Some(format!("did you mean `{prefix}.{s}`?")),
                    None => all_defs().find(|d| d.name == name).map(|d| {
                        format!("`{name}` is a fact of `{}`: write `{}.{name}`", d.scope.prefix(), d.scope.prefix())
                    }),
                };
                let help = help.or_else(|| {
                    closest(name, all_defs().filter(|d| d.scope == scope).map(|d| d.name))
                        .map(|c| format!("did you mean `{prefix}.{c}`?"))
                });
                let help = help.unwrap_or_else(|| format!("`recoup facts` lists the facts of `{prefix}`"));
                let _ = ppos;
                diags.push(
                    Diagnostic::error(Code::UnknownFact, format!("unknown fact `{prefix}.{name}` in {what}"))
                        .at(file, range(vpos, full))
                        .help(help),
                );
            }
        }
    }

    /// Load the scripts (name, file id, text) as modules: compile, check,
    /// evaluate once, register. Returns the problems found.
    pub fn load(scripts: &[(String, FileId, &str)]) -> (Scripts, Vec<Diagnostic>) {
        let mut s = Scripts { engine: engine(), modules: BTreeMap::new(), defs: ScriptDefs::default() };
        let mut diags = Vec::new();
        for (name, file, text) in scripts {
            let src = super::diag::Source::new(String::new().into(), text.to_string());
            let at = |pos: Position, len: usize| -> Range<usize> {
                match (pos.line(), pos.position()) {
                    (Some(l), Some(c)) => {
                        let o = src.offset(l, c);
                        let end = text[o..].char_indices().nth(len).map_or(text.len(), |(i, _)| o + i);
                        o..end
                    }
                    _ => 0..0,
                }
            };
            let valid = {
                let mut c = name.chars();
                c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
                    && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
            };
            if !valid {
                diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("script name `{name}` is not a valid module name"))
                        .at(*file, 0..0)
                        .help("name scripts in lowercase letters, digits and `_`, e.g. scripts/risk.rhai"),
                );
                continue;
            }
            if text.len() > MAX_SCRIPT_BYTES {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!(
                            "script `{name}` is {} KiB, more than {} KiB",
                            text.len() / 1024,
                            MAX_SCRIPT_BYTES / 1024
                        ),
                    )
                    .at(*file, 0..0)
                    .help(
                        "keep rule scripts small: split it into several files in scripts/, or move data to the ledger",
                    ),
                );
                continue;
            }
            // Counted on the tokens (linear), before the parser (quadratic in functions).
            let fns_defined = s
                .engine
                .lex([text])
                .0
                .take_while(|(t, _)| !matches!(t, rhai::Token::EOF))
                .take(text.len() + 1) // every token but the end takes a byte or more
                .filter(|(t, _)| matches!(t, rhai::Token::Fn))
                .count();
            if fns_defined > MAX_SCRIPT_FUNCTIONS {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!(
                            "script `{name}` defines {fns_defined} functions, more than {MAX_SCRIPT_FUNCTIONS} in one file"
                        ),
                    )
                    .at(*file, 0..0)
                    .help(format!("split it into several files in scripts/ (at most {MAX_SCRIPT_FUNCTIONS} functions each)")),
                );
                continue;
            }
            let ast = match s.engine.compile(text) {
                Ok(a) => a,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(
                            Code::RhaiSyntax,
                            format!("{} in script `{name}`", lower_first(&e.err_type().to_string())),
                        )
                        .at(*file, at(e.position(), 1)),
                    );
                    continue;
                }
            };
            let fns: Vec<ScriptFn> =
                ast.iter_functions().map(|f| ScriptFn { name: f.name.to_string(), params: f.params.len() }).collect();
            let mut reads = Reads::default();
            let before = diags.len();
            let what = format!("script `{name}`");
            s.check_ast(&ast, &mut reads, &mut diags, &at, *file, Allowed { invoice: true }, &what, &fns);
            if diags.len() > before {
                continue;
            }
            match rhai::Module::eval_ast_as_new(rhai::Scope::new(), &ast, &s.engine) {
                Ok(m) => {
                    s.engine.register_static_module(name.as_str(), m.into());
                    s.defs.add_module(name, &ast);
                    s.modules.insert(name.clone(), fns);
                }
                Err(e) => {
                    let mut e = *e;
                    let pos = e.take_position();
                    diags.push(
                        Diagnostic::error(
                            Code::ScriptError,
                            format!("script `{name}` failed while loading: {}", lower_first(&e.to_string())),
                        )
                        .at(*file, at(pos, 1)),
                    );
                }
            }
        }
        (s, diags)
    }
}

fn list_fns(fns: &[ScriptFn]) -> String {
    if fns.is_empty() {
        return "no functions".into();
    }
    fns.iter().map(|g| format!("`{}`", g.name)).collect::<Vec<_>>().join(", ")
}

fn not_available(
    name: &str,
    pos: Position,
    len: usize,
    range: &dyn Fn(Position, usize) -> Range<usize>,
    file: FileId,
    what: &str,
) -> Diagnostic {
    Diagnostic::error(Code::FactNotAvailable, format!("`{name}` is not available in {what}"))
        .at(file, range(pos, len))
        .help("this rule is evaluated once per customer, with no invoice: use customer facts such as `customer.max_days_past_due`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_function_is_callable() {
        let e = engine();
        let calls = [
            "abs(-1)",
            "ceiling(1.2)",
            "contains(\"abc\", \"b\")",
            "ends_with(\"abc\", \"c\")",
            "exp(1.0)",
            "floor(1.5)",
            "is_empty(\"\")",
            "is_zero(0)",
            "len(\"abc\")",
            "ln(2.0)",
            "log(100.0)",
            "max(1, 2)",
            "min(1, 2)",
            "parse_decimal(\"1.5\")",
            "parse_float(\"1.5\")",
            "parse_int(\"3\")",
            "round(1.5)",
            "sign(-3)",
            "sqrt(4.0)",
            "starts_with(\"abc\", \"a\")",
            "to_decimal(1)",
            "to_float(1)",
            "to_int(1.5)",
            "to_lower(\"A\")",
            "to_string(1)",
            "to_upper(\"a\")",
            "type_of(1)",
        ];
        assert_eq!(calls.len(), FUNCTIONS.len());
        for (c, f) in calls.iter().zip(FUNCTIONS) {
            assert!(c.starts_with(f), "{c} vs {f}");
            assert!(e.eval_expression::<rhai::Dynamic>(c).is_ok(), "{c}");
        }
    }

    #[test]
    fn sandbox_stops_runaway_scripts_and_eval() {
        let e = engine();
        assert!(e.eval::<rhai::Dynamic>("let x = 0; loop { x += 1; }").is_err());
        assert!(e.compile("eval(\"1\")").is_err());
    }

    #[test]
    fn decimal_meets_float() {
        let e = engine();
        let mut scope = rhai::Scope::new();
        scope.push("d", Decimal::new(100050, 2));
        assert!(e.eval_with_scope::<bool>(&mut scope, "d > 1000.4").unwrap());
        assert_eq!(e.eval_with_scope::<Decimal>(&mut scope, "d * 0.5").ok(), Some(Decimal::new(500250, 3)));
    }

    #[test]
    fn expand_bare_function() {
        assert_eq!(expand_call("risk::score"), "risk::score(customer)");
        assert_eq!(expand_call("risk::score(customer) * 2"), "risk::score(customer) * 2");
    }
}

//! Expressions of a policy (`when`, `score`): the rhai AST compiled once at
//! load, the facts it reads, and — for the common subset (comparisons,
//! arithmetic, `&&`, `||`, `!`, facts and constants) — a native form that is
//! evaluated without rhai. The native form never decides alone when unsure:
//! any error in it falls back to rhai, which then gives the real answer or
//! the real error. A property test checks that both agree.

use super::diag::{FileId, StringMap};
use crate::facts::registry::{FactType, Facts, Scope, Value};
use crate::facts::{Calendar, CustomerFacts, InvoiceFacts};
use rhai::{Dynamic, Engine, Expr, FnCallExpr, Map, Stmt};
use rust_decimal::Decimal;

/// The three variables facts are read through, in [`Scope`] order.
pub const SCOPES: [Scope; 3] = [Scope::Customer, Scope::Invoice, Scope::Calendar];

/// Position of a scope in [`SCOPES`].
pub fn scope_ix(s: Scope) -> usize {
    match s {
        Scope::Customer => 0,
        Scope::Invoice => 1,
        Scope::Calendar => 2,
    }
}

/// The scope a variable name stands for.
pub fn scope_of(var: &str) -> Option<Scope> {
    SCOPES.into_iter().find(|s| s.prefix() == var)
}

/// One fact: its scope and its index in that scope's definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactRef {
    pub scope: Scope,
    pub index: u16,
}

impl FactRef {
    /// The fact's definition.
    pub fn def(self) -> Option<&'static crate::facts::registry::FactDef> {
        let defs = match self.scope {
            Scope::Customer => CustomerFacts::defs(),
            Scope::Invoice => InvoiceFacts::defs(),
            Scope::Calendar => Calendar::defs(),
        };
        defs.get(self.index as usize)
    }
    /// `customer.overdue_total`.
    pub fn name(self) -> String {
        self.full_name().to_string()
    }
    /// `customer.overdue_total`, without allocating.
    pub fn full_name(self) -> &'static str {
        static NAMES: std::sync::LazyLock<[Vec<String>; 3]> = std::sync::LazyLock::new(|| {
            SCOPES.map(|s| {
                let defs = match s {
                    Scope::Customer => CustomerFacts::defs(),
                    Scope::Invoice => InvoiceFacts::defs(),
                    Scope::Calendar => Calendar::defs(),
                };
                defs.iter().map(|d| format!("{}.{}", s.prefix(), d.name)).collect()
            })
        });
        NAMES[scope_ix(self.scope)].get(self.index as usize).map_or("?", String::as_str)
    }
    /// Find a fact by scope and name.
    pub fn find(scope: Scope, name: &str) -> Option<FactRef> {
        let defs = match scope {
            Scope::Customer => CustomerFacts::defs(),
            Scope::Invoice => InvoiceFacts::defs(),
            Scope::Calendar => Calendar::defs(),
        };
        defs.iter().position(|d| d.name == name).map(|i| FactRef { scope, index: i as u16 })
    }
}

/// Which facts an expression reads: named facts, and whole scopes passed as
/// a value (e.g. `risk::score(customer)`), which get every fact of the scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub facts: Vec<FactRef>,
    pub whole: [bool; 3],
}

impl Reads {
    /// Does it read anything of `scope`?
    pub fn uses(&self, scope: Scope) -> bool {
        self.whole[scope_ix(scope)] || self.facts.iter().any(|f| f.scope == scope)
    }
    /// Add a fact once.
    pub fn add(&mut self, f: FactRef) {
        if !self.facts.contains(&f) {
            self.facts.push(f);
        }
    }
}

/// What an expression sees: one customer, maybe one invoice, the calendar.
#[derive(Clone, Copy)]
pub struct Env<'a, 'f> {
    pub customer: &'a CustomerFacts<'f>,
    pub invoice: Option<&'a InvoiceFacts<'f>>,
    pub cal: &'a Calendar<'f>,
}

impl<'a> Env<'a, '_> {
    /// The value of a fact; `None` for an invoice fact with no invoice.
    pub fn fact(&self, f: FactRef) -> Option<Value<'a>> {
        let i = f.index as usize;
        match f.scope {
            Scope::Customer => Some(self.customer.value(i)),
            Scope::Invoice => self.invoice.map(|v| v.value(i)),
            Scope::Calendar => Some(self.cal.value(i)),
        }
    }
}

/// Static type of a lowered expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Dec,
    Bool,
    Str,
}

impl Ty {
    /// In words, for messages.
    pub fn words(self) -> &'static str {
        match self {
            Ty::Int => "a whole number",
            Ty::Float => "a number",
            Ty::Dec => "an amount",
            Ty::Bool => "true or false",
            Ty::Str => "text",
        }
    }
    fn of_fact(t: FactType) -> Option<Ty> {
        match t {
            FactType::Int => Some(Ty::Int),
            FactType::Float => Some(Ty::Float),
            FactType::Money => Some(Ty::Dec),
            FactType::Bool => Some(Ty::Bool),
            FactType::Text => Some(Ty::Str),
            FactType::Date => None,
        }
    }
}

/// A value of the native evaluator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    Int(i64),
    Float(f64),
    Dec(Decimal),
    Bool(bool),
    Str(&'a str),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// The domain a binary operator works in, as rhai would pick it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    /// Float with float, or float with int: rhai's epsilon comparisons.
    Float,
    /// Decimal with decimal or int.
    Dec,
    /// Decimal with float (the float converted to decimal).
    DecFloat,
    Str,
    Bool,
}

/// The native form of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Int(i64),
    Float(f64),
    Dec(Decimal),
    Bool(bool),
    Str(Box<str>),
    Fact(FactRef),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Cmp(Cmp, Kind, Box<Node>, Box<Node>),
    Arith(Arith, Kind, Box<Node>, Box<Node>),
    /// A built-in function.
    Call(Fun, Vec<Node>),
    /// `if c { a } else { b }`.
    If(Box<(Node, Node, Node)>),
    /// A local variable of the current frame.
    Local(u8),
    /// `let`s (slot, value, in order), then the block's value.
    Block(Vec<(u8, Node)>, Box<Node>),
    /// An inlined script function: its value parameters (slot in the new
    /// frame, argument evaluated in the caller's), then its body in that frame.
    Inline(Vec<(u8, Node)>, Box<Node>),
}

/// The single expression of an expression AST.
pub fn root_expr(ast: &rhai::AST) -> Option<Expr> {
    match ast.statements() {
        [Stmt::Expr(e)] => Some((**e).clone()),
        [Stmt::FnCall(f, pos)] => Some(Expr::FnCall(f.clone(), *pos)),
        _ => None,
    }
}

/// Built-in functions the native form evaluates, each exactly as rhai's
/// packages define it for the argument types it was lowered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fun {
    Abs,
    Min,
    Max,
    ToFloat,
    ToInt,
    ToDecimal,
    Floor,
    Ceiling,
    Round,
}

impl Fun {
    fn of(name: &str) -> Option<Fun> {
        Some(match name {
            "abs" => Fun::Abs,
            "min" => Fun::Min,
            "max" => Fun::Max,
            "to_float" => Fun::ToFloat,
            "to_int" => Fun::ToInt,
            "to_decimal" => Fun::ToDecimal,
            "floor" => Fun::Floor,
            "ceiling" => Fun::Ceiling,
            "round" => Fun::Round,
            _ => return None,
        })
    }
    /// The result type for these argument types, when rhai has that overload.
    fn ty(self, args: &[Ty]) -> Option<Ty> {
        use Ty::{Dec, Float, Int};
        Some(match (self, args) {
            (Fun::Abs, [t @ (Int | Float | Dec)]) => *t,
            (Fun::Min | Fun::Max, [Int, Int]) => Int,
            (Fun::Min | Fun::Max, [Float, Float] | [Int, Float] | [Float, Int]) => Float,
            (Fun::Min | Fun::Max, [Dec, Dec] | [Int, Dec] | [Dec, Int]) => Dec,
            (Fun::ToFloat, [Int | Float | Dec]) => Float,
            (Fun::ToInt, [Int | Float | Dec]) => Int,
            (Fun::ToDecimal, [Int | Float | Dec]) => Dec,
            (Fun::Floor | Fun::Ceiling | Fun::Round, [t @ (Float | Dec)]) => *t,
            _ => return None,
        })
    }
}

/// Most local variables (and value parameters) one inlined script function may have.
pub const MAX_LOCALS: usize = 16;
/// How deep script functions are inlined into each other.
const MAX_INLINE: usize = 4;

/// A script function as the lowering inlines it: parameter names and body.
#[derive(Debug, Clone)]
pub struct ScriptBody {
    pub params: Vec<String>,
    pub body: Vec<Stmt>,
}

/// The public functions of a policy's scripts, by module, name and arity.
#[derive(Debug, Clone, Default)]
pub struct ScriptDefs {
    fns: Vec<(String, String, ScriptBody)>,
    /// Every function (private ones too), by module, name and arity.
    all: Vec<(String, String, usize)>,
}

impl ScriptDefs {
    /// Add the public functions of script module `module` (its compiled AST).
    pub fn add_module(&mut self, module: &str, ast: &rhai::AST) {
        for f in ast.iter_fn_def() {
            self.all.push((module.to_string(), f.name.to_string(), f.params.len()));
            if f.access != rhai::FnAccess::Public || f.this_type.is_some() {
                continue;
            }
            let name = f.name.to_string();
            // An AST of this one function (shared, not copied), walked for its body's
            // statements. Not `clone_functions_only_filtered`: rhai 1.27 copies every
            // function into an empty module unfiltered, so each body held the statements
            // of all the script's functions: memory and time quadratic in their number
            // (3,000 one-line functions: 3 GB, 8 s; docs/reliability.md).
            let mut lib = rhai::Module::new();
            lib.set_script_fn(f.clone());
            let one = rhai::AST::new_from_module(lib);
            let mut body = Vec::new();
            one.walk(&mut |path: &[rhai::ASTNode]| {
                if let [rhai::ASTNode::Stmt(s)] = path {
                    body.push((*s).clone());
                }
                true
            });
            let params = f.params.iter().map(|p| p.to_string()).collect();
            self.fns.push((module.to_string(), name, ScriptBody { params, body }));
        }
    }
    fn find(&self, module: &str, name: &str, arity: usize) -> Option<&ScriptBody> {
        self.fns.iter().find(|(m, n, b)| m == module && n == name && b.params.len() == arity).map(|(.., b)| b)
    }
    fn defines(&self, module: &str, name: &str, arity: usize) -> bool {
        self.all.iter().any(|(m, n, a)| m == module && n == name && *a == arity)
    }
}

/// What a variable name stands for while lowering.
#[derive(Debug, Clone, Copy)]
enum Bind {
    /// A whole scope of facts (`customer`, or a parameter it was passed as).
    Scope(Scope),
    /// A local variable or value parameter: its slot in the frame.
    Local(u8, Ty),
}

/// The lowering of one expression, or of one inlined function body.
struct Lowerer<'d> {
    defs: &'d ScriptDefs,
    /// Variables in scope, innermost last.
    vars: Vec<(String, Bind)>,
    /// In a policy expression: `customer`, `invoice` and `as_of` are the scopes.
    top: bool,
    /// Slots of the current frame handed out so far.
    slots: usize,
    depth: usize,
    /// The script module whose function is being lowered.
    module: Option<String>,
}

impl Lowerer<'_> {
    fn var(&self, name: &str) -> Option<Bind> {
        if let Some((_, b)) = self.vars.iter().rev().find(|(n, _)| n == name) {
            return Some(*b);
        }
        if self.top { scope_of(name).map(Bind::Scope) } else { None }
    }

    fn slot(&mut self) -> Option<u8> {
        let s = self.slots;
        self.slots += 1;
        (s < MAX_LOCALS).then_some(s as u8)
    }

    fn expr(&mut self, e: &Expr) -> Option<(Node, Ty)> {
        match e {
            Expr::IntegerConstant(i, _) => Some((Node::Int(*i), Ty::Int)),
            Expr::FloatConstant(f, _) => Some((Node::Float(**f), Ty::Float)),
            Expr::BoolConstant(b, _) => Some((Node::Bool(*b), Ty::Bool)),
            Expr::StringConstant(s, _) => Some((Node::Str(s.as_str().into()), Ty::Str)),
            Expr::DynamicConstant(d, _) => {
                if let Ok(v) = d.as_decimal() {
                    Some((Node::Dec(v), Ty::Dec))
                } else if let Ok(v) = d.as_int() {
                    Some((Node::Int(v), Ty::Int))
                } else if let Ok(v) = d.as_float() {
                    Some((Node::Float(v), Ty::Float))
                } else if let Ok(v) = d.as_bool() {
                    Some((Node::Bool(v), Ty::Bool))
                } else {
                    None
                }
            }
            Expr::Variable(v, _, _) if v.2.is_empty() => match self.var(v.1.as_str())? {
                Bind::Local(s, t) => Some((Node::Local(s), t)),
                Bind::Scope(_) => None,
            },
            Expr::Dot(b, _, _) => self.chain(&b.lhs, &b.rhs),
            Expr::And(v, _) | Expr::Or(v, _) => {
                let mut out = Vec::with_capacity(v.len());
                for x in v.iter() {
                    let (n, t) = self.expr(x)?;
                    if t != Ty::Bool {
                        return None;
                    }
                    out.push(n);
                }
                Some((if matches!(e, Expr::And(..)) { Node::And(out) } else { Node::Or(out) }, Ty::Bool))
            }
            Expr::FnCall(f, _) => self.call(f, None),
            Expr::Stmt(block) => self.block(block.statements()),
            _ => None,
        }
    }

    /// `lhs.rhs`: a fact (`customer.x`), then any method calls on it (`.to_float()`).
    fn chain(&mut self, lhs: &Expr, rhs: &Expr) -> Option<(Node, Ty)> {
        if let Expr::Variable(v, _, _) = lhs
            && v.2.is_empty()
            && let Some(Bind::Scope(scope)) = self.var(v.1.as_str())
        {
            let (prop, rest) = match rhs {
                Expr::Property(p, _) => (p, None),
                Expr::Dot(d, _, _) => match &d.lhs {
                    Expr::Property(p, _) => (p, Some(&d.rhs)),
                    _ => return None,
                },
                _ => return None,
            };
            let f = FactRef::find(scope, prop.2.as_str())?;
            let base = (Node::Fact(f), Ty::of_fact(f.def()?.ty)?);
            return match rest {
                None => Some(base),
                Some(r) => self.methods(base, r),
            };
        }
        let base = self.expr(lhs)?;
        self.methods(base, rhs)
    }

    /// Method calls applied to `base`: `x.abs()`, `x.to_float().abs()`.
    fn methods(&mut self, base: (Node, Ty), rhs: &Expr) -> Option<(Node, Ty)> {
        match rhs {
            Expr::MethodCall(f, _) => self.call(f, Some(base)),
            Expr::Dot(d, _, _) => match &d.lhs {
                Expr::MethodCall(f, _) => {
                    let inner = self.call(f, Some(base))?;
                    self.methods(inner, &d.rhs)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// A block: `let`s, then the expression (or `if`) whose value it is.
    fn block(&mut self, stmts: &[Stmt]) -> Option<(Node, Ty)> {
        let mark = self.vars.len();
        let mut lets = Vec::new();
        let mut value = None;
        for (i, s) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            match s {
                Stmt::Noop(_) if !last => {}
                Stmt::Var(x, _, _) if !last => {
                    let (n, t) = self.expr(&x.1)?;
                    let slot = self.slot()?;
                    lets.push((slot, n));
                    self.vars.push((x.0.name.to_string(), Bind::Local(slot, t)));
                }
                Stmt::Expr(e) if last => value = self.expr(e),
                Stmt::FnCall(f, _) if last => value = self.call(f, None),
                Stmt::If(flow, _) if last => value = self.cond(flow),
                Stmt::Block(b) if last => value = self.block(b.statements()),
                _ => return None,
            }
        }
        self.vars.truncate(mark);
        let (body, ty) = value?;
        Some((if lets.is_empty() { body } else { Node::Block(lets, Box::new(body)) }, ty))
    }

    /// `if c { a } else { b }` with both branches of one type.
    fn cond(&mut self, flow: &rhai::FlowControl) -> Option<(Node, Ty)> {
        let (c, tc) = self.expr(&flow.expr)?;
        if tc != Ty::Bool {
            return None;
        }
        let (a, ta) = self.block(flow.body.statements())?;
        let (b, tb) = self.block(flow.branch.statements())?;
        (ta == tb).then(|| (Node::If(Box::new((c, a, b))), ta))
    }

    /// A call: an operator, a built-in function, or a script function
    /// (inlined). `this` is the value a method is called on.
    fn call(&mut self, f: &FnCallExpr, this: Option<(Node, Ty)>) -> Option<(Node, Ty)> {
        if !f.namespace.is_empty() {
            if this.is_some() || f.namespace.path.len() != 1 {
                return None;
            }
            return self.inline(f.namespace.root(), f.name.as_str(), &f.args);
        }
        if f.op_token.is_some() && this.is_none() {
            return self.operator(f);
        }
        let name = f.name.as_str();
        let fun = Fun::of(name)?;
        let mut args: Vec<(Node, Ty)> = this.into_iter().collect();
        for a in f.args.iter() {
            args.push(self.expr(a)?);
        }
        // A script function of the same name and arity would be called instead.
        if let Some(m) = &self.module
            && self.defs.defines(m, name, args.len())
        {
            return None;
        }
        let tys: Vec<Ty> = args.iter().map(|(_, t)| *t).collect();
        let ty = fun.ty(&tys)?;
        Some((Node::Call(fun, args.into_iter().map(|(n, _)| n).collect()), ty))
    }

    /// `module::name(args)`: the function's body inlined, its parameters
    /// bound to the scopes or values passed.
    fn inline(&mut self, module: &str, name: &str, args: &[Expr]) -> Option<(Node, Ty)> {
        if self.depth >= MAX_INLINE {
            return None;
        }
        let def = self.defs.find(module, name, args.len())?;
        let mut callee = Lowerer {
            defs: self.defs,
            vars: Vec::new(),
            top: false,
            slots: 0,
            depth: self.depth + 1,
            module: Some(module.to_string()),
        };
        let mut values = Vec::new();
        for (param, a) in def.params.iter().zip(args) {
            let scope = match a {
                Expr::Variable(v, _, _) if v.2.is_empty() => match self.var(v.1.as_str()) {
                    Some(Bind::Scope(s)) => Some(s),
                    _ => None,
                },
                _ => None,
            };
            match scope {
                Some(s) => callee.vars.push((param.clone(), Bind::Scope(s))),
                None => {
                    let (n, t) = self.expr(a)?;
                    let slot = callee.slot()?;
                    values.push((slot, n));
                    callee.vars.push((param.clone(), Bind::Local(slot, t)));
                }
            }
        }
        let (body, ty) = callee.block(&def.body)?;
        Some((Node::Inline(values, Box::new(body)), ty))
    }

    /// Unary and binary operators.
    fn operator(&mut self, f: &FnCallExpr) -> Option<(Node, Ty)> {
        let name = f.name.as_str();
        match f.args.as_slice() {
            [x] => {
                let (n, t) = self.expr(x)?;
                match (name, t) {
                    ("!", Ty::Bool) => Some((Node::Not(Box::new(n)), Ty::Bool)),
                    ("-", Ty::Int | Ty::Float | Ty::Dec) => Some((Node::Neg(Box::new(n)), t)),
                    ("+", Ty::Int | Ty::Float | Ty::Dec) => Some((n, t)),
                    _ => None,
                }
            }
            [a, b] => {
                let (na, ta) = self.expr(a)?;
                let (nb, tb) = self.expr(b)?;
                binary(name, na, ta, nb, tb)
            }
            _ => None,
        }
    }
}

/// A binary operator on lowered operands.
fn binary(name: &str, na: Node, ta: Ty, nb: Node, tb: Ty) -> Option<(Node, Ty)> {
    let cmp = match name {
        "==" => Some(Cmp::Eq),
        "!=" => Some(Cmp::Ne),
        "<" => Some(Cmp::Lt),
        "<=" => Some(Cmp::Le),
        ">" => Some(Cmp::Gt),
        ">=" => Some(Cmp::Ge),
        _ => None,
    };
    let arith = match name {
        "+" => Some(Arith::Add),
        "-" => Some(Arith::Sub),
        "*" => Some(Arith::Mul),
        "/" => Some(Arith::Div),
        _ => None,
    };
    let kind = match (ta, tb) {
        (Ty::Int, Ty::Int) => Kind::Int,
        (Ty::Float, Ty::Float | Ty::Int) | (Ty::Int, Ty::Float) => Kind::Float,
        (Ty::Dec, Ty::Dec | Ty::Int) | (Ty::Int, Ty::Dec) => Kind::Dec,
        (Ty::Dec, Ty::Float) | (Ty::Float, Ty::Dec) => Kind::DecFloat,
        (Ty::Str, Ty::Str) if matches!(cmp, Some(Cmp::Eq | Cmp::Ne)) => Kind::Str,
        (Ty::Bool, Ty::Bool) if matches!(cmp, Some(Cmp::Eq | Cmp::Ne)) => Kind::Bool,
        _ => return None,
    };
    // A literal meeting another domain is converted once, here, exactly as
    // the operators convert it at run time: a float literal meeting money
    // (the engine's mixed operators), an integer literal meeting money or a
    // float (rhai's own).
    let (mut na, mut nb, mut kind) = (na, nb, kind);
    if kind == Kind::DecFloat {
        let exact = |n: &Node| match n {
            Node::Float(f) => Decimal::try_from(*f).ok().map(Node::Dec),
            _ => None,
        };
        if let Some(d) = exact(&na) {
            (na, kind) = (d, Kind::Dec);
        } else if let Some(d) = exact(&nb) {
            (nb, kind) = (d, Kind::Dec);
        }
    }
    let widen = |n: &mut Node| match (kind, &*n) {
        (Kind::Dec, Node::Int(i)) => *n = Node::Dec(Decimal::from(*i)),
        (Kind::Float, Node::Int(i)) => *n = Node::Float(*i as f64),
        _ => {}
    };
    widen(&mut na);
    widen(&mut nb);
    if let Some(c) = cmp {
        return Some((Node::Cmp(c, kind, Box::new(na), Box::new(nb)), Ty::Bool));
    }
    let op = arith?;
    let ty = match kind {
        Kind::Int => Ty::Int,
        Kind::Float => Ty::Float,
        Kind::Dec | Kind::DecFloat => Ty::Dec,
        Kind::Str | Kind::Bool => return None,
    };
    Some((Node::Arith(op, kind, Box::new(na), Box::new(nb)), ty))
}

/// Lower a rhai expression into a native node with its type, or `None` if
/// it uses anything outside the subset (it then runs in rhai). Calls to
/// script functions are not lowered here: see [`lower_with`].
pub fn lower(e: &Expr) -> Option<(Node, Ty)> {
    lower_with(e, &ScriptDefs::default())
}

/// [`lower`], inlining calls to the script functions in `defs` (`let`s,
/// `if`/`else` and the subset) where their bodies are in the subset too.
pub fn lower_with(e: &Expr, defs: &ScriptDefs) -> Option<(Node, Ty)> {
    let mut l = Lowerer { defs, vars: Vec::new(), top: true, slots: 0, depth: 0, module: None };
    l.expr(e)
}

/// `customer.x` as a fact reference (an unknown fact is `None`).
pub fn fact_access(lhs: &Expr, rhs: &Expr) -> Option<FactRef> {
    let Expr::Variable(v, _, _) = lhs else { return None };
    if !v.2.is_empty() {
        return None;
    }
    let scope = scope_of(v.1.as_str())?;
    let Expr::Property(p, _) = rhs else { return None };
    FactRef::find(scope, p.2.as_str())
}

/// The static type of an expression, when it can be told without running it.
pub fn static_type(e: &Expr) -> Option<Ty> {
    lower(e).map(|(_, t)| t)
}

/// Something the native evaluator will not decide; rhai will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsure;

fn to_val<'a>(v: Value<'a>) -> Result<Val<'a>, Unsure> {
    Ok(match v {
        Value::Int(i) => Val::Int(i),
        Value::Float(f) => Val::Float(f),
        Value::Money(d) => Val::Dec(d),
        Value::Bool(b) => Val::Bool(b),
        Value::Text(s) => Val::Str(s),
        Value::Date(_) => return Err(Unsure),
    })
}

fn as_f64(v: Val<'_>) -> Result<f64, Unsure> {
    match v {
        Val::Int(i) => Ok(i as f64),
        Val::Float(f) => Ok(f),
        _ => Err(Unsure),
    }
}

fn as_dec(v: Val<'_>) -> Result<Decimal, Unsure> {
    match v {
        Val::Int(i) => Ok(Decimal::from(i)),
        Val::Dec(d) => Ok(d),
        Val::Float(f) => Decimal::try_from(f).map_err(|_| Unsure),
        _ => Err(Unsure),
    }
}

/// rhai's float comparison (relative epsilon), reproduced exactly.
fn float_cmp(op: Cmp, x: f64, y: f64) -> bool {
    let max = if x * y == 0.0 { 1.0 } else { x.abs().max(y.abs()) };
    match op {
        Cmp::Eq => max == 0.0 || (x - y).abs() / max <= f64::EPSILON,
        Cmp::Ne => max != 0.0 && (x - y).abs() / max > f64::EPSILON,
        Cmp::Gt => max != 0.0 && (x - y) / max > f64::EPSILON,
        Cmp::Ge => max == 0.0 || (x - y) / max > -f64::EPSILON,
        Cmp::Lt => max != 0.0 && (y - x) / max > f64::EPSILON,
        Cmp::Le => max == 0.0 || (y - x) / max > -f64::EPSILON,
    }
}

/// `x op y` for any ordered values (the engine's comparisons; the
/// simulation's wake-up schedule finds where they flip with it too).
pub(crate) fn ord_cmp<T: PartialOrd>(op: Cmp, x: T, y: T) -> bool {
    match op {
        Cmp::Eq => x == y,
        Cmp::Ne => x != y,
        Cmp::Lt => x < y,
        Cmp::Le => x <= y,
        Cmp::Gt => x > y,
        Cmp::Ge => x >= y,
    }
}

/// Evaluate a native node.
pub fn eval_node<'a>(n: &'a Node, env: &Env<'a, '_>) -> Result<Val<'a>, Unsure> {
    ev(n, env, &mut [])
}

/// The values of a function's parameters and locals.
type Frame<'a> = [Val<'a>; MAX_LOCALS];

fn ev<'a>(n: &'a Node, env: &Env<'a, '_>, loc: &mut [Val<'a>]) -> Result<Val<'a>, Unsure> {
    Ok(match n {
        Node::Int(i) => Val::Int(*i),
        Node::Float(f) => Val::Float(*f),
        Node::Dec(d) => Val::Dec(*d),
        Node::Bool(b) => Val::Bool(*b),
        Node::Str(s) => Val::Str(s),
        Node::Fact(f) => to_val(env.fact(*f).ok_or(Unsure)?)?,
        Node::Not(x) => match arg(x, env, loc)? {
            Val::Bool(b) => Val::Bool(!b),
            _ => return Err(Unsure),
        },
        Node::Neg(x) => match arg(x, env, loc)? {
            Val::Int(i) => Val::Int(i.checked_neg().ok_or(Unsure)?),
            Val::Float(f) => Val::Float(-f),
            Val::Dec(d) => Val::Dec(-d),
            _ => return Err(Unsure),
        },
        Node::And(v) => {
            for x in v {
                match arg(x, env, loc)? {
                    Val::Bool(true) => {}
                    Val::Bool(false) => return Ok(Val::Bool(false)),
                    _ => return Err(Unsure),
                }
            }
            Val::Bool(true)
        }
        Node::Or(v) => {
            for x in v {
                match arg(x, env, loc)? {
                    Val::Bool(true) => return Ok(Val::Bool(true)),
                    Val::Bool(false) => {}
                    _ => return Err(Unsure),
                }
            }
            Val::Bool(false)
        }
        Node::Cmp(op, kind, a, b) => {
            let (x, y) = (arg(a, env, loc)?, arg(b, env, loc)?);
            Val::Bool(match kind {
                Kind::Int => match (x, y) {
                    (Val::Int(x), Val::Int(y)) => ord_cmp(*op, x, y),
                    _ => return Err(Unsure),
                },
                Kind::Float => float_cmp(*op, as_f64(x)?, as_f64(y)?),
                Kind::Dec | Kind::DecFloat => ord_cmp(*op, as_dec(x)?, as_dec(y)?),
                Kind::Str => match (x, y) {
                    (Val::Str(x), Val::Str(y)) => ord_cmp(*op, x, y),
                    _ => return Err(Unsure),
                },
                Kind::Bool => match (x, y) {
                    (Val::Bool(x), Val::Bool(y)) => ord_cmp(*op, x, y),
                    _ => return Err(Unsure),
                },
            })
        }
        Node::Arith(op, kind, a, b) => {
            let (x, y) = (arg(a, env, loc)?, arg(b, env, loc)?);
            match kind {
                Kind::Int => {
                    let (Val::Int(x), Val::Int(y)) = (x, y) else { return Err(Unsure) };
                    Val::Int(
                        match op {
                            Arith::Add => x.checked_add(y),
                            Arith::Sub => x.checked_sub(y),
                            Arith::Mul => x.checked_mul(y),
                            Arith::Div if y == 0 => None,
                            Arith::Div => x.checked_div(y),
                        }
                        .ok_or(Unsure)?,
                    )
                }
                Kind::Float => {
                    let (x, y) = (as_f64(x)?, as_f64(y)?);
                    Val::Float(match op {
                        Arith::Add => x + y,
                        Arith::Sub => x - y,
                        Arith::Mul => x * y,
                        Arith::Div => x / y,
                    })
                }
                Kind::Dec | Kind::DecFloat => {
                    let (x, y) = (as_dec(x)?, as_dec(y)?);
                    Val::Dec(
                        match op {
                            Arith::Add => x.checked_add(y),
                            Arith::Sub => x.checked_sub(y),
                            Arith::Mul => x.checked_mul(y),
                            Arith::Div if y.is_zero() => None,
                            Arith::Div => x.checked_div(y),
                        }
                        .ok_or(Unsure)?,
                    )
                }
                Kind::Str | Kind::Bool => return Err(Unsure),
            }
        }
        Node::Call(f, args) => match (f, args.as_slice()) {
            (Fun::Min | Fun::Max, [a, b]) => min_max(*f, arg(a, env, loc)?, arg(b, env, loc)?)?,
            (_, [a]) => call1(*f, arg(a, env, loc)?)?,
            _ => return Err(Unsure),
        },
        Node::If(x) => {
            let (c, a, b) = &**x;
            match ev(c, env, loc)? {
                Val::Bool(true) => arg(a, env, loc)?,
                Val::Bool(false) => arg(b, env, loc)?,
                _ => return Err(Unsure),
            }
        }
        Node::Local(s) => *loc.get(usize::from(*s)).ok_or(Unsure)?,
        Node::Block(lets, body) => {
            for (s, x) in lets {
                let v = arg(x, env, loc)?;
                *loc.get_mut(usize::from(*s)).ok_or(Unsure)? = v;
            }
            ev(body, env, loc)?
        }
        Node::Inline(args, body) => inline(args, body, env, loc)?,
    })
}

/// An operand: facts, constants and locals read here, without a call
/// (most operands are one of those); anything else evaluated.
#[inline(always)]
fn arg<'a>(n: &'a Node, env: &Env<'a, '_>, loc: &mut [Val<'a>]) -> Result<Val<'a>, Unsure> {
    match n {
        Node::Fact(f) => to_val(env.fact(*f).ok_or(Unsure)?),
        Node::Int(i) => Ok(Val::Int(*i)),
        Node::Float(f) => Ok(Val::Float(*f)),
        Node::Dec(d) => Ok(Val::Dec(*d)),
        Node::Bool(b) => Ok(Val::Bool(*b)),
        Node::Local(s) => loc.get(usize::from(*s)).copied().ok_or(Unsure),
        _ => ev(n, env, loc),
    }
}

/// An inlined script function: a new frame (kept out of [`ev`]'s own).
#[inline(never)]
fn inline<'a>(
    args: &'a [(u8, Node)],
    body: &'a Node,
    env: &Env<'a, '_>,
    loc: &mut [Val<'a>],
) -> Result<Val<'a>, Unsure> {
    let mut frame: Frame<'a> = [Val::Int(0); MAX_LOCALS];
    for (s, x) in args {
        let v = arg(x, env, loc)?;
        *frame.get_mut(usize::from(*s)).ok_or(Unsure)? = v;
    }
    ev(body, env, &mut frame)
}

/// `min` and `max` as rhai's logic package defines them.
fn min_max<'a>(f: Fun, a: Val<'a>, b: Val<'a>) -> Result<Val<'a>, Unsure> {
    let max = f == Fun::Max;
    fn pick<T: PartialOrd>(max: bool, x: T, y: T) -> T {
        if max {
            if x >= y { x } else { y }
        } else if x <= y {
            x
        } else {
            y
        }
    }
    Ok(match (a, b) {
        (Val::Int(x), Val::Int(y)) => Val::Int(pick(max, x, y)),
        (Val::Float(x), Val::Float(y)) => Val::Float(pick(max, x, y)),
        (Val::Int(x), Val::Float(y)) => Val::Float(pick(max, x as f64, y)),
        (Val::Float(x), Val::Int(y)) => Val::Float(pick(max, x, y as f64)),
        (Val::Dec(x), Val::Dec(y)) => Val::Dec(pick(max, x, y)),
        (Val::Int(x), Val::Dec(y)) => Val::Dec(pick(max, Decimal::from(x), y)),
        (Val::Dec(x), Val::Int(y)) => Val::Dec(pick(max, x, Decimal::from(y))),
        _ => return Err(Unsure),
    })
}

/// One-argument functions as rhai's arithmetic and math packages define them.
fn call1(f: Fun, v: Val<'_>) -> Result<Val<'_>, Unsure> {
    Ok(match (f, v) {
        (Fun::Abs, Val::Int(i)) => Val::Int(i.checked_abs().ok_or(Unsure)?),
        (Fun::Abs, Val::Float(x)) => Val::Float(x.abs()),
        (Fun::Abs, Val::Dec(d)) => Val::Dec(d.abs()),
        (Fun::ToFloat, Val::Int(i)) => Val::Float(i as f64),
        (Fun::ToFloat, Val::Float(x)) => Val::Float(x),
        (Fun::ToFloat, Val::Dec(d)) => Val::Float(f64::try_from(d).map_err(|_| Unsure)?),
        (Fun::ToInt, Val::Int(i)) => Val::Int(i),
        (Fun::ToInt, Val::Float(x)) => {
            if x > i64::MAX as f64 || x < i64::MIN as f64 {
                return Err(Unsure);
            }
            Val::Int(x.trunc() as i64)
        }
        (Fun::ToInt, Val::Dec(d)) => {
            use rust_decimal::prelude::ToPrimitive;
            Val::Int(d.to_i64().ok_or(Unsure)?)
        }
        (Fun::ToDecimal, Val::Int(i)) => Val::Dec(Decimal::from(i)),
        (Fun::ToDecimal, Val::Dec(d)) => Val::Dec(d),
        (Fun::ToDecimal, Val::Float(x)) => Val::Dec(Decimal::try_from(x).map_err(|_| Unsure)?),
        (Fun::Floor, Val::Float(x)) => Val::Float(x.floor()),
        (Fun::Floor, Val::Dec(d)) => Val::Dec(d.floor()),
        (Fun::Ceiling, Val::Float(x)) => Val::Float(x.ceil()),
        (Fun::Ceiling, Val::Dec(d)) => Val::Dec(d.ceil()),
        (Fun::Round, Val::Float(x)) => Val::Float(x.round()),
        (Fun::Round, Val::Dec(d)) => Val::Dec(d.round()),
        _ => return Err(Unsure),
    })
}

/// A rhai run-time error of an expression, with its position inside the
/// expression (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Expression {
    /// The text as written (after expanding a bare `module::function`).
    pub src: String,
    /// Where it was written, to report run-time errors.
    pub file: FileId,
    pub map: StringMap,
    pub ast: rhai::AST,
    pub reads: Reads,
    /// The native form, when the expression is in the subset.
    pub native: Option<Node>,
    /// Its type, when known statically.
    pub ty: Option<Ty>,
    /// When it reads per-currency `amounts.<name>`: one compiled variant per
    /// currency, each with that currency's amounts written in; what runs is
    /// the customer's currency's (this expression's own AST then never does).
    pub per_currency: Option<Box<PerCurrency>>,
    /// The `[amounts]` names it reads (`amounts.<name>`), in order of first
    /// use: explain shows each one's value in the customer's currency.
    pub amounts: Vec<String>,
}

/// The variants of an expression that reads per-currency policy amounts.
#[derive(Debug, Clone)]
pub struct PerCurrency {
    /// By currency code: the expression with that currency's amounts.
    pub by: Vec<(String, Expression)>,
    /// The `amounts.<name>` it reads that are given per currency (for the
    /// message when a customer's currency has none).
    pub names: Vec<String>,
}

impl PerCurrency {
    /// The variant for the customer's currency, or the error saying which
    /// amounts have no value for it.
    fn pick<'e>(&'e self, env: &Env<'_, '_>) -> Result<&'e Expression, ExprError> {
        let code = env.customer.customer.currency.as_str();
        // Codes of three letters compared byte by byte, not through `memcmp`
        // (once per condition and customer).
        let same = |c: &str| c.len() == code.len() && c.bytes().zip(code.bytes()).all(|(x, y)| x == y);
        self.by.iter().find(|(c, _)| same(c)).map(|(_, e)| e).ok_or_else(|| ExprError {
            message: format!(
                "[amounts] {} give{} no amount for {code}, the customer's currency: add it to [amounts]",
                self.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                if self.names.len() == 1 { "s" } else { "" }
            ),
            line: 0,
            col: 0,
        })
    }
}

/// The result of an expression, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Int(i64),
    Float(f64),
    Dec(Decimal),
    Bool(bool),
    Str(String),
    /// Another type, by rhai's name for it.
    Other(String),
}

impl Out {
    fn of_val(v: Val<'_>) -> Out {
        match v {
            Val::Int(i) => Out::Int(i),
            Val::Float(f) => Out::Float(f),
            Val::Dec(d) => Out::Dec(d),
            Val::Bool(b) => Out::Bool(b),
            Val::Str(s) => Out::Str(s.to_string()),
        }
    }
    /// Convert a rhai value.
    pub fn of_dynamic(d: &Dynamic) -> Out {
        if let Ok(b) = d.as_bool() {
            Out::Bool(b)
        } else if let Ok(i) = d.as_int() {
            Out::Int(i)
        } else if let Ok(f) = d.as_float() {
            Out::Float(f)
        } else if let Ok(x) = d.as_decimal() {
            Out::Dec(x)
        } else if d.is_string() {
            Out::Str(d.to_string())
        } else {
            Out::Other(d.type_name().to_string())
        }
    }
    /// In words, for messages.
    pub fn type_words(&self) -> String {
        match self {
            Out::Int(_) => "a whole number".into(),
            Out::Float(_) => "a number".into(),
            Out::Dec(_) => "an amount".into(),
            Out::Bool(_) => "true or false".into(),
            Out::Str(_) => "text".into(),
            Out::Other(t) if t == "()" => "nothing (a missing value)".into(),
            Out::Other(t) => format!("a value of type `{t}`"),
        }
    }
}

/// A rhai value of a fact.
pub fn dynamic_of(v: Value<'_>) -> Dynamic {
    match v {
        Value::Int(i) => Dynamic::from_int(i),
        Value::Float(f) => Dynamic::from_float(f),
        Value::Money(d) => Dynamic::from_decimal(d),
        Value::Bool(b) => Dynamic::from_bool(b),
        Value::Text(s) => Dynamic::from(s.to_string()),
        Value::Date(d) => Dynamic::from(d.to_string()),
    }
}

fn all_of(scope: Scope) -> usize {
    match scope {
        Scope::Customer => CustomerFacts::defs().len(),
        Scope::Invoice => InvoiceFacts::defs().len(),
        Scope::Calendar => Calendar::defs().len(),
    }
}

impl Expression {
    /// Evaluate: natively when possible, else (or when unsure) in rhai.
    pub fn eval(&self, engine: &Engine, env: &Env<'_, '_>) -> Result<Out, ExprError> {
        if let Some(pc) = &self.per_currency {
            return pc.pick(env)?.eval(engine, env);
        }
        if let Some(n) = &self.native
            && let Ok(v) = eval_node(n, env)
        {
            return Ok(Out::of_val(v));
        }
        self.eval_rhai(engine, env).map(|d| Out::of_dynamic(&d))
    }

    /// Evaluate a condition: true or false, or an error saying what came back.
    pub fn eval_bool(&self, engine: &Engine, env: &Env<'_, '_>) -> Result<bool, ExprError> {
        if let Some(pc) = &self.per_currency {
            return pc.pick(env)?.eval_bool(engine, env);
        }
        if let Some(n) = &self.native
            && let Ok(Val::Bool(b)) = eval_node(n, env)
        {
            return Ok(b);
        }
        match self.eval_rhai(engine, env)? {
            d if d.is_bool() => Ok(d.as_bool().unwrap_or(false)),
            d => Err(ExprError {
                message: format!("the condition gave {} instead of true or false", Out::of_dynamic(&d).type_words()),
                line: 0,
                col: 0,
            }),
        }
    }

    /// Evaluate a score: a number.
    pub fn eval_f64(&self, engine: &Engine, env: &Env<'_, '_>) -> Result<f64, ExprError> {
        use rust_decimal::prelude::ToPrimitive;
        match self.eval(engine, env)? {
            Out::Int(i) => Ok(i as f64),
            Out::Float(f) => Ok(f),
            Out::Dec(d) => Ok(d.to_f64().unwrap_or(0.0)),
            o => Err(ExprError {
                message: format!("the score gave {} instead of a number", o.type_words()),
                line: 0,
                col: 0,
            }),
        }
    }

    /// Evaluate in rhai only (the reference semantics).
    pub fn eval_rhai(&self, engine: &Engine, env: &Env<'_, '_>) -> Result<Dynamic, ExprError> {
        if let Some(pc) = &self.per_currency {
            return pc.pick(env)?.eval_rhai(engine, env);
        }
        let mut scope = rhai::Scope::with_capacity(3);
        for s in SCOPES {
            let mut map = Map::new();
            let mut put = |f: FactRef| {
                if let (Some(def), Some(v)) = (f.def(), env.fact(f)) {
                    map.insert(def.name.into(), dynamic_of(v));
                }
            };
            if self.reads.whole[scope_ix(s)] {
                for i in 0..all_of(s) {
                    put(FactRef { scope: s, index: i as u16 });
                }
            } else {
                self.reads.facts.iter().filter(|f| f.scope == s).for_each(|&f| put(f));
            }
            scope.push_dynamic(s.prefix(), Dynamic::from_map(map));
        }
        engine.eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast).map_err(|e| {
            let mut e = *e;
            let pos = e.take_position();
            ExprError {
                message: lower_first(&e.to_string()),
                line: pos.line().unwrap_or(0),
                col: pos.position().unwrap_or(0),
            }
        })
    }

    /// The expressions that run: its per-currency variants, or itself.
    pub fn each(&self) -> Vec<&Expression> {
        match &self.per_currency {
            Some(pc) => pc.by.iter().map(|(_, e)| e).collect(),
            None => vec![self],
        }
    }

    /// The facts it read, with their values in `env` (for explanations).
    pub fn read_values(&self, env: &Env<'_, '_>, out: &mut Vec<(FactRef, String)>) {
        for &f in &self.reads.facts {
            if let Some(v) = env.fact(f)
                && !out.iter().any(|(g, _)| *g == f)
            {
                out.push((f, crate::engine::words::display(v)));
            }
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

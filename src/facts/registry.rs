//! The fact vocabulary: every fact's name, scope, type and meaning, and typed
//! access by index. Policy validation, the `facts` command and docs/facts.md
//! all read this one table.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Where a fact lives in expressions: `customer.x`, `invoice.x`, `as_of.x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Customer,
    Invoice,
    Calendar,
}

impl Scope {
    /// The prefix used in rhai expressions.
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Customer => "customer",
            Scope::Invoice => "invoice",
            Scope::Calendar => "as_of",
        }
    }
}

/// The type of a fact's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactType {
    Int,
    Float,
    Money,
    Bool,
    Text,
    Date,
}

/// One fact's definition.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FactDef {
    pub scope: Scope,
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: FactType,
    pub doc: &'static str,
}

/// A fact's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value<'a> {
    Int(i64),
    Float(f64),
    Money(Decimal),
    Bool(bool),
    Text(&'a str),
    Date(NaiveDate),
}

impl std::fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            // As `{v:.4}` writes it, in integer arithmetic (the formatter's
            // exact float path is slow; `recoup facts` writes many).
            Value::Float(v) => {
                let mut s = String::with_capacity(12);
                crate::engine::words::fixed(&mut s, *v, 4);
                f.write_str(&s)
            }
            // With the minor units of the currency in scope (the customer's).
            Value::Money(v) => f.write_str(&crate::money::json::text(*v)),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
            // An empty date fact (`oldest_due_date` with nothing open,
            // `last_step_date` with no step) is held as the earliest date:
            // shown empty, as in customers' files.
            Value::Date(v) if *v == chrono::NaiveDate::MIN => Ok(()),
            Value::Date(v) => write!(f, "{v}"),
        }
    }
}

/// A set of facts that can be listed and read by index.
pub trait Facts {
    /// The definitions, in a fixed order.
    fn defs() -> &'static [FactDef];
    /// The value of fact `i` of [`Facts::defs`].
    fn value(&self, i: usize) -> Value<'_>;
    /// The value of the fact called `name`.
    fn get(&self, name: &str) -> Option<Value<'_>> {
        Self::defs().iter().position(|d| d.name == name).map(|i| self.value(i))
    }
}

/// Declare a fact table: the definitions and the accessor in one place.
macro_rules! fact_table {
    ($ty:ident, $scope:expr, $f:ident; $($name:ident : $kind:ident = $doc:literal => $e:expr;)+) => {
        impl $crate::facts::registry::Facts for $ty<'_> {
            fn defs() -> &'static [$crate::facts::registry::FactDef] {
                const DEFS: &[$crate::facts::registry::FactDef] = &[$(
                    $crate::facts::registry::FactDef {
                        scope: $scope,
                        name: stringify!($name),
                        ty: $crate::facts::registry::FactType::$kind,
                        doc: $doc,
                    }
                ),+];
                DEFS
            }
            #[allow(unused_assignments)]
            fn value(&self, i: usize) -> $crate::facts::registry::Value<'_> {
                let $f = self;
                let mut k = 0usize;
                $(
                    if i == k { return fact_table!(@wrap $kind, $e); }
                    k += 1;
                )+
                $crate::facts::registry::Value::Bool(false)
            }
        }
    };
    (@wrap Int, $e:expr) => { $crate::facts::registry::Value::Int(i64::from($e)) };
    (@wrap Float, $e:expr) => { $crate::facts::registry::Value::Float($e) };
    (@wrap Money, $e:expr) => { $crate::facts::registry::Value::Money($e) };
    (@wrap Bool, $e:expr) => { $crate::facts::registry::Value::Bool($e) };
    (@wrap Text, $e:expr) => { $crate::facts::registry::Value::Text($e) };
    (@wrap Date, $e:expr) => { $crate::facts::registry::Value::Date($e) };
}
pub(crate) use fact_table;

/// Every fact of every scope, for validation and docs.
pub fn all_defs() -> impl Iterator<Item = &'static FactDef> {
    use super::{Calendar, CustomerFacts, InvoiceFacts};
    CustomerFacts::defs().iter().chain(InvoiceFacts::defs()).chain(Calendar::defs())
}

/// Look a fact up by scope and name; with a close match to suggest if none.
pub fn lookup(scope: Scope, name: &str) -> Result<&'static FactDef, Option<&'static str>> {
    let mut best: Option<(usize, &'static str)> = None;
    for d in all_defs().filter(|d| d.scope == scope) {
        if d.name == name {
            return Ok(d);
        }
        let dist = strsim::levenshtein(d.name, name);
        if dist <= 3 && best.is_none_or(|(b, _)| dist < b) {
            best = Some((dist, d.name));
        }
    }
    Err(best.map(|(_, n)| n))
}

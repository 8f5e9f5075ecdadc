//! The rule id of an action record, numbered once for the whole process.
//!
//! The engine matches every executed row of a customer's history to the
//! policy's rules on every evaluation. Comparing texts there cost more than
//! the rest of reading the history; so each [`RuleId`] carries a symbol — a
//! number that every `RuleId` of the same text shares — found once, when the
//! row is made (loaded, or appended by the simulation). A compiled policy
//! numbers its rules by symbol ([`crate::policy::compile::RuleIds::number`]):
//! a row's rule is then one table look-up away.
//!
//! Symbols are process-wide (one table for every ledger and policy, as a
//! compiler interns its identifiers), so a record keeps its symbol when it is
//! copied into another ledger. Which number a text gets depends on the order
//! texts are first seen, which may vary between runs and threads: symbols are
//! compared, never shown or written, so no output depends on them.

use super::Text;
use rustc_hash::FxHashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

/// The symbol of every text seen so far.
static SYMBOLS: LazyLock<RwLock<FxHashMap<Text, u32>>> = LazyLock::new(|| RwLock::new(FxHashMap::default()));

/// The symbol given to every text once 2^32 - 1 distinct texts have been
/// seen: such ids are compared by text.
const OVERFLOW: u32 = u32::MAX;

/// The symbol of `text`, numbered now if it is new.
fn intern(text: &str) -> u32 {
    if let Some(&s) = SYMBOLS.read().unwrap_or_else(PoisonError::into_inner).get(text) {
        return s;
    }
    let mut all = SYMBOLS.write().unwrap_or_else(PoisonError::into_inner);
    let next = u32::try_from(all.len()).unwrap_or(OVERFLOW);
    *all.entry(Text::from(text)).or_insert(next)
}

/// A rule id (`rule_id` of actions.csv) and its symbol.
#[derive(Clone)]
pub struct RuleId {
    text: Text,
    sym: u32,
}

impl RuleId {
    /// The symbol of the ids whose symbol does not stand for their text
    /// alone ([`RuleId::is_numbered`] false): compare those by text.
    pub const UNNUMBERED: u32 = OVERFLOW;

    /// The rule id `text`.
    pub fn new(text: &str) -> Self {
        RuleId { sym: intern(text), text: Text::from(text) }
    }

    /// The rule id `text`, keeping its storage.
    pub fn from_text(text: Text) -> Self {
        RuleId { sym: intern(&text), text }
    }

    /// The id as written in actions.csv.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its symbol: equal for equal texts, different for different texts
    /// (except [`RuleId::is_numbered`] false, when there were too many texts).
    pub fn sym(&self) -> u32 {
        self.sym
    }

    /// Does its symbol stand for its text alone (always, short of 2^32 - 1
    /// distinct rule ids in one process)?
    pub fn is_numbered(&self) -> bool {
        self.sym != OVERFLOW
    }
}

impl Default for RuleId {
    fn default() -> Self {
        RuleId::new("")
    }
}

impl std::ops::Deref for RuleId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for RuleId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq for RuleId {
    fn eq(&self, other: &Self) -> bool {
        self.sym == other.sym && (self.is_numbered() || self.text == other.text)
    }
}

impl Eq for RuleId {}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl From<&str> for RuleId {
    fn from(s: &str) -> Self {
        RuleId::new(s)
    }
}

impl From<Text> for RuleId {
    fn from(s: Text) -> Self {
        RuleId::from_text(s)
    }
}

impl std::fmt::Debug for RuleId {
    /// The text only: the symbol depends on the order texts were seen.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.text.as_str(), f)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal texts share a symbol; different texts never do, however alike
    /// (same length and prefix, longer than 16 bytes, empty).
    #[test]
    fn one_symbol_per_text() {
        let texts = [
            "",
            "call",
            "first-notice",
            "first-notics",
            "second-notice-by-letter",
            "second-notice-by-litter",
            "xsecond-notice-by-letter",
        ];
        let ids: Vec<RuleId> = texts.iter().map(|t| RuleId::new(t)).collect();
        for (a, ta) in ids.iter().zip(texts) {
            assert_eq!(RuleId::new(ta).sym(), a.sym(), "{ta}");
            assert_eq!(RuleId::from_text(Text::from(ta)), *a);
            assert_eq!(a.as_str(), ta);
            for (b, tb) in ids.iter().zip(texts) {
                assert_eq!(a == b, ta == tb, "{ta} vs {tb}");
                assert_eq!(a.sym() == b.sym(), ta == tb, "{ta} vs {tb}");
            }
        }
        assert_eq!(format!("{:?}", ids[1]), "\"call\"");
        assert_eq!(serde_json::to_string(&ids[2]).unwrap(), "\"first-notice\"");
    }

    /// Symbols handed out from several threads at once are still one per text.
    #[test]
    fn symbols_from_threads_agree() {
        let texts: Vec<String> = (0..200).map(|i| format!("threaded-rule-{}", i % 50)).collect();
        let syms: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> =
                (0..4).map(|_| s.spawn(|| texts.iter().map(|t| RuleId::new(t).sym()).collect::<Vec<_>>())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for w in &syms {
            assert_eq!(w, &syms[0]);
        }
        for (i, a) in texts.iter().enumerate() {
            for (j, b) in texts.iter().enumerate() {
                assert_eq!(syms[0][i] == syms[0][j], a == b);
            }
        }
    }
}

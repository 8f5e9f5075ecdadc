//! [`ActionKind`]: the kinds of action a plan can contain and `actions.csv`
//! records — recoup's built-in kinds and the kinds a policy declares under
//! `[kinds.<name>]` (docs/policy.md, "Your own action kinds").
//!
//! A kind is one byte, as the hot readers of the history want it ([`super::Act`]
//! is 24 bytes): the built-in kinds are the numbers below [`BUILT_IN`], and a
//! declared kind is a number from there on, given once per process to its
//! name, the first time a policy declaring it is compiled (as the rule ids'
//! symbols are, [`super::RuleId`]). The names are what is shown, written and
//! ordered, never the numbers: no output depends on which number a name got.
//!
//! The loader accepts a declared kind in `actions.csv` only once a policy
//! declaring it has been compiled in this process (every command compiles its
//! policy before it loads the ledger); any other word is a bad row, whose
//! message names the built-in kinds and `[kinds]`.

use super::decode::{self, DecodeError};
use std::sync::{PoisonError, RwLock};

/// A kind of action: a built-in one (the associated constants) or one a
/// policy declares (`[kinds.<name>]`, [`ActionKind::declare`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionKind(u8);

/// The built-in kinds, in order: their number is their place here.
const WORDS: [&str; BUILT_IN as usize] = [
    "email",
    "sms",
    "call",
    "letter",
    "statement",
    "credit_hold",
    "release_hold",
    "limit_change",
    "credit_review",
    "discount_offer",
    "payment_plan_offer",
    "fee",
    "interest",
    "refer_agency",
    "refer_legal",
    "write_off_review",
    "notify_owner",
    "notify",
];

/// How many kinds are built in; the numbers from here on are declared kinds.
const BUILT_IN: u8 = 18;

/// The names of the declared kinds, by number - `BUILT_IN`. A name is kept
/// for the life of the process (a policy declares a handful).
static DECLARED: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

#[allow(non_upper_case_globals, reason = "the built-in kinds keep the names they had as enum variants")]
impl ActionKind {
    pub const Email: ActionKind = ActionKind(0);
    pub const Sms: ActionKind = ActionKind(1);
    pub const Call: ActionKind = ActionKind(2);
    pub const Letter: ActionKind = ActionKind(3);
    pub const Statement: ActionKind = ActionKind(4);
    pub const CreditHold: ActionKind = ActionKind(5);
    pub const ReleaseHold: ActionKind = ActionKind(6);
    pub const LimitChange: ActionKind = ActionKind(7);
    pub const CreditReview: ActionKind = ActionKind(8);
    pub const DiscountOffer: ActionKind = ActionKind(9);
    pub const PaymentPlanOffer: ActionKind = ActionKind(10);
    pub const Fee: ActionKind = ActionKind(11);
    pub const Interest: ActionKind = ActionKind(12);
    pub const ReferAgency: ActionKind = ActionKind(13);
    pub const ReferLegal: ActionKind = ActionKind(14);
    pub const WriteOffReview: ActionKind = ActionKind(15);
    pub const NotifyOwner: ActionKind = ActionKind(16);
    /// A message to the customer's sales representative about what the
    /// plan does to the account (`[notify]`, docs/policy.md).
    pub const Notify: ActionKind = ActionKind(17);
}

/// A policy declared more kinds than a kind's one byte can number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("more than {} declared action kinds in one run", u8::MAX - BUILT_IN)]
pub struct TooManyKinds;

impl ActionKind {
    /// The words of the built-in kinds, as written in CSV.
    pub const WORDS: &'static [&'static str] = &WORDS;

    /// Every built-in kind, in order.
    pub fn built_in() -> impl Iterator<Item = ActionKind> {
        (0..BUILT_IN).map(ActionKind)
    }

    /// The kind a policy declares as `name` (`[kinds.<name>]`): numbered now
    /// if no policy of this process declared it before. A built-in name is
    /// its built-in kind (the policy's check refuses such a declaration).
    pub fn declare(name: &str) -> Result<ActionKind, TooManyKinds> {
        if let Some(k) = Self::named(name) {
            return Ok(k);
        }
        let mut all = DECLARED.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = all.iter().position(|n| *n == name) {
            return Ok(ActionKind(BUILT_IN + p as u8));
        }
        let n = u8::try_from(all.len()).ok().and_then(|n| n.checked_add(BUILT_IN)).ok_or(TooManyKinds)?;
        all.push(Box::leak(name.to_string().into_boxed_str()));
        Ok(ActionKind(n))
    }

    /// The built-in kind called `name`, or the declared kind of that name
    /// (declared by a policy compiled in this process); none otherwise.
    pub fn named(name: &str) -> Option<ActionKind> {
        if let Some(p) = WORDS.iter().position(|w| *w == name) {
            return Some(ActionKind(p as u8));
        }
        let all = DECLARED.read().unwrap_or_else(PoisonError::into_inner);
        all.iter().position(|n| *n == name).map(|p| ActionKind(BUILT_IN + p as u8))
    }

    /// A number for keying random draws (`simulate`): the built-in kind's
    /// place (below 256), and for a declared kind a hash of its name above
    /// bit 40 with 255 below, the same in every process whatever order the
    /// names were declared in.
    pub fn key(self) -> u64 {
        if !self.is_declared() {
            return u64::from(self.0);
        }
        // FNV-1a, 32 bits.
        let h = self.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        u64::from(h) << 40 | 0xFF
    }

    /// Its number: the built-in kinds first, then the declared ones (an
    /// index for per-kind tables).
    pub fn number(self) -> u8 {
        self.0
    }

    /// Is it a kind a policy declared (not a built-in one)?
    pub fn is_declared(self) -> bool {
        self.0 >= BUILT_IN
    }

    /// The word written in CSV and shown to users: the built-in word, or the
    /// declared kind's name.
    pub fn as_str(self) -> &'static str {
        match WORDS.get(self.0 as usize) {
            Some(w) => w,
            None => {
                let all = DECLARED.read().unwrap_or_else(PoisonError::into_inner);
                all.get((self.0 - BUILT_IN) as usize).copied().unwrap_or("")
            }
        }
    }

    /// Decode the word of an `actions.csv` cell: a built-in kind (exact
    /// words compared first, then any case), else a kind a compiled policy
    /// declared (exact name).
    #[inline]
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        for (i, w) in WORDS.iter().enumerate() {
            if b == w.as_bytes() {
                return Ok(ActionKind(i as u8));
            }
        }
        const TABLE: [(&str, ActionKind); BUILT_IN as usize] = {
            let mut t = [("", ActionKind(0)); BUILT_IN as usize];
            let mut i = 0;
            while i < BUILT_IN as usize {
                t[i] = (WORDS[i], ActionKind(i as u8));
                i += 1;
            }
            t
        };
        match decode::word(b, &TABLE, Self::WORDS) {
            Err(DecodeError::Enum(_)) => std::str::from_utf8(b.trim_ascii())
                .ok()
                .and_then(|w| Self::named(w).filter(|k| k.is_declared()))
                .ok_or(DecodeError::Kind),
            other => other,
        }
    }

    /// Actions that reach the customer (count toward contact caps). A
    /// declared kind with a channel reaches the customer too: that is the
    /// action's, not the kind's, to say ([`crate::engine::PlannedAction::is_customer_facing`]).
    pub fn is_contact(self) -> bool {
        matches!(
            self,
            ActionKind::Email | ActionKind::Sms | ActionKind::Call | ActionKind::Letter | ActionKind::Statement
        )
    }
    /// Ladder steps the `min_overdue` guardrail holds back while the
    /// overdue amount is below it: every step that chases a payment
    /// (messages, fees, holds, referrals, the owner told, declared kinds),
    /// not the review that clears a small balance (`write_off_review`) nor a
    /// credit review.
    pub fn held_by_min_overdue(self) -> bool {
        !matches!(self, ActionKind::WriteOffReview | ActionKind::CreditReview)
    }
    /// Actions that hand the account to a third party; dunning stops after them.
    pub fn is_referral(self) -> bool {
        matches!(self, ActionKind::ReferAgency | ActionKind::ReferLegal)
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in kinds in their order, then the declared kinds by name (not
/// by number: the order of outputs must not depend on which policy was
/// compiled first).
impl Ord for ActionKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self.is_declared(), other.is_declared()) {
            (false, false) => self.0.cmp(&other.0),
            (false, true) => std::cmp::Ordering::Less,
            (true, false) => std::cmp::Ordering::Greater,
            (true, true) if self.0 == other.0 => std::cmp::Ordering::Equal,
            (true, true) => self.as_str().cmp(other.as_str()),
        }
    }
}

impl PartialOrd for ActionKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl serde::Serialize for ActionKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A plan or summary recoup wrote names declared kinds the reading process
/// has not compiled: those are declared as they are read.
impl<'de> serde::Deserialize<'de> for ActionKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if !is_kind_name(&w) {
            return Err(serde::de::Error::custom(format!("`{w}` is not an action kind")));
        }
        ActionKind::declare(&w).map_err(serde::de::Error::custom)
    }
}

/// A name a policy may give a kind: lowercase ASCII letters, digits and
/// `_`, starting with a letter, at most 40 characters.
pub fn is_kind_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_words_round_trip() {
        for k in ActionKind::built_in() {
            assert_eq!(ActionKind::decode(k.as_str().as_bytes()), Ok(k));
            assert_eq!(ActionKind::named(k.as_str()), Some(k));
            assert!(!k.is_declared());
        }
        assert_eq!(ActionKind::decode(b" Credit_Hold "), Ok(ActionKind::CreditHold));
        assert_eq!(std::mem::size_of::<ActionKind>(), 1);
    }

    #[test]
    fn a_declared_kind_is_read_only_once_declared() {
        assert_eq!(ActionKind::decode(b"kind_test_suspend"), Err(DecodeError::Kind));
        let k = ActionKind::declare("kind_test_suspend").unwrap();
        assert!(k.is_declared());
        assert_eq!(k.as_str(), "kind_test_suspend");
        assert_eq!(ActionKind::declare("kind_test_suspend"), Ok(k));
        assert_eq!(ActionKind::decode(b"kind_test_suspend"), Ok(k));
        assert_eq!(ActionKind::declare("email"), Ok(ActionKind::Email));
        // Ordered after the built-in kinds, by name.
        let a = ActionKind::declare("kind_test_a").unwrap();
        assert!(ActionKind::Notify < a && a < k);
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"kind_test_suspend\"");
        assert_eq!(serde_json::from_str::<ActionKind>("\"kind_test_suspend\"").unwrap(), k);
        assert!(serde_json::from_str::<ActionKind>("\"Not A Kind\"").is_err());
    }

    #[test]
    fn kind_names() {
        assert!(is_kind_name("suspend_service") && is_kind_name("a1"));
        assert!(!is_kind_name("") && !is_kind_name("Suspend") && !is_kind_name("1a") && !is_kind_name("a-b"));
    }
}

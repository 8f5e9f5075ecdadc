//! Channel choice: whether a customer can be reached on an action's channel,
//! the step's `fallback` channels tried in order when not, and the reason an
//! action is undeliverable when none can (docs/outbox.md, "No usable contact").

use super::{Eval, PlannedAction};
use crate::ledger::{ActionKind, Channel, Customer};

/// `phone` in E.164 (`+` and 8 to 15 digits), read leniently: spaces, `-`,
/// `.`, `/` and parentheses between the digits are dropped, a leading `00`
/// is read as `+`. `None` when it is not an international number.
pub fn e164(phone: &str) -> Option<String> {
    let p = phone.trim();
    let rest = p.strip_prefix('+').or_else(|| p.strip_prefix("00"))?;
    let mut out = String::with_capacity(16);
    out.push('+');
    for c in rest.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '/' | '(' | ')' => {}
            _ => return None,
        }
    }
    let digits = out.len() - 1;
    ((8..=15).contains(&digits) && !out[1..].starts_with('0')).then_some(out)
}

/// Is `s` an e-mail address (something `@` something, no spaces)? The
/// test `unreachable` applies to a customer's `email`.
pub fn is_email(s: &str) -> bool {
    let t = s.trim();
    t.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()) && !t.contains(char::is_whitespace)
}

/// Why `c` cannot be reached on `channel`, or `None` when it can.
/// `email_bounced`: the latest e-mail to it bounced (the fact
/// `customer.email_bounced`).
pub fn unreachable(c: &Customer, channel: Channel, email_bounced: bool) -> Option<String> {
    match channel {
        Channel::Email => match c.email.as_deref().map(str::trim) {
            None | Some("") => Some("no email address".into()),
            Some(e) if !e.contains('@') => Some(format!("email `{e}` is not an address")),
            Some(_) if email_bounced => Some("the last email bounced".into()),
            Some(_) => None,
        },
        Channel::Sms | Channel::Call => match c.phone.as_deref() {
            None => Some("no phone number".into()),
            Some(p) if e164(p).is_none() => Some(format!("phone `{p}` is not an E.164 number")),
            Some(_) => None,
        },
        Channel::Letter => {
            let k = &c.contact;
            if k.address_line1.is_none() || k.city.is_none() {
                Some("no postal address (address_line1 and city)".into())
            } else {
                None
            }
        }
    }
}

/// The action kind that is a message on `channel`.
fn kind_of(channel: Channel) -> ActionKind {
    match channel {
        Channel::Email => ActionKind::Email,
        Channel::Sms => ActionKind::Sms,
        Channel::Call => ActionKind::Call,
        Channel::Letter => ActionKind::Letter,
    }
}

impl Eval<'_, '_> {
    /// Put `a` on the first of its channel and `fallback` the customer can be
    /// reached on; when none, keep its channel and mark it undeliverable. A
    /// message action (email, sms, call, letter) moved to another channel
    /// becomes that channel's action; a statement or an offer keeps its kind.
    pub(super) fn deliver(&self, a: &mut PlannedAction, fallback: &[Channel]) {
        let Some(first) = a.channel else { return };
        let c = self.cf.customer;
        let mut why = Vec::new();
        for ch in std::iter::once(first).chain(fallback.iter().copied()) {
            // The fact `customer.email_bounced` (docs/facts.md): one rule for
            // the channel choice and for the policy's own conditions.
            let b = ch == Channel::Email && self.cf.email_bounced;
            match unreachable(c, ch, b) {
                None => {
                    if ch != first {
                        a.channel = Some(ch);
                        if matches!(
                            a.action,
                            ActionKind::Email | ActionKind::Sms | ActionKind::Call | ActionKind::Letter
                        ) {
                            a.action = kind_of(ch);
                        }
                        if self.words() {
                            a.reason.push_str(&format!("; sent by {ch} ({})", why.join(", ")));
                        }
                    }
                    return;
                }
                Some(r) => why.push(format!("{ch}: {r}")),
            }
        }
        let reason = why.join(", ");
        if self.words() {
            a.reason.push_str(&format!("; undeliverable ({reason})"));
        }
        a.undeliverable = Some(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_read_leniently_as_e164() {
        assert_eq!(e164("+33-555-623-0653").as_deref(), Some("+335556230653"));
        assert_eq!(e164("+1 (555) 010-0100").as_deref(), Some("+15550100100"));
        assert_eq!(e164("0049 30 1234567").as_deref(), Some("+49301234567"));
        assert_eq!(e164("030 1234567"), None, "a national number has no country code");
        assert_eq!(e164("+44 12"), None, "too short");
        assert_eq!(e164("+44 20 7946 0958 ext 2"), None);
        assert_eq!(e164("+1234567890123456"), None, "too long");
    }
}

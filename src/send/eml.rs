//! The headers `recoup send` reads from an outbox message (RFC 5322): the
//! Message-ID that makes a send idempotent, and the addresses of the
//! envelope. The body is never parsed, and the file is never changed.

/// What the envelope and the delivery log need from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// `Message-ID`, without its angle brackets.
    pub message_id: String,
    /// The address of `From` (the envelope sender).
    pub from: String,
    /// The addresses of `To` and `Cc`, in order.
    pub to: Vec<String>,
    /// `X-Recoup-Customer`, when the message names its customer.
    pub customer: Option<String>,
    /// `X-Recoup-Action-Id`: the plan's action the message was rendered for.
    pub action_id: Option<String>,
}

/// Why a message cannot be sent as it is: one lowercase line, and the
/// 1-based line of the header at fault (0 when a header is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub line: usize,
    pub message: String,
}

/// The header section of `raw` (up to the first empty line), unfolded: one
/// (name, value, line) per field.
fn fields(raw: &[u8]) -> Vec<(String, String, usize)> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A folded line continues the field before it.
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string(), n + 1));
        }
    }
    out
}

/// The addresses of an address-list header value: `a@x, "Name" <b@y>`
/// gives `a@x` and `b@y` (commas inside quotes or angle brackets do not split).
pub fn addresses(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    for (i, ch) in value.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
        .into_iter()
        .filter_map(|p| {
            let p = p.trim();
            let addr = match (p.rfind('<'), p.rfind('>')) {
                (Some(a), Some(b)) if a < b => &p[a + 1..b],
                _ => p,
            };
            let addr = addr.trim();
            (!addr.is_empty()).then(|| addr.to_string())
        })
        .collect()
}

/// Read the headers `recoup send` needs from message `raw`.
pub fn parse(raw: &[u8]) -> Result<Headers, HeaderError> {
    let fields = fields(raw);
    let one = |name: &str| fields.iter().find(|(n, _, _)| n == name);
    let missing = |name: &str| HeaderError { line: 0, message: format!("the message has no `{name}` header") };
    let (_, id, id_line) = one("message-id").ok_or_else(|| missing("Message-ID"))?;
    let message_id = id.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string();
    if message_id.is_empty() {
        return Err(HeaderError { line: *id_line, message: "the `Message-ID` header is empty".into() });
    }
    let (_, from, from_line) = one("from").ok_or_else(|| missing("From"))?;
    let from = addresses(from)
        .into_iter()
        .next()
        .ok_or_else(|| HeaderError { line: *from_line, message: "the `From` header names no address".into() })?;
    let mut to = Vec::new();
    for (name, value, _) in &fields {
        if name == "to" || name == "cc" {
            to.extend(addresses(value));
        }
    }
    if to.is_empty() {
        let line = one("to").map_or(0, |t| t.2);
        return Err(HeaderError { line, message: "the message has no recipient (`To` names no address)".into() });
    }
    let customer = one("x-recoup-customer").map(|(_, v, _)| v.trim().to_string()).filter(|v| !v.is_empty());
    let action_id = one("x-recoup-action-id").map(|(_, v, _)| v.trim().to_string()).filter(|v| !v.is_empty());
    Ok(Headers { message_id, from, to, customer, action_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope_and_the_id() {
        let raw = b"From: \"Acme, Credit\" <credit@acme.example>\r\nTo: Jo <jo@c.example>,\r\n  b@c.example\r\nCc: \r\nMessage-ID: <R1.x@recoup>\r\nX-Recoup-Customer: C1\r\nSubject: a\r\n\r\nTo: not@a.header\r\n";
        let h = parse(raw).unwrap();
        assert_eq!(h.message_id, "R1.x@recoup");
        assert_eq!(h.from, "credit@acme.example");
        assert_eq!(h.to, vec!["jo@c.example".to_string(), "b@c.example".to_string()]);
        assert_eq!(h.customer.as_deref(), Some("C1"));
    }

    #[test]
    fn a_message_without_id_or_recipient_is_named() {
        let e = parse(b"From: a@b\nTo: c@d\n\nbody").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (0, "the message has no `Message-ID` header"));
        let e = parse(b"From: a@b\nMessage-ID: <x>\nTo: \n\nbody").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(parse(b"Message-ID: <>\n").unwrap_err().line, 1);
    }
}

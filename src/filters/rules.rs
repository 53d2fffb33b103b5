//! The built-in redaction rules: what each one matches, the literal every match of it contains (so
//! a text without it is not searched), and the checks a regex cannot express here: token
//! boundaries that know JSON escapes (`\nAKIA…` in an escaped string starts a key), ARNs, and
//! dotted numbers that are versions rather than addresses.

use regex::Regex;

/// A built-in rule. [`Rule::ALL`] is the order they are applied in: the rules that redact the value
/// after a label (a key name, `Authorization:`, `user:` in a URL) come first, so a token-shaped
/// piece inside such a value cannot be redacted on its own and cut the value's redaction short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    PrivateKey,
    AwsSecretAccessKey,
    BearerToken,
    PasswordInUrl,
    AwsAccessKeyId,
    Email,
    Ipv4,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::PrivateKey,
        Rule::AwsSecretAccessKey,
        Rule::BearerToken,
        Rule::PasswordInUrl,
        Rule::AwsAccessKeyId,
        Rule::Email,
        Rule::Ipv4,
    ];

    /// The name `REDACT` takes (and the `[REDACTED:<name>]` marker shows).
    pub fn name(self) -> &'static str {
        match self {
            Rule::PrivateKey => "private-key",
            Rule::AwsSecretAccessKey => "aws-secret-access-key",
            Rule::BearerToken => "bearer-token",
            Rule::PasswordInUrl => "password-in-url",
            Rule::AwsAccessKeyId => "aws-access-key-id",
            Rule::Email => "email",
            Rule::Ipv4 => "ipv4",
        }
    }

    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// What a match becomes.
    pub fn marker(self) -> &'static str {
        match self {
            Rule::PrivateKey => "[REDACTED:private-key]",
            Rule::AwsSecretAccessKey => "[REDACTED:aws-secret-access-key]",
            Rule::BearerToken => "[REDACTED:bearer-token]",
            Rule::PasswordInUrl => "[REDACTED:password-in-url]",
            Rule::AwsAccessKeyId => "[REDACTED:aws-access-key-id]",
            Rule::Email => "[REDACTED:email]",
            Rule::Ipv4 => "[REDACTED:ipv4]",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// What a text must contain for the rule to match in it.
    pub(super) fn anchor(self) -> Anchor {
        match self {
            Rule::PrivateKey => Anchor::Literals(&["PRIVATE KEY"]),
            // The patterns accept a key name in lower, Capitalised or UPPER case only, so these
            // literals are exact: every accepted spelling contains one of them.
            Rule::AwsSecretAccessKey => Anchor::Literals(&["ecret", "ECRET"]),
            Rule::BearerToken => Anchor::Literals(&["uthorization", "UTHORIZATION"]),
            Rule::PasswordInUrl => Anchor::Literals(&["://"]),
            Rule::AwsAccessKeyId => Anchor::Literals(&["AKIA", "ASIA"]),
            // A one-byte literal would make the shared literal search far slower: memchr instead.
            Rule::Email => Anchor::Byte(b'@'),
            // The address scanner is itself one memchr pass over the dots.
            Rule::Ipv4 => Anchor::Always,
        }
    }
}

pub(super) enum Anchor {
    Literals(&'static [&'static str]),
    Byte(u8),
    Always,
}

/// `-----BEGIN … PRIVATE KEY-----` to its `-----END … PRIVATE KEY-----`; a block whose end is
/// missing (a truncated line) is redacted over its base64 body and PEM headers.
const PRIVATE_KEY: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:(?s:.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:[A-Za-z0-9+/=\r\n]|\\[rn]|Proc-Type: [0-9A-Z,]+|DEK-Info: [0-9A-Z,-]+)*)";

/// A key name (`aws_secret_access_key`, `SecretAccessKey`, `secretKey`, `SECRET_KEY`, …), a
/// separator as JSON, YAML, INI, shell, Ruby or XML write it (quotes may be JSON-escaped), then the
/// 40-character value (group 1, the only part replaced).
const AWS_SECRET_ACCESS_KEY: &str = r#"(?:secret|Secret|SECRET)[_-]?(?:(?:access|Access|ACCESS)[_-]?)?(?:key|Key|KEY)(?:\\?["'])?[ \t]*(?:=>|[:=>])[ \t]*(?:\\?["'])?([A-Za-z0-9/+]{40})"#;

/// `Authorization: Bearer …` as a header line, a JSON or dict member, or a header list; the token
/// (group 1, RFC 6750 b64token) is replaced.
const BEARER_TOKEN: &str = r#"(?:authorization|Authorization|AUTHORIZATION)(?:\\?["'])?[ \t]*[:=][ \t]*(?:\[[ \t]*)?(?:\\?["'])?(?:bearer|Bearer|BEARER)[ \t]+([A-Za-z0-9\-._~+/]+=*)"#;

/// `scheme://user:PASSWORD@host`: the password (group 1) is replaced, user and host stay.
const PASSWORD_IN_URL: &str = r#"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:"'\\]*:([^\s/?#@"'\\]+)@"#;

/// Long-term (AKIA) and temporary (ASIA) access key ids.
const AWS_ACCESS_KEY_ID: &str = r"(?:AKIA|ASIA)[A-Z0-9]{16}";

/// `local@domain.tld`; the domain needs a dot and a letters-only top-level label, so image
/// digests (`app@sha256:…`) and versions (`checkout@v4.1.1`) are no addresses.
const EMAIL: &str = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}";

/// How a rule finds what it redacts.
#[derive(Debug)]
pub(super) struct Matcher {
    rule: Rule,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// The whole match is redacted.
    Whole(Regex),
    /// Only the match's group 1 is redacted (the label before it stays readable).
    Value(Regex),
    Ipv4,
}

impl Matcher {
    pub fn new(rule: Rule) -> Matcher {
        // The patterns are constants, compiled by every test run: failing here is a bug, never input.
        let compile = |pattern: &str| Regex::new(pattern).expect("a built-in pattern compiles");
        let kind = match rule {
            Rule::PrivateKey => Kind::Whole(compile(PRIVATE_KEY)),
            Rule::AwsSecretAccessKey => Kind::Value(compile(AWS_SECRET_ACCESS_KEY)),
            Rule::BearerToken => Kind::Value(compile(BEARER_TOKEN)),
            Rule::PasswordInUrl => Kind::Value(compile(PASSWORD_IN_URL)),
            Rule::AwsAccessKeyId => Kind::Whole(compile(AWS_ACCESS_KEY_ID)),
            Rule::Email => Kind::Whole(compile(EMAIL)),
            Rule::Ipv4 => Kind::Ipv4,
        };
        Matcher { rule, kind }
    }

    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Appends the byte ranges to redact in `text`, in order and without overlap.
    pub fn spans(&self, text: &str, out: &mut Vec<(usize, usize)>) {
        self.each_match(text, |_, span| out.push(span));
    }

    /// Appends, for each match [`Matcher::spans`] redacts, the byte range a piece of `text` must
    /// hold whole for the rule to redact it there: the redacted part, and the label before it for
    /// the rules that redact a value after a label.
    pub fn extents(&self, text: &str, out: &mut Vec<(usize, usize)>) {
        self.each_match(text, |extent, _| out.push(extent));
    }

    /// Calls `found` with the extent ([`Matcher::extents`]) and the part to redact of every match
    /// the rule accepts, in order.
    fn each_match(&self, text: &str, mut found: impl FnMut((usize, usize), (usize, usize))) {
        let bytes = text.as_bytes();
        match &self.kind {
            Kind::Whole(regex) => {
                for hit in regex.find_iter(text) {
                    if let Some(span) = self.accept(bytes, hit.start(), hit.end()) {
                        found(span, span);
                    }
                }
            }
            Kind::Value(regex) => {
                for captures in regex.captures_iter(text) {
                    let (Some(whole), Some(value)) = (captures.get(0), captures.get(1)) else {
                        continue;
                    };
                    if let Some(span) = self.accept(bytes, value.start(), value.end()) {
                        found((whole.start(), span.1), span);
                    }
                }
            }
            Kind::Ipv4 => ipv4_spans(bytes, |span| found(span, span)),
        }
    }

    /// The part of a regex match to redact, or `None` when the match is not what the rule means.
    fn accept(&self, bytes: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
        match self.rule {
            Rule::AwsAccessKeyId => {
                (boundary_before(bytes, start) && !is_word(bytes.get(end))).then_some((start, end))
            }
            // 40 characters exactly: a longer run of the same alphabet is something else.
            Rule::AwsSecretAccessKey => {
                let next = bytes.get(end);
                let longer = next.is_some_and(|b| b.is_ascii_alphanumeric() || b"/+=".contains(b));
                (!longer).then_some((start, end))
            }
            Rule::Email => email(bytes, start, end),
            Rule::PrivateKey | Rule::BearerToken | Rule::PasswordInUrl | Rule::Ipv4 => {
                Some((start, end))
            }
        }
    }
}

fn email(bytes: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    // In JSON-escaped text `\nalice@…` is a line break then the address.
    let start = if escape_letter_at(bytes, start) && start + 1 < end {
        start + 1
    } else {
        start
    };
    if is_word(bytes.get(end)) {
        return None;
    }
    // `git@github.com:org/repo.git`, `deploy@host.example.com:22`: a repository or SSH address.
    if bytes.get(end) == Some(&b':')
        && bytes
            .get(end + 1)
            .is_some_and(|b| !b.is_ascii_whitespace() && !b"\"'\\".contains(b))
    {
        return None;
    }
    // An IAM Identity Center session name (`…:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com`)
    // is part of the principal, which detections report and analysts need.
    if in_arn(bytes, start) {
        return None;
    }
    Some((start, end))
}

/// Whether the token holding `at` (back to the last delimiter) is an ARN.
fn in_arn(bytes: &[u8], at: usize) -> bool {
    const LOOK_BACK: usize = 2048;
    let floor = at.saturating_sub(LOOK_BACK);
    let mut token = at;
    while token > floor && !b" \t\r\n\"',;()[]{}<>=".contains(&bytes[token - 1]) {
        token -= 1;
    }
    bytes[token..].starts_with(b"arn:")
}

fn is_word(byte: Option<&u8>) -> bool {
    byte.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Whether `bytes[at]` is the letter of an escape such as `\n` (an odd run of backslashes before
/// it): in JSON-encoded text that letter belongs to the escape, not to the word after it.
fn escape_letter_at(bytes: &[u8], at: usize) -> bool {
    if !bytes.get(at).is_some_and(|b| b"nrtbf".contains(b)) {
        return false;
    }
    let backslashes = bytes[..at]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count();
    backslashes % 2 == 1
}

/// Whether a token may start at `at`: at the start, after a byte that is not a word byte, or
/// right after an escape such as `\n`.
fn boundary_before(bytes: &[u8], at: usize) -> bool {
    at == 0 || !is_word(bytes.get(at - 1)) || escape_letter_at(bytes, at - 1)
}

/// Dotted quads of decimal octets (0–255, no leading zeros) that are not part of a longer dotted
/// number (`1.3.6.1.4.1` is an OID, `v1.2.3.4` a version).
fn ipv4_spans(bytes: &[u8], mut found: impl FnMut((usize, usize))) {
    // Dots inside the last candidate were seen as part of it.
    let mut seen = 0;
    for dot in memchr::memchr_iter(b'.', bytes) {
        if dot < seen {
            continue;
        }
        let digits = bytes[..dot]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            continue;
        }
        let start = dot - digits;
        let Some(end) = dotted_quad_end(bytes, start) else {
            continue;
        };
        seen = end;
        let previous = start.checked_sub(1).and_then(|at| bytes.get(at));
        let before_ok = boundary_before(bytes, start) && previous != Some(&b'.');
        let more_digits =
            bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        let after_ok = !is_word(bytes.get(end)) && !more_digits;
        if before_ok && after_ok {
            found((start, end));
        }
    }
}

/// The end of the dotted quad starting at `start`, if four valid octets start there.
fn dotted_quad_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    for octet in 0..4 {
        if octet > 0 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let digits = bytes[at..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &bytes[at..at + digits];
        let value = text
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
        if digits == 0 || digits > 3 || (digits > 1 && text[0] == b'0') || value > 255 {
            return None;
        }
        at += digits;
    }
    Some(at)
}

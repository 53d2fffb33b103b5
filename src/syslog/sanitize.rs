//! Keeps untrusted values inside the syslog field they belong to.

/// Appends a header field (HOSTNAME, APP-NAME, PROCID, MSGID): printable US-ASCII only (33–126), at
/// most `max_len` bytes, `-` when empty. Other characters become `_` so a value can never add a field.
pub fn push_header_field(out: &mut Vec<u8>, value: &str, max_len: usize) {
    let bytes = value.as_bytes();
    if !bytes.is_empty() && bytes.len() <= max_len && bytes.iter().all(u8::is_ascii_graphic) {
        out.extend_from_slice(bytes);
        return;
    }
    let start = out.len();
    for ch in value.chars().take(max_len) {
        out.push(if ch.is_ascii_graphic() {
            ch as u8
        } else {
            b'_'
        });
    }
    if out.len() == start {
        out.push(b'-');
    }
}

/// Appends an RFC 5424 PARAM-VALUE: `"`, `\` and `]` are escaped with a backslash (section 6.3.3);
/// control characters are written as `#ooo` (octal, as rsyslog shows them) so no value can end the
/// frame or the element.
pub fn push_sd_value(out: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    // Most values need no escape: one branch-free pass says so.
    if !rest.iter().fold(false, |any, &b| any | needs_sd_escape(b)) {
        out.extend_from_slice(rest);
        return;
    }
    while let Some(at) = rest.iter().position(|&b| needs_sd_escape(b)) {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b @ (b'"' | b'\\' | b']') => out.extend_from_slice(&[b'\\', b]),
            b => push_octal_escape(out, b),
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends a value for the `Key:Value,` MSG prefix: commas, colons and control characters become
/// `_`, so the prefix always has exactly the fields the SIEM's extraction regexes expect and a value
/// can never start another `Organisation:` field.
pub fn push_prefix_value(out: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    if !rest
        .iter()
        .fold(false, |any, &b| any | replaced_in_prefix(b))
    {
        out.extend_from_slice(rest);
        return;
    }
    while let Some(at) = rest.iter().position(|&b| replaced_in_prefix(b)) {
        out.extend_from_slice(&rest[..at]);
        out.push(b'_');
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

fn needs_sd_escape(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b == b']') | (b < 0x20) | (b == 0x7f)
}

fn replaced_in_prefix(b: u8) -> bool {
    (b == b',') | (b == b':') | (b < 0x20) | (b == 0x7f)
}

/// Appends the configured organisation for the MSG prefix: commas and control characters become
/// `_`; colons stay (the operator's own value, and the SIEM's `[^,]+` reads them).
pub fn push_organisation(out: &mut Vec<u8>, organisation: &str) {
    for &b in organisation.as_bytes() {
        out.push(match b {
            b',' | 0..=0x1f | 0x7f => b'_',
            _ => b,
        });
    }
}

/// Writes a control byte the way rsyslog does (`#012` for LF).
pub fn push_octal_escape(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'#', b'0' + (b >> 6), b'0' + ((b >> 3) & 7), b'0' + (b & 7)]);
}

/// Is `name` a valid RFC 5424 SD-NAME (1–32 printable US-ASCII, none of `=`, space, `]`, `"`)?
pub fn is_sd_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'))
}

/// The SD-NAME of a log group tag: `tag.` and the key, each character an SD-NAME may not hold
/// (anything outside printable US-ASCII, `=`, space, `]`, `"`) written as `_`, cut to 32 bytes.
pub fn tag_param_name(key: &str) -> String {
    let mut name = String::with_capacity(32);
    name.push_str(super::TAG_PARAM_PREFIX);
    for c in key.chars() {
        if name.len() >= 32 {
            break;
        }
        let allowed = c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"');
        name.push(if allowed { c } else { '_' });
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_become_sd_names() {
        assert_eq!(tag_param_name("env"), "tag.env");
        assert_eq!(
            tag_param_name("aws:cloudformation:stack-name"),
            "tag.aws:cloudformation:stack-nam"
        );
        assert_eq!(tag_param_name("cost center=\"x\"]"), "tag.cost_center__x__");
        assert_eq!(tag_param_name("équipe"), "tag._quipe");
        for key in ["", "a b", &"k".repeat(40), "ü]=\"", "a.b/c+d@e"] {
            let name = tag_param_name(key);
            assert!(is_sd_name(&name), "{key:?} → {name:?}");
            assert!(name.len() <= 32);
        }
    }

    fn run(f: fn(&mut Vec<u8>, &str), value: &str) -> String {
        let mut out = Vec::new();
        f(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_fields_are_printable_ascii_and_bounded() {
        let field = |v: &str| {
            let mut out = Vec::new();
            push_header_field(&mut out, v, 8);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(field(""), "-");
        assert_eq!(field("a b\nc"), "a_b_c");
        assert_eq!(field("é-日"), "_-_");
        assert_eq!(field("0123456789"), "01234567");
    }

    #[test]
    fn sd_values_escape_the_three_specials_and_controls() {
        assert_eq!(run(push_sd_value, r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
        assert_eq!(run(push_sd_value, "x\ny\r"), "x#012y#015");
        assert_eq!(run(push_sd_value, "日本"), "日本");
    }

    #[test]
    fn prefix_values_cannot_add_a_field() {
        assert_eq!(
            run(push_prefix_value, "a,Event Source:X\n"),
            "a_Event Source_X_"
        );
        assert_eq!(
            run(push_prefix_value, "Organisation:Evil"),
            "Organisation_Evil"
        );
    }

    #[test]
    fn sd_names() {
        assert!(is_sd_name("aws@32473"));
        assert!(!is_sd_name(""));
        assert!(!is_sd_name("a b"));
        assert!(!is_sd_name("a=b"));
        assert!(!is_sd_name(&"x".repeat(33)));
    }
}

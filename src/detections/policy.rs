//! Reading IAM resource policies (repository and registry policies): who do their `Allow`
//! statements let in.

use serde_json::Value;

/// The `Allow` statements of a policy document (`Statement` may be one object or a list).
fn allow_statements(policy: &Value) -> impl Iterator<Item = &Value> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
}

/// The AWS principals a statement names: `"*"` stands for everyone; `{"AWS": …}` may be one value or
/// a list. Service and federated principals are not accounts and are left out.
fn aws_principals(statement: &Value) -> Vec<&str> {
    match statement.get("Principal") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Object(map)) => map.get("AWS").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A statement that allows anyone (`*`, or `NotPrincipal`: everyone but the few it names) without
/// a `Condition` narrowing it.
pub fn allows_public(policy: &Value) -> bool {
    allow_statements(policy).any(|statement| {
        let unconditioned = match statement.get("Condition") {
            None | Some(Value::Null) => true,
            Some(Value::Object(map)) => map.is_empty(),
            Some(_) => false,
        };
        let everyone =
            aws_principals(statement).contains(&"*") || statement.get("NotPrincipal").is_some();
        unconditioned && everyone
    })
}

/// A statement that allows a principal of an account other than `own_account`.
pub fn allows_other_account(policy: &Value, own_account: &str) -> bool {
    allow_statements(policy).any(|statement| {
        aws_principals(statement)
            .iter()
            .filter_map(|principal| principal_account(principal))
            .any(|account| account != own_account)
    })
}

/// The account of an AWS principal: a bare 12-digit id, or the account field of an ARN
/// (`arn:aws:iam::111122223333:root`). `*` is no account (the public rule covers it).
fn principal_account(principal: &str) -> Option<&str> {
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(principal) {
        return Some(principal);
    }
    let account = principal.strip_prefix("arn:")?.split(':').nth(3)?;
    is_account(account).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn public_means_everyone_without_a_condition() {
        let public = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}});
        assert!(allows_public(&public));
        let aws_star = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}}]});
        assert!(allows_public(&aws_star));
        let conditioned = json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]});
        assert!(!allows_public(&conditioned));
        let denied = json!({"Statement": [{"Effect": "Deny", "Principal": "*"}]});
        assert!(!allows_public(&denied));
        let service = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "*"}}]});
        assert!(!allows_public(&service));
        let all_but_one = json!({"Statement": [{"Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/blocked"}}]});
        assert!(allows_public(&all_but_one));
    }

    #[test]
    fn cross_account_reads_ids_and_arns() {
        let own = "123456789012";
        let other = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::123456789012:role/ci", "arn:aws:iam::111122223333:root"]}}]});
        assert!(allows_other_account(&other, own));
        let bare =
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}}]});
        assert!(allows_other_account(&bare, own));
        let same = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]});
        assert!(!allows_other_account(&same, own));
        let star = json!({"Statement": [{"Effect": "Allow", "Principal": "*"}]});
        assert!(!allows_other_account(&star, own));
    }
}

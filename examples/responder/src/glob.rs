//! glob: `*` matches any run of characters (`/` and `:` included); everything else is literal.

/// Whether `pattern` matches all of `value`.
pub fn matches(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    // split always yields a first part: the literal prefix.
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        // No `*`: the prefix had to be the whole value.
        return rest.is_empty();
    };
    for part in middle {
        // Leftmost match is enough: a later `*` can absorb whatever follows it.
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_star_and_runs() {
        assert!(matches("payroll-exports", "payroll-exports"));
        assert!(!matches("payroll-exports", "payroll-exports-2"));
        assert!(matches("payroll-*", "payroll-"));
        assert!(matches("payroll-*", "payroll-exports"));
        assert!(!matches("payroll-*", "payrollx"));
        assert!(matches("*", ""));
        assert!(matches("*-logs", "app-logs"));
        assert!(matches("a*b*c", "a--b--b--c"));
        assert!(!matches("a*b*c", "a--c"));
        assert!(matches(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/x/y"
        ));
        assert!(!matches("ab*ba", "aba"));
    }
}

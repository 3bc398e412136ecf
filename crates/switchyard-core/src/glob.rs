//! Tiny glob matching for model names: `*` is any run of characters, `?` one character.

/// Does `text` match `pattern`? Case-sensitive, whole string.
///
/// Runs on every request (model maps, rules, the price table) and allocates nothing: the
/// usual backtracking match over the two strings' characters, one `*` remembered at a time.
pub fn matches(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return matches_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    // Non-ASCII: `?` is one character, so compare characters, not bytes.
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_units(&p, &t, '*', '?')
}

fn matches_units<T: Copy + PartialEq>(p: &[T], t: &[T], any: T, one: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == any {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("*", ""));
        assert!(matches("*haiku*", "claude-3-5-haiku-20241022"));
        assert!(!matches("*haiku*", "claude-sonnet-4"));
        assert!(matches("claude-?-opus", "claude-3-opus"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        // `?` is one character, not one byte.
        assert!(matches("模型-?", "模型-四"));
        assert!(matches("*型*", "模型-四"));
        assert!(!matches("模型-?", "模型-四五"));
        assert!(matches("a?c", "aéc"));
        assert!(!matches("a??c", "aéc"));
    }
}

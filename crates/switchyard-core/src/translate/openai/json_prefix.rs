//! An incremental recogniser for the prefix of a JSON object, and the shortest text that
//! completes it.
//!
//! Tool-call arguments stream as arbitrary fragments, and the Anthropic SDKs parse the
//! accumulated `input_json_delta`s of a block: what we pass on must always be a JSON prefix
//! and must be a whole JSON object by the block's `content_block_stop`. Fragments are passed on
//! while they keep the text a valid object prefix; when the upstream stops early (a cut
//! stream, `finish_reason: length`) or turns malformed, [`JsonPrefix::completion`] closes what
//! was passed on.

/// A container on the nesting stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

/// Where inside a number we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpInt,
}

impl Num {
    /// Can the number end here?
    fn terminal(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpInt)
    }

    fn next(self, c: char) -> Option<Num> {
        let digit = c.is_ascii_digit();
        Some(match (self, c) {
            (Num::Minus, '0') => Num::Zero,
            (Num::Minus, _) if digit => Num::Int,
            (Num::Int, _) if digit => Num::Int,
            (Num::Zero | Num::Int, '.') => Num::Dot,
            (Num::Dot | Num::Frac, _) if digit => Num::Frac,
            (Num::Zero | Num::Int | Num::Frac, 'e' | 'E') => Num::Exp,
            (Num::Exp, '+' | '-') => Num::ExpSign,
            (Num::Exp | Num::ExpSign | Num::ExpInt, _) if digit => Num::ExpInt,
            _ => return None,
        })
    }
}

/// Escape state inside a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Backslash,
    /// Hex digits still expected after `\u`.
    Unicode(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing yet: only `{` may start.
    Start,
    /// A value is expected (after `:` or after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ArrayFirst,
    /// After `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// Inside a string (a key or a value).
    Str { key: bool, esc: Esc },
    /// After a key: `:`.
    Colon,
    /// Inside `true`, `false` or `null`.
    Literal { word: &'static str, pos: usize },
    /// Inside a number.
    Number(Num),
    /// After a value: `,` or the closing bracket.
    After,
    /// The top-level object is closed.
    Done,
}

/// The recogniser. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct JsonPrefix {
    stack: Vec<Container>,
    state: State,
}

impl Default for JsonPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonPrefix {
    /// Nothing seen yet.
    pub(crate) fn new() -> Self {
        JsonPrefix {
            stack: Vec::new(),
            state: State::Start,
        }
    }

    /// Has the object started (`{` seen)?
    pub(crate) fn started(&self) -> bool {
        self.state != State::Start
    }

    /// Is the top-level object closed?
    pub(crate) fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    /// Feed one character. Returns false, leaving the state unchanged, when the character
    /// cannot continue a JSON object (whitespace before `{` is refused too: strip it first).
    pub(crate) fn push(&mut self, c: char) -> bool {
        let ws = matches!(c, ' ' | '\t' | '\n' | '\r');
        match self.state {
            State::Start => {
                if c != '{' {
                    return false;
                }
                self.stack.push(Container::Object);
                self.state = State::KeyOrEnd;
            }
            State::Done => return ws,
            _ if ws
                && !matches!(
                    self.state,
                    State::Str { .. } | State::Number(_) | State::Literal { .. }
                ) => {}
            State::Value => return self.start_value(c),
            State::ArrayFirst => {
                if c == ']' {
                    self.close();
                } else {
                    return self.start_value(c);
                }
            }
            State::KeyOrEnd | State::Key => match c {
                '"' => {
                    self.state = State::Str {
                        key: true,
                        esc: Esc::None,
                    }
                }
                '}' if self.state == State::KeyOrEnd => self.close(),
                _ => return false,
            },
            State::Colon => {
                if c != ':' {
                    return false;
                }
                self.state = State::Value;
            }
            State::Str { key, esc } => return self.string(key, esc, c),
            State::Literal { word, pos } => {
                if !word[pos..].starts_with(c) {
                    return false;
                }
                self.state = if pos + 1 == word.len() {
                    State::After
                } else {
                    State::Literal { word, pos: pos + 1 }
                };
            }
            State::Number(n) => match n.next(c) {
                Some(next) => self.state = State::Number(next),
                None if n.terminal() => {
                    self.state = State::After;
                    if !self.push(c) {
                        self.state = State::Number(n);
                        return false;
                    }
                }
                None => return false,
            },
            State::After => match (c, self.stack.last()) {
                (',', Some(Container::Object)) => self.state = State::Key,
                (',', Some(Container::Array)) => self.state = State::Value,
                ('}', Some(Container::Object)) | (']', Some(Container::Array)) => self.close(),
                _ => return false,
            },
        }
        true
    }

    fn string(&mut self, key: bool, esc: Esc, c: char) -> bool {
        let esc = match esc {
            Esc::None => match c {
                '"' => {
                    self.state = if key { State::Colon } else { State::After };
                    return true;
                }
                '\\' => Esc::Backslash,
                c if (c as u32) < 0x20 => return false,
                _ => Esc::None,
            },
            Esc::Backslash => match c {
                '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => Esc::None,
                'u' => Esc::Unicode(4),
                _ => return false,
            },
            Esc::Unicode(n) => {
                if !c.is_ascii_hexdigit() {
                    return false;
                }
                if n == 1 {
                    Esc::None
                } else {
                    Esc::Unicode(n - 1)
                }
            }
        };
        self.state = State::Str { key, esc };
        true
    }

    fn start_value(&mut self, c: char) -> bool {
        self.state = match c {
            '{' => {
                self.stack.push(Container::Object);
                State::KeyOrEnd
            }
            '[' => {
                self.stack.push(Container::Array);
                State::ArrayFirst
            }
            '"' => State::Str {
                key: false,
                esc: Esc::None,
            },
            't' => State::Literal {
                word: "true",
                pos: 1,
            },
            'f' => State::Literal {
                word: "false",
                pos: 1,
            },
            'n' => State::Literal {
                word: "null",
                pos: 1,
            },
            '-' => State::Number(Num::Minus),
            '0' => State::Number(Num::Zero),
            '1'..='9' => State::Number(Num::Int),
            _ => return false,
        };
        true
    }

    fn close(&mut self) {
        self.stack.pop();
        self.state = if self.stack.is_empty() {
            State::Done
        } else {
            State::After
        };
    }

    /// The shortest text that turns what was accepted into one whole JSON object (`{}` when
    /// nothing was accepted, empty when it already is one).
    pub(crate) fn completion(&self) -> String {
        let mut s = String::new();
        match self.state {
            State::Start => return "{}".to_string(),
            State::Done => return s,
            State::Value => s.push_str("null"),
            State::ArrayFirst | State::KeyOrEnd | State::After => {}
            State::Key => s.push_str("\"_\":null"),
            State::Colon => s.push_str(":null"),
            State::Str { key, esc } => {
                match esc {
                    Esc::None => {}
                    Esc::Backslash => s.push('\\'),
                    Esc::Unicode(n) => s.extend(std::iter::repeat_n('0', usize::from(n))),
                }
                s.push('"');
                if key {
                    s.push_str(":null");
                }
            }
            State::Literal { word, pos } => s.push_str(&word[pos..]),
            State::Number(n) => {
                if !n.terminal() {
                    s.push('0');
                }
            }
        }
        for c in self.stack.iter().rev() {
            s.push(match c {
                Container::Object => '}',
                Container::Array => ']',
            });
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `s`, returning the accepted prefix (stopping at the first refused character).
    fn accept(p: &mut JsonPrefix, s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            if !p.push(c) {
                break;
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn whole_objects_are_accepted_and_need_no_completion() {
        for s in [
            r#"{}"#,
            r#"{"a":1,"b":[true,false,null,-0.5e+3,"x\"\\\u00e9"],"c":{"d":[]}}"#,
            "{ \"a\" : [ 1 , 2 ] }",
        ] {
            let mut p = JsonPrefix::new();
            assert_eq!(accept(&mut p, s), s);
            assert!(p.is_complete(), "{s}");
            assert_eq!(p.completion(), "");
        }
    }

    #[test]
    fn completions_close_every_state() {
        for (prefix, want) in [
            ("", "{}"),
            ("{", "{}"),
            ("{\"lo", "{\"lo\":null}"),
            ("{\"a\"", "{\"a\":null}"),
            ("{\"a\":", "{\"a\":null}"),
            ("{\"a\":\"x\\", "{\"a\":\"x\\\\\"}"),
            ("{\"a\":\"\\u0", "{\"a\":\"\\u0000\"}"),
            ("{\"a\":tr", "{\"a\":true}"),
            ("{\"a\":-", "{\"a\":-0}"),
            ("{\"a\":1.", "{\"a\":1.0}"),
            ("{\"a\":[1,", "{\"a\":[1,null]}"),
            ("{\"a\":1,", "{\"a\":1,\"_\":null}"),
            ("{\"a\":[{\"b\":[", "{\"a\":[{\"b\":[]}]}"),
        ] {
            let mut p = JsonPrefix::new();
            assert_eq!(accept(&mut p, prefix), prefix);
            let whole = format!("{prefix}{}", p.completion());
            assert_eq!(whole, want);
            let v: serde_json::Value = serde_json::from_str(&whole).expect("valid");
            assert!(v.is_object());
        }
    }

    #[test]
    fn malformed_input_is_refused_without_changing_state() {
        let mut p = JsonPrefix::new();
        assert!(!p.push('['), "only objects at the top");
        assert!(!p.push(' '), "leading whitespace is the caller's to strip");
        assert_eq!(accept(&mut p, "{\"a\":1}x"), "{\"a\":1}");
        let mut p = JsonPrefix::new();
        assert_eq!(accept(&mut p, "{\"a\":01"), "{\"a\":0");
        assert_eq!(p.completion(), "}");
        let mut p = JsonPrefix::new();
        assert_eq!(accept(&mut p, "{\"a\n"), "{\"a");
    }

    proptest! {
        /// Whatever the input, the accepted prefix plus its completion is one JSON object.
        #[test]
        fn accepted_prefix_plus_completion_is_an_object(s in "[{}\\[\\]\":,0-9.eE+\\-tfrulnasx\\\\ ]{0,40}") {
            let mut p = JsonPrefix::new();
            let got = accept(&mut p, &s);
            let whole = format!("{got}{}", p.completion());
            let v: serde_json::Value = serde_json::from_str(&whole)
                .map_err(|e| TestCaseError::fail(format!("{whole:?}: {e}")))?;
            prop_assert!(v.is_object());
        }

        /// Every prefix of a real object is accepted whole.
        #[test]
        fn prefixes_of_objects_are_accepted(v in proptest::collection::btree_map("[a-z\"\\\\]{0,4}", any::<(bool, i32, String)>(), 0..4), cut in any::<prop::sample::Index>()) {
            let text = serde_json::to_string(&v).expect("serialize");
            let chars: Vec<char> = text.chars().collect();
            let n = cut.index(chars.len() + 1);
            let prefix: String = chars[..n].iter().collect();
            let mut p = JsonPrefix::new();
            prop_assert_eq!(accept(&mut p, &prefix), prefix.clone());
            let whole = format!("{prefix}{}", p.completion());
            prop_assert!(serde_json::from_str::<serde_json::Value>(&whole).is_ok(), "{}", whole);
        }
    }
}

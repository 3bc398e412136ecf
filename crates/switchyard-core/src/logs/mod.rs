//! Log lines that cannot be forged.
//!
//! Much of what Switchyard logs comes from outside: model names and paths from clients, error
//! texts from upstreams. A value holding a newline could write a fake log line, and one holding
//! an escape sequence could move the cursor, retitle or clear the user's terminal. Every field
//! value (the message included) is therefore written through [`Escaper`]: control characters,
//! line and paragraph separators and bidirectional overrides become visible escapes (`\n`,
//! `\u{1b}`), so one event is always one line and shows what it holds. The level colours the
//! formatter adds itself are not field values and stay.
//!
//! The shells use [`fields`] as their text formatter's field format (the JSON format escapes
//! on its own). [`batch`] is the writer: lines go out in batches, never a wake-up per line.

pub mod batch;

use tracing_subscriber::filter::Targets;

use std::fmt::{self, Write as _};

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{self, Writer};
use tracing_subscriber::fmt::FormatFields;

/// Does `c` need escaping in a log line?
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// A [`fmt::Write`] that passes text on with every unsafe character escaped.
pub struct Escaper<'a, W: fmt::Write + ?Sized>(pub &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaper<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find(unsafe_char) {
            self.0.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or(' ');
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// `s` with every unsafe character escaped.
pub fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = Escaper(&mut out).write_str(s);
    out
}

fn field(w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    if field.name() != "message" {
        write!(w, "{}=", field.name())?;
    }
    write!(Escaper(w), "{value:?}")
}

/// The field format for text logs: `name=value` separated by spaces, the message bare, every
/// value escaped.
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(field).delimited(" ")
}

/// The log filter: `RUST_LOG` (a default level and `target=level` directives, comma-separated,
/// e.g. `info,hyper=warn`), else `default`. A `RUST_LOG` that does not parse gives `default`
/// and the reason, for the shell to print.
pub fn filter(default: &str) -> (Targets, Option<String>) {
    filter_from(std::env::var("RUST_LOG").ok().as_deref(), default)
}

/// [`filter`] for a given `RUST_LOG` value.
fn filter_from(spec: Option<&str>, default: &str) -> (Targets, Option<String>) {
    let fallback = || default.parse::<Targets>().unwrap_or_default();
    match spec {
        Some(spec) if !spec.trim().is_empty() => match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                fallback(),
                Some(format!(
                    "RUST_LOG={spec:?} is not understood ({e}); logging with {default:?}"
                )),
            ),
        },
        _ => (fallback(), None),
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("buf").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logged(ansi: bool, f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let out = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_ansi(ansi)
            .with_writer(move || out.clone())
            .fmt_fields(fields())
            .finish();
        tracing::subscriber::with_default(sub, f);
        let bytes = buf.0.lock().expect("buf").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn a_hostile_value_stays_on_one_visible_line() {
        let model =
            "m\n2026-01-01T00:00:00Z  INFO switchyard: fake line\x1b[2J\x1b]0;pwned\x07\r\u{202e}";
        let text = logged(false, || {
            tracing::warn!(model = %model, path = ?model, "attempt failed: {}", model);
        });
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n'));
        for c in text.trim_end_matches('\n').chars() {
            assert!(!unsafe_char(c), "{c:?} in {text:?}");
        }
        assert!(text.contains("attempt failed: m\\n2026-01-01"), "{text}");
        assert!(text.contains("model=m\\n2026"), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        assert!(text.contains("\\u{202e}"), "{text}");
    }

    #[test]
    fn the_formatter_s_own_colours_stay_and_plain_text_is_untouched() {
        let text = logged(
            true,
            || tracing::info!(provider = %"deepseek", n = 3, "ok: 中文 é"),
        );
        assert!(text.contains("\x1b["), "level colours kept: {text:?}");
        assert!(text.contains("ok: 中文 é"), "{text}");
        let plain = logged(
            false,
            || tracing::info!(provider = %"deepseek", n = 3, "ok"),
        );
        assert!(plain.contains("ok provider=deepseek n=3"), "{plain}");
    }

    #[test]
    fn escaped_text() {
        assert_eq!(escaped("a\tb\u{0}c\u{85}"), "a\\tb\\u{0}c\\u{85}");
        assert_eq!(escaped("plain"), "plain");
    }

    #[test]
    fn rust_log_directives_or_the_default() {
        use tracing::Level;
        let (t, problem) = filter_from(None, "info,hyper=warn");
        assert!(problem.is_none());
        assert!(t.would_enable("switchyard", &Level::INFO));
        assert!(!t.would_enable("switchyard", &Level::DEBUG));
        assert!(!t.would_enable("hyper::proto", &Level::INFO));
        let (t, _) = filter_from(Some("warn,switchyard_core=trace"), "info");
        assert!(t.would_enable("switchyard_core::pipeline", &Level::TRACE));
        assert!(!t.would_enable("reqwest", &Level::INFO));
        let (t, problem) = filter_from(Some("info,x=loud"), "warn");
        assert!(problem.is_some_and(|p| p.contains("not understood")));
        assert!(!t.would_enable("switchyard", &Level::INFO));
        let (t, problem) = filter_from(Some("  "), "debug");
        assert!(problem.is_none() && t.would_enable("a", &Level::DEBUG));
    }
}

//! A log writer that never wakes a thread per line.
//!
//! Switchyard logs one line per request (as nginx's access log does). Handing each line to a
//! writer thread costs a wake-up per request, which on a busy proxy is a measurable share of
//! its CPU. Here lines are appended to one bounded buffer under a short lock, and a flusher
//! thread writes the buffer out in batches: it is woken once when the buffer goes from empty
//! to not empty, then gathers for up to [`GATHER`] before writing (nginx's `buffer=`/`flush=`
//! idea). Warnings and errors are written at once. Nothing is unbounded: past [`MAX_BUFFER`]
//! lines are dropped and the count of dropped lines is written with the next batch. Dropping
//! the [`Flusher`] writes what is left and stops the thread.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long the flusher gathers lines before writing them.
pub const GATHER: Duration = Duration::from_millis(100);
/// The most the buffer holds; lines beyond it are dropped (and counted).
pub const MAX_BUFFER: usize = 1 << 20;
/// A buffer that grew beyond this is given back after it was written (idle memory stays low).
const KEEP_CAPACITY: usize = 64 << 10;

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    dropped: u64,
    urgent: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain bytes behind: keep using them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The [`MakeWriter`] to give the formatter.
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

/// Owns the flusher thread: keep it alive as long as logging goes on; dropping it writes what
/// is buffered and stops the thread.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A batched writer onto `sink` and the guard of its flusher thread.
pub fn batched<W: Write + Send + 'static>(sink: W) -> io::Result<(Batched, Flusher)> {
    batched_with(sink, GATHER)
}

/// [`batched`], gathering lines for `gather` before a write.
pub fn batched_with<W: Write + Send + 'static>(
    sink: W,
    gather: Duration,
) -> io::Result<(Batched, Flusher)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
    });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(move || flush_loop(&s, sink, gather))?;
    Ok((
        Batched {
            shared: shared.clone(),
        },
        Flusher {
            shared,
            thread: Some(thread),
        },
    ))
}

fn flush_loop<W: Write>(shared: &Shared, mut sink: W, gather: Duration) {
    let mut spare: Vec<u8> = Vec::new();
    let mut st = shared.lock();
    loop {
        while st.lines.is_empty() && st.dropped == 0 && !st.closed {
            st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if !st.urgent && !st.closed {
            // Gather: more lines are likely to follow the first one.
            st = shared
                .wake
                .wait_timeout_while(st, gather, |s| !s.urgent && !s.closed)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        std::mem::swap(&mut st.lines, &mut spare);
        let dropped = std::mem::take(&mut st.dropped);
        st.urgent = false;
        let closed = st.closed;
        drop(st);
        // A failing sink (a closed stderr) loses the lines, never the process.
        let _ = sink.write_all(&spare);
        if dropped > 0 {
            let _ = writeln!(
                sink,
                "[{dropped} log lines dropped: logging faster than they could be written]"
            );
        }
        let _ = sink.flush();
        spare.clear();
        if spare.capacity() > KEEP_CAPACITY {
            spare = Vec::new();
        }
        if closed {
            return;
        }
        st = shared.lock();
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One event's writer: the formatter writes the whole line in one call.
pub struct LineWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self.shared.lock();
        if st.closed {
            // After shutdown began: straight to stderr, in order with what the flusher wrote.
            drop(st);
            return io::stderr().write(buf);
        }
        let wake = if st.lines.len() + buf.len() > MAX_BUFFER {
            st.dropped += 1;
            false
        } else {
            let was_empty = st.lines.is_empty();
            st.lines.extend_from_slice(buf);
            st.urgent |= self.urgent;
            was_empty || self.urgent
        };
        drop(st);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A sink the test can read, counting its writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
            g.0.extend_from_slice(buf);
            g.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner()).0).into()
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).1
        }
    }

    fn line(w: &Batched, text: &str) {
        let mut lw = w.make_writer();
        lw.write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn lines_are_written_in_batches_in_order() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone()).expect("thread");
        for i in 0..1000 {
            line(&w, &format!("line {i}\n"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.text().lines().count() < 1000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = sink.text();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), 1000);
        assert_eq!(got[0], "line 0");
        assert_eq!(got[999], "line 999");
        // A thousand lines in a few writes, not a thousand.
        assert!(sink.writes() < 50, "{} writes", sink.writes());
        drop(guard);
    }

    #[test]
    fn dropping_the_guard_writes_what_is_left() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone()).expect("thread");
        line(&w, "last words\n");
        drop(guard);
        assert_eq!(sink.text(), "last words\n");
    }

    #[test]
    fn the_buffer_is_bounded_and_drops_are_reported() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone()).expect("thread");
        // Hold the lock so the flusher cannot empty the buffer while it is overfilled.
        let big = "x".repeat(MAX_BUFFER / 4 - 1) + "\n";
        let mut n = 0;
        // Fill the buffer directly, without waking the flusher, so nothing is written yet.
        {
            let mut st = w.shared.lock();
            while st.lines.len() + big.len() <= MAX_BUFFER {
                st.lines.extend_from_slice(big.as_bytes());
                n += 1;
            }
        }
        line(&w, &big);
        line(&w, &big);
        drop(guard);
        let text = sink.text();
        assert_eq!(text.lines().filter(|l| l.starts_with('x')).count(), n);
        assert!(
            text.contains("[2 log lines dropped"),
            "{}",
            &text[text.len().saturating_sub(200)..]
        );
    }

    #[test]
    fn warnings_are_written_at_once() {
        let sink = Sink::default();
        // Ordinary lines would wait a minute here; a warning does not.
        let (w, _guard) = batched_with(sink.clone(), Duration::from_secs(60)).expect("thread");
        let mut lw = LineWriter {
            shared: &w.shared,
            urgent: true,
        };
        let t = Instant::now();
        lw.write_all(b"WARN something\n").expect("write");
        while sink.text().is_empty() && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.text(), "WARN something\n");
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    }
}

//! The allocator: mimalloc, and handing memory freed after a burst back to the system.
//!
//! mimalloc returns freed memory to the system a while after it is freed (its purge delay),
//! but only when the allocator is next used: a proxy that goes quiet after a burst of
//! connections kept their memory until the next request. [`return_freed_memory`] runs the
//! allocator's collection every few seconds, so an idle proxy gives that memory back.

use std::time::Duration;

/// mimalloc instead of glibc's allocator: a proxy allocates and frees many small buffers per
/// request, and malloc/free were ~17% of the request path's CPU profile. Built without
/// transparent huge pages, so idle memory stays as low as with glibc.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often freed memory is handed back.
const EVERY: Duration = Duration::from_secs(2);

/// Hand memory freed more than the purge delay ago back to the system (cheap when there is
/// none: it looks at the calling thread's heap and the arenas' pending purges).
pub fn collect() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time;
    // it only frees memory the allocator itself no longer uses.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(false);
    }
}

/// Run [`collect`] every [`EVERY`] on the current runtime (its worker threads do nearly all
/// of the allocating) for as long as the runtime runs.
pub fn return_freed_memory() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            collect();
        }
    });
}

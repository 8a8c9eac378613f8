//! Stopping long alignments early. A caller (the pipeline, when SIGINT or SIGTERM arrives)
//! runs alignments under a flag with [`run`]; the long loops of every backend call [`check`]
//! once per DP row, target batch or GPU dispatch, which unwinds back to [`run`] as soon as the
//! flag is set, and [`run`] returns [`Error::Stopped`]. A stopped call gives no result at all,
//! so a stop can never make a partial alignment look finished. [`crate::parallel::par_map`]
//! carries the flag into its threads.
//!
//! The unwind uses [`std::panic::resume_unwind`], which runs no panic hook: nothing is printed,
//! and a real panic still propagates as a panic.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static FLAG: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// The unwind payload of a stop.
struct Stopped;

/// Unwinds to [`run`] when this thread's flag is set.
#[inline]
pub(crate) fn check() {
    if FLAG.with(|f| f.borrow().as_ref().is_some_and(|f| f.load(Ordering::Relaxed))) {
        std::panic::resume_unwind(Box::new(Stopped));
    }
}

/// This thread's flag, for threads that work for it.
pub(crate) fn current() -> Option<Arc<AtomicBool>> {
    FLAG.with(|f| f.borrow().clone())
}

/// `f` with `flag` as this thread's flag (restored afterwards, also when `f` unwinds).
pub(crate) fn with<R>(flag: Option<Arc<AtomicBool>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FLAG.with(|f| *f.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(FLAG.with(|f| f.replace(flag)));
    f()
}

/// `f` stopped early with [`Error::Stopped`] once `flag` is set.
pub(crate) fn run<R>(flag: &Arc<AtomicBool>, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with(Some(Arc::clone(flag)), f)));
    match ran {
        Ok(result) => result,
        Err(payload) if payload.is::<Stopped>() => Err(Error::Stopped),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_flag_stops_the_work_and_threads_inherit_it() {
        let flag = Arc::new(AtomicBool::new(false));
        assert_eq!(run(&flag, || Ok(1)).unwrap(), 1);
        flag.store(true, Ordering::Relaxed);
        let stopped = run(&flag, || {
            let done = crate::parallel::par_map(4, 2, |_| {
                check();
                1
            });
            Ok(done.len())
        });
        assert!(matches!(stopped, Err(Error::Stopped)));
        // The flag is gone afterwards, and a panic is still a panic.
        check();
        let panic = std::panic::catch_unwind(|| run(&flag, || -> Result<()> { panic!("a bug") }));
        assert!(panic.is_err());
    }
}

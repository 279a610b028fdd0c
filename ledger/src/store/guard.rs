//! The store boundary: a panic of the storage engine becomes [`StoreError::Damaged`].
//!
//! redb panics (for example "entered unreachable code") when it meets some kinds of damaged
//! pages instead of returning `StorageError::Corrupted`. Nothing reachable from a damaged store
//! may panic (SPEC.md §10), so every call into the engine runs inside [`guard`]: the panic is
//! caught, its message becomes the error's, and the default panic report on standard error is
//! suppressed for it (the error is reported once, by whoever handles it). A panic outside a
//! guard is reported as usual.

use super::StoreError;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// How many guards are active on this thread (a guarded call may call another).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// Installs, once per process, a panic hook that stays silent inside a guard and otherwise
/// calls the hook that was installed before it.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, a call into the storage engine about `what` (for example "reading leaf 42"). A
/// panic inside it becomes `StoreError::Damaged` naming `what` and the engine's message.
pub(crate) fn guard<T>(
    what: impl FnOnce() -> String,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let out = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    match out {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let what = what();
            tracing::debug!(what = %what, panic = %msg, "the storage engine panicked");
            Err(StoreError::Damaged(format!(
                "the storage engine failed while {what} ({msg})"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_damaged_and_a_result_passes_through() {
        let r: Result<u32, StoreError> =
            guard(|| "reading leaf 7".into(), || panic!("entered unreachable code"));
        match r {
            Err(StoreError::Damaged(m)) => {
                assert!(m.contains("reading leaf 7"));
                assert!(m.contains("entered unreachable code"));
            }
            other => panic!("expected Damaged, got {other:?}"),
        }
        assert_eq!(r_code(guard(|| "x".into(), || Ok(5))), Ok(5));
        assert_eq!(
            r_code::<u32>(guard(|| "x".into(), || Err(StoreError::Full("no space".into())))),
            Err("STORAGE_FULL")
        );
        // Nested guards keep the depth balanced: after them a panic is reported again.
        let _ = guard(
            || "outer".into(),
            || {
                guard(
                    || "inner".into(),
                    || -> Result<(), StoreError> { panic!("inner") },
                )
            },
        );
        assert_eq!(DEPTH.with(Cell::get), 0);
    }

    fn r_code<T>(r: Result<T, StoreError>) -> Result<T, &'static str> {
        r.map_err(|e| e.code())
    }
}

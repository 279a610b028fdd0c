//! Verify's work handed to another thread, with the same work done here if the thread cannot
//! start or fails: every piece is done exactly once, whatever the platform allows.

use std::sync::Arc;
use std::thread::JoinHandle;

/// `work` of `input`, running on a thread of its own when one could be started.
pub(super) struct Offloaded<I, O> {
    input: Arc<I>,
    handle: Option<JoinHandle<O>>,
    work: fn(&I) -> O,
}

impl<I: Send + Sync + 'static, O: Send + 'static> Offloaded<I, O> {
    /// Starts `work(&input)` on a thread named `name` (none when `spawn` is false: the work is
    /// then done by [`Offloaded::finish`]).
    pub(super) fn start(name: &str, input: I, work: fn(&I) -> O, spawn: bool) -> Self {
        let input = Arc::new(input);
        let theirs = Arc::clone(&input);
        let handle = spawn
            .then(|| {
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || work(&theirs))
                    .ok()
            })
            .flatten();
        Self { input, handle, work }
    }

    /// The result, and the input back (computed here if the thread did not start or failed).
    pub(super) fn finish(self) -> (O, Arc<I>) {
        let out = self
            .handle
            .and_then(|h| h.join().ok())
            .unwrap_or_else(|| (self.work)(&self.input));
        (out, self.input)
    }
}

//! A redb storage backend for a file that is trusted only once it is complete: a restore's bulk
//! load into a new file, or the fresh copy [`super::redb_store::RedbStore::reclaim`] writes.
//!
//! redb syncs the file each time it grows it, and twice per durable commit. For a file that is
//! discarded whenever the process stops before the end (a restore loads into a temporary
//! directory; a reclaim into a `.reclaim` file), those syncs buy nothing: a crash in between
//! leaves a file nobody will open. Measured (docs/benchmarks.md, "Backup and restore"): at
//! 300 000 nodes of ~1 KB, the rows a restore writes cost 12.0 µs per node with redb's syncs and
//! 8.0 µs without. So this backend skips redb's syncs, and the owner makes the file durable in
//! one step at the end, before anything trusts it.

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// redb's file backend with `sync_data` deferred (see the module doc). Locking, reads, writes and
/// resizing are redb's own.
#[derive(Debug)]
pub(crate) struct DeferredSync {
    inner: FileBackend,
}

impl DeferredSync {
    /// Wraps `file`. The second value is a handle on the same file: its `sync_data` is the
    /// deferred sync, which the owner calls once the file is complete.
    pub(crate) fn new(file: File) -> io::Result<(Self, File)> {
        let handle = file.try_clone()?;
        let inner = FileBackend::new(file).map_err(io::Error::other)?;
        Ok((Self { inner }, handle))
    }
}

impl StorageBackend for DeferredSync {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.inner.set_len(len)
    }

    /// Deferred: the owner syncs its handle (see [`DeferredSync::new`]) once the file is
    /// complete.
    fn sync_data(&self) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

/// The deferred sync of a load file, with writeback started early: [`Writeback::kick`] asks a
/// background thread to fdatasync what has been written so far, so that the final
/// [`Writeback::sync_now`] has little left to write. Measured before it (docs/benchmarks.md,
/// "Backup and restore"): the final sync of a 200 000-node restore wrote the whole 370 MB file
/// and took 0.59 s of its 2.75 s, while the loading threads had finished.
#[derive(Debug)]
pub(crate) struct Writeback {
    file: Arc<File>,
    worker: Mutex<Option<Worker>>,
}

#[derive(Debug)]
struct Worker {
    wake: SyncSender<()>,
    thread: JoinHandle<io::Result<()>>,
}

impl Writeback {
    /// Syncs `file` (a handle from [`DeferredSync::new`]).
    pub(crate) fn new(file: File) -> Self {
        Self {
            file: Arc::new(file),
            worker: Mutex::new(None),
        }
    }

    /// Asks for a background fdatasync and returns at once; a sync already waiting covers this
    /// request. Without a thread (spawning failed), does nothing: `sync_now` covers everything.
    pub(crate) fn kick(&self) {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if worker.is_none() {
            let (wake, rx) = sync_channel::<()>(1);
            let file = self.file.clone();
            let spawned = std::thread::Builder::new()
                .name("evl-writeback".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        file.sync_data()?;
                    }
                    Ok(())
                });
            if let Ok(thread) = spawned {
                *worker = Some(Worker { wake, thread });
            }
        }
        if let Some(w) = worker.as_ref() {
            let _ = w.wake.try_send(());
        }
    }

    /// Waits for the background syncs, then syncs the file: everything written before the
    /// call is durable when it returns `Ok`. A failed background sync is returned here.
    pub(crate) fn sync_now(&self) -> io::Result<()> {
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Worker { wake, thread }) = worker {
            drop(wake);
            thread
                .join()
                .map_err(|_| io::Error::other("the writeback thread panicked"))??;
        }
        self.file.sync_data()
    }
}

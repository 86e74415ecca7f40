//! The one parallel map of the image-factory crates: a slice mapped on scoped threads (one chunk
//! per available core; no rayon, see ADR 0002), for the embarrassingly parallel parts of a run:
//! parsing state files, analysing Dockerfiles, rendering state files and manifests. Order is
//! preserved, so results stay deterministic.
//!
//! Shared plumbing of the image-factory crates, hidden from the documentation: not API.

/// `items.iter().map(f).collect()`, computed on up to `available_parallelism` threads.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1);
    if threads <= 1 || items.len() < 64 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                // A panic in `f` is a bug; re-raise it on this thread.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        out
    })
}

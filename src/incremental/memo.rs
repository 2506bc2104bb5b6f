//! A map of results kept between builds of one process, keyed by a hash of
//! everything the result depends on. Entries one build did not use are
//! dropped when it ends, so the map never outgrows the site.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Results by key, each marked when a build uses it.
#[derive(Debug)]
pub struct Memo<V> {
    entries: Mutex<HashMap<u64, (V, bool)>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Memo<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, (V, bool)>> {
        // A panic while holding the lock leaves plain data; keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key`, made by `make` when there is none. The lock is
    /// not held while `make` runs, so threads make values in parallel.
    pub fn get_or_make<E>(&self, key: u64, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some((value, used)) = self.lock().get_mut(&key) {
            *used = true;
            return Ok(value.clone());
        }
        let value = make()?;
        self.lock().insert(key, (value.clone(), true));
        Ok(value)
    }

    /// Ends a build: entries it did not use are dropped.
    pub fn retain_used(&self) {
        let mut entries = self.lock();
        entries.retain(|_, (_, used)| *used);
        for (_, used) in entries.values_mut() {
            *used = false;
        }
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_entries_leave_after_a_build() {
        let memo: Memo<u32> = Memo::new();
        assert_eq!(memo.get_or_make::<()>(1, || Ok(10)), Ok(10));
        assert_eq!(memo.get_or_make::<()>(2, || Ok(20)), Ok(20));
        memo.retain_used();
        assert_eq!(
            memo.get_or_make::<()>(1, || Ok(99)),
            Ok(10),
            "kept, not made again"
        );
        memo.retain_used();
        assert_eq!(memo.len(), 1);
    }
}

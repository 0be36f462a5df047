//! Locks that survive a panic elsewhere.
//!
//! Every lock in payprobe guards a map or a value that each holder changes in one step, so a
//! holder that panicked cannot leave it half-changed. A poisoned lock is therefore taken
//! over rather than treated as "no data": before (issue 15) a poisoned lock silently dropped
//! metrics, peer heights or ping replies forever. Taking one over is logged, since it means
//! a bug was hit somewhere.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn lock<'a, T>(m: &'a Mutex<T>, what: &'static str) -> MutexGuard<'a, T> {
    m.lock().unwrap_or_else(|p| {
        tracing::error!(lock = what, "lock poisoned by a panic; recovered");
        m.clear_poison();
        p.into_inner()
    })
}

pub fn read<'a, T>(l: &'a RwLock<T>, what: &'static str) -> RwLockReadGuard<'a, T> {
    l.read().unwrap_or_else(|p| {
        tracing::error!(lock = what, "lock poisoned by a panic; recovered");
        l.clear_poison();
        p.into_inner()
    })
}

pub fn write<'a, T>(l: &'a RwLock<T>, what: &'static str) -> RwLockWriteGuard<'a, T> {
    l.write().unwrap_or_else(|p| {
        tracing::error!(lock = what, "lock poisoned by a panic; recovered");
        l.clear_poison();
        p.into_inner()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_taken_over_with_its_data() {
        let m = std::sync::Arc::new(Mutex::new(vec![1]));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        lock(&m, "test").push(2);
        assert_eq!(*lock(&m, "test"), vec![1, 2]);
        assert!(!m.is_poisoned(), "cleared once taken over");
    }
}

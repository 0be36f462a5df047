//! Locks that survive a panic elsewhere: the one policy for a poisoned lock.
//!
//! Every lock in payprobe guards a map or a value that each holder changes in one step, so a
//! holder that panicked cannot leave it half-changed. A poisoned lock is therefore taken
//! over rather than treated as "no data": before (issue 15, issue 21) a poisoned lock
//! silently dropped metrics, peer heights, ping replies or every incident forever. Taking
//! one over is logged, since it means a bug was hit somewhere, and counted by the lock's
//! name; `/metrics` shows the counts as `payprobe_internal_errors_total{where="<name>"}`
//! (read through [`taken_over`], so this module stays below `metrics` in the module graph).
//! Every `std::sync` lock in `src/` is taken through [`lock`], [`read`] or [`write()`].

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Take-overs by lock name. Names are `&'static str` written in the code, so the set (and
/// the `where` label) stays bounded.
static TAKEN_OVER: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

/// Says and counts that `what` was found poisoned.
fn taken(what: &'static str) {
    tracing::error!(lock = what, "lock poisoned by a panic; taken over");
    // Nothing can panic while this one is held; should it be poisoned all the same, its
    // counts are still whole.
    let mut m = TAKEN_OVER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *m.entry(what).or_default() += 1;
}

/// How many times each lock was taken over since the process started.
pub fn taken_over() -> Vec<(&'static str, u64)> {
    TAKEN_OVER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(k, v)| (*k, *v))
        .collect()
}

pub fn lock<'a, T>(m: &'a Mutex<T>, what: &'static str) -> MutexGuard<'a, T> {
    m.lock().unwrap_or_else(|p| {
        taken(what);
        m.clear_poison();
        p.into_inner()
    })
}

pub fn read<'a, T>(l: &'a RwLock<T>, what: &'static str) -> RwLockReadGuard<'a, T> {
    l.read().unwrap_or_else(|p| {
        taken(what);
        l.clear_poison();
        p.into_inner()
    })
}

pub fn write<'a, T>(l: &'a RwLock<T>, what: &'static str) -> RwLockWriteGuard<'a, T> {
    l.write().unwrap_or_else(|p| {
        taken(what);
        l.clear_poison();
        p.into_inner()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(name: &str) -> u64 {
        taken_over()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map_or(0, |(_, v)| v)
    }

    #[test]
    fn a_poisoned_lock_is_taken_over_with_its_data_and_counted() {
        let m = std::sync::Arc::new(Mutex::new(vec![1]));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        let before = count("sync test mutex");
        lock(&m, "sync test mutex").push(2);
        assert_eq!(*lock(&m, "sync test mutex"), vec![1, 2]);
        assert!(!m.is_poisoned(), "cleared once taken over");
        assert_eq!(count("sync test mutex"), before + 1, "counted once");
    }

    #[test]
    fn a_poisoned_rwlock_is_taken_over_for_reading_and_writing() {
        let l = std::sync::Arc::new(RwLock::new(1));
        for write_it in [false, true] {
            let l2 = l.clone();
            let _ = std::thread::spawn(move || {
                let _g = l2.write().unwrap();
                panic!("poison it");
            })
            .join();
            if write_it {
                *write(&l, "sync test rwlock") += 1;
            } else {
                assert_eq!(*read(&l, "sync test rwlock"), 1);
            }
        }
        assert_eq!(*read(&l, "sync test rwlock"), 2);
        assert_eq!(count("sync test rwlock"), 2);
    }
}

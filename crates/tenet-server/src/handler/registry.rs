//! A named, ordered collection that can change while requests read it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Items in registration order, looked up by name. Readers take a snapshot (an `Arc`);
/// writers replace it, so a change never blocks a request for long.
pub(crate) struct Registry<T> {
    current: RwLock<Arc<Snapshot<T>>>,
}

/// One version of a registry's contents.
pub(crate) struct Snapshot<T> {
    pub items: Vec<(String, T)>,
    index: HashMap<String, usize>,
}

impl<T> Snapshot<T> {
    fn new(items: Vec<(String, T)>) -> Self {
        let index = items.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
        Self { items, index }
    }

    /// The item named `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).map(|&i| &self.items[i].1)
    }
}

impl<T: Clone> Registry<T> {
    pub fn new(items: Vec<(String, T)>) -> Self {
        Self { current: RwLock::new(Arc::new(Snapshot::new(items))) }
    }

    /// The current contents.
    pub fn snapshot(&self) -> Arc<Snapshot<T>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Adds or replaces an item; returns whether the set of names changed.
    pub fn upsert(&self, name: String, item: T) -> bool {
        let mut guard = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut items = guard.items.clone();
        let added = match items.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = item;
                false
            }
            None => {
                items.push((name, item));
                true
            }
        };
        *guard = Arc::new(Snapshot::new(items));
        added
    }

    /// Removes the items named in `removed`, then adds or replaces `added`, as one new
    /// version (one pass, however many change); returns whether anything changed.
    pub fn apply(&self, removed: &[String], added: Vec<(String, T)>) -> bool {
        let mut guard = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let gone: std::collections::HashSet<&str> = removed.iter().map(String::as_str).collect();
        let mut items: Vec<(String, T)> =
            guard.items.iter().filter(|(n, _)| !gone.contains(n.as_str())).cloned().collect();
        let mut changed = items.len() != guard.items.len();
        let mut index: HashMap<String, usize> = items.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        for (name, item) in added {
            changed = true;
            match index.get(&name) {
                Some(&i) => items[i].1 = item,
                None => {
                    index.insert(name.clone(), items.len());
                    items.push((name, item));
                }
            }
        }
        if changed {
            *guard = Arc::new(Snapshot { items, index });
        }
        changed
    }

    /// Removes an item; returns whether it was there.
    pub fn remove(&self, name: &str) -> bool {
        let mut guard = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.get(name).is_none() {
            return false;
        }
        let items = guard.items.iter().filter(|(n, _)| n != name).cloned().collect();
        *guard = Arc::new(Snapshot::new(items));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_removes_and_adds_in_one_version() {
        let r = Registry::new(vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]);
        assert!(r.apply(&["b".into()], vec![("c".into(), 30), ("d".into(), 4)]));
        let s = r.snapshot();
        let names: Vec<_> = s.items.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(names, [("a", 1), ("c", 30), ("d", 4)]);
        assert_eq!(s.get("d"), Some(&4));
        assert_eq!(s.get("b"), None);
        assert!(!r.apply(&["nope".into()], Vec::new()), "nothing changed");
    }

    #[test]
    fn keeps_order_and_replaces_in_place() {
        let r = Registry::new(vec![("a".into(), 1), ("b".into(), 2)]);
        assert!(!r.upsert("a".into(), 10));
        assert!(r.upsert("c".into(), 3));
        let s = r.snapshot();
        let names: Vec<_> = s.items.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(names, [("a", 10), ("b", 2), ("c", 3)]);
        assert!(r.remove("b"));
        assert!(!r.remove("b"));
        assert_eq!(r.snapshot().get("c"), Some(&3));
        assert_eq!(s.get("b"), Some(&2), "old snapshots are unaffected");
    }
}

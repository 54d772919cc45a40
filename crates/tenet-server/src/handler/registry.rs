//! A named collection, kept sorted by name, that can change while requests read it.

use std::sync::{Arc, OnceLock, RwLock};

/// Items sorted by name (byte-wise), looked up by name. Readers take a snapshot (an
/// `Arc`); writers replace it, so a change never blocks a request for long. The order
/// does not depend on when an item was added, so a list reads the same however its
/// items came and went, and a cursor can name the last item it returned.
pub(crate) struct Registry<T> {
    current: RwLock<Arc<Snapshot<T>>>,
}

/// Items with an order of their own besides their names' (see [`Snapshot::ranked`]).
pub(crate) trait Ranked {
    /// The sort key: lower comes first.
    type Rank: Ord;
    /// This item's key.
    fn rank(&self) -> Self::Rank;
}

/// One version of a registry's contents.
pub(crate) struct Snapshot<T> {
    /// Sorted by name, each name once.
    pub items: Vec<(String, T)>,
    index: crate::FastMap<String, usize>,
    /// The items' positions in the order of [`Snapshot::ranked`], worked out on first use.
    ranks: OnceLock<Vec<usize>>,
}

impl<T> Snapshot<T> {
    /// The snapshot of `items`, sorted by name; of a name given more than once, the
    /// last item stays (as if each had been added in turn).
    fn new(mut items: Vec<(String, T)>) -> Self {
        // Stable, so the items of one name stay in the order given.
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        Self::sorted(items)
    }

    /// The snapshot of `items`, already sorted by name with each name once.
    fn sorted(items: Vec<(String, T)>) -> Self {
        debug_assert!(items.is_sorted_by(|a, b| a.0 < b.0), "registry items out of order");
        let index = items.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
        Self { items, index, ranks: OnceLock::new() }
    }

    /// The item named `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).map(|&i| &self.items[i].1)
    }

    /// The items by [`Ranked::rank`] (lowest first, ties by name), worked out once per
    /// snapshot.
    pub fn ranked(&self) -> impl Iterator<Item = &(String, T)>
    where
        T: Ranked,
    {
        let order = self.ranks.get_or_init(|| {
            let mut order: Vec<usize> = (0..self.items.len()).collect();
            // Stable: items of one rank stay in name order.
            order.sort_by_key(|&i| self.items[i].1.rank());
            order
        });
        order.iter().map(|&i| &self.items[i])
    }
}

impl<T: Clone> Registry<T> {
    /// A registry of `items`; of a name given more than once, the last item stays.
    pub fn new(items: Vec<(String, T)>) -> Self {
        Self { current: RwLock::new(Arc::new(Snapshot::new(items))) }
    }

    /// The current contents.
    pub fn snapshot(&self) -> Arc<Snapshot<T>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Adds or replaces an item (in its place); returns whether the set of names changed.
    pub fn upsert(&self, name: String, item: T) -> bool {
        let mut guard = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut items = guard.items.clone();
        let added = match items.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
            Ok(i) => {
                items[i].1 = item;
                false
            }
            Err(i) => {
                items.insert(i, (name, item));
                true
            }
        };
        *guard = Arc::new(Snapshot::sorted(items));
        added
    }

    /// Removes the items named in `removed`, then adds or replaces `added`, as one new
    /// version (one pass, however many change); returns whether anything changed.
    pub fn apply(&self, removed: &[String], added: Vec<(String, T)>) -> bool {
        let mut guard = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let gone: std::collections::HashSet<&str> = removed.iter().map(String::as_str).collect();
        let mut items: Vec<(String, T)> = Vec::with_capacity(guard.items.len() + added.len());
        items.extend(guard.items.iter().filter(|(n, _)| !gone.contains(n.as_str())).cloned());
        let changed = items.len() != guard.items.len() || !added.is_empty();
        if changed {
            // The kept items are sorted already: sorting merges `added` into them, and
            // an added item replaces a kept one of its name (it comes later).
            items.extend(added);
            *guard = Arc::new(Snapshot::new(items));
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
        *guard = Arc::new(Snapshot::sorted(items));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(s: &Snapshot<i32>) -> Vec<(&str, i32)> {
        s.items.iter().map(|(n, v)| (n.as_str(), *v)).collect()
    }

    impl Ranked for i32 {
        type Rank = i32;
        fn rank(&self) -> i32 {
            *self
        }
    }

    #[test]
    fn ranks_once_per_snapshot() {
        let r = Registry::new(vec![("a".into(), 3), ("b".into(), 1), ("c".into(), 3), ("d".into(), 2)]);
        let s = r.snapshot();
        let ranked: Vec<_> = s.ranked().map(|(n, _)| n.as_str()).collect();
        assert_eq!(ranked, ["b", "d", "a", "c"], "by rank, ties by name");
        assert!(r.upsert("e".into(), 0));
        let s = r.snapshot();
        let ranked: Vec<_> = s.ranked().map(|(n, _)| n.as_str()).collect();
        assert_eq!(ranked, ["e", "b", "d", "a", "c"], "a new snapshot ranks again");
    }

    #[test]
    fn apply_removes_and_adds_in_one_version() {
        let r = Registry::new(vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]);
        assert!(r.apply(&["b".into()], vec![("d".into(), 4), ("c".into(), 30), ("ab".into(), 5)]));
        let s = r.snapshot();
        assert_eq!(listed(&s), [("a", 1), ("ab", 5), ("c", 30), ("d", 4)]);
        assert_eq!(s.get("d"), Some(&4));
        assert_eq!(s.get("ab"), Some(&5));
        assert_eq!(s.get("b"), None);
        assert!(!r.apply(&["nope".into()], Vec::new()), "nothing changed");
    }

    #[test]
    fn items_are_sorted_by_name_whenever_they_came() {
        let r = Registry::new(vec![("b".into(), 2), ("a".into(), 1), ("B".into(), 0)]);
        assert_eq!(listed(&r.snapshot()), [("B", 0), ("a", 1), ("b", 2)], "byte-wise: capitals first");
        assert!(r.remove("a"));
        assert!(r.upsert("a".into(), 1));
        assert!(r.apply(&["b".into()], Vec::new()));
        assert!(r.apply(&[], vec![("b".into(), 2)]));
        assert_eq!(listed(&r.snapshot()), [("B", 0), ("a", 1), ("b", 2)], "removed and added back: same order");
        for (i, (name, _)) in r.snapshot().items.iter().enumerate() {
            assert_eq!(r.snapshot().index[name], i);
        }
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_item() {
        let r = Registry::new(vec![("b".into(), 1), ("a".into(), 2), ("b".into(), 3)]);
        let s = r.snapshot();
        assert_eq!(listed(&s), [("a", 2), ("b", 3)]);
        assert_eq!(s.get("b"), Some(&3));
        assert!(r.apply(&[], vec![("c".into(), 4), ("c".into(), 5)]));
        assert_eq!(listed(&r.snapshot()), [("a", 2), ("b", 3), ("c", 5)]);
    }

    #[test]
    fn replaces_in_place() {
        let r = Registry::new(vec![("b".into(), 2), ("a".into(), 1)]);
        assert!(!r.upsert("a".into(), 10));
        assert!(r.upsert("c".into(), 3));
        assert!(r.upsert("0".into(), 0));
        let s = r.snapshot();
        assert_eq!(listed(&s), [("0", 0), ("a", 10), ("b", 2), ("c", 3)]);
        assert_eq!(s.get("c"), Some(&3));
        assert!(r.remove("b"));
        assert!(!r.remove("b"));
        assert_eq!(r.snapshot().get("c"), Some(&3));
        assert_eq!(s.get("b"), Some(&2), "old snapshots are unaffected");
    }
}

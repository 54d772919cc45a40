//! Callers ranked by how much of a shared thing they hold: who gives way first once all
//! of them together are past a total (the task board's ended tasks, the in-memory
//! conversation contexts' bytes).

use std::collections::BTreeSet;

/// Callers (by share key; `None`: callers of no known name) ranked by what they hold,
/// then by name. A caller holding nothing is not ranked.
#[derive(Debug, Default)]
pub(crate) struct Ranking(BTreeSet<(usize, Option<String>)>);

impl Ranking {
    /// Notes that `who` holds `after` where it held `before`.
    pub fn moved(&mut self, who: &Option<String>, before: usize, after: usize) {
        if before == after {
            return;
        }
        if before > 0 {
            self.0.remove(&(before, who.clone()));
        }
        if after > 0 {
            self.0.insert((after, who.clone()));
        }
    }

    /// The callers holding the most first.
    pub fn most(&self) -> impl Iterator<Item = &Option<String>> {
        self.0.iter().rev().map(|(_, who)| who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_holding_the_most_comes_first_and_one_holding_nothing_not_at_all() {
        let mut ranking = Ranking::default();
        let (a, b) = (Some("a".to_owned()), Some("b".to_owned()));
        ranking.moved(&a, 0, 3);
        ranking.moved(&b, 0, 5);
        assert_eq!(ranking.most().collect::<Vec<_>>(), [&b, &a]);
        ranking.moved(&b, 5, 1);
        ranking.moved(&a, 3, 3);
        assert_eq!(ranking.most().collect::<Vec<_>>(), [&a, &b]);
        ranking.moved(&a, 3, 0);
        assert_eq!(ranking.most().collect::<Vec<_>>(), [&b]);
    }
}

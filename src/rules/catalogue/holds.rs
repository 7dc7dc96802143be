//! What a windowed cross-connection rule (S002, S003, R004) still needs of
//! finished connections: a count per connection id of the things it keeps
//! that refer to it. The earliest id held is how far back the rule's
//! window reaches ([`crate::rules::api`]'s `holds`): connections before it
//! can be let go.

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Holds(BTreeMap<u64, u32>);

impl Holds {
    /// One more thing refers to connection `id`.
    pub fn hold(&mut self, id: u64) {
        let n = self.0.entry(id).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// One thing fewer refers to `id`; at none, it is no longer held.
    pub fn release(&mut self, id: u64) {
        if let Some(n) = self.0.get_mut(&id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.0.remove(&id);
            }
        }
    }

    /// The earliest connection id still held.
    pub fn earliest(&self) -> Option<u64> {
        self.0.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_held_until_each_hold_is_released() {
        let mut h = Holds::default();
        h.hold(7);
        h.hold(7);
        h.hold(9);
        assert_eq!(h.earliest(), Some(7));
        h.release(7);
        assert_eq!(h.earliest(), Some(7));
        h.release(7);
        assert_eq!(h.earliest(), Some(9));
        h.release(9);
        h.release(9);
        assert_eq!(h.earliest(), None);
    }
}

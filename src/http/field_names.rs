//! Which header fields a message carried, by name, interned into a few
//! bits and hashes ([`FieldNames`]): C005 and C007 ask whether a message
//! had a field that a Connection header named, long after the head itself
//! was dropped.

/// Field names outside the known ones remembered per message.
const MAX_OTHER_FIELD_NAMES: usize = 16;

/// The field names common enough to get one bit each in [`FieldNames`]
/// (these and [`OTHER_KNOWN_FIELDS`], 64 in all): most messages carry only
/// these, so recording which fields a message had usually costs one hash per
/// field and no allocation.
///
/// These are the standard end-to-end fields whose loss at a proxy changes a
/// message's meaning, framing, routing, credentials or caching: what a
/// Connection header must not name, since every proxy strips what it names
/// (RFC 9110 §7.6.1). `content-length` is one on purpose (stripping it
/// breaks framing); `transfer-encoding` is not, being hop-by-hop already.
const END_TO_END_FIELDS: [&str; 48] = [
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "content-language",
    "content-location",
    "content-range",
    "content-disposition",
    "authorization",
    "cookie",
    "set-cookie",
    "www-authenticate",
    "date",
    "etag",
    "last-modified",
    "expires",
    "cache-control",
    "pragma",
    "age",
    "vary",
    "via",
    "location",
    "referer",
    "origin",
    "user-agent",
    "server",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "accept-ranges",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "expect",
    "max-forwards",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "allow",
    "retry-after",
    "link",
    "strict-transport-security",
    "access-control-allow-origin",
];

/// The other known field names: the hop-by-hop ones, and common end-to-end
/// ones whose loss changes nothing a message means.
const OTHER_KNOWN_FIELDS: [&str; 16] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "x-requested-with",
    "x-content-type-options",
    "x-frame-options",
    "dnt",
    "upgrade-insecure-requests",
    "x-powered-by",
    "alt-svc",
];

/// Multiplier of the name hash (the golden ratio in 64 bits, as FxHash).
const HASH_K: u64 = 0x9e37_79b9_7f4a_7c15;
/// Sets bit 5 of every byte: folds ASCII letters to lowercase. It also pairs
/// a few non-letters (`^` with `~`), which only ever merges two names into
/// one hash, and field names are compared by hash anyway.
const FOLD: u64 = 0x2020_2020_2020_2020;

const fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ (word | FOLD)).wrapping_mul(HASH_K)
}

const fn word4(b: &[u8; 4]) -> u64 {
    u32::from_le_bytes(*b) as u64
}

/// A 32-bit hash of the name, case-insensitive, eight bytes per step with
/// no per-byte loop and no variable-length copy: it runs for every field of
/// every message, so it must cost a few instructions per field. 32 bits make
/// a collision between two names of one message (about 20 of them) a
/// one-in-ten-million event. `const` so the table of known names is built
/// at compile time with the very same function.
const fn name_hash(name: &[u8]) -> u32 {
    let mut h = (name.len() as u64).wrapping_mul(HASH_K);
    let mut rest = name;
    while let Some((w, tail)) = rest.split_first_chunk::<8>() {
        h = mix(h, u64::from_le_bytes(*w));
        rest = tail;
    }
    if !rest.is_empty() {
        // The last bytes: an overlapping word when the name is long enough,
        // else two overlapping halves or single bytes (the length, mixed in
        // first, tells the overlaps apart).
        let tail = if let Some(w) = name.last_chunk::<8>() {
            u64::from_le_bytes(*w)
        } else if let (Some(lo), Some(hi)) = (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
            word4(lo) | (word4(hi) << 32)
        } else {
            match rest {
                [a] => *a as u64,
                [a, b] => *a as u64 | ((*b as u64) << 8),
                [a, b, c] => *a as u64 | ((*b as u64) << 8) | ((*c as u64) << 16),
                _ => 0,
            }
        };
        h = mix(h, tail);
    }
    ((h ^ (h >> 29)).wrapping_mul(HASH_K) >> 32) as u32
}

/// Slots of the known-name table: four times the names, so that a lookup
/// (known name or not) usually ends at its first or second slot.
const KNOWN_SLOTS: usize = 256;
/// An empty slot's bit.
const NO_BIT: u8 = u8::MAX;

/// Open-addressing table of `(hash, bit)` for the known names, built at
/// compile time.
static KNOWN_TABLE: [(u32, u8); KNOWN_SLOTS] = known_table();

const fn known_table() -> [(u32, u8); KNOWN_SLOTS] {
    let t = [(0u32, NO_BIT); KNOWN_SLOTS];
    let (t, bit) = add_known(t, &END_TO_END_FIELDS, 0);
    let (t, _) = add_known(t, &OTHER_KNOWN_FIELDS, bit);
    t
}

/// Adds `names` to the table from bit `bit` on; returns the next bit.
const fn add_known(
    mut t: [(u32, u8); KNOWN_SLOTS],
    mut names: &[&str],
    mut bit: u8,
) -> ([(u32, u8); KNOWN_SLOTS], u8) {
    while let [name, rest @ ..] = names {
        let h = name_hash(name.as_bytes());
        let mut slot = h as usize % KNOWN_SLOTS;
        // Linear probing to the first empty slot; with four slots a name
        // there always is one.
        while let Some((_, [entry, ..])) = t.split_at_mut_checked(slot) {
            if entry.1 == NO_BIT {
                *entry = (h, bit);
                break;
            }
            slot = slot.wrapping_add(1) % KNOWN_SLOTS;
        }
        bit = bit.wrapping_add(1);
        names = rest;
    }
    (t, bit)
}

/// Whether `name` (lowercase) is an end-to-end field whose loss at a proxy
/// changes the message ([`END_TO_END_FIELDS`], and every CORS field
/// `access-control-*`): a Connection header must not name it.
pub fn is_end_to_end_field(name: &str) -> bool {
    END_TO_END_FIELDS.contains(&name) || name.starts_with("access-control-")
}

/// The bit of [`FieldNames::known`] for `bit` (below 64: there are 64
/// known names; anything else would set no bit).
fn known_mask(bit: u8) -> u64 {
    1u64.checked_shl(u32::from(bit)).unwrap_or(0)
}

/// The bit of a known name's hash, if it is one.
fn known_bit(h: u32) -> Option<u8> {
    let mut slot = h as usize % KNOWN_SLOTS;
    for _ in 0..KNOWN_SLOTS {
        let &(k, bit) = KNOWN_TABLE.get(slot)?;
        if bit == NO_BIT {
            return None;
        }
        if k == h {
            return Some(bit);
        }
        slot = slot.wrapping_add(1) % KNOWN_SLOTS;
    }
    None
}

/// Which header fields a message carried, by name: what C007 needs to tell
/// that a proxy forwarded a field the incoming Connection header named (say
/// `X-Debug-Hop`).
///
/// Bounded and cheap by design: one bit per known name, and the
/// 32-bit hashes of at most 16 other distinct names, in one allocation made
/// only for messages that have such names; names beyond that are counted,
/// so that a caller can tell "absent" from "not recorded".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldNames {
    known: u64,
    /// Boxed: many messages have none, and every message pays the size.
    others: Option<Box<OtherFieldNames>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct OtherFieldNames {
    hashes: [u32; MAX_OTHER_FIELD_NAMES],
    len: usize,
    dropped: u32,
}

impl OtherFieldNames {
    fn hashes(&self) -> &[u32] {
        self.hashes.get(..self.len).unwrap_or_default()
    }
}

impl FieldNames {
    pub(super) fn insert(&mut self, name: &[u8]) {
        let h = name_hash(name);
        if let Some(bit) = known_bit(h) {
            self.known |= known_mask(bit);
            return;
        }
        let others = self.others.get_or_insert_with(Box::default);
        if others.hashes().contains(&h) {
            return;
        }
        match others.hashes.get_mut(others.len) {
            Some(slot) => {
                *slot = h;
                others.len = others.len.saturating_add(1);
            }
            None => others.dropped = others.dropped.saturating_add(1),
        }
    }

    /// Whether the message carried a field called `name` (any case).
    /// `false` may also mean "not recorded" when [`FieldNames::is_complete`]
    /// is false.
    pub fn contains(&self, name: &str) -> bool {
        let h = name_hash(name.as_bytes());
        match known_bit(h) {
            Some(bit) => self.known & known_mask(bit) != 0,
            None => self
                .others
                .as_ref()
                .is_some_and(|o| o.hashes().contains(&h)),
        }
    }

    /// Every distinct name was recorded (no more than 16 uncommon ones).
    pub fn is_complete(&self) -> bool {
        self.others.as_ref().is_none_or(|o| o.dropped == 0)
    }

    /// Distinct names recorded.
    pub fn len(&self) -> usize {
        let others = self.others.as_ref().map_or(0, |o| o.hashes().len());
        (self.known.count_ones() as usize).saturating_add(others)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> FieldNames {
        let mut n = FieldNames::default();
        for name in list {
            n.insert(name.as_bytes());
        }
        n
    }

    #[test]
    fn known_field_names_have_distinct_hashes_and_one_bit_each() {
        let known = || END_TO_END_FIELDS.iter().chain(&OTHER_KNOWN_FIELDS);
        let mut hashes: Vec<u32> = known().map(|n| name_hash(n.as_bytes())).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 64, "a collision among the known names");
        let mut bits: Vec<u8> = known()
            .filter_map(|n| known_bit(name_hash(n.as_bytes())))
            .collect();
        bits.sort_unstable();
        assert_eq!(bits, (0..64).collect::<Vec<u8>>());
    }

    #[test]
    fn end_to_end_fields_are_the_listed_and_the_cors_ones() {
        assert!(is_end_to_end_field("authorization") && is_end_to_end_field("content-length"));
        assert!(is_end_to_end_field("access-control-max-age"));
        assert!(!is_end_to_end_field("te") && !is_end_to_end_field("proxy-authorization"));
        assert!(!is_end_to_end_field("x-debug-hop") && !is_end_to_end_field("Host"));
    }

    #[test]
    fn the_name_hash_folds_case_and_tells_lengths_and_tails_apart() {
        let names = [
            "",
            "a",
            "te",
            "via",
            "host",
            "x-abc",
            "x-abcd",
            "x-abcde",
            "abcdefgh",
            "abcdefghi",
            "X-Debug-Hop",
            "access-control-allow-origin",
        ];
        let mut seen: Vec<u32> = Vec::new();
        for name in names {
            let h = name_hash(name.as_bytes());
            assert_eq!(h, name_hash(name.to_ascii_uppercase().as_bytes()), "{name}");
            assert!(!seen.contains(&h), "{name} collides");
            seen.push(h);
        }
        // Same bytes in the overlapping tail, different names.
        assert_ne!(name_hash(b"x-forwarded-fo"), name_hash(b"x-forwarded-for"));
        assert_ne!(name_hash(b"abcdefghij"), name_hash(b"abcdefgh-ij"));
        assert_ne!(name_hash(b"x-a"), name_hash(b"x-b"));
    }

    #[test]
    fn field_names_record_known_and_other_names_case_insensitively() {
        let n = &names(&["Host", "X-Debug-Hop", "KEEP-ALIVE", "x-debug-hop"]);
        assert!(n.contains("host") && n.contains("Keep-Alive") && n.contains("X-DEBUG-HOP"));
        assert!(!n.contains("cookie") && !n.contains("x-debug") && !n.contains("connection"));
        assert_eq!(n.len(), 3, "a repeated name counts once");
        assert!(n.is_complete());
        assert!(names(&[]).is_empty());
    }

    #[test]
    fn field_names_beyond_the_cap_are_counted_not_kept() {
        let custom: Vec<String> = (0..20).map(|i| format!("X-Custom-{i}")).collect();
        let custom: Vec<&str> = custom.iter().map(String::as_str).collect();
        let n = names(&custom);
        assert_eq!(n.len(), MAX_OTHER_FIELD_NAMES);
        assert!(!n.is_complete());
        assert!(n.contains("x-custom-15"));
        assert!(!n.contains("x-custom-16"), "not recorded");
    }
}

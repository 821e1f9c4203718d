//! Interned strings: the hashtags and language codes the graph keeps its state by.
//!
//! A hashtag passes through the graph many times over: into a record per window length it is
//! counted in, through an exchange, into a hash map of tallies, into the rows of the rankings it
//! is touched in. As a `String` every one of those steps was an allocation, a copy and a hash of
//! its bytes. A [`Symbol`] is the bytes' hash, computed once, beside a shared pointer to the bytes:
//! cloning one is a reference count, hashing one writes one integer, and two symbols are told
//! apart by their hashes without reading their bytes.
//!
//! Symbols need no coordination between workers or processes:
//!
//! * A symbol's hash is a fixed function of its bytes (unseeded FxHash), so every worker of every
//!   process of a cluster running the same build routes and buckets a hashtag alike.
//! * Interning is only a cache. Each thread keeps a table of the symbols it made, so that one
//!   name's many occurrences share one allocation; a symbol that arrives from another process is
//!   interned again where it is deserialized.
//! * Equality and order are the bytes' own, as for the `String` a symbol replaces; hashes and
//!   pointers only decide quickly what the bytes would. Two names whose hashes collide are still
//!   two keys: the collision costs a comparison of their bytes, never a merged count. The table
//!   keeps the first of them and hands out the second uninterned.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string: its bytes' hash, and the bytes behind a reference count (see the module
/// doc). It reads as a `str` and compares as one.
///
/// ```
/// use trendflow_dataflows::symbol::Symbol;
///
/// let (rust, again) = (Symbol::new("rust"), Symbol::new(&"RUST".to_lowercase()));
/// assert_eq!(rust, again);
/// assert!(Symbol::new("go") < rust, "ordered by bytes");
/// assert_eq!(rust.len(), 4);
/// ```
#[derive(Clone)]
pub struct Symbol {
    hash: u64,
    name: Arc<str>,
}

impl Symbol {
    /// The symbol of `name`, shared with earlier symbols of the same name made on this thread.
    pub fn new(name: &str) -> Self {
        let hash = hash_of(name);
        TABLE.with(|table| table.borrow_mut().intern(hash, name))
    }

    /// The string itself.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// The fixed hash every process computes for a name.
fn hash_of(name: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(name.as_bytes());
    hasher.finish()
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// One thread's interned names, by hash.
#[derive(Default)]
struct Table {
    names: FxHashMap<u64, Arc<str>>,
    /// How many names the table may hold before it forgets those nobody else holds any more.
    sweep_at: usize,
}

impl Table {
    /// The fewest names a sweep waits for: a stream's live hashtags number in the tens of
    /// thousands, and a sweep walks them all.
    const MIN_SWEEP: usize = 1 << 16;

    fn intern(&mut self, hash: u64, name: &str) -> Symbol {
        if let Some(interned) = self.names.get(&hash) {
            let name = match interned.as_ref() == name {
                true => interned.clone(),
                false => Arc::from(name),
            };
            return Symbol { hash, name };
        }
        if self.names.len() >= self.sweep_at {
            // A long stream sees ever new hashtags: keep only those still in use, so the table
            // holds at most about twice the names the graph's windows hold.
            self.names.retain(|_, name| Arc::strong_count(name) > 1);
            self.sweep_at = (self.names.len() * 2).max(Self::MIN_SWEEP);
        }
        let interned: Arc<str> = Arc::from(name);
        self.names.insert(hash, interned.clone());
        Symbol { hash, name: interned }
    }
}

impl Deref for Symbol {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl From<&str> for Symbol {
    fn from(name: &str) -> Self {
        Symbol::new(name)
    }
}

impl From<String> for Symbol {
    fn from(name: String) -> Self {
        Symbol::new(&name)
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.name, &other.name) || self.name == other.name)
    }
}

impl Eq for Symbol {}

impl PartialEq<str> for Symbol {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Symbol {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Symbol {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// Consistent with equality: equal bytes have equal hashes.
impl Hash for Symbol {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The bytes' order, as `str` has it: a ranking's ties fall as they would between strings.
impl Ord for Symbol {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.name, &other.name) {
            return Ordering::Equal;
        }
        self.name.as_bytes().cmp(other.name.as_bytes())
    }
}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// A symbol is written as its string, so rows and records look the same to every reader.
impl Serialize for Symbol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// Read back as its string, and interned on the reading thread.
impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Symbol::new(&name))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_thread_shares_one_allocation_per_name() {
        let (first, second) = (Symbol::new("ida"), Symbol::new("ida"));
        assert!(Arc::ptr_eq(&first.name, &second.name));
    }

    #[test]
    fn symbols_from_other_threads_are_equal_and_hash_alike() {
        let here = Symbol::new("hurricaneida");
        let there = std::thread::spawn(|| Symbol::new("hurricaneida")).join().unwrap();
        assert!(!Arc::ptr_eq(&here.name, &there.name));
        assert_eq!(here, there);
        assert_eq!(here.cmp(&there), Ordering::Equal);
        assert_eq!(here.hash, there.hash);
    }

    /// Names whose hashes collide stay apart: equality and order read the bytes.
    #[test]
    fn a_hash_collision_merges_nothing() {
        let mut table = Table::default();
        let first = table.intern(7, "first");
        let second = table.intern(7, "second");
        assert_ne!(first, second);
        assert_eq!(first.cmp(&second), Ordering::Less);
        assert_eq!(table.intern(7, "first"), first);
        assert_eq!(table.intern(7, "second").as_str(), "second");
    }

    #[test]
    fn the_table_forgets_names_nobody_holds() {
        let mut table = Table::default();
        let kept = table.intern(0, "kept");
        for hash in 1..=Table::MIN_SWEEP as u64 {
            table.intern(hash, &format!("dropped{hash}"));
        }
        assert_eq!(table.names.len(), 2, "only `kept` and the name that forced the sweep remain");
        assert!(Arc::ptr_eq(&table.intern(0, "kept").name, &kept.name));
    }

    #[test]
    fn a_symbol_travels_as_its_string_and_is_interned_where_it_is_read() {
        let json = serde_json::to_string(&Symbol::new("東京")).unwrap();
        assert_eq!(json, "\"東京\"");
        let read: Symbol = serde_json::from_str(&json).unwrap();
        assert!(Arc::ptr_eq(&read.name, &Symbol::new("東京").name));
    }

    proptest! {
        /// Symbols order, compare and hash as the strings they hold.
        #[test]
        fn symbols_order_as_their_strings(a in "\\PC{0,6}", b in "\\PC{0,6}") {
            let (x, y) = (Symbol::new(&a), Symbol::new(&b));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x == y, a == b);
            if a == b {
                prop_assert_eq!(x.hash, y.hash);
            }
        }
    }
}

//! The live sessions of one router, by id: what every transport request of
//! every generation looks its session up in (Engine.IO connections, 0.6 and
//! protocol-1 sessions each have a registry of their own).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::DisconnectReason;
use crate::context::ServerContext;

/// A session a [`Registry`] lists.
pub(crate) trait Listed: Send + Sync + 'static {
    /// Its id, the key it is listed under.
    fn id(&self) -> &str;
    /// Asks it to end.
    fn close(&self, reason: DisconnectReason);
}

/// A table keyed by session id (or by a short name few enough per table
/// that no choice of names can slow it down).
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<SidHasher>>;

/// Sessions by id.
pub(crate) struct Registry<S> {
    inner: Arc<Mutex<IdMap<Box<str>, Arc<S>>>>,
    /// Whether a server's shutdown closes these sessions already.
    watched: Arc<OnceLock<()>>,
}

impl<S> Clone for Registry<S> {
    fn clone(&self) -> Self {
        Registry {
            inner: Arc::clone(&self.inner),
            watched: Arc::clone(&self.watched),
        }
    }
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Registry {
            inner: Arc::default(),
            watched: Arc::default(),
        }
    }
}

impl<S: Listed> Registry<S> {
    fn map(&self) -> MutexGuard<'_, IdMap<Box<str>, Arc<S>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session `id`, live or finishing.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<S>> {
        self.map().get(id).cloned()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.map().contains_key(id)
    }

    /// Lists a session unless `max` are live already.
    pub(crate) fn insert_below(&self, session: Arc<S>, max: Option<usize>) -> bool {
        let mut map = self.map();
        if max.is_some_and(|max| map.len() >= max) {
            return false;
        }
        map.insert(session.id().into(), session);
        true
    }

    pub(crate) fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }

    /// Ties the sessions to the server's shutdown (once per registry).
    pub(crate) fn watch(&self, context: &ServerContext) {
        context.hooks.add_once(&self.watched, || {
            let registry = self.clone();
            move || registry.close_all(DisconnectReason::ServerShuttingDown)
        });
    }

    /// Asks every session to end.
    pub(crate) fn close_all(&self, reason: DisconnectReason) {
        let sessions: Vec<Arc<S>> = self.map().values().cloned().collect();
        for session in sessions {
            session.close(reason);
        }
    }
}

/// Hashes session ids, which need no keyed hash: each carries 120 or more
/// random bits from the CSPRNG, so the ids in a table are spread already,
/// and an id a client makes up is one lookup, unable to make the stored
/// ones collide. Every transport request looks its session up; SipHash
/// costs more than the rest of the lookup.
#[derive(Default)]
pub(crate) struct SidHasher(u64);

impl std::hash::Hasher for SidHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Whole words read as words, the tail byte by byte (copying a
        // length unknown to the compiler would be a `memcpy` call).
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let word = tail
                .iter()
                .rev()
                .fold(0u64, |word, &byte| (word << 8) | u64::from(byte));
            self.mix(word);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

impl SidHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Probe {
        id: String,
        closed: AtomicUsize,
    }

    impl Listed for Probe {
        fn id(&self) -> &str {
            &self.id
        }
        fn close(&self, _reason: DisconnectReason) {
            self.closed.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probe(id: &str) -> Arc<Probe> {
        Arc::new(Probe {
            id: id.to_owned(),
            closed: AtomicUsize::new(0),
        })
    }

    #[test]
    fn lists_finds_limits_and_closes_sessions() {
        let registry = Registry::default();
        let (a, b) = (probe("a"), probe("b"));
        assert!(registry.insert_below(Arc::clone(&a), Some(1)));
        assert!(!registry.insert_below(Arc::clone(&b), Some(1)));
        assert!(registry.insert_below(Arc::clone(&b), None));
        assert!(registry.contains("a") && !registry.contains("c"));
        assert!(Arc::ptr_eq(&registry.get("b").unwrap(), &b));
        registry.close_all(DisconnectReason::ServerShuttingDown);
        assert_eq!(a.closed.load(Ordering::SeqCst), 1);
        assert_eq!(b.closed.load(Ordering::SeqCst), 1);
        registry.remove("a");
        assert_eq!(registry.len(), 1);
        assert!(registry.get("a").is_none());
    }

    #[test]
    fn every_byte_of_an_id_moves_its_hash() {
        use std::hash::BuildHasher;
        let hasher = BuildHasherDefault::<SidHasher>::default();
        // An Engine.IO sid (20 bytes: two words and a tail of four) and a
        // 0.6 or protocol-1 id (22).
        for id in ["Hx3_kQ9-zL0aB7cD1eF2", "k2J9dQ0xZ8vB7nM6aS5dF4"] {
            let hash = hasher.hash_one(id);
            for at in 0..id.len() {
                let mut other = id.as_bytes().to_vec();
                other[at] = if other[at] == b'a' { b'b' } else { b'a' };
                let other = String::from_utf8(other).unwrap();
                assert_ne!(hasher.hash_one(&*other), hash, "byte {at} of {id}");
            }
        }
    }
}

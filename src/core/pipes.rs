//! The pipes a socket owns, in a slab: patterns refer to them by key. Keys are reused, so an
//! event for a key is a hint to look at the pipe, never proof of anything.

use super::pipe::PipeEnd;
use std::sync::Arc;

pub struct Slot {
    pub pipe: PipeEnd,
    /// The endpoint (as given to bind/connect) the pipe belongs to, for unbind/disconnect.
    pub endpoint: Arc<str>,
}

#[derive(Default)]
pub struct Pipes {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Pipes a pattern found closed and drained; the socket removes them after the call.
    dead: Vec<usize>,
}

impl Pipes {
    pub fn insert(&mut self, pipe: PipeEnd, endpoint: Arc<str>) -> usize {
        let slot = Some(Slot { pipe, endpoint });
        match self.free.pop() {
            Some(k) => {
                self.slots[k] = slot;
                k
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        }
    }

    pub fn remove(&mut self, key: usize) -> Option<Slot> {
        let s = self.slots.get_mut(key)?.take();
        if s.is_some() {
            self.free.push(key);
        }
        s
    }

    #[inline]
    pub fn get(&self, key: usize) -> Option<&PipeEnd> {
        self.slots.get(key)?.as_ref().map(|s| &s.pipe)
    }

    #[inline]
    pub fn get_mut(&mut self, key: usize) -> Option<&mut PipeEnd> {
        self.slots.get_mut(key)?.as_mut().map(|s| &mut s.pipe)
    }

    pub fn endpoint(&self, key: usize) -> Option<&Arc<str>> {
        self.slots.get(key)?.as_ref().map(|s| &s.endpoint)
    }

    pub fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(k, s)| s.as_ref().map(|_| k))
    }

    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks a pipe for removal once the current pattern call returns.
    pub fn mark_dead(&mut self, key: usize) {
        if !self.dead.contains(&key) {
            self.dead.push(key);
        }
    }

    pub fn take_dead(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.dead)
    }

    pub fn has_dead(&self) -> bool {
        !self.dead.is_empty()
    }
}

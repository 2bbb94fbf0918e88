//! Fair queueing: receive whole messages round-robin from the pipes that have input.
//! Pipes found empty leave the active set until their owner is told they are readable.

use crate::core::msg::{Msg, ROUTING_ID};
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct FairQueue {
    active: Vec<usize>,
    current: usize,
    /// The pipe a multipart message is being read from.
    in_msg: Option<usize>,
}

impl FairQueue {
    pub fn attach(&mut self, key: usize) {
        if !self.active.contains(&key) {
            self.active.push(key);
        }
    }

    pub fn activated(&mut self, key: usize) {
        self.attach(key)
    }

    pub fn terminated(&mut self, key: usize) {
        if let Some(i) = self.active.iter().position(|&k| k == key) {
            self.active.swap_remove(i);
            if self.current >= self.active.len() {
                self.current = 0;
            }
        }
        if self.in_msg == Some(key) {
            self.in_msg = None;
        }
    }

    /// Drops the remaining frames of the message being read.
    pub fn skip_rest(&mut self, pipes: &mut Pipes) {
        if let Some(key) = self.in_msg.take() {
            if let Some(p) = pipes.get_mut(key) {
                p.skip_rest_of_message();
            }
        }
    }

    /// The next frame and the pipe it came from.
    pub fn recv(&mut self, pipes: &mut Pipes) -> Option<(Msg, usize)> {
        if let Some(key) = self.in_msg {
            if let Some(m) = pipes.get_mut(key).and_then(|p| p.read()) {
                if !m.more() {
                    self.in_msg = None;
                    self.current += 1;
                }
                return Some((m, key));
            }
            self.in_msg = None;
        }
        while !self.active.is_empty() {
            if self.current >= self.active.len() {
                self.current = 0;
            }
            let key = self.active[self.current];
            if let Some(p) = pipes.get_mut(key) {
                if let Some(m) = p.read() {
                    if m.flags() & ROUTING_ID != 0 && !m.more() {
                        // A peer's routing id, for sockets that route by id; skip it.
                        continue;
                    }
                    if m.more() {
                        self.in_msg = Some(key);
                    } else {
                        self.current += 1;
                    }
                    return Some((m, key));
                }
                if p.is_drained_and_closed() {
                    pipes.mark_dead(key);
                }
            }
            self.active.swap_remove(self.current);
        }
        None
    }

    pub fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        if self.in_msg.is_some() {
            return true;
        }
        while !self.active.is_empty() {
            if self.current >= self.active.len() {
                self.current = 0;
            }
            let key = self.active[self.current];
            if let Some(p) = pipes.get(key) {
                if p.check_read() {
                    return true;
                }
                if p.is_drained_and_closed() {
                    pipes.mark_dead(key);
                }
            }
            self.active.swap_remove(self.current);
        }
        false
    }
}

//! STREAM: raw tcp peers. Every connection gets a routing id; a received chunk arrives as
//! [id][bytes], and [id][bytes] writes bytes to that peer ([id][empty] closes it). With
//! ZMQ_STREAM_NOTIFY (default on) connects and disconnects are announced as [id][empty].

use super::fq::FairQueue;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, MORE, ROUTING_ID};
use crate::core::options::bool_arg;
use crate::core::pipes::Pipes;
use std::collections::{HashMap, VecDeque};

pub const ZMQ_STREAM_NOTIFY: i32 = 73;

pub struct Stream {
    fq: FairQueue,
    by_id: HashMap<Vec<u8>, usize>,
    ids: HashMap<usize, Vec<u8>>,
    assigned: HashMap<usize, Vec<u8>>,
    /// Pipes whose first message (the session's routing-id marker) has not been read yet.
    anonymous: Vec<usize>,
    next_id: u32,
    /// Connect/disconnect notifications waiting to be received (their routing ids).
    notices: VecDeque<Vec<u8>>,
    prefetched: Option<Msg>,
    /// After an id frame: the pipe the data frame goes to (None: unknown peer, dropped).
    out: Option<Option<usize>>,
    notify: bool,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            assigned: HashMap::new(),
            anonymous: Vec::new(),
            next_id: 0,
            notices: VecDeque::new(),
            prefetched: None,
            out: None,
            notify: true,
        }
    }
}

impl Stream {
    fn identify(&mut self, pipes: &mut Pipes, key: usize) -> bool {
        let Some(p) = pipes.get_mut(key) else {
            return false;
        };
        match p.read() {
            Some(m) if m.flags() & ROUTING_ID != 0 => {}
            Some(_) | None => return false,
        }
        let id = match self.assigned.remove(&key) {
            Some(id) => id,
            None => super::generate_routing_id(&mut self.next_id, &self.by_id),
        };
        if self.by_id.contains_key(&id) {
            pipes.mark_dead(key);
            return true;
        }
        self.by_id.insert(id.clone(), key);
        self.ids.insert(key, id.clone());
        self.fq.attach(key);
        if self.notify {
            self.notices.push_back(id);
        }
        true
    }
}

impl Pattern for Stream {
    fn assign_routing_id(&mut self, key: usize, id: Vec<u8>) {
        self.assigned.insert(key, id);
    }

    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        if !self.identify(pipes, key) {
            self.anonymous.push(key);
        }
    }

    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        self.anonymous.retain(|&k| k != key);
        self.assigned.remove(&key);
        self.fq.terminated(key);
        if let Some(id) = self.ids.remove(&key) {
            self.by_id.remove(&id);
            if self.notify {
                self.notices.push_back(id);
            }
        }
        if self.out == Some(Some(key)) {
            self.out = Some(None);
        }
    }

    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        if let Some(i) = self.anonymous.iter().position(|&k| k == key) {
            if self.identify(pipes, key) {
                self.anonymous.swap_remove(i);
            }
        } else {
            self.fq.activated(key);
        }
    }

    fn write_activated(&mut self, _: &mut Pipes, _: usize) {}

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        match self.out {
            None => {
                if !msg.more() {
                    return Err(Error::EINVAL);
                }
                match self.by_id.get(msg.data()) {
                    Some(&k) => self.out = Some(Some(k)),
                    None => return Err(Error::EHOSTUNREACH),
                }
                msg.clear();
                Ok(())
            }
            Some(target) => {
                self.out = None;
                let mut m = std::mem::take(msg);
                m.reset_flags(MORE);
                if let Some(p) = target.and_then(|k| pipes.get_mut(k)) {
                    if p.check_write() || m.is_empty() {
                        p.write(m);
                    }
                }
                Ok(())
            }
        }
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        if let Some(m) = self.prefetched.take() {
            return Ok(m);
        }
        let (id, body) = if let Some(id) = self.notices.pop_front() {
            (id, Msg::new())
        } else {
            let (m, key) = self.fq.recv(pipes).ok_or(Error::EAGAIN)?;
            (self.ids.get(&key).cloned().unwrap_or_default(), m)
        };
        let mut id_frame = Msg::from_slice(&id);
        id_frame.set_flags(MORE);
        self.prefetched = Some(body);
        Ok(id_frame)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.prefetched.is_some() || !self.notices.is_empty() || self.fq.has_in(pipes)
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        if opt == ZMQ_STREAM_NOTIFY {
            self.notify = bool_arg(val)?;
            return Ok(true);
        }
        Ok(false)
    }
}

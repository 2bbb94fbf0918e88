//! ROUTER: every peer has a routing id (announced by the peer, assigned with
//! ZMQ_CONNECT_ROUTING_ID, or generated). Received messages are prefixed with the sender's id;
//! sent messages are routed by their first frame. Unroutable messages are dropped, or fail
//! with EHOSTUNREACH under ZMQ_ROUTER_MANDATORY.

use super::fq::FairQueue;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, MORE, ROUTING_ID};
use crate::core::options::{
    bool_arg, Options, ZMQ_PROBE_ROUTER, ZMQ_ROUTER_HANDOVER, ZMQ_ROUTER_MANDATORY, ZMQ_ROUTER_RAW,
};
use crate::core::pipes::Pipes;
use std::collections::HashMap;

pub struct Router {
    fq: FairQueue,
    /// routing id -> pipe, and back.
    by_id: HashMap<Vec<u8>, usize>,
    ids: HashMap<usize, Vec<u8>>,
    /// Pipes whose routing id has not arrived yet.
    anonymous: Vec<usize>,
    /// Routing ids given by ZMQ_CONNECT_ROUTING_ID to pipes of a `zmq_connect`.
    assigned: HashMap<usize, Vec<u8>>,
    next_id: u32,
    /// A frame read ahead while its routing id frame was delivered.
    prefetched: Option<Msg>,
    in_recv_msg: bool,
    /// Where the frames of the message being sent go: None before the id frame,
    /// Some(None) when the message is dropped.
    out: Option<Option<usize>>,
    mandatory: bool,
    handover: bool,
    probe: bool,
}

impl Router {
    pub fn new(_opts: &Options) -> Router {
        Router {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            anonymous: Vec::new(),
            assigned: HashMap::new(),
            next_id: rand_seed(),
            prefetched: None,
            in_recv_msg: false,
            out: None,
            mandatory: false,
            handover: false,
            probe: false,
        }
    }

    fn generate_id(&mut self) -> Vec<u8> {
        super::generate_routing_id(&mut self.next_id, &self.by_id)
    }

    /// Reads the routing-id message a new pipe starts with. False if it has not arrived.
    fn identify(&mut self, pipes: &mut Pipes, key: usize) -> bool {
        let Some(p) = pipes.get_mut(key) else {
            return false;
        };
        if !p.check_read() {
            return false;
        }
        let announced = match p.read() {
            Some(m) if m.flags() & ROUTING_ID != 0 => m.data().to_vec(),
            Some(m) => {
                // Every session and inproc peer starts a ROUTER's pipe with the routing id;
                // anything else is a bug upstream: drop it and generate an id.
                if m.more() {
                    p.skip_rest_of_message();
                }
                Vec::new()
            }
            None => return false,
        };
        let id = match self.assigned.remove(&key) {
            Some(id) => id,
            None if announced.is_empty() => self.generate_id(),
            None => announced,
        };
        if let Some(&old) = self.by_id.get(&id) {
            if !self.handover {
                pipes.mark_dead(key);
                return true;
            }
            self.ids.remove(&old);
            self.fq.terminated(old);
            pipes.mark_dead(old);
        }
        self.by_id.insert(id.clone(), key);
        self.ids.insert(key, id);
        self.fq.attach(key);
        if self.probe {
            if let Some(p) = pipes.get_mut(key) {
                p.write(Msg::new());
            }
        }
        true
    }
}

fn rand_seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t ^ std::process::id().rotate_left(16)
}

impl Pattern for Router {
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
        if let Some(id) = self.ids.remove(&key) {
            self.by_id.remove(&id);
        }
        self.fq.terminated(key);
        if self.out == Some(Some(key)) {
            self.out = Some(None);
        }
    }

    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        if let Some(i) = self.anonymous.iter().position(|&k| k == key) {
            if self.identify(pipes, key) {
                self.anonymous.swap_remove(i);
            }
        } else if self.ids.contains_key(&key) {
            self.fq.activated(key);
        }
    }

    fn write_activated(&mut self, _: &mut Pipes, _: usize) {}

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        let more = msg.more();
        match self.out {
            None => {
                // The routing id frame. Without MORE there is nothing to route: ignore it.
                if !more {
                    msg.clear();
                    return Ok(());
                }
                let target = self.by_id.get(msg.data()).copied();
                match target {
                    Some(k) if pipes.get(k).is_some_and(|p| p.check_write()) => {
                        self.out = Some(Some(k));
                    }
                    Some(_) if self.mandatory => return Err(Error::EAGAIN),
                    None if self.mandatory => return Err(Error::EHOSTUNREACH),
                    _ => self.out = Some(None),
                }
                msg.clear();
                Ok(())
            }
            Some(target) => {
                let m = std::mem::take(msg);
                if let Some(p) = target.and_then(|k| pipes.get_mut(k)) {
                    p.write(m);
                }
                if !more {
                    self.out = None;
                }
                Ok(())
            }
        }
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        if let Some(m) = self.prefetched.take() {
            self.in_recv_msg = m.more();
            return Ok(m);
        }
        let (m, key) = self.fq.recv(pipes).ok_or(Error::EAGAIN)?;
        if self.in_recv_msg {
            self.in_recv_msg = m.more();
            return Ok(m);
        }
        // First frame of a message: deliver the sender's routing id before it.
        let id = self.ids.get(&key).map(|v| v.as_slice()).unwrap_or(&[]);
        let mut id_frame = Msg::from_slice(id);
        id_frame.set_flags(MORE);
        if let Some(md) = m.metadata() {
            id_frame.set_metadata(Some(md.clone()));
        }
        self.prefetched = Some(m);
        self.in_recv_msg = true;
        Ok(id_frame)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.prefetched.is_some() || self.in_recv_msg || self.fq.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        if !self.mandatory {
            return true;
        }
        self.ids
            .keys()
            .any(|&k| pipes.get(k).is_some_and(|p| p.check_write()))
    }

    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        match opt {
            ZMQ_ROUTER_MANDATORY => self.mandatory = bool_arg(val)?,
            ZMQ_ROUTER_HANDOVER => self.handover = bool_arg(val)?,
            ZMQ_PROBE_ROUTER => self.probe = bool_arg(val)?,
            ZMQ_ROUTER_RAW => return Err(Error::ENOTSUP),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

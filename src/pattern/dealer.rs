//! DEALER: round-robin out, fair-queued in, no envelopes. ZMQ_PROBE_ROUTER sends an empty
//! message to each new peer.

use super::fq::FairQueue;
use super::lb::LoadBalancer;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::options::{bool_arg, ZMQ_PROBE_ROUTER};
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Dealer {
    pub(crate) lb: LoadBalancer,
    pub(crate) fq: FairQueue,
    probe_router: bool,
}

impl Dealer {
    /// Sends a frame and tells which pipe took it (REQ needs to know).
    pub(crate) fn send_to(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<Option<usize>> {
        self.lb.send_to(pipes, msg)
    }
}

impl Pattern for Dealer {
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        if self.probe_router {
            if let Some(p) = pipes.get_mut(key) {
                p.write(Msg::new());
            }
        }
        self.lb.attach(key);
        self.fq.attach(key);
    }
    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        self.lb.terminated(key);
        self.fq.terminated(key);
    }
    fn read_activated(&mut self, _: &mut Pipes, key: usize) {
        self.fq.activated(key)
    }
    fn write_activated(&mut self, _: &mut Pipes, key: usize) {
        self.lb.activated(key)
    }
    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.lb.send(pipes, msg)
    }
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        self.fq.recv(pipes).map(|(m, _)| m).ok_or(Error::EAGAIN)
    }
    fn recv_into(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.fq
            .recv_into(pipes, msg)
            .map(|_| ())
            .ok_or(Error::EAGAIN)
    }
    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.has_in(pipes)
    }
    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.has_out(pipes)
    }
    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        if opt == ZMQ_PROBE_ROUTER {
            self.probe_router = bool_arg(val)?;
            return Ok(true);
        }
        Ok(false)
    }
}

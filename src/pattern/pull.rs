//! PULL: fair-queued receive from all peers; cannot send.

use super::fq::FairQueue;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Pull {
    fq: FairQueue,
}

impl Pattern for Pull {
    fn attach(&mut self, _: &mut Pipes, key: usize) {
        self.fq.attach(key)
    }
    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        self.fq.terminated(key)
    }
    fn read_activated(&mut self, _: &mut Pipes, key: usize) {
        self.fq.activated(key)
    }
    fn write_activated(&mut self, _: &mut Pipes, _: usize) {}
    fn send(&mut self, _: &mut Pipes, _: &mut Msg) -> Result<()> {
        Err(Error::ENOTSUP)
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
    fn has_out(&mut self, _: &mut Pipes) -> bool {
        false
    }
}

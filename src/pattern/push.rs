//! PUSH: round-robin to peers that have room; cannot receive.

use super::lb::LoadBalancer;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, _: &mut Pipes, key: usize) {
        self.lb.attach(key)
    }
    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        self.lb.terminated(key)
    }
    fn read_activated(&mut self, _: &mut Pipes, _: usize) {}
    fn write_activated(&mut self, _: &mut Pipes, key: usize) {
        self.lb.activated(key)
    }
    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.lb.send(pipes, msg)
    }
    fn recv(&mut self, _: &mut Pipes) -> Result<Msg> {
        Err(Error::ENOTSUP)
    }
    fn has_in(&mut self, _: &mut Pipes) -> bool {
        false
    }
    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.has_out(pipes)
    }
}

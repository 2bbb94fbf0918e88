//! PAIR: one peer, both directions. A second peer is refused.

use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, ROUTING_ID};
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Pair {
    pipe: Option<usize>,
}

impl Pattern for Pair {
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        if self.pipe.is_some() {
            pipes.mark_dead(key);
        } else {
            self.pipe = Some(key);
        }
    }

    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        if self.pipe == Some(key) {
            self.pipe = None;
        }
    }

    fn read_activated(&mut self, _: &mut Pipes, _: usize) {}
    fn write_activated(&mut self, _: &mut Pipes, _: usize) {}

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        let p = self
            .pipe
            .and_then(|k| pipes.get_mut(k))
            .ok_or(Error::EAGAIN)?;
        if !p.check_write() {
            return Err(Error::EAGAIN);
        }
        p.write(std::mem::take(msg));
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        let key = self.pipe.ok_or(Error::EAGAIN)?;
        let p = pipes.get_mut(key).ok_or(Error::EAGAIN)?;
        match p.read() {
            Some(m) if m.flags() & ROUTING_ID != 0 && !m.more() => {
                // An inproc peer's routing id: not for a PAIR.
                self.recv(pipes)
            }
            Some(m) => Ok(m),
            None => {
                if p.is_drained_and_closed() {
                    pipes.mark_dead(key);
                }
                Err(Error::EAGAIN)
            }
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.pipe
            .and_then(|k| pipes.get(k))
            .is_some_and(|p| p.check_read())
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.pipe
            .and_then(|k| pipes.get(k))
            .is_some_and(|p| p.check_write())
    }
}

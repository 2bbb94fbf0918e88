//! Load balancing: send each whole message to the next pipe that has room, round-robin.
//! Pipes at their HWM leave the active set until their owner is told they are writable.

use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct LoadBalancer {
    active: Vec<usize>,
    current: usize,
    /// The pipe the rest of a multipart message goes to; `Some(None)` drops the rest
    /// (its pipe went away mid-message).
    in_msg: Option<Option<usize>>,
}

impl LoadBalancer {
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
        if self.in_msg == Some(Some(key)) {
            self.in_msg = Some(None);
        }
    }

    /// Sends a frame; the message is taken (left empty) on success.
    pub fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.send_to(pipes, msg).map(|_| ())
    }

    /// As `send`, also telling which pipe took the frame (None: dropped, pipe gone mid-message).
    pub fn send_to(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<Option<usize>> {
        let more = msg.more();
        if let Some(target) = self.in_msg {
            if !more {
                self.in_msg = None;
                self.current += 1;
            }
            let m = std::mem::take(msg);
            match target.and_then(|k| pipes.get_mut(k)) {
                Some(p) => p.write(m),
                None => return Ok(None),
            }
            return Ok(target);
        }
        while !self.active.is_empty() {
            if self.current >= self.active.len() {
                self.current = 0;
            }
            let key = self.active[self.current];
            if let Some(p) = pipes.get_mut(key) {
                if p.check_write() {
                    p.write(std::mem::take(msg));
                    if more {
                        self.in_msg = Some(Some(key));
                    } else {
                        self.current += 1;
                    }
                    return Ok(Some(key));
                }
            }
            self.active.swap_remove(self.current);
        }
        Err(Error::EAGAIN)
    }

    pub fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        if self.in_msg.is_some() {
            return true;
        }
        while !self.active.is_empty() {
            if self.current >= self.active.len() {
                self.current = 0;
            }
            let key = self.active[self.current];
            if pipes.get(key).is_some_and(|p| p.check_write()) {
                return true;
            }
            self.active.swap_remove(self.current);
        }
        false
    }
}

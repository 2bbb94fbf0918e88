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
    #[inline]
    pub fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.send_to(pipes, msg).map(|_| ())
    }

    /// As `send`, also telling which pipe took the frame (None: dropped, pipe gone mid-message).
    #[inline(always)]
    pub fn send_to(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<Option<usize>> {
        let more = msg.more();
        if let Some(target) = self.in_msg {
            return Ok(self.send_rest(pipes, msg, target, more));
        }
        loop {
            let n = self.active.len();
            if n == 0 {
                return Err(Error::EAGAIN);
            }
            if self.current >= n {
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
    }

    /// A later frame of a multipart message goes where the first went (or nowhere).
    #[inline(never)]
    fn send_rest(
        &mut self,
        pipes: &mut Pipes,
        msg: &mut Msg,
        target: Option<usize>,
        more: bool,
    ) -> Option<usize> {
        if !more {
            self.in_msg = None;
            self.current += 1;
        }
        let m = std::mem::take(msg);
        match target.and_then(|k| pipes.get_mut(k)) {
            Some(p) => p.write(m),
            None => return None,
        }
        target
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::MORE;
    use crate::core::pipe::{pipe_pair, PipeEnd};

    fn setup(n: usize, hwm: u64) -> (Pipes, LoadBalancer, Vec<PipeEnd>) {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let mut peers = Vec::new();
        for _ in 0..n {
            let (ours, theirs) = pipe_pair(hwm, 0);
            let k = pipes.insert(ours, "test".into());
            lb.attach(k);
            peers.push(theirs);
        }
        (pipes, lb, peers)
    }

    #[test]
    fn round_robin_keeps_multipart_together() {
        let (mut pipes, mut lb, mut peers) = setup(2, 0);
        for i in 0..4u8 {
            let mut a = Msg::from_slice(&[i]);
            a.set_flags(MORE);
            lb.send(&mut pipes, &mut a).unwrap();
            lb.send(&mut pipes, &mut Msg::from_slice(b"tail")).unwrap();
        }
        for (p, expect) in peers.iter_mut().zip([[0u8, 2], [1, 3]]) {
            for e in expect {
                assert_eq!(p.read().unwrap().data(), &[e]);
                assert_eq!(p.read().unwrap().data(), b"tail");
            }
            assert!(p.read().is_none());
        }
    }

    #[test]
    fn full_pipes_are_skipped_then_eagain() {
        let (mut pipes, mut lb, mut peers) = setup(2, 1);
        lb.send(&mut pipes, &mut Msg::from_slice(b"a")).unwrap();
        lb.send(&mut pipes, &mut Msg::from_slice(b"b")).unwrap();
        assert!(!lb.has_out(&mut pipes));
        assert_eq!(
            lb.send(&mut pipes, &mut Msg::from_slice(b"c")),
            Err(Error::EAGAIN)
        );
        peers[1].read().unwrap();
        lb.activated(1);
        assert!(lb.has_out(&mut pipes));
        lb.send(&mut pipes, &mut Msg::from_slice(b"c")).unwrap();
        assert_eq!(peers[1].read().unwrap().data(), b"c");
    }

    #[test]
    fn no_pipes_is_eagain_and_message_kept() {
        let mut pipes = Pipes::default();
        let mut lb = LoadBalancer::default();
        let mut m = Msg::from_slice(b"keep");
        assert_eq!(lb.send(&mut pipes, &mut m), Err(Error::EAGAIN));
        assert_eq!(m.data(), b"keep");
    }
}

//! Fair queueing: receive whole messages round-robin from the pipes that have input.
//! Pipes found empty leave the active set until their owner is told they are readable.

use crate::core::msg::{Msg, MORE, ROUTING_ID};
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
        let mut m = Msg::new();
        let key = self.recv_into(pipes, &mut m)?;
        Some((m, key))
    }

    /// As `recv`, into `out` (its old content dropped, the frame read straight into it);
    /// when there is nothing to receive, `out` is untouched, or empty if a routing id was
    /// skipped.
    #[inline]
    pub fn recv_into(&mut self, pipes: &mut Pipes, out: &mut Msg) -> Option<usize> {
        if let Some(key) = self.in_msg {
            if pipes.get_mut(key).is_some_and(|p| p.read_into(out)) {
                if !out.more() {
                    self.in_msg = None;
                    self.current += 1;
                }
                return Some(key);
            }
            self.in_msg = None;
        }
        loop {
            let n = self.active.len();
            if n == 0 {
                return None;
            }
            if self.current >= n {
                self.current = 0;
            }
            let key = self.active[self.current];
            if let Some(p) = pipes.get_mut(key) {
                if p.read_into(out) {
                    let flags = out.flags();
                    if flags & MORE != 0 {
                        self.in_msg = Some(key);
                    } else if flags & ROUTING_ID != 0 {
                        // A peer's routing id, for sockets that route by id; skip it.
                        out.clear();
                        continue;
                    } else {
                        self.current += 1;
                    }
                    return Some(key);
                }
                if p.is_drained_and_closed() {
                    pipes.mark_dead(key);
                }
            }
            self.active.swap_remove(self.current);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::{pipe_pair, PipeEnd};

    fn setup(n: usize) -> (Pipes, FairQueue, Vec<PipeEnd>) {
        let mut pipes = Pipes::default();
        let mut fq = FairQueue::default();
        let mut peers = Vec::new();
        for _ in 0..n {
            let (ours, theirs) = pipe_pair(0, 0);
            let k = pipes.insert(ours, "test".into());
            fq.attach(k);
            peers.push(theirs);
        }
        (pipes, fq, peers)
    }

    #[test]
    fn takes_turns_and_keeps_multipart_together() {
        let (mut pipes, mut fq, mut peers) = setup(2);
        for (i, p) in peers.iter_mut().enumerate() {
            for j in 0..2u8 {
                let mut head = Msg::from_slice(&[i as u8, j]);
                head.set_flags(MORE);
                p.write(head);
                p.write(Msg::from_slice(b"end"));
            }
        }
        let mut order = Vec::new();
        while let Some((m, k)) = fq.recv(&mut pipes) {
            assert!(m.more());
            let (tail, k2) = fq.recv(&mut pipes).unwrap();
            assert_eq!((tail.data(), k2), (&b"end"[..], k));
            order.push(m.data().to_vec());
        }
        assert_eq!(order, vec![vec![0, 0], vec![1, 0], vec![0, 1], vec![1, 1]]);
        assert!(!fq.has_in(&mut pipes));
    }

    #[test]
    fn routing_id_frames_are_skipped_and_closed_pipes_reported() {
        let (mut pipes, mut fq, mut peers) = setup(1);
        let mut id = Msg::from_slice(b"peer");
        id.set_flags(ROUTING_ID);
        peers[0].write(id);
        peers[0].write(Msg::from_slice(b"data"));
        peers[0].close();
        assert_eq!(fq.recv(&mut pipes).unwrap().0.data(), b"data");
        assert!(fq.recv(&mut pipes).is_none());
        assert_eq!(pipes.take_dead(), vec![0]);
    }
}

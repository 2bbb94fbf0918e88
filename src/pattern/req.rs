//! REQ: strict request/reply client. Each request is prefixed with an empty delimiter (and,
//! with ZMQ_REQ_CORRELATE, a request id), goes to one peer round-robin, and only that peer's
//! matching reply is delivered. ZMQ_REQ_RELAXED allows a new request before the reply.

use super::dealer::Dealer;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, MORE};
use crate::core::options::{bool_arg, ZMQ_REQ_CORRELATE, ZMQ_REQ_RELAXED};
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Req {
    dealer: Dealer,
    /// A request was sent; the reply is awaited.
    receiving_reply: bool,
    /// The next frame sent starts a request.
    in_request: bool,
    /// The next frame received is inside the reply body.
    in_reply_body: bool,
    reply_pipe: Option<usize>,
    request_id: u32,
    correlate: bool,
    relaxed: bool,
}

impl Req {
    fn send_frame(&mut self, pipes: &mut Pipes, mut m: Msg) -> Result<Option<usize>> {
        self.dealer.send_to(pipes, &mut m)
    }
}

impl Pattern for Req {
    fn lockstep(&self) -> bool {
        true
    }
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        self.dealer.attach(pipes, key)
    }
    fn terminated(&mut self, pipes: &mut Pipes, key: usize) {
        if self.reply_pipe == Some(key) {
            self.reply_pipe = None;
        }
        self.dealer.terminated(pipes, key)
    }
    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.dealer.read_activated(pipes, key)
    }
    fn write_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.dealer.write_activated(pipes, key)
    }

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        if self.receiving_reply && !self.relaxed {
            return Err(Error::EFSM);
        }
        if !self.in_request {
            // Check for a peer first so a failed send changes nothing.
            if !self.dealer.lb.has_out(pipes) {
                return Err(Error::EAGAIN);
            }
            self.receiving_reply = false;
            self.in_reply_body = false;
            if self.correlate {
                self.request_id = self.request_id.wrapping_add(1);
                let mut id = Msg::from_slice(&self.request_id.to_ne_bytes());
                id.set_flags(MORE);
                self.reply_pipe = self.send_frame(pipes, id)?;
                let mut delim = Msg::new();
                delim.set_flags(MORE);
                self.send_frame(pipes, delim)?;
            } else {
                let mut delim = Msg::new();
                delim.set_flags(MORE);
                self.reply_pipe = self.send_frame(pipes, delim)?;
            }
            self.in_request = true;
        }
        let more = msg.more();
        self.dealer.send(pipes, msg)?;
        if !more {
            self.in_request = false;
            self.receiving_reply = true;
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        if !self.receiving_reply {
            return Err(Error::EFSM);
        }
        loop {
            let (m, key) = self.dealer.fq.recv(pipes).ok_or(Error::EAGAIN)?;
            if self.in_reply_body {
                if !m.more() {
                    self.in_reply_body = false;
                    self.receiving_reply = false;
                }
                return Ok(m);
            }
            // Start of a reply: it must come from the peer we asked, carry our request id
            // when correlating, then the empty delimiter. Anything else is dropped whole.
            let mut ok = Some(key) == self.reply_pipe && m.more();
            if ok && self.correlate {
                ok = m.data() == self.request_id.to_ne_bytes();
                if ok {
                    match self.dealer.fq.recv(pipes) {
                        Some((d, _)) if d.more() && d.is_empty() => {}
                        Some((d, _)) => {
                            ok = false;
                            if !d.more() {
                                continue;
                            }
                        }
                        None => continue,
                    }
                }
            } else if ok {
                ok = m.is_empty();
            }
            if !ok {
                if m.more() {
                    self.dealer.fq.skip_rest(pipes);
                }
                continue;
            }
            self.in_reply_body = true;
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.receiving_reply && self.dealer.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        if self.receiving_reply && !self.relaxed {
            return false;
        }
        self.dealer.has_out(pipes)
    }

    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        match opt {
            ZMQ_REQ_CORRELATE => self.correlate = bool_arg(val)?,
            ZMQ_REQ_RELAXED => self.relaxed = bool_arg(val)?,
            _ => return self.dealer.set_option(opt, val),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::{pipe_pair, PipeEnd};

    fn frame(b: &[u8], more: bool) -> Msg {
        let mut m = Msg::from_slice(b);
        m.set_more(more);
        m
    }

    fn setup(n: usize) -> (Pipes, Req, Vec<PipeEnd>) {
        let mut pipes = Pipes::default();
        let mut req = Req::default();
        let mut peers = Vec::new();
        for _ in 0..n {
            let (ours, theirs) = pipe_pair(0, 0);
            let k = pipes.insert(ours, "t".into());
            req.attach(&mut pipes, k);
            peers.push(theirs);
        }
        (pipes, req, peers)
    }

    #[test]
    fn strict_alternation_and_envelope() {
        let (mut pipes, mut req, mut peers) = setup(2);
        assert_eq!(req.recv(&mut pipes).unwrap_err(), Error::EFSM);
        req.send(&mut pipes, &mut frame(b"hello", false)).unwrap();
        assert_eq!(
            req.send(&mut pipes, &mut frame(b"again", false)),
            Err(Error::EFSM)
        );
        let p = &mut peers[0];
        assert!(p.read().unwrap().is_empty());
        assert_eq!(p.read().unwrap().data(), b"hello");
        // A reply from the other peer is not ours: dropped.
        peers[1].write(frame(b"", true));
        peers[1].write(frame(b"intruder", false));
        peers[0].write(frame(b"", true));
        peers[0].write(frame(b"world", false));
        assert_eq!(req.recv(&mut pipes).unwrap().data(), b"world");
        assert!(req.has_out(&mut pipes));
    }

    #[test]
    fn correlate_drops_stale_replies() {
        let (mut pipes, mut req, mut peers) = setup(1);
        req.set_option(ZMQ_REQ_CORRELATE, &1i32.to_ne_bytes())
            .unwrap();
        req.set_option(ZMQ_REQ_RELAXED, &1i32.to_ne_bytes())
            .unwrap();
        req.send(&mut pipes, &mut frame(b"one", false)).unwrap();
        req.send(&mut pipes, &mut frame(b"two", false)).unwrap();
        let p = &mut peers[0];
        let mut ids = Vec::new();
        for _ in 0..2 {
            ids.push(p.read().unwrap().data().to_vec());
            assert!(p.read().unwrap().is_empty());
            p.read().unwrap();
        }
        for (id, body) in [(&ids[0], &b"stale"[..]), (&ids[1], &b"fresh"[..])] {
            p.write(frame(id, true));
            p.write(frame(b"", true));
            p.write(frame(body, false));
        }
        assert_eq!(req.recv(&mut pipes).unwrap().data(), b"fresh");
    }
}

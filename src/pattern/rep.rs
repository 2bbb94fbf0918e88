//! REP: strict request/reply server. The envelope of each request (every frame up to and
//! including the empty delimiter) is kept and put back in front of the reply, which goes to
//! the peer the request came from.

use super::fq::FairQueue;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

#[derive(Default)]
pub struct Rep {
    fq: FairQueue,
    sending_reply: bool,
    in_request_body: bool,
    in_reply: bool,
    envelope: Vec<Msg>,
    reply_pipe: Option<usize>,
}

impl Pattern for Rep {
    fn lockstep(&self) -> bool {
        true
    }
    fn attach(&mut self, _: &mut Pipes, key: usize) {
        self.fq.attach(key)
    }
    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        if self.reply_pipe == Some(key) {
            self.reply_pipe = None;
        }
        self.fq.terminated(key)
    }
    fn read_activated(&mut self, _: &mut Pipes, key: usize) {
        self.fq.activated(key)
    }
    fn write_activated(&mut self, _: &mut Pipes, _: usize) {}

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        if !self.sending_reply {
            return Err(Error::EFSM);
        }
        let more = msg.more();
        let pipe = self.reply_pipe.and_then(|k| pipes.get_mut(k));
        if !self.in_reply {
            // A reply to a peer that is gone or full is dropped, as a ROUTER would.
            if let Some(p) = pipe.filter(|p| p.check_write()) {
                for frame in self.envelope.drain(..) {
                    p.write(frame);
                }
            } else {
                self.reply_pipe = None;
            }
            self.envelope.clear();
            self.in_reply = true;
        }
        let m = std::mem::take(msg);
        if let Some(p) = self.reply_pipe.and_then(|k| pipes.get_mut(k)) {
            p.write(m);
        }
        if !more {
            self.in_reply = false;
            self.sending_reply = false;
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        if self.sending_reply {
            return Err(Error::EFSM);
        }
        loop {
            let (m, key) = self.fq.recv(pipes).ok_or(Error::EAGAIN)?;
            if self.in_request_body {
                if !m.more() {
                    self.in_request_body = false;
                    self.sending_reply = true;
                }
                return Ok(m);
            }
            // Collect the envelope up to the empty delimiter; a request without one is
            // malformed and dropped whole.
            self.envelope.clear();
            let mut frame = m;
            loop {
                if !frame.more() {
                    self.envelope.clear();
                    break;
                }
                let bottom = frame.is_empty();
                self.envelope.push(frame);
                if bottom {
                    self.reply_pipe = Some(key);
                    self.in_request_body = true;
                    break;
                }
                match self.fq.recv(pipes) {
                    Some((f, _)) => frame = f,
                    None => {
                        self.envelope.clear();
                        self.fq.skip_rest(pipes);
                        break;
                    }
                }
            }
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        !self.sending_reply && self.fq.has_in(pipes)
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        self.sending_reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pipe::pipe_pair;

    fn frame(b: &[u8], more: bool) -> Msg {
        let mut m = Msg::from_slice(b);
        m.set_more(more);
        m
    }

    #[test]
    fn reply_carries_the_envelope_back_to_the_sender() {
        let mut pipes = Pipes::default();
        let mut rep = Rep::default();
        let (ours, mut peer) = pipe_pair(0, 0);
        let k = pipes.insert(ours, "t".into());
        rep.attach(&mut pipes, k);
        assert_eq!(
            rep.send(&mut pipes, &mut frame(b"x", false)),
            Err(Error::EFSM)
        );
        // A request without a delimiter is malformed and dropped.
        peer.write(frame(b"junk", false));
        for f in [frame(b"id1", true), frame(b"", true), frame(b"req", false)] {
            peer.write(f);
        }
        assert_eq!(rep.recv(&mut pipes).unwrap().data(), b"req");
        assert_eq!(rep.recv(&mut pipes).unwrap_err(), Error::EFSM);
        rep.send(&mut pipes, &mut frame(b"rep", false)).unwrap();
        let got: Vec<Vec<u8>> = (0..3)
            .map(|_| peer.read().unwrap().data().to_vec())
            .collect();
        assert_eq!(got, vec![b"id1".to_vec(), vec![], b"rep".to_vec()]);
    }
}

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

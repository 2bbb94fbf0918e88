//! Socket types. Each file implements [`Pattern`] for one type from the shared helpers:
//! [`lb::LoadBalancer`] (round-robin out) and [`fq::FairQueue`] (fair-queued in). A pattern
//! sees pipes and messages only; it knows nothing of transports or the wire.

pub mod dealer;
pub mod dist;
pub mod fq;
pub mod lb;
pub mod pair;
pub mod publisher;
pub mod pull;
pub mod push;
pub mod rep;
pub mod req;
pub mod router;
pub mod stream;
pub mod sub;
pub mod trie;
pub mod xpub;
pub mod xsub;

use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::options::Options;
use crate::core::pipes::Pipes;

pub const ZMQ_PAIR: i32 = 0;
pub const ZMQ_PUB: i32 = 1;
pub const ZMQ_SUB: i32 = 2;
pub const ZMQ_REQ: i32 = 3;
pub const ZMQ_REP: i32 = 4;
pub const ZMQ_DEALER: i32 = 5;
pub const ZMQ_ROUTER: i32 = 6;
pub const ZMQ_PULL: i32 = 7;
pub const ZMQ_PUSH: i32 = 8;
pub const ZMQ_XPUB: i32 = 9;
pub const ZMQ_XSUB: i32 = 10;
pub const ZMQ_STREAM: i32 = 11;

/// The socket-type contract (libzmq's `xsend`, `xrecv`, `xhas_in`, ...).
pub trait Pattern: Send {
    /// A new pipe joined the socket.
    fn attach(&mut self, pipes: &mut Pipes, key: usize);
    /// A pipe is about to be removed.
    fn terminated(&mut self, pipes: &mut Pipes, key: usize);
    /// A pipe that was found empty has messages again.
    fn read_activated(&mut self, pipes: &mut Pipes, key: usize);
    /// A pipe that was found full has room again.
    fn write_activated(&mut self, pipes: &mut Pipes, key: usize);
    /// Sends one frame (MORE flag set on all but the last). Takes the message on success.
    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()>;
    /// Receives one frame, or EAGAIN.
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg>;
    /// As `recv`, into `msg` (whose old content is dropped); on failure `msg` is untouched,
    /// or empty where a type dropped frames into it (XSUB). Types on the hot path override it
    /// to move the frame from the pipe straight into place.
    fn recv_into(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        *msg = self.recv(pipes)?;
        Ok(())
    }
    fn has_in(&mut self, pipes: &mut Pipes) -> bool;
    fn has_out(&mut self, pipes: &mut Pipes) -> bool;
    /// The connection behind a pipe was re-established (XSUB resends its subscriptions).
    fn hiccuped(&mut self, _pipes: &mut Pipes, _key: usize) {}
    /// The pipe of a `zmq_connect` made under ZMQ_CONNECT_ROUTING_ID: its peer is known by
    /// this id. Only types that route by id care.
    fn assign_routing_id(&mut self, _key: usize, _id: Vec<u8>) {}
    /// Runs after a successful `set_option`, with the pipes (SUB sends subscriptions now).
    fn option_applied(&mut self, _pipes: &mut Pipes) {}
    /// A type-specific option; `Ok(false)` if this type does not know it.
    fn set_option(&mut self, _opt: i32, _val: &[u8]) -> Result<bool> {
        Ok(false)
    }
    fn get_option(&self, _opt: i32, _out: &mut [u8]) -> Result<Option<usize>> {
        Ok(None)
    }
    /// Sends and receives strictly alternate (REQ, REP): each blocking call waits for the
    /// peer's answer to the last, so there is no stream to batch and a short spin before
    /// sleeping only saves the wake-up.
    fn lockstep(&self) -> bool {
        false
    }
}

/// Creates the pattern of a socket type, or EINVAL for an unknown or unsupported type.
pub fn create(socket_type: i32, opts: &Options) -> Result<Box<dyn Pattern>> {
    Ok(match socket_type {
        ZMQ_PAIR => Box::new(pair::Pair::default()),
        ZMQ_PUSH => Box::new(push::Push::default()),
        ZMQ_PULL => Box::new(pull::Pull::default()),
        ZMQ_DEALER => Box::new(dealer::Dealer::default()),
        ZMQ_REQ => Box::new(req::Req::default()),
        ZMQ_REP => Box::new(rep::Rep::default()),
        ZMQ_ROUTER => Box::new(router::Router::new(opts)),
        ZMQ_STREAM => Box::new(stream::Stream::default()),
        ZMQ_PUB => Box::new(publisher::Pub::default()),
        ZMQ_SUB => Box::new(sub::Sub::default()),
        ZMQ_XPUB => Box::new(xpub::XPub::default()),
        ZMQ_XSUB => Box::new(xsub::XSub::default()),
        _ => return Err(Error::EINVAL),
    })
}

/// The socket type's name in the ZMTP READY command.
pub fn zmtp_name(socket_type: i32) -> &'static str {
    match socket_type {
        ZMQ_PAIR => "PAIR",
        ZMQ_PUB => "PUB",
        ZMQ_SUB => "SUB",
        ZMQ_REQ => "REQ",
        ZMQ_REP => "REP",
        ZMQ_DEALER => "DEALER",
        ZMQ_ROUTER => "ROUTER",
        ZMQ_PULL => "PULL",
        ZMQ_PUSH => "PUSH",
        ZMQ_XPUB => "XPUB",
        ZMQ_XSUB => "XSUB",
        ZMQ_STREAM => "STREAM",
        _ => "UNKNOWN",
    }
}

/// Which directions ZMQ_CONFLATE applies to for a socket type: (what the socket reads, what
/// it sends). libzmq conflates DEALER, PULL, PUSH, PUB and SUB only.
pub fn conflates(socket_type: i32) -> (bool, bool) {
    match socket_type {
        ZMQ_DEALER => (true, true),
        ZMQ_PULL | ZMQ_SUB => (true, false),
        ZMQ_PUSH | ZMQ_PUB => (false, true),
        _ => (false, false),
    }
}

/// A routing id for a peer that did not announce one: a zero byte then a 32-bit counter (as
/// libzmq generates them), skipping any still in use.
pub(crate) fn generate_routing_id(
    counter: &mut u32,
    in_use: &std::collections::HashMap<Vec<u8>, usize>,
) -> Vec<u8> {
    loop {
        *counter = counter.wrapping_add(1);
        let mut id = vec![0u8];
        id.extend_from_slice(&counter.to_be_bytes());
        if !in_use.contains_key(&id) {
            return id;
        }
    }
}

/// Whether the socket wants each new pipe to start with the peer's routing id.
pub fn wants_routing_id(socket_type: i32) -> bool {
    socket_type == ZMQ_ROUTER || socket_type == ZMQ_STREAM
}

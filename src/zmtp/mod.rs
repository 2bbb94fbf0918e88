//! A sans-I/O codec for ZMTP 3.0/3.1 (RFC 23 and 37): bytes in, events and bytes out, no
//! sockets and no clocks. The I/O engine reads into [`Codec::read_buffers`], calls
//! [`Codec::process`], and writes what [`Codec::output_slices`] hands it; everything between —
//! greeting, security handshake, framing, heartbeats, subscriptions — is decided here.

mod command;
mod decoder;
mod encoder;
mod error;
mod greeting;
mod mechanism;
mod socket_type;

use crate::core::msg::{self, Msg};
use decoder::{Decoder, Frame, Input};
use encoder::Encoder;
pub use encoder::Slices;
pub use error::ProtocolError;
use mechanism::{Mechanism, Step};

/// Wire flag: another frame of the same message follows.
const FLAG_MORE: u8 = 1;
/// Wire flag: the size is 8 bytes, not 1.
const FLAG_LONG: u8 = 2;
/// Wire flag: a command frame.
const FLAG_COMMAND: u8 = 4;

/// Frames with a body larger than this are written from the message by reference and, when
/// they arrive in pieces, read straight into their own message.
pub const LARGE_FRAME: usize = 8 * 1024;

/// What the codec needs to know about our socket.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our socket type as ZMTP names it: "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER",
    /// "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "SERVER", "CLIENT", "RADIO", "DISH",
    /// "GATHER", "SCATTER", "PEER", "CHANNEL".
    pub socket_type: &'static str,
    /// ZMQ_ROUTING_ID; sent as the "Identity" property by REQ, DEALER and ROUTER only.
    pub routing_id: Vec<u8>,
    /// ZMQ_*_SERVER: our role in the PLAIN/CURVE handshakes (announced in the greeting).
    pub as_server: bool,
    /// ZMQ_MAXMSGSIZE: -1 for unlimited; a longer frame is a protocol error.
    pub max_msg_size: i64,
    /// ZMQ_METADATA properties ("X-..." names) added to our READY.
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// The peer as the handshake described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The protocol version in use: the peer's, capped at ours — (3, 0) or (3, 1).
    pub version: (u8, u8),
    /// The peer's Socket-Type property (empty if it sent none, which libzmq tolerates).
    pub socket_type: String,
    /// The peer's "Identity" property, if it sent one.
    pub routing_id: Option<Vec<u8>>,
    /// Every property of the peer's READY, in the order sent (Socket-Type and Identity too).
    pub properties: Vec<(String, Vec<u8>)>,
}

/// Something the peer did.
#[derive(Debug)]
pub enum Event {
    /// The handshake is complete: greetings and READYs exchanged, socket types compatible.
    Ready(PeerInfo),
    /// One frame of a message, MORE set on all but the last. A ZMTP 3.1 SUBSCRIBE or CANCEL
    /// command arrives as a message with the SUBSCRIBE or CANCEL flag and the topic as body;
    /// a 3.0 peer's subscriptions arrive as ordinary messages starting with 1 or 0.
    Message(Msg),
    /// The peer sent PING; the matching PONG is already queued.
    Ping {
        ttl_deciseconds: u16,
    },
    Pong,
    /// The peer sent ERROR with this reason. During the handshake, `process` then fails with
    /// [`ProtocolError::HandshakeRefused`].
    PeerError(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Greeting,
    Handshake,
    Ready,
}

/// One ZMTP connection's protocol state. See the module documentation.
pub struct Codec {
    decoder: Decoder,
    conn: Connection,
}

/// Everything but the input buffer, so frames borrowed from that buffer can be handled while
/// the rest of the state changes.
struct Connection {
    cfg: Config,
    out: Encoder,
    phase: Phase,
    mechanism: Box<dyn Mechanism>,
    version: Option<(u8, u8)>,
    /// Messages given to `encode` before the handshake finished.
    held: Vec<Msg>,
    /// The error that ended the connection; every later `process` returns it again.
    failed: Option<ProtocolError>,
}

impl Codec {
    /// A codec for a new connection, with our greeting already queued for output.
    pub fn new(cfg: Config) -> Codec {
        let mechanism = mechanism::for_config(&cfg);
        let mut out = Encoder::new();
        out.raw(&greeting::encode(mechanism.name(), cfg.as_server));
        Codec {
            decoder: Decoder::new(cfg.max_msg_size),
            conn: Connection {
                cfg,
                out,
                phase: Phase::Greeting,
                mechanism,
                version: None,
                held: Vec::new(),
                failed: None,
            },
        }
    }

    /// True once the handshake has completed.
    pub fn is_ready(&self) -> bool {
        self.conn.phase == Phase::Ready
    }

    /// The version in use, known once the peer's greeting has arrived: (3, 0) or (3, 1).
    pub fn peer_version(&self) -> Option<(u8, u8)> {
        self.conn.version
    }

    /// Where the next read from the socket should go: the first slice (never empty), then the
    /// second. While a large frame is arriving the first is the unfilled rest of its own
    /// payload, so the kernel writes into the message directly, and the second the buffer
    /// for the next header; otherwise the first is the free part of a 64 KiB buffer and the
    /// second is empty. `n` of [`process`](Codec::process) counts both, in order.
    pub fn read_buffers(&mut self) -> (&mut [u8], &mut [u8]) {
        self.decoder.read_buffers()
    }

    /// `n` bytes were read into the last [`read_buffers`](Codec::read_buffers): decodes them,
    /// reporting what the peer did through `on_event`. An error is final: the connection must
    /// be closed (after writing any pending output, if desired).
    ///
    /// Generic over the callback so that delivering a message frame, the common case, is
    /// inlined into the decoding loop.
    #[inline]
    pub fn process<F: FnMut(Event)>(
        &mut self,
        n: usize,
        on_event: &mut F,
    ) -> Result<(), ProtocolError> {
        if let Some(e) = &self.conn.failed {
            return Err(e.clone());
        }
        let conn = &mut self.conn;
        let result = match self.decoder.filled(n) {
            Input::Direct(None) => Ok(()),
            // The frames the same read brought into the buffer after it follow.
            Input::Direct(Some(frame)) => conn
                .on_frame(frame, on_event)
                .and_then(|()| Self::buffered_frames(&mut self.decoder, conn, on_event)),
            Input::Buffered => Self::buffered_frames(&mut self.decoder, conn, on_event),
        };
        if let Err(e) = &result {
            conn.failed = Some(e.clone());
        }
        result
    }

    /// Every whole frame in the read buffer to `conn`, in order, stopping at the first error;
    /// then makes room for the next read.
    #[inline]
    fn buffered_frames<F: FnMut(Event)>(
        decoder: &mut Decoder,
        conn: &mut Connection,
        on_event: &mut F,
    ) -> Result<(), ProtocolError> {
        let result = loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    if let Err(e) = conn.on_frame(frame, on_event) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        decoder.consumed();
        result
    }

    /// Feeds `data` through `read_buffers` and `process` (for tests and callers that already
    /// hold the bytes).
    pub fn input<F: FnMut(Event)>(
        &mut self,
        mut data: &[u8],
        on_event: &mut F,
    ) -> Result<(), ProtocolError> {
        while !data.is_empty() {
            // As a scattered read would: the first slice, then the second.
            let (first, second) = self.read_buffers();
            let in_first = first.len().min(data.len());
            first[..in_first].copy_from_slice(&data[..in_first]);
            let in_second = second.len().min(data.len() - in_first);
            second[..in_second].copy_from_slice(&data[in_first..in_first + in_second]);
            let n = in_first + in_second;
            assert!(n > 0, "empty read buffer");
            self.process(n, on_event)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Queues one message frame, honouring its MORE flag. A message flagged SUBSCRIBE or
    /// CANCEL becomes a SUBSCRIBE/CANCEL command for a ZMTP 3.1 peer, or a message whose body
    /// is 1/0 followed by the topic for a 3.0 peer. Messages given before the handshake
    /// completes are held and sent right after it.
    #[inline]
    pub fn encode(&mut self, msg: &Msg) {
        if self.conn.phase == Phase::Ready {
            self.conn.encode_now(msg);
        } else {
            self.conn.held.push(msg.share());
        }
    }

    /// Queues a PING (ZMQ_HEARTBEAT_IVL); `context` is cut to 16 bytes. Ignored before the
    /// handshake completes, where a PING would be a protocol error.
    pub fn encode_ping(&mut self, ttl_deciseconds: u16, context: &[u8]) {
        if self.conn.phase == Phase::Ready {
            let context = &context[..context.len().min(command::MAX_PING_CONTEXT)];
            self.conn
                .out
                .command(command::PING, &[&ttl_deciseconds.to_be_bytes(), context]);
        }
    }

    /// Queues an ERROR command; `reason` is cut to 255 bytes.
    pub fn encode_error(&mut self, reason: &str) {
        let reason = &reason.as_bytes()[..reason.len().min(u8::MAX as usize)];
        self.conn
            .out
            .command(command::ERROR, &[&[reason.len() as u8], reason]);
    }

    pub fn has_output(&self) -> bool {
        !self.conn.out.is_empty()
    }

    /// Bytes waiting to be written.
    pub fn output_len(&self) -> usize {
        self.conn.out.len()
    }

    /// Appends the next write's bytes, a prefix of the pending output, to `iov` (large bodies
    /// by reference). Write them, call `advance_output`, and ask again while output remains.
    pub fn output_slices<'a>(&'a self, iov: &mut Slices<'a>) {
        self.conn.out.write_slices(iov);
    }

    /// `n` bytes of the pending output were written.
    pub fn advance_output(&mut self, n: usize) {
        self.conn.out.advance(n);
    }
}

impl Connection {
    /// A message frame after the handshake is handled inline; everything else (greeting,
    /// commands, frames out of place) goes through `on_other_frame`.
    #[inline(always)]
    fn on_frame<F: FnMut(Event)>(
        &mut self,
        frame: Frame<'_>,
        on_event: &mut F,
    ) -> Result<(), ProtocolError> {
        match frame {
            Frame::Borrowed { flags, body }
                if flags & FLAG_COMMAND == 0 && self.phase == Phase::Ready =>
            {
                on_event(Event::Message(message(flags, Msg::from_slice(body))));
                Ok(())
            }
            frame => self.on_other_frame(frame, on_event),
        }
    }

    #[inline(never)]
    fn on_other_frame(
        &mut self,
        frame: Frame<'_>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), ProtocolError> {
        match frame {
            Frame::Greeting(g) => self.on_greeting(g),
            Frame::Borrowed { flags, body } if flags & FLAG_COMMAND != 0 => {
                self.on_command(body, on_event)
            }
            Frame::Borrowed { flags, body } => {
                self.check_ready()?;
                on_event(Event::Message(message(flags, Msg::from_slice(body))));
                Ok(())
            }
            Frame::Owned { flags, msg } if flags & FLAG_COMMAND != 0 => {
                self.on_command(msg.data(), on_event)
            }
            Frame::Owned { flags, msg } => {
                self.check_ready()?;
                on_event(Event::Message(message(flags, msg)));
                Ok(())
            }
        }
    }

    fn on_greeting(&mut self, g: &[u8; greeting::GREETING_LEN]) -> Result<(), ProtocolError> {
        let peer = greeting::parse(g)?;
        if !peer.mechanism_is(self.mechanism.name()) {
            return Err(ProtocolError::MechanismMismatch {
                ours: self.mechanism.name(),
                theirs: peer.mechanism_name(),
            });
        }
        self.version = Some(peer.version);
        self.phase = Phase::Handshake;
        self.mechanism.start(&self.cfg, &peer, &mut self.out);
        Ok(())
    }

    fn check_ready(&self) -> Result<(), ProtocolError> {
        match self.phase {
            Phase::Ready => Ok(()),
            _ => Err(ProtocolError::MessageBeforeHandshake),
        }
    }

    fn on_command(
        &mut self,
        body: &[u8],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), ProtocolError> {
        let cmd = command::parse(body)?;
        if self.phase != Phase::Ready {
            if cmd.name == command::ERROR {
                let reason = command::parse_error(cmd.data)?;
                on_event(Event::PeerError(reason.clone()));
                return Err(ProtocolError::HandshakeRefused(reason));
            }
            return match self
                .mechanism
                .process_command(cmd, &self.cfg, &mut self.out)?
            {
                Step::Continue => Ok(()),
                Step::Done(properties) => self.finish_handshake(properties, on_event),
            };
        }
        match cmd.name {
            command::PING => {
                let (ttl, context) = command::parse_ping(cmd.data)?;
                // libzmq truncates an over-long context rather than refusing it.
                let context = &context[..context.len().min(command::MAX_PING_CONTEXT)];
                self.out.command(command::PONG, &[context]);
                on_event(Event::Ping {
                    ttl_deciseconds: ttl,
                });
            }
            command::PONG => on_event(Event::Pong),
            command::SUBSCRIBE | command::CANCEL => {
                let mut msg = Msg::from_slice(cmd.data);
                msg.set_flags(if cmd.name == command::SUBSCRIBE {
                    msg::SUBSCRIBE
                } else {
                    msg::CANCEL
                });
                on_event(Event::Message(msg));
            }
            command::ERROR => on_event(Event::PeerError(command::parse_error(cmd.data)?)),
            // Unknown commands are ignored, as RFC 37 asks.
            _ => {}
        }
        Ok(())
    }

    fn finish_handshake(
        &mut self,
        properties: Vec<(String, Vec<u8>)>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), ProtocolError> {
        // A peer that names no socket type is let through, as libzmq does.
        let theirs = command::property(&properties, "Socket-Type");
        if let Some(t) = theirs {
            if !socket_type::compatible(self.cfg.socket_type, t) {
                return Err(ProtocolError::IncompatibleSocketType {
                    ours: self.cfg.socket_type,
                    theirs: String::from_utf8_lossy(t).into_owned(),
                });
            }
        }
        let info = PeerInfo {
            version: self.version.unwrap_or(greeting::OUR_VERSION),
            socket_type: String::from_utf8_lossy(theirs.unwrap_or_default()).into_owned(),
            routing_id: command::property(&properties, "Identity").map(<[u8]>::to_vec),
            properties,
        };
        self.phase = Phase::Ready;
        for m in std::mem::take(&mut self.held) {
            self.encode_now(&m);
        }
        on_event(Event::Ready(info));
        Ok(())
    }

    #[inline]
    fn encode_now(&mut self, m: &Msg) {
        let flags = m.flags();
        if flags & (msg::SUBSCRIBE | msg::CANCEL) != 0 {
            return self.encode_subscription(m);
        }
        let mut wire = 0;
        if m.more() {
            wire |= FLAG_MORE;
        }
        if m.is_command() {
            wire |= FLAG_COMMAND;
        }
        self.out.frame(wire, b"", m);
    }

    /// A message flagged SUBSCRIBE or CANCEL, as the peer's version wants it.
    #[inline(never)]
    fn encode_subscription(&mut self, m: &Msg) {
        let subscribe = m.flags() & msg::SUBSCRIBE != 0;
        if self.version >= Some((3, 1)) {
            let name: &[u8] = if subscribe {
                b"\x09SUBSCRIBE"
            } else {
                b"\x06CANCEL"
            };
            self.out.frame(FLAG_COMMAND, name, m);
        } else {
            let more = if m.more() { FLAG_MORE } else { 0 };
            self.out.frame(more, &[subscribe as u8], m);
        }
    }
}

/// A message frame as delivered: MORE as the wire flags say.
#[inline]
fn message(flags: u8, mut msg: Msg) -> Msg {
    msg.set_more(flags & FLAG_MORE != 0);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::{CANCEL, MORE, SUBSCRIBE};

    fn cfg(socket_type: &'static str) -> Config {
        Config {
            socket_type,
            routing_id: Vec::new(),
            as_server: false,
            max_msg_size: -1,
            metadata: Vec::new(),
        }
    }

    /// Takes everything the codec wants to write.
    fn drain(c: &mut Codec) -> Vec<u8> {
        let mut bytes = Vec::new();
        while c.has_output() {
            let mut iov = Slices::new();
            c.output_slices(&mut iov);
            let n: usize = iov.iter().map(|s| s.len()).sum();
            assert!(n > 0, "pending output but nothing to write");
            bytes.extend(iov.iter().flat_map(|s| s.iter().copied()));
            c.advance_output(n);
        }
        bytes
    }

    /// Feeds `data` in pieces of at most `chunk` bytes, collecting events.
    fn feed(c: &mut Codec, data: &[u8], chunk: usize) -> Result<Vec<Event>, ProtocolError> {
        let mut events = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            c.input(piece, &mut |e| events.push(e))?;
        }
        Ok(events)
    }

    /// Moves bytes both ways until both sides are quiet.
    fn pump(
        a: &mut Codec,
        b: &mut Codec,
        chunk: usize,
    ) -> (
        Result<Vec<Event>, ProtocolError>,
        Result<Vec<Event>, ProtocolError>,
    ) {
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        loop {
            let to_b = drain(a);
            let to_a = drain(b);
            if to_a.is_empty() && to_b.is_empty() {
                return (Ok(ea), Ok(eb));
            }
            match feed(b, &to_b, chunk) {
                Ok(e) => eb.extend(e),
                Err(e) => return (Ok(ea), Err(e)),
            }
            match feed(a, &to_a, chunk) {
                Ok(e) => ea.extend(e),
                Err(e) => return (Err(e), Ok(eb)),
            }
        }
    }

    fn ready_info(events: &[Event]) -> &PeerInfo {
        match events.first() {
            Some(Event::Ready(info)) => info,
            other => panic!("expected Ready, got {other:?}"),
        }
    }

    fn connected(a: Config, b: Config) -> (Codec, Codec) {
        let (mut a, mut b) = (Codec::new(a), Codec::new(b));
        let (ea, eb) = pump(&mut a, &mut b, usize::MAX);
        ready_info(&ea.unwrap());
        ready_info(&eb.unwrap());
        (a, b)
    }

    fn messages(events: Vec<Event>) -> Vec<Msg> {
        events
            .into_iter()
            .map(|e| match e {
                Event::Message(m) => m,
                other => panic!("expected a message, got {other:?}"),
            })
            .collect()
    }

    /// A hand-made peer greeting.
    fn peer_greeting(major: u8, minor: u8, mechanism: &str) -> Vec<u8> {
        let mut g = greeting::encode(mechanism, false).to_vec();
        g[10] = major;
        g[11] = minor;
        g
    }

    /// A hand-made command frame.
    fn command_frame(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        if body.len() < 256 {
            v.extend_from_slice(&[4, body.len() as u8]);
        } else {
            v.push(6);
            v.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    fn ready_frame(socket_type: &str) -> Vec<u8> {
        let mut body = b"\x05READY".to_vec();
        command::write_property(&mut body, "Socket-Type", socket_type.as_bytes());
        command_frame(&body)
    }

    /// A codec for `ours` that has finished a handshake with a scripted peer of `theirs`.
    fn scripted(ours: Config, version: (u8, u8), theirs: &str) -> Codec {
        let mut c = Codec::new(ours);
        drain(&mut c);
        let mut input = peer_greeting(version.0, version.1, "NULL");
        input.extend(ready_frame(theirs));
        let events = feed(&mut c, &input, usize::MAX).unwrap();
        assert_eq!(ready_info(&events).socket_type, theirs);
        drain(&mut c);
        c
    }

    #[test]
    fn codec_can_move_between_threads() {
        fn check<T: Send>() {}
        check::<Codec>();
    }

    #[test]
    fn handshake_exact_bytes() {
        let mut c = Codec::new(Config {
            routing_id: b"id".to_vec(),
            ..cfg("DEALER")
        });
        assert!(!c.is_ready());
        assert_eq!(c.peer_version(), None);
        assert_eq!(drain(&mut c), greeting::encode("NULL", false));
        let mut input = peer_greeting(3, 1, "NULL");
        let events = feed(&mut c, &input, usize::MAX).unwrap();
        assert!(events.is_empty());
        assert_eq!(c.peer_version(), Some((3, 1)));
        assert_eq!(
            drain(&mut c),
            b"\x04\x2b\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\
              \x08Identity\x00\x00\x00\x02id"
        );
        input = ready_frame("ROUTER");
        let events = feed(&mut c, &input, usize::MAX).unwrap();
        let info = ready_info(&events);
        assert_eq!(info.version, (3, 1));
        assert_eq!(info.routing_id, None);
        assert!(c.is_ready());
        assert!(!c.has_output());
    }

    #[test]
    fn handshake_between_codecs() {
        let mut a = Codec::new(Config {
            routing_id: b"alice".to_vec(),
            metadata: vec![("X-Hello".into(), b"world".to_vec())],
            ..cfg("DEALER")
        });
        let mut b = Codec::new(Config {
            as_server: true,
            ..cfg("ROUTER")
        });
        let (ea, eb) = pump(&mut a, &mut b, usize::MAX);
        let (ea, eb) = (ea.unwrap(), eb.unwrap());
        assert_eq!(ea.len(), 1);
        assert_eq!(eb.len(), 1);
        let at_b = ready_info(&eb);
        assert_eq!(at_b.socket_type, "DEALER");
        assert_eq!(at_b.routing_id.as_deref(), Some(&b"alice"[..]));
        assert_eq!(
            command::property(&at_b.properties, "X-Hello"),
            Some(&b"world"[..])
        );
        let at_a = ready_info(&ea);
        assert_eq!(at_a.socket_type, "ROUTER");
        assert_eq!(at_a.routing_id.as_deref(), Some(&b""[..]));
        assert_eq!(at_a.version, (3, 1));
        assert!(a.is_ready() && b.is_ready());
    }

    #[test]
    fn handshake_one_byte_at_a_time() {
        for chunk in [1, 2, 5, 63, 65] {
            let mut a = Codec::new(cfg("PUB"));
            let mut b = Codec::new(cfg("SUB"));
            // Every byte arrives on its own, in both directions, interleaved.
            let (ea, eb) = pump(&mut a, &mut b, chunk);
            assert_eq!(ready_info(&ea.unwrap()).socket_type, "SUB");
            assert_eq!(ready_info(&eb.unwrap()).socket_type, "PUB");
            a.encode(&Msg::from_slice(b"topic data"));
            let (_, eb) = pump(&mut a, &mut b, chunk);
            assert_eq!(messages(eb.unwrap())[0].data(), b"topic data");
        }
    }

    #[test]
    fn greeting_ready_and_messages_in_one_read() {
        let mut c = Codec::new(cfg("PULL"));
        let mut input = peer_greeting(3, 1, "NULL");
        input.extend(ready_frame("PUSH"));
        input.extend_from_slice(b"\x01\x01a\x00\x00");
        let events = feed(&mut c, &input, usize::MAX).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(ready_info(&events).socket_type, "PUSH");
        let msgs = messages(events.into_iter().skip(1).collect());
        assert_eq!(msgs[0].data(), b"a");
        assert!(msgs[0].more());
        assert!(msgs[1].is_empty() && !msgs[1].more());
    }

    #[test]
    fn socket_type_compatibility() {
        let good = [
            ("PAIR", "PAIR"),
            ("PUB", "SUB"),
            ("PUB", "XSUB"),
            ("XPUB", "SUB"),
            ("XPUB", "XSUB"),
            ("REQ", "REP"),
            ("REQ", "ROUTER"),
            ("DEALER", "REP"),
            ("DEALER", "DEALER"),
            ("DEALER", "ROUTER"),
            ("ROUTER", "ROUTER"),
            ("PUSH", "PULL"),
            ("CLIENT", "SERVER"),
            ("RADIO", "DISH"),
            ("GATHER", "SCATTER"),
            ("PEER", "PEER"),
            ("CHANNEL", "CHANNEL"),
        ];
        for (x, y) in good {
            connected(cfg(x), cfg(y));
            connected(cfg(y), cfg(x));
        }
        let bad = [
            ("PUB", "PUB"),
            ("REQ", "REQ"),
            ("REP", "ROUTER"),
            ("PUSH", "SUB"),
            ("PAIR", "DEALER"),
            ("SERVER", "SERVER"),
        ];
        for (x, y) in bad {
            let mut a = Codec::new(cfg(x));
            let mut b = Codec::new(cfg(y));
            let (ea, eb) = pump(&mut a, &mut b, usize::MAX);
            assert!(
                matches!(ea, Err(ProtocolError::IncompatibleSocketType { .. }))
                    || matches!(eb, Err(ProtocolError::IncompatibleSocketType { .. })),
                "{x}-{y}"
            );
            assert!(!a.is_ready() || !b.is_ready());
        }
        let mut c = Codec::new(cfg("PUB"));
        let mut input = peer_greeting(3, 1, "NULL");
        input.extend(ready_frame("PUB"));
        assert_eq!(
            feed(&mut c, &input, usize::MAX).unwrap_err(),
            ProtocolError::IncompatibleSocketType {
                ours: "PUB",
                theirs: "PUB".into()
            }
        );
        assert!(!c.is_ready());
    }

    #[test]
    fn peer_without_socket_type_is_tolerated() {
        let mut c = Codec::new(cfg("PAIR"));
        let mut input = peer_greeting(3, 1, "NULL");
        input.extend(command_frame(b"\x05READY"));
        let events = feed(&mut c, &input, usize::MAX).unwrap();
        let info = ready_info(&events);
        assert_eq!(info.socket_type, "");
        assert!(info.properties.is_empty());
    }

    #[test]
    fn frames_of_every_size() {
        let (mut a, _b) = connected(cfg("PAIR"), cfg("PAIR"));
        let sizes = [
            0usize, 1, 40, 41, 255, 256, 257, 8192, 8193, 65536, 100_000, 3,
        ];
        for (i, &n) in sizes.iter().enumerate() {
            let mut m = Msg::from_slice(&vec![i as u8; n]);
            m.set_more(i + 1 < sizes.len());
            a.encode(&m);
        }
        let wire = drain(&mut a);
        // Spot-check the headers of the first frames: 0, 1, 40 bytes short form.
        assert_eq!(&wire[..3], &[1, 0, 1]);
        for chunk in [1, 7, 4096, usize::MAX] {
            let mut b2 = Codec::new(cfg("PAIR"));
            let mut script = peer_greeting(3, 1, "NULL");
            script.extend(ready_frame("PAIR"));
            feed(&mut b2, &script, usize::MAX).unwrap();
            let msgs = messages(feed(&mut b2, &wire, chunk).unwrap());
            assert_eq!(msgs.len(), sizes.len());
            for (i, m) in msgs.iter().enumerate() {
                assert_eq!(m.len(), sizes[i], "chunk {chunk}");
                assert!(m.data().iter().all(|&x| x == i as u8));
                assert_eq!(m.more(), i + 1 < sizes.len());
                assert_eq!(m.flags() & !MORE, 0);
            }
        }
    }

    #[test]
    fn exact_frame_bytes() {
        let mut c = scripted(cfg("PUSH"), (3, 1), "PULL");
        let mut m = Msg::from_slice(b"abc");
        m.set_more(true);
        c.encode(&m);
        c.encode(&Msg::new());
        c.encode(&Msg::from_slice(&[9; 255]));
        c.encode(&Msg::from_slice(&[8; 256]));
        let out = drain(&mut c);
        let mut want = b"\x01\x03abc\x00\x00\x00\xff".to_vec();
        want.extend_from_slice(&[9; 255]);
        want.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 1, 0]);
        want.extend_from_slice(&[8; 256]);
        assert_eq!(out, want);
    }

    #[test]
    fn megabyte_frame_zero_copy_both_ways() {
        let (mut a, mut b) = connected(cfg("PUSH"), cfg("PULL"));
        let body: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
        let big = Msg::from_slice(&body);
        a.encode(&big);
        a.encode(&Msg::from_slice(b"next"));

        // Out: the payload goes to writev by reference: the first write opens it with the
        // header and its first bytes, the second carries the rest of it and what follows.
        let mut wire = Vec::new();
        let mut writes = Vec::new();
        while a.has_output() {
            let mut iov = Slices::new();
            a.output_slices(&mut iov);
            assert!(iov
                .iter()
                .any(|s| big.data().as_ptr_range().contains(&s.as_ptr())));
            let n: usize = iov.iter().map(|s| s.len()).sum();
            wire.extend(iov.iter().flat_map(|s| s.iter().copied()));
            a.advance_output(n);
            writes.push(n);
        }
        assert_eq!(writes, [8 * 1024, 9 + body.len() + 6 - 8 * 1024]);

        // In: after the header, reads land in the message itself.
        let mut got = Vec::new();
        let mut pos = 0;
        let mut in_place = 0;
        while pos < wire.len() {
            let (buf, _) = b.read_buffers();
            let n = buf.len().min(1500).min(wire.len() - pos);
            // A read into the message's own payload ends exactly where its body ends.
            if pos + buf.len() == 9 + body.len() {
                in_place += 1;
            }
            buf[..n].copy_from_slice(&wire[pos..pos + n]);
            pos += n;
            b.process(n, &mut |e| got.push(e)).unwrap();
        }
        assert!(in_place > 600, "{in_place}");
        let msgs = messages(got);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].data() == &body[..]);
        assert_eq!(msgs[1].data(), b"next");
    }

    #[test]
    fn ping_pong() {
        let (mut a, mut b) = connected(cfg("DEALER"), cfg("ROUTER"));
        a.encode_ping(50, b"ctx");
        let wire = drain(&mut a);
        assert_eq!(wire, b"\x04\x0a\x04PING\x00\x32ctx");
        let events = feed(&mut b, &wire, usize::MAX).unwrap();
        assert!(matches!(
            events[..],
            [Event::Ping {
                ttl_deciseconds: 50
            }]
        ));
        let pong = drain(&mut b);
        assert_eq!(pong, b"\x04\x08\x04PONGctx");
        let events = feed(&mut a, &pong, usize::MAX).unwrap();
        assert!(matches!(events[..], [Event::Pong]));

        // An over-long context is cut to 16 bytes, both when sending and when echoing.
        a.encode_ping(0, &[7; 20]);
        assert_eq!(drain(&mut a).len(), 2 + 5 + 2 + 16);
        let mut ping = b"\x04PING\x00\x01".to_vec();
        ping.extend_from_slice(&[1; 20]);
        feed(&mut b, &command_frame(&ping), 1).unwrap();
        let mut want = b"\x04\x15\x04PONG".to_vec();
        want.extend_from_slice(&[1; 16]);
        assert_eq!(drain(&mut b), want);

        // A PING without its TTL is malformed.
        assert_eq!(
            feed(&mut b, &command_frame(b"\x04PING\x00"), usize::MAX).unwrap_err(),
            ProtocolError::MalformedCommand("PING")
        );
    }

    #[test]
    fn ping_is_not_sent_before_the_handshake() {
        let mut c = Codec::new(cfg("PAIR"));
        drain(&mut c);
        c.encode_ping(10, b"");
        assert!(!c.has_output());
    }

    #[test]
    fn subscriptions_zmtp_3_1() {
        let (mut sub, mut publ) = connected(cfg("XSUB"), cfg("XPUB"));
        let mut s = Msg::from_slice(b"weather");
        s.set_flags(SUBSCRIBE);
        sub.encode(&s);
        let mut c = Msg::from_slice(b"news");
        c.set_flags(CANCEL);
        sub.encode(&c);
        let mut all = Msg::new();
        all.set_flags(SUBSCRIBE);
        sub.encode(&all);
        let wire = drain(&mut sub);
        assert_eq!(
            wire,
            b"\x04\x11\x09SUBSCRIBEweather\x04\x0b\x06CANCELnews\x04\x0a\x09SUBSCRIBE"
        );
        let msgs = messages(feed(&mut publ, &wire, 3).unwrap());
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].data(), b"weather");
        assert_eq!(msgs[0].flags(), SUBSCRIBE);
        assert_eq!(msgs[1].data(), b"news");
        assert_eq!(msgs[1].flags(), CANCEL);
        assert!(msgs[2].is_empty());
        assert_eq!(msgs[2].flags(), SUBSCRIBE);

        // A long topic: the command prefix goes in the buffer, the topic by reference.
        let mut long = Msg::from_slice(&vec![b't'; 10_000]);
        long.set_flags(SUBSCRIBE);
        sub.encode(&long);
        let wire = drain(&mut sub);
        assert_eq!(&wire[..9], &[6, 0, 0, 0, 0, 0, 0, 0x27, 0x1A]);
        let msgs = messages(feed(&mut publ, &wire, usize::MAX).unwrap());
        assert_eq!(msgs[0].len(), 10_000);
        assert_eq!(msgs[0].flags(), SUBSCRIBE);
    }

    #[test]
    fn subscriptions_zmtp_3_0() {
        let mut c = scripted(cfg("SUB"), (3, 0), "PUB");
        assert_eq!(c.peer_version(), Some((3, 0)));
        let mut s = Msg::from_slice(b"abc");
        s.set_flags(SUBSCRIBE);
        c.encode(&s);
        let mut x = Msg::from_slice(b"abc");
        x.set_flags(CANCEL);
        c.encode(&x);
        assert_eq!(drain(&mut c), b"\x00\x04\x01abc\x00\x04\x00abc");

        // What a 3.0 peer sends us stays an ordinary message.
        let mut p = scripted(cfg("XPUB"), (3, 0), "SUB");
        let msgs = messages(feed(&mut p, b"\x00\x04\x01abc", usize::MAX).unwrap());
        assert_eq!(msgs[0].data(), b"\x01abc");
        assert_eq!(msgs[0].flags(), 0);
    }

    #[test]
    fn newer_peer_is_spoken_to_in_3_1() {
        let c = scripted(cfg("PAIR"), (4, 2), "PAIR");
        assert_eq!(c.peer_version(), Some((3, 1)));
    }

    #[test]
    fn messages_given_early_are_held_until_ready() {
        let mut a = Codec::new(cfg("PUSH"));
        let mut b = Codec::new(cfg("PULL"));
        let mut first = Msg::from_slice(b"early");
        first.set_more(true);
        a.encode(&first);
        a.encode(&Msg::from_slice(b"bird"));
        let (_, eb) = pump(&mut a, &mut b, usize::MAX);
        let mut eb = eb.unwrap().into_iter();
        assert!(matches!(eb.next(), Some(Event::Ready(_))));
        let msgs = messages(eb.collect());
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].data(), b"early");
        assert!(msgs[0].more());
        assert_eq!(msgs[1].data(), b"bird");
    }

    #[test]
    fn error_command() {
        let mut c = Codec::new(cfg("PAIR"));
        assert_eq!(drain(&mut c).len(), 64);
        c.encode_error("nope");
        assert_eq!(drain(&mut c), b"\x04\x0b\x05ERROR\x04nope");
        c.encode_error(&"x".repeat(300));
        assert_eq!(drain(&mut c).len(), 2 + 6 + 1 + 255 + 7);

        // During the handshake: an event, then an error.
        let mut c = Codec::new(cfg("PAIR"));
        let mut input = peer_greeting(3, 1, "NULL");
        input.extend(command_frame(b"\x05ERROR\x06denied"));
        let mut events = Vec::new();
        let err = c.input(&input, &mut |e| events.push(e)).unwrap_err();
        assert_eq!(err, ProtocolError::HandshakeRefused("denied".into()));
        assert!(matches!(&events[..], [Event::PeerError(r)] if r == "denied"));
        // The failure sticks.
        assert_eq!(c.process(0, &mut |_| {}).unwrap_err(), err);

        // After it: just an event.
        let mut c = scripted(cfg("PAIR"), (3, 1), "PAIR");
        let events = feed(&mut c, &command_frame(b"\x05ERROR\x03bye"), 1).unwrap();
        assert!(matches!(&events[..], [Event::PeerError(r)] if r == "bye"));

        // Malformed reason length.
        let mut c = Codec::new(cfg("PAIR"));
        let mut input = peer_greeting(3, 1, "NULL");
        input.extend(command_frame(b"\x05ERROR\x09short"));
        assert_eq!(
            feed(&mut c, &input, usize::MAX).unwrap_err(),
            ProtocolError::MalformedCommand("ERROR")
        );
    }

    #[test]
    fn unknown_commands_are_ignored_after_the_handshake() {
        let mut c = scripted(cfg("PAIR"), (3, 1), "PAIR");
        let mut input = command_frame(b"\x07UNKNOWNdata");
        input.extend(command_frame(b"\x05READY"));
        input.extend_from_slice(b"\x00\x02ok");
        let msgs = messages(feed(&mut c, &input, usize::MAX).unwrap());
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].data(), b"ok");
    }

    fn handshake_error(input: &[u8]) -> ProtocolError {
        // Byte at a time and all at once must agree.
        let mut c = Codec::new(cfg("PAIR"));
        let whole = feed(&mut c, input, usize::MAX).unwrap_err();
        let mut c = Codec::new(cfg("PAIR"));
        let single = feed(&mut c, input, 1).unwrap_err();
        assert_eq!(whole, single);
        assert!(!c.is_ready());
        whole
    }

    #[test]
    fn malformed_greetings() {
        let mut g = peer_greeting(3, 1, "NULL");
        g[0] = 0xFE;
        assert_eq!(handshake_error(&g), ProtocolError::BadSignature);
        let mut g = peer_greeting(3, 1, "NULL");
        g[9] = 0x7E;
        assert_eq!(handshake_error(&g), ProtocolError::BadSignature);
        // A ZMTP 1.0 peer: a short identity frame.
        assert_eq!(handshake_error(b"\x01\x00"), ProtocolError::BadSignature);
        // A ZMTP 2.0 peer sends only 12 bytes of greeting, and waits: refused at byte 11.
        let g = peer_greeting(1, 0, "NULL");
        assert_eq!(
            handshake_error(&g[..12]),
            ProtocolError::UnsupportedVersion(1)
        );
        let g = peer_greeting(2, 0, "NULL");
        assert_eq!(
            handshake_error(&g[..11]),
            ProtocolError::UnsupportedVersion(2)
        );
        for name in ["PLAIN", "CURVE", "NUL", "NULLX", "GSSAPI"] {
            let g = peer_greeting(3, 1, name);
            assert_eq!(
                handshake_error(&g),
                ProtocolError::MechanismMismatch {
                    ours: "NULL",
                    theirs: name.into()
                }
            );
        }
    }

    #[test]
    fn malformed_ready() {
        let with = |frame: &[u8]| {
            let mut v = peer_greeting(3, 1, "NULL");
            v.extend_from_slice(frame);
            handshake_error(&v)
        };
        // Name length past the end of the frame.
        assert_eq!(
            with(&command_frame(b"\x06READY")),
            ProtocolError::MalformedCommand("")
        );
        // Empty command body.
        assert_eq!(with(&[4, 0]), ProtocolError::MalformedCommand(""));
        // Truncated property: value length says 4, 3 bytes follow.
        assert_eq!(
            with(&command_frame(
                b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PAI"
            )),
            ProtocolError::InvalidMetadata
        );
        // Name length running past the end.
        assert_eq!(
            with(&command_frame(b"\x05READY\x20Socket-Type")),
            ProtocolError::InvalidMetadata
        );
        // Value length field itself cut short.
        assert_eq!(
            with(&command_frame(b"\x05READY\x0bSocket-Type\x00\x00")),
            ProtocolError::InvalidMetadata
        );
        // Garbage after a good property.
        let mut body = b"\x05READY".to_vec();
        command::write_property(&mut body, "Socket-Type", b"PAIR");
        body.push(0xFF);
        assert_eq!(with(&command_frame(&body)), ProtocolError::InvalidMetadata);
        // A different command where READY is due.
        assert_eq!(
            with(&command_frame(b"\x04PING\x00\x00")),
            ProtocolError::UnexpectedCommand("PING".into())
        );
        assert_eq!(
            with(&command_frame(b"\x05HELLO")),
            ProtocolError::UnexpectedCommand("HELLO".into())
        );
    }

    #[test]
    fn message_before_ready() {
        let mut v = peer_greeting(3, 1, "NULL");
        v.extend_from_slice(b"\x00\x03abc");
        assert_eq!(handshake_error(&v), ProtocolError::MessageBeforeHandshake);
        // Also for a large frame assembled in place.
        let mut v = peer_greeting(3, 1, "NULL");
        v.extend_from_slice(&[2, 0, 0, 0, 0, 0, 1, 0, 0]);
        v.extend_from_slice(&[0; 65536]);
        assert_eq!(handshake_error(&v), ProtocolError::MessageBeforeHandshake);
    }

    #[test]
    fn max_msg_size() {
        let limited = Config {
            max_msg_size: 100,
            ..cfg("PULL")
        };
        let mut c = scripted(limited.clone(), (3, 1), "PUSH");
        let mut ok = vec![0, 100];
        ok.extend_from_slice(&[1; 100]);
        assert_eq!(messages(feed(&mut c, &ok, usize::MAX).unwrap()).len(), 1);
        assert_eq!(
            feed(&mut c, b"\x00\x65", usize::MAX).unwrap_err(),
            ProtocolError::FrameTooLarge {
                size: 101,
                max: 100
            }
        );
        // Later input is refused too.
        assert!(c.input(&ok, &mut |_| {}).is_err());

        let mut c = scripted(limited, (3, 1), "PUSH");
        assert_eq!(
            feed(&mut c, &[2, 0, 0, 0, 1, 0, 0, 0, 0], usize::MAX).unwrap_err(),
            ProtocolError::FrameTooLarge {
                size: 1 << 32,
                max: 100
            }
        );
        let mut c = scripted(cfg("PULL"), (3, 1), "PUSH");
        assert!(matches!(
            feed(&mut c, &[2, 0xFF, 0, 0, 0, 0, 0, 0, 0], usize::MAX).unwrap_err(),
            ProtocolError::FrameTooLarge { max: -1, .. }
        ));
    }

    #[test]
    fn pending_output_survives_partial_writes() {
        let (mut a, mut b) = connected(cfg("PAIR"), cfg("PAIR"));
        let big = Msg::from_slice(&vec![3u8; 50_000]);
        for i in 0..100u8 {
            a.encode(&Msg::from_slice(&[i; 10]));
            if i % 10 == 0 {
                a.encode(&big);
            }
        }
        let mut got = Vec::new();
        while a.has_output() {
            let mut iov = Slices::new();
            a.output_slices(&mut iov);
            // Write only part of the first slice, as a short writev would.
            let n = (iov[0].len() / 2).max(1);
            let bytes = iov[0][..n].to_vec();
            a.advance_output(n);
            got.extend(feed(&mut b, &bytes, usize::MAX).unwrap());
        }
        let msgs = messages(got);
        assert_eq!(msgs.len(), 110);
        assert_eq!(msgs.iter().filter(|m| m.len() == 50_000).count(), 10);
    }
}

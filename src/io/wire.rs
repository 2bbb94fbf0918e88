//! What a session speaks on a connection: ZMTP through the sans-I/O codec, or raw bytes for
//! ZMQ_STREAM sockets (each read becomes one message, each message is written as is, and an
//! empty message asks for the connection to be closed).

use crate::core::msg::Msg;
use crate::zmtp::{Codec, Event, PeerInfo, ProtocolError, Slices};

const RAW_READ: usize = 64 * 1024;

// Unboxed on purpose: the codec is used on every read and write of the connection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Wire {
    Zmtp(Codec),
    Raw(Raw),
}

pub(crate) struct Raw {
    inbuf: Box<[u8]>,
    out: Vec<u8>,
    sent: usize,
    announced: bool,
    pub close_requested: bool,
}

impl Raw {
    pub fn new() -> Raw {
        Raw {
            inbuf: vec![0; RAW_READ].into_boxed_slice(),
            out: Vec::new(),
            sent: 0,
            announced: false,
            close_requested: false,
        }
    }
}

impl Wire {
    pub fn is_ready(&self) -> bool {
        match self {
            Wire::Zmtp(c) => c.is_ready(),
            Wire::Raw(_) => true,
        }
    }

    /// A raw connection is "handshaken" as soon as it exists.
    pub fn take_raw_ready(&mut self) -> Option<PeerInfo> {
        match self {
            Wire::Raw(r) if !r.announced => {
                r.announced = true;
                Some(PeerInfo {
                    version: (0, 0),
                    socket_type: String::new(),
                    routing_id: None,
                    properties: Vec::new(),
                })
            }
            _ => None,
        }
    }

    /// Where the next read goes: the first slice, then the second (see
    /// `Codec::read_buffers`; a raw connection reads into its buffer alone).
    pub fn read_buffers(&mut self) -> (&mut [u8], &mut [u8]) {
        match self {
            Wire::Zmtp(c) => c.read_buffers(),
            Wire::Raw(r) => (&mut r.inbuf, &mut []),
        }
    }

    #[inline]
    pub fn process<F: FnMut(Event)>(
        &mut self,
        n: usize,
        on_event: &mut F,
    ) -> Result<(), ProtocolError> {
        match self {
            Wire::Zmtp(c) => c.process(n, on_event),
            Wire::Raw(r) => {
                on_event(Event::Message(Msg::from_slice(&r.inbuf[..n])));
                Ok(())
            }
        }
    }

    #[inline]
    pub fn encode(&mut self, msg: &Msg) {
        match self {
            Wire::Zmtp(c) => c.encode(msg),
            Wire::Raw(r) => {
                if msg.is_empty() {
                    r.close_requested = true;
                } else {
                    r.out.extend_from_slice(msg.data());
                }
            }
        }
    }

    pub fn encode_ping(&mut self, ttl_deciseconds: u16) {
        if let Wire::Zmtp(c) = self {
            c.encode_ping(ttl_deciseconds, b"");
        }
    }

    pub fn has_output(&self) -> bool {
        self.output_len() > 0
    }

    pub fn output_len(&self) -> usize {
        match self {
            Wire::Zmtp(c) => c.output_len(),
            Wire::Raw(r) => r.out.len() - r.sent,
        }
    }

    pub fn output_slices<'a>(&'a self, iov: &mut Slices<'a>) {
        match self {
            Wire::Zmtp(c) => c.output_slices(iov),
            Wire::Raw(r) => {
                iov.push(&r.out[r.sent..]);
            }
        }
    }

    pub fn advance_output(&mut self, n: usize) {
        match self {
            Wire::Zmtp(c) => c.advance_output(n),
            Wire::Raw(r) => {
                r.sent += n;
                if r.sent == r.out.len() {
                    r.out.clear();
                    r.sent = 0;
                }
            }
        }
    }

    /// A STREAM peer asked (with an empty message) for the connection to end and everything
    /// before that has been written.
    pub fn wants_close(&self) -> bool {
        matches!(self, Wire::Raw(r) if r.close_requested && r.sent == r.out.len())
    }
}

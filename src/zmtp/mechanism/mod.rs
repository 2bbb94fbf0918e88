//! Security mechanisms: the handshake that runs after the greeting and ends with both sides
//! knowing each other's properties. Each mechanism is one file implementing [`Mechanism`];
//! the codec handles ERROR commands and the socket-type check for all of them.

mod null;

pub use null::Null;

use super::command::{self, Command};
use super::encoder::Encoder;
use super::greeting::PeerGreeting;
use super::socket_type;
use super::{Config, ProtocolError};

/// What a mechanism reports after a handshake command.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// More commands are expected (PLAIN and CURVE take several; NULL never says this).
    #[allow(dead_code)]
    Continue,
    /// The handshake is complete on both sides; the peer's metadata properties.
    Done(Vec<(String, Vec<u8>)>),
}

/// One side of a security handshake.
///
/// PLAIN and CURVE fit here as further implementors (both need the `as_server` roles from
/// [`Config`] and [`PeerGreeting`]); CURVE will also add a hook that encrypts and decrypts
/// traffic frames once the handshake is done.
pub trait Mechanism: Send {
    /// The name announced in the greeting ("NULL", "PLAIN", "CURVE").
    fn name(&self) -> &'static str;

    /// The peer's greeting named this mechanism: queue our opening commands, if any.
    fn start(&mut self, cfg: &Config, peer: &PeerGreeting, out: &mut Encoder);

    /// A handshake command (never ERROR, which the codec handles) arrived.
    fn process_command(
        &mut self,
        cmd: Command<'_>,
        cfg: &Config,
        out: &mut Encoder,
    ) -> Result<Step, ProtocolError>;
}

/// The mechanism `cfg` asks for. Only NULL exists so far.
pub fn for_config(_cfg: &Config) -> Box<dyn Mechanism> {
    Box::new(Null::default())
}

/// The properties every READY (or INITIATE) carries: Socket-Type, Identity for the socket types
/// that announce one, then the application's ZMQ_METADATA.
pub fn basic_properties(cfg: &Config) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    command::write_property(&mut out, "Socket-Type", cfg.socket_type.as_bytes());
    if socket_type::sends_identity(cfg.socket_type) {
        command::write_property(&mut out, "Identity", &cfg.routing_id);
    }
    for (name, value) in &cfg.metadata {
        command::write_property(&mut out, name, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(socket_type: &'static str) -> Config {
        Config {
            socket_type,
            routing_id: b"me".to_vec(),
            as_server: false,
            max_msg_size: -1,
            metadata: vec![("X-Color".into(), b"blue".to_vec())],
        }
    }

    #[test]
    fn identity_only_for_req_dealer_router() {
        for t in ["REQ", "DEALER", "ROUTER"] {
            let props = command::parse_properties(&basic_properties(&cfg(t))).unwrap();
            assert_eq!(props[0], ("Socket-Type".into(), t.as_bytes().to_vec()));
            assert_eq!(props[1], ("Identity".into(), b"me".to_vec()));
            assert_eq!(props[2], ("X-Color".into(), b"blue".to_vec()));
        }
        for t in ["PUB", "SUB", "PAIR", "PUSH", "REP", "CLIENT"] {
            let props = command::parse_properties(&basic_properties(&cfg(t))).unwrap();
            assert_eq!(props.len(), 2, "{t}");
            assert_eq!(command::property(&props, "Identity"), None);
        }
    }

    #[test]
    fn exact_ready_bytes() {
        let mut c = cfg("DEALER");
        c.metadata.clear();
        c.routing_id.clear();
        assert_eq!(
            basic_properties(&c),
            b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
        );
    }
}

//! The NULL mechanism (RFC 23): no security, each side sends one READY with its metadata and
//! the handshake is over once the peer's READY has arrived.

use super::{basic_properties, Mechanism, Step};
use crate::zmtp::command::{self, Command};
use crate::zmtp::encoder::Encoder;
use crate::zmtp::greeting::PeerGreeting;
use crate::zmtp::{Config, ProtocolError};

#[derive(Default)]
pub struct Null {
    ready_received: bool,
}

impl Mechanism for Null {
    fn name(&self) -> &'static str {
        "NULL"
    }

    fn start(&mut self, cfg: &Config, _peer: &PeerGreeting, out: &mut Encoder) {
        out.command(command::READY, &[&basic_properties(cfg)]);
    }

    fn process_command(
        &mut self,
        cmd: Command<'_>,
        _cfg: &Config,
        _out: &mut Encoder,
    ) -> Result<Step, ProtocolError> {
        if cmd.name != command::READY || self.ready_received {
            return Err(ProtocolError::UnexpectedCommand(cmd.name_lossy()));
        }
        self.ready_received = true;
        Ok(Step::Done(command::parse_properties(cmd.data)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::greeting;

    fn cfg() -> Config {
        Config {
            socket_type: "PUSH",
            routing_id: vec![],
            as_server: false,
            max_msg_size: -1,
            metadata: vec![],
        }
    }

    #[test]
    fn sends_ready_and_accepts_one() {
        let peer = greeting::parse(&greeting::encode("NULL", true)).unwrap();
        let mut out = Encoder::new();
        let mut m = Null::default();
        m.start(&cfg(), &peer, &mut out);
        let mut iov = crate::zmtp::Slices::new();
        out.slices(&mut iov);
        let bytes: Vec<u8> = iov.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(
            bytes,
            b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"
        );

        let ready = command::parse(b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL").unwrap();
        let step = m.process_command(ready, &cfg(), &mut out).unwrap();
        assert_eq!(
            step,
            Step::Done(vec![("Socket-Type".into(), b"PULL".to_vec())])
        );
        assert!(matches!(
            m.process_command(ready, &cfg(), &mut out),
            Err(ProtocolError::UnexpectedCommand(_))
        ));
    }

    #[test]
    fn rejects_other_commands_and_bad_metadata() {
        let mut out = Encoder::new();
        let hello = command::parse(b"\x05HELLO").unwrap();
        assert_eq!(
            Null::default().process_command(hello, &cfg(), &mut out),
            Err(ProtocolError::UnexpectedCommand("HELLO".into()))
        );
        let bad = command::parse(b"\x05READY\x0bSocket-Type\x00\x00\x00\x09PULL").unwrap();
        assert_eq!(
            Null::default().process_command(bad, &cfg(), &mut out),
            Err(ProtocolError::InvalidMetadata)
        );
    }
}

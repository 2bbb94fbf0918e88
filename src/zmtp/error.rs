//! Why a ZMTP connection has to be dropped. Every variant is fatal for the connection; the
//! engine closes it and, through [`ProtocolError::monitor_code`], can report the same
//! `ZMQ_PROTOCOL_ERROR_*` value libzmq gives to `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The first bytes are not a ZMTP 3 signature (0xFF, 8 bytes padding, 0x7F).
    BadSignature,
    /// The peer speaks ZMTP older than 3.0 (its major version byte).
    UnsupportedVersion(u8),
    /// The peer's security mechanism is not ours.
    MechanismMismatch { ours: &'static str, theirs: String },
    /// A command frame whose body does not parse; names the command when known.
    MalformedCommand(&'static str),
    /// A property list (READY metadata) with a wrong length somewhere.
    InvalidMetadata,
    /// A command that has no place at this point of the handshake.
    UnexpectedCommand(String),
    /// A message frame arrived before the handshake completed.
    MessageBeforeHandshake,
    /// The peer's Socket-Type cannot talk to ours.
    IncompatibleSocketType { ours: &'static str, theirs: String },
    /// A frame longer than ZMQ_MAXMSGSIZE (`max` = -1 when only the sanity limit applies).
    FrameTooLarge { size: u64, max: i64 },
    /// A frame whose buffer could not be allocated.
    OutOfMemory { size: u64 },
    /// The peer refused the handshake with an ERROR command carrying this reason.
    HandshakeRefused(String),
}

const ZMTP_UNSPECIFIED: i32 = 0x1000_0000;
const ZMTP_UNEXPECTED_COMMAND: i32 = 0x1000_0001;
const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: i32 = 0x1000_0011;
const ZMTP_MALFORMED_COMMAND_ERROR: i32 = 0x1000_0015;
const ZMTP_MALFORMED_COMMAND_READY: i32 = 0x1000_0016;
const ZMTP_INVALID_METADATA: i32 = 0x1000_0018;
const ZMTP_MECHANISM_MISMATCH: i32 = 0x1100_0002;

impl ProtocolError {
    /// The `ZMQ_PROTOCOL_ERROR_*` code of this failure, as libzmq's monitor reports it.
    pub fn monitor_code(&self) -> i32 {
        match self {
            ProtocolError::MechanismMismatch { .. } => ZMTP_MECHANISM_MISMATCH,
            ProtocolError::MalformedCommand("READY") => ZMTP_MALFORMED_COMMAND_READY,
            ProtocolError::MalformedCommand("ERROR") => ZMTP_MALFORMED_COMMAND_ERROR,
            ProtocolError::MalformedCommand(_) => ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
            ProtocolError::InvalidMetadata => ZMTP_INVALID_METADATA,
            ProtocolError::UnexpectedCommand(_) | ProtocolError::MessageBeforeHandshake => {
                ZMTP_UNEXPECTED_COMMAND
            }
            _ => ZMTP_UNSPECIFIED,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::BadSignature => write!(f, "not a ZMTP 3 greeting signature"),
            ProtocolError::UnsupportedVersion(major) => {
                write!(f, "unsupported ZMTP version {major} (need 3.0 or later)")
            }
            ProtocolError::MechanismMismatch { ours, theirs } => {
                write!(
                    f,
                    "security mechanism mismatch: we use {ours}, peer uses {theirs:?}"
                )
            }
            ProtocolError::MalformedCommand("") => write!(f, "malformed command frame"),
            ProtocolError::MalformedCommand(name) => write!(f, "malformed {name} command"),
            ProtocolError::InvalidMetadata => write!(f, "malformed metadata property list"),
            ProtocolError::UnexpectedCommand(name) => write!(f, "unexpected command {name:?}"),
            ProtocolError::MessageBeforeHandshake => {
                write!(f, "message frame received before the handshake completed")
            }
            ProtocolError::IncompatibleSocketType { ours, theirs } => {
                write!(
                    f,
                    "socket type {ours} cannot talk to peer socket type {theirs:?}"
                )
            }
            ProtocolError::FrameTooLarge { size, max } if *max >= 0 => {
                write!(
                    f,
                    "frame of {size} bytes exceeds the maximum message size {max}"
                )
            }
            ProtocolError::FrameTooLarge { size, .. } => {
                write!(f, "frame of {size} bytes is impossibly large")
            }
            ProtocolError::OutOfMemory { size } => {
                write!(f, "cannot allocate a frame of {size} bytes")
            }
            ProtocolError::HandshakeRefused(reason) => {
                write!(f, "peer refused the handshake: {reason}")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_codes() {
        let e = ProtocolError::IncompatibleSocketType {
            ours: "PUB",
            theirs: "PUSH".into(),
        };
        assert_eq!(
            e.to_string(),
            "socket type PUB cannot talk to peer socket type \"PUSH\""
        );
        assert_eq!(e.monitor_code(), ZMTP_UNSPECIFIED);
        assert_eq!(
            ProtocolError::MalformedCommand("READY").monitor_code(),
            ZMTP_MALFORMED_COMMAND_READY
        );
        assert_eq!(
            ProtocolError::MechanismMismatch {
                ours: "NULL",
                theirs: "PLAIN".into()
            }
            .monitor_code(),
            ZMTP_MECHANISM_MISMATCH
        );
        let e = ProtocolError::FrameTooLarge { size: 10, max: 5 };
        assert!(e.to_string().contains("maximum message size 5"));
        assert!(ProtocolError::FrameTooLarge { size: 10, max: -1 }
            .to_string()
            .contains("impossibly"));
    }
}

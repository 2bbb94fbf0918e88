//! The 64-byte greeting that opens every ZMTP 3.x connection: signature, version, security
//! mechanism name and the as-server role. A peer older than ZMTP 3.0 is refused as soon as its
//! version byte arrives, so a ZMTP 1.0/2.0 peer is never left waiting for bytes it will not get.

use super::ProtocolError;

/// Size of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;
/// The version we announce.
pub const OUR_VERSION: (u8, u8) = (3, 1);
/// Size of the zero-padded mechanism name field.
pub const MECHANISM_LEN: usize = 20;

const SIGNATURE_END: u8 = 0x7F;
const MAJOR_POS: usize = 10;
const MINOR_POS: usize = 11;
const MECHANISM_POS: usize = 12;
const AS_SERVER_POS: usize = 32;

/// Our greeting: signature, version 3.1, `mechanism` zero-padded, as-server flag, zero filler.
pub fn encode(mechanism: &str, as_server: bool) -> [u8; GREETING_LEN] {
    let name = mechanism.as_bytes();
    debug_assert!(name.len() <= MECHANISM_LEN);
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[9] = SIGNATURE_END;
    g[MAJOR_POS] = OUR_VERSION.0;
    g[MINOR_POS] = OUR_VERSION.1;
    g[MECHANISM_POS..MECHANISM_POS + name.len()].copy_from_slice(name);
    g[AS_SERVER_POS] = as_server as u8;
    g
}

/// What the peer's greeting told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerGreeting {
    /// The version both sides speak: the peer's, capped at ours (3.0 or 3.1).
    pub version: (u8, u8),
    /// The mechanism name field, zero-padded.
    pub mechanism: [u8; MECHANISM_LEN],
    pub as_server: bool,
}

impl PeerGreeting {
    /// The mechanism name without its padding, for messages.
    pub fn mechanism_name(&self) -> String {
        let end = self
            .mechanism
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MECHANISM_LEN);
        String::from_utf8_lossy(&self.mechanism[..end]).into_owned()
    }

    /// True when the peer announced exactly `name` (zero-padded).
    pub fn mechanism_is(&self, name: &str) -> bool {
        let name = name.as_bytes();
        name.len() <= MECHANISM_LEN
            && self.mechanism[..name.len()] == *name
            && self.mechanism[name.len()..].iter().all(|&b| b == 0)
    }
}

/// Checks the first bytes of a greeting as they trickle in, failing as early as possible.
pub fn check_prefix(bytes: &[u8]) -> Result<(), ProtocolError> {
    // The eight padding bytes are not significant (libzmq puts its routing-id length there).
    if bytes.first().is_some_and(|&b| b != 0xFF)
        || bytes.get(9).is_some_and(|&b| b != SIGNATURE_END)
    {
        return Err(ProtocolError::BadSignature);
    }
    match bytes.get(MAJOR_POS) {
        Some(&major) if major < 3 => Err(ProtocolError::UnsupportedVersion(major)),
        _ => Ok(()),
    }
}

/// Parses a complete greeting.
pub fn parse(g: &[u8; GREETING_LEN]) -> Result<PeerGreeting, ProtocolError> {
    check_prefix(g)?;
    // A newer peer downgrades to us; 3.1 is the newest we know.
    let version = match (g[MAJOR_POS], g[MINOR_POS]) {
        (3, 0) => (3, 0),
        _ => OUR_VERSION,
    };
    let mut mechanism = [0u8; MECHANISM_LEN];
    mechanism.copy_from_slice(&g[MECHANISM_POS..MECHANISM_POS + MECHANISM_LEN]);
    Ok(PeerGreeting {
        version,
        mechanism,
        as_server: g[AS_SERVER_POS] != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_greeting_layout() {
        let g = encode("NULL", false);
        let mut want = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1];
        want.extend_from_slice(b"NULL");
        want.resize(64, 0);
        assert_eq!(&g[..], &want[..]);
        let g = encode("CURVE", true);
        assert_eq!(&g[12..17], b"CURVE");
        assert_eq!(g[32], 1);
        assert!(g[33..].iter().all(|&b| b == 0));
    }

    #[test]
    fn parse_roundtrip_and_downgrade() {
        let mut g = encode("NULL", true);
        let p = parse(&g).unwrap();
        assert_eq!(p.version, (3, 1));
        assert!(p.as_server);
        assert!(p.mechanism_is("NULL"));
        assert!(!p.mechanism_is("NUL"));
        assert!(!p.mechanism_is("PLAIN"));
        assert_eq!(p.mechanism_name(), "NULL");
        g[11] = 0;
        assert_eq!(parse(&g).unwrap().version, (3, 0));
        g[10] = 4;
        g[11] = 7;
        assert_eq!(parse(&g).unwrap().version, (3, 1));
        g[10] = 3;
        g[11] = 9;
        assert_eq!(parse(&g).unwrap().version, (3, 1));
    }

    #[test]
    fn padding_is_ignored() {
        let mut g = encode("NULL", false);
        g[1..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 6]);
        assert!(parse(&g).is_ok());
    }

    #[test]
    fn early_rejection() {
        assert_eq!(check_prefix(&[]), Ok(()));
        assert_eq!(check_prefix(&[0xFF]), Ok(()));
        assert_eq!(check_prefix(&[0x01]), Err(ProtocolError::BadSignature));
        let mut sig = [0u8; 11];
        sig[0] = 0xFF;
        assert_eq!(check_prefix(&sig[..9]), Ok(()));
        assert_eq!(check_prefix(&sig[..10]), Err(ProtocolError::BadSignature));
        sig[9] = 0x7F;
        assert_eq!(check_prefix(&sig[..10]), Ok(()));
        sig[10] = 2;
        assert_eq!(
            check_prefix(&sig),
            Err(ProtocolError::UnsupportedVersion(2))
        );
        sig[10] = 1;
        assert_eq!(
            check_prefix(&sig),
            Err(ProtocolError::UnsupportedVersion(1))
        );
        sig[10] = 3;
        assert_eq!(check_prefix(&sig), Ok(()));
    }
}

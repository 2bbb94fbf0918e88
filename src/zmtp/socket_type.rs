//! Which socket types may talk to which, as the ZMTP RFCs tabulate it. The handshake refuses a
//! peer whose READY announces a Socket-Type that is not in our row.

/// Each of our socket types with the peer types it accepts.
const COMPATIBLE: &[(&str, &[&str])] = &[
    ("PAIR", &["PAIR"]),
    ("PUB", &["SUB", "XSUB"]),
    ("SUB", &["PUB", "XPUB"]),
    ("XPUB", &["SUB", "XSUB"]),
    ("XSUB", &["PUB", "XPUB"]),
    ("REQ", &["REP", "ROUTER"]),
    ("REP", &["REQ", "DEALER"]),
    ("DEALER", &["REP", "DEALER", "ROUTER"]),
    ("ROUTER", &["REQ", "DEALER", "ROUTER"]),
    ("PULL", &["PUSH"]),
    ("PUSH", &["PULL"]),
    ("SERVER", &["CLIENT"]),
    ("CLIENT", &["SERVER"]),
    ("RADIO", &["DISH"]),
    ("DISH", &["RADIO"]),
    ("GATHER", &["SCATTER"]),
    ("SCATTER", &["GATHER"]),
    ("PEER", &["PEER"]),
    ("CHANNEL", &["CHANNEL"]),
];

/// True when a socket of type `ours` may accept a peer announcing `theirs` (compared exactly,
/// case-sensitively, as libzmq does).
pub fn compatible(ours: &str, theirs: &[u8]) -> bool {
    COMPATIBLE
        .iter()
        .find(|(t, _)| *t == ours)
        .is_some_and(|(_, peers)| peers.iter().any(|p| p.as_bytes() == theirs))
}

/// True for the socket types that announce their routing id as the "Identity" property.
pub fn sends_identity(ours: &str) -> bool {
    matches!(ours, "REQ" | "DEALER" | "ROUTER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_symmetric() {
        for (ours, peers) in COMPATIBLE {
            for p in *peers {
                assert!(compatible(p, ours.as_bytes()), "{p} should accept {ours}");
            }
        }
    }

    #[test]
    fn examples() {
        assert!(compatible("REQ", b"ROUTER"));
        assert!(!compatible("REQ", b"REQ"));
        assert!(!compatible("PUB", b"PUB"));
        assert!(!compatible("PUB", b"sub"));
        assert!(!compatible("PUSH", b"PUSHX"));
        assert!(!compatible("STREAM", b"STREAM"));
        assert!(compatible("XSUB", b"XPUB"));
        assert!(compatible("DEALER", b"DEALER"));
        assert!(sends_identity("ROUTER") && !sends_identity("PUB"));
    }
}

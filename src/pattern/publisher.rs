//! PUB: XPUB that cannot receive. Subscriptions are still read from the pipes and applied;
//! nothing else that subscribers send upstream is kept.

use super::xpub::XPub;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

pub struct Pub(XPub);

impl Default for Pub {
    fn default() -> Self {
        Pub(XPub::new(true))
    }
}

impl Pattern for Pub {
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        self.0.attach(pipes, key)
    }
    fn terminated(&mut self, pipes: &mut Pipes, key: usize) {
        self.0.terminated(pipes, key)
    }
    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.0.read_activated(pipes, key)
    }
    fn write_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.0.write_activated(pipes, key)
    }
    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.0.send(pipes, msg)
    }
    fn recv(&mut self, _: &mut Pipes) -> Result<Msg> {
        Err(Error::ENOTSUP)
    }
    fn has_in(&mut self, _: &mut Pipes) -> bool {
        false
    }
    fn has_out(&mut self, _: &mut Pipes) -> bool {
        true
    }
    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        self.0.set_option(opt, val)
    }
    fn get_option(&self, opt: i32, out: &mut [u8]) -> Result<Option<usize>> {
        self.0.get_option(opt, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::SUBSCRIBE;
    use crate::pattern::xpub::tests::{connect, drain, flagged, frame};

    #[test]
    fn publishes_to_subscribers_and_cannot_receive() {
        let mut p = Pub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut p, &mut pipes, 2, 0);
        peers[0].1.write(flagged(SUBSCRIBE, b"a"));
        peers[1].1.write(frame(b"\x01b", false));
        peers[1].1.write(frame(b"upstream data", false));
        for (k, _) in &peers {
            p.read_activated(&mut pipes, *k);
        }
        assert_eq!(p.recv(&mut pipes).unwrap_err(), Error::ENOTSUP);
        assert!(!p.has_in(&mut pipes));
        assert!(p.has_out(&mut pipes));
        for t in [&b"a1"[..], b"b1", b"c1"] {
            p.send(&mut pipes, &mut frame(t, false)).unwrap();
        }
        assert_eq!(drain(&mut peers[0].1), vec![b"a1".to_vec()]);
        assert_eq!(drain(&mut peers[1].1), vec![b"b1".to_vec()]);
        assert!(!p.0.has_in(&mut pipes), "PUB keeps no notices");
    }

    #[test]
    fn without_subscribers_messages_are_dropped() {
        let mut p = Pub::default();
        let mut pipes = Pipes::default();
        let mut m = frame(b"x", false);
        assert_eq!(p.send(&mut pipes, &mut m), Ok(()));
        assert!(m.is_empty());
    }
}

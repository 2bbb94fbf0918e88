//! SUB: XSUB that filters what it receives by its subscriptions and cannot send; the
//! subscriptions are made with ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE.

use super::xpub::ZMQ_INVERT_MATCHING;
use super::xsub::XSub;
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::options::{ZMQ_SUBSCRIBE, ZMQ_UNSUBSCRIBE};
use crate::core::pipes::Pipes;

pub struct Sub(XSub);

impl Default for Sub {
    fn default() -> Self {
        Sub(XSub::new(true))
    }
}

impl Sub {
    /// Sends subscriptions made by options since the last call that had the pipes.
    pub fn flush(&mut self, pipes: &mut Pipes) {
        self.0.flush(pipes)
    }
}

impl Pattern for Sub {
    fn option_applied(&mut self, pipes: &mut Pipes) {
        self.flush(pipes)
    }
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
    fn hiccuped(&mut self, pipes: &mut Pipes, key: usize) {
        self.0.hiccuped(pipes, key)
    }
    fn send(&mut self, _: &mut Pipes, _: &mut Msg) -> Result<()> {
        Err(Error::ENOTSUP)
    }
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        self.0.recv(pipes)
    }
    fn recv_into(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.0.recv_into(pipes, msg)
    }
    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.0.has_in(pipes)
    }
    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.0.flush(pipes);
        false
    }
    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        match opt {
            ZMQ_SUBSCRIBE | ZMQ_UNSUBSCRIBE => {
                self.0.subscribe_option(opt == ZMQ_SUBSCRIBE, val);
                Ok(true)
            }
            ZMQ_INVERT_MATCHING => self.0.set_option(opt, val),
            _ => Ok(false),
        }
    }
    fn get_option(&self, opt: i32, out: &mut [u8]) -> Result<Option<usize>> {
        self.0.get_option(opt, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::{CANCEL, SUBSCRIBE};
    use crate::core::pipe::PipeEnd;
    use crate::pattern::trie::tests::Rng;
    use crate::pattern::xpub::tests::{connect, frame};
    use crate::pattern::xpub::ZMQ_ONLY_FIRST_SUBSCRIBE;
    use crate::pattern::xsub::ZMQ_XSUB_VERBOSE_UNSUBSCRIBE;
    use std::collections::BTreeMap;

    fn recv_all(s: &mut Sub, pipes: &mut Pipes) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| s.recv(pipes).ok().map(|m| m.data().to_vec())).collect()
    }

    fn upstream(p: &mut PipeEnd) -> Vec<(u8, Vec<u8>)> {
        std::iter::from_fn(|| p.read().map(|m| (m.flags(), m.data().to_vec()))).collect()
    }

    /// A SUB subscribed to "a" with one peer, which has sent a two-frame message on "b".
    fn subscribed_to_a() -> (Sub, Pipes, Vec<(usize, PipeEnd)>) {
        let mut s = Sub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut s, &mut pipes, 1, 0);
        s.set_option(ZMQ_SUBSCRIBE, b"a").unwrap();
        peers[0].1.write(frame(b"b-head", true));
        peers[0].1.write(frame(b"b-tail", false));
        (s, pipes, peers)
    }

    #[test]
    fn filters_by_subscription_and_drops_whole_messages() {
        let (mut s, mut pipes, mut peers) = subscribed_to_a();
        let p = &mut peers[0].1;
        p.write(frame(b"a-head", true));
        p.write(frame(b"a-tail", false));
        p.write(frame(b"c", false));
        assert!(s.has_in(&mut pipes));
        assert_eq!(
            recv_all(&mut s, &mut pipes),
            vec![b"a-head".to_vec(), b"a-tail".to_vec()]
        );
        assert!(!s.has_in(&mut pipes));
    }

    #[test]
    fn recv_into_filters_in_place() {
        let (mut s, mut pipes, mut peers) = subscribed_to_a();
        peers[0].1.write(frame(b"a1", false));
        let mut m = frame(b"old", false);
        assert_eq!(s.recv_into(&mut pipes, &mut m), Ok(()));
        assert_eq!(m.data(), b"a1");
        // Nothing waiting: the message is left as it was.
        assert_eq!(s.recv_into(&mut pipes, &mut m), Err(Error::EAGAIN));
        assert_eq!(m.data(), b"a1");
        // Only frames no subscription matches: dropped, and the message is left empty.
        peers[0].1.write(frame(b"zz", false));
        s.read_activated(&mut pipes, peers[0].0);
        assert_eq!(s.recv_into(&mut pipes, &mut m), Err(Error::EAGAIN));
        assert!(m.is_empty() && !m.more());
    }

    #[test]
    fn nothing_without_subscriptions_and_cannot_send() {
        let mut s = Sub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut s, &mut pipes, 1, 0);
        peers[0].1.write(frame(b"x", false));
        assert!(recv_all(&mut s, &mut pipes).is_empty());
        assert_eq!(
            s.send(&mut pipes, &mut frame(b"x", false)),
            Err(Error::ENOTSUP)
        );
        assert!(!s.has_out(&mut pipes));
    }

    #[test]
    fn options_go_upstream_counted() {
        let mut s = Sub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut s, &mut pipes, 2, 0);
        s.set_option(ZMQ_SUBSCRIBE, b"t").unwrap();
        s.set_option(ZMQ_SUBSCRIBE, b"t").unwrap();
        s.set_option(ZMQ_UNSUBSCRIBE, b"t").unwrap();
        s.set_option(ZMQ_UNSUBSCRIBE, b"never").unwrap();
        s.flush(&mut pipes);
        for (_, p) in peers.iter_mut() {
            assert_eq!(
                upstream(p),
                vec![(SUBSCRIBE, b"t".to_vec()), (SUBSCRIBE, b"t".to_vec())]
            );
        }
        peers[0].1.write(frame(b"topic", false));
        assert_eq!(recv_all(&mut s, &mut pipes), vec![b"topic".to_vec()]);
        s.set_option(ZMQ_UNSUBSCRIBE, b"t").unwrap();
        peers[0].1.write(frame(b"topic", false));
        peers[0].1.write(frame(b"u", false));
        s.set_option(ZMQ_SUBSCRIBE, b"u").unwrap();
        s.read_activated(&mut pipes, peers[0].0);
        assert_eq!(recv_all(&mut s, &mut pipes), vec![b"u".to_vec()]);
        s.set_option(ZMQ_UNSUBSCRIBE, b"u").unwrap();
        assert!(
            recv_all(&mut s, &mut pipes).is_empty(),
            "recv sends the cancel"
        );
        for (_, p) in peers.iter_mut() {
            assert_eq!(
                upstream(p),
                vec![
                    (CANCEL, b"t".to_vec()),
                    (SUBSCRIBE, b"u".to_vec()),
                    (CANCEL, b"u".to_vec())
                ]
            );
        }
    }

    #[test]
    fn pipe_attached_before_flush_gets_each_subscription_once() {
        let mut s = Sub::default();
        let mut pipes = Pipes::default();
        let mut old = connect(&mut s, &mut pipes, 1, 0);
        s.set_option(ZMQ_SUBSCRIBE, b"a").unwrap();
        let mut new = connect(&mut s, &mut pipes, 1, 0);
        s.flush(&mut pipes);
        assert_eq!(upstream(&mut old[0].1), vec![(SUBSCRIBE, b"a".to_vec())]);
        assert_eq!(upstream(&mut new[0].1), vec![(SUBSCRIBE, b"a".to_vec())]);
    }

    #[test]
    fn invert_matching() {
        let mut s = Sub::default();
        s.set_option(ZMQ_INVERT_MATCHING, &1i32.to_ne_bytes())
            .unwrap();
        s.set_option(ZMQ_SUBSCRIBE, b"a").unwrap();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut s, &mut pipes, 1, 0);
        peers[0].1.write(frame(b"abc", false));
        peers[0].1.write(frame(b"xyz", false));
        assert_eq!(recv_all(&mut s, &mut pipes), vec![b"xyz".to_vec()]);
    }

    #[test]
    fn xsub_only_options_are_not_sub_options() {
        let mut s = Sub::default();
        let one = 1i32.to_ne_bytes();
        assert_eq!(s.set_option(ZMQ_ONLY_FIRST_SUBSCRIBE, &one), Ok(false));
        assert_eq!(s.set_option(ZMQ_XSUB_VERBOSE_UNSUBSCRIBE, &one), Ok(false));
    }

    /// Random subscribe/unsubscribe sequences: what a SUB delivers and what it sends
    /// upstream agree with a naive model of counted topics.
    #[test]
    fn property_filter_and_upstream_match_a_model() {
        for seed in 0..50 {
            let mut rng = Rng::new(7000 + seed);
            let mut s = Sub::default();
            let mut pipes = Pipes::default();
            let mut peers = connect(&mut s, &mut pipes, 1, 0);
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            for _ in 0..200 {
                let t = rng.topic(3);
                let subscribe = rng.below(2) == 0;
                s.set_option(
                    if subscribe {
                        ZMQ_SUBSCRIBE
                    } else {
                        ZMQ_UNSUBSCRIBE
                    },
                    &t,
                )
                .unwrap();
                s.flush(&mut pipes);
                let sent = upstream(&mut peers[0].1);
                let c = model.entry(t.clone()).or_insert(0);
                if subscribe {
                    *c += 1;
                    assert_eq!(sent, vec![(SUBSCRIBE, t.clone())], "seed {seed}");
                } else if *c > 0 {
                    *c -= 1;
                    let expect = if *c == 0 {
                        vec![(CANCEL, t.clone())]
                    } else {
                        vec![]
                    };
                    assert_eq!(sent, expect, "seed {seed}");
                } else {
                    assert!(sent.is_empty(), "seed {seed}");
                }
                model.retain(|_, c| *c > 0);
                let data = rng.topic(5);
                peers[0].1.write(frame(&data, false));
                s.read_activated(&mut pipes, peers[0].0);
                let got = recv_all(&mut s, &mut pipes);
                let expect = model.keys().any(|k| data.starts_with(k));
                assert_eq!(got.len(), expect as usize, "seed {seed}: {data:?}");
            }
        }
    }
}

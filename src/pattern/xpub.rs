//! XPUB: a publisher that shows its subscribers' subscriptions to the application. A message
//! goes to every pipe subscribed to a prefix of its first frame, and pipes at their HWM miss
//! it (or, with ZMQ_XPUB_NODROP, the send fails with EAGAIN). Subscriptions arrive as
//! SUBSCRIBE/CANCEL-flagged messages or as messages starting with 1/0; new topics and
//! topics nobody wants any more are received as `\x01topic` / `\x00topic`, and other
//! messages coming upstream are received as they are. PUB is this without the receiving.

use super::dist::Distributor;
use super::trie::{Removed, Subscribers};
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, CANCEL, ROUTING_ID, SUBSCRIBE};
use crate::core::options::{
    bool_arg, int_arg, put_int, ZMQ_SUBSCRIBE, ZMQ_UNSUBSCRIBE, ZMQ_XPUB_NODROP, ZMQ_XPUB_VERBOSE,
};
use crate::core::pipes::Pipes;
use std::collections::VecDeque;

pub const ZMQ_XPUB_MANUAL: i32 = 71;
pub const ZMQ_XPUB_WELCOME_MSG: i32 = 72;
pub const ZMQ_INVERT_MATCHING: i32 = 74;
pub const ZMQ_XPUB_VERBOSER: i32 = 78;
pub const ZMQ_XPUB_MANUAL_LAST_VALUE: i32 = 98;
pub const ZMQ_ONLY_FIRST_SUBSCRIBE: i32 = 108;
pub const ZMQ_TOPICS_COUNT: i32 = 116;

/// A subscription carried by a message: (subscribe?, topic). Either the ZMTP 3.1 command
/// form (flag, topic as body) or the 3.0 form (first byte 1 or 0, then the topic).
pub fn parse_subscription(msg: &Msg) -> Option<(bool, &[u8])> {
    if msg.flags() & (SUBSCRIBE | CANCEL) != 0 {
        return Some((msg.flags() & SUBSCRIBE != 0, msg.data()));
    }
    match msg.data().split_first() {
        Some((&1, topic)) => Some((true, topic)),
        Some((&0, topic)) => Some((false, topic)),
        _ => None,
    }
}

/// A `\x01topic` / `\x00topic` notice for the application.
fn notice(subscribe: bool, topic: &[u8], from: Option<&Msg>) -> Msg {
    let mut m = Msg::with_size(topic.len() + 1);
    let d = m.data_mut();
    d[0] = subscribe as u8;
    d[1..].copy_from_slice(topic);
    if let Some(md) = from.and_then(|f| f.metadata()) {
        m.set_metadata(Some(md.clone()));
    }
    m
}

/// Where a message waiting to be received came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Origin {
    /// A message sent upstream by a subscriber that is not a subscription.
    Data,
    /// A subscription notice from this pipe.
    Pipe(usize),
    /// A cancel made up for a pipe that has gone.
    Gone,
}

pub struct XPub {
    /// PUB: notices and upstream messages are not kept (nobody can receive them).
    is_pub: bool,
    subs: Subscribers,
    /// Under XPUB_MANUAL: what each pipe asked for, to report its cancels when it goes.
    requested: Subscribers,
    dist: Distributor,
    pending: VecDeque<(Msg, Origin)>,
    /// Under XPUB_MANUAL: the pipe whose subscription was received last; ZMQ_SUBSCRIBE and
    /// ZMQ_UNSUBSCRIBE apply to it.
    last_pipe: Option<usize>,
    welcome: Option<Msg>,
    verbose_subs: bool,
    verbose_unsubs: bool,
    nodrop: bool,
    manual: bool,
    /// XPUB_MANUAL_LAST_VALUE: the next message goes only to `last_pipe`.
    last_value: bool,
    only_first_subscribe: bool,
    invert: bool,
}

impl Default for XPub {
    fn default() -> Self {
        XPub::new(false)
    }
}

impl XPub {
    pub(crate) fn new(is_pub: bool) -> XPub {
        XPub {
            is_pub,
            subs: Subscribers::default(),
            requested: Subscribers::default(),
            dist: Distributor::default(),
            pending: VecDeque::new(),
            last_pipe: None,
            welcome: None,
            verbose_subs: false,
            verbose_unsubs: false,
            nodrop: false,
            manual: false,
            last_value: false,
            only_first_subscribe: false,
            invert: false,
        }
    }

    /// Reads everything the pipe holds: subscriptions, and messages sent upstream.
    fn read_pipe(&mut self, pipes: &mut Pipes, key: usize) {
        let mut more = false;
        let mut in_subscription_msg = false;
        loop {
            let Some(p) = pipes.get_mut(key) else { return };
            let Some(mut msg) = p.read() else {
                if p.is_drained_and_closed() {
                    pipes.mark_dead(key);
                }
                return;
            };
            let first = !more;
            if first && msg.flags() & ROUTING_ID != 0 && !msg.more() {
                continue;
            }
            more = msg.more();
            let sub = if first || in_subscription_msg {
                parse_subscription(&msg)
            } else {
                None
            };
            if first {
                // ONLY_FIRST_SUBSCRIBE: a message that does not start with a subscription
                // is data in all its frames.
                in_subscription_msg = !self.only_first_subscribe || sub.is_some();
            }
            match sub {
                Some((subscribe, topic)) => self.subscription(key, subscribe, topic, &msg),
                None if !self.is_pub => {
                    msg.reset_flags(SUBSCRIBE | CANCEL);
                    self.pending.push_back((msg, Origin::Data));
                }
                None => {}
            }
        }
    }

    fn subscription(&mut self, key: usize, subscribe: bool, topic: &[u8], msg: &Msg) {
        let notify = if self.manual {
            if subscribe {
                self.requested.add(topic, key);
            } else {
                self.requested.remove(topic, key);
            }
            true
        } else if subscribe {
            self.subs.add(topic, key) || self.verbose_subs
        } else {
            // A cancel for a topic the pipe did not have is reported too, as libzmq does.
            self.subs.remove(topic, key) != Removed::OthersRemain || self.verbose_unsubs
        };
        if notify && !self.is_pub {
            self.pending
                .push_back((notice(subscribe, topic, Some(msg)), Origin::Pipe(key)));
        }
    }

    /// Chooses the pipes the message starting with `first_frame` goes to.
    fn choose_targets(&mut self, first_frame: &[u8]) {
        // MANUAL_LAST_VALUE: the message goes only to the pipe whose subscription came last.
        let only_to = self.last_pipe.filter(|_| self.manual && self.last_value);
        if !self.invert && only_to.is_none() && self.subs.to_everything() == self.dist.attached() {
            // Every pipe is subscribed to everything (every subscriber is an attached pipe),
            // so the message goes to every pipe with room whatever its topic; the distributor
            // keeps that list from one message to the next.
            self.dist.target_all();
            return;
        }
        self.dist.clear();
        let dist = &mut self.dist;
        match only_to {
            Some(last) => {
                self.subs.for_each_match(first_frame, |k| {
                    if k == last {
                        dist.add(k)
                    }
                });
                self.last_pipe = None;
            }
            None => self.subs.for_each_match(first_frame, |k| dist.add(k)),
        }
        if self.invert {
            self.dist.invert();
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        self.dist.attach(key);
        if let (Some(w), Some(p)) = (&self.welcome, pipes.get_mut(key)) {
            p.write(w.share());
        }
        self.read_pipe(pipes, key);
    }

    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        let is_pub = self.is_pub;
        let pending = &mut self.pending;
        if self.manual {
            let mut any = false;
            self.requested.remove_pipe(key, |topic, _| {
                any = true;
                if !is_pub {
                    pending.push_back((notice(false, topic, None), Origin::Gone));
                }
            });
            self.subs.remove_pipe(key, |_, _| {});
            if any || self.last_pipe == Some(key) {
                self.last_pipe = None;
            }
        } else {
            let verbose = self.verbose_unsubs;
            self.subs.remove_pipe(key, |topic, last| {
                if !is_pub && (last || verbose) {
                    pending.push_back((notice(false, topic, None), Origin::Gone));
                }
            });
        }
        for (_, origin) in self.pending.iter_mut() {
            if *origin == Origin::Pipe(key) {
                *origin = Origin::Gone;
            }
        }
        self.dist.terminated(key);
    }

    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.read_pipe(pipes, key);
    }

    fn write_activated(&mut self, _: &mut Pipes, key: usize) {
        self.dist.activated(key);
    }

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        if !self.dist.in_msg() {
            self.choose_targets(msg.data());
        }
        if self.nodrop && !self.dist.targets_have_room(pipes) {
            return Err(Error::EAGAIN);
        }
        self.dist.send(pipes, msg);
        Ok(())
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Msg> {
        let (msg, origin) = self.pending.pop_front().ok_or(Error::EAGAIN)?;
        if self.manual {
            match origin {
                Origin::Pipe(k) => self.last_pipe = Some(k),
                Origin::Gone => self.last_pipe = None,
                Origin::Data => {}
            }
        }
        Ok(msg)
    }

    fn has_in(&mut self, _: &mut Pipes) -> bool {
        !self.pending.is_empty()
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        true
    }

    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        match opt {
            ZMQ_XPUB_VERBOSE
            | ZMQ_XPUB_VERBOSER
            | ZMQ_XPUB_MANUAL_LAST_VALUE
            | ZMQ_XPUB_NODROP
            | ZMQ_XPUB_MANUAL
            | ZMQ_ONLY_FIRST_SUBSCRIBE => {
                let v = int_arg(val)?;
                if v < 0 {
                    return Err(Error::EINVAL);
                }
                let on = v != 0;
                match opt {
                    ZMQ_XPUB_VERBOSE => {
                        self.verbose_subs = on;
                        self.verbose_unsubs = false;
                    }
                    ZMQ_XPUB_VERBOSER => {
                        self.verbose_subs = on;
                        self.verbose_unsubs = on;
                    }
                    ZMQ_XPUB_MANUAL_LAST_VALUE => {
                        self.manual = on;
                        self.last_value = on;
                    }
                    ZMQ_XPUB_NODROP => self.nodrop = on,
                    ZMQ_XPUB_MANUAL => self.manual = on,
                    _ => self.only_first_subscribe = on,
                }
            }
            ZMQ_SUBSCRIBE | ZMQ_UNSUBSCRIBE if self.manual => {
                // Without a last pipe (none yet, or it has gone) this quietly does nothing.
                if let Some(k) = self.last_pipe {
                    if opt == ZMQ_SUBSCRIBE {
                        self.subs.add(val, k);
                    } else {
                        self.subs.remove(val, k);
                    }
                }
            }
            ZMQ_XPUB_WELCOME_MSG => {
                self.welcome = (!val.is_empty()).then(|| Msg::from_slice(val));
            }
            ZMQ_INVERT_MATCHING => self.invert = bool_arg(val)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn get_option(&self, opt: i32, out: &mut [u8]) -> Result<Option<usize>> {
        match opt {
            ZMQ_TOPICS_COUNT => put_int(out, self.subs.len() as i32).map(Some),
            ZMQ_INVERT_MATCHING => put_int(out, self.invert as i32).map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::msg::MORE;
    use crate::core::pipe::{pipe_pair, PipeEnd};

    pub(crate) fn frame(s: &[u8], more: bool) -> Msg {
        let mut m = Msg::from_slice(s);
        if more {
            m.set_flags(MORE);
        }
        m
    }

    pub(crate) fn flagged(flag: u8, topic: &[u8]) -> Msg {
        let mut m = Msg::from_slice(topic);
        m.set_flags(flag);
        m
    }

    pub(crate) fn drain(p: &mut PipeEnd) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| p.read().map(|m| m.data().to_vec())).collect()
    }

    /// A socket's side of pipes to `n` peers, as the socket would attach them.
    pub(crate) fn connect(
        pattern: &mut dyn Pattern,
        pipes: &mut Pipes,
        n: usize,
        hwm: u64,
    ) -> Vec<(usize, PipeEnd)> {
        (0..n)
            .map(|_| {
                let (ours, theirs) = pipe_pair(hwm, 0);
                let k = pipes.insert(ours, "test".into());
                pattern.attach(pipes, k);
                (k, theirs)
            })
            .collect()
    }

    fn recv_all(x: &mut XPub, pipes: &mut Pipes) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| x.recv(pipes).ok().map(|m| m.data().to_vec())).collect()
    }

    fn opt(x: &mut XPub, o: i32, v: i32) {
        assert_eq!(x.set_option(o, &v.to_ne_bytes()), Ok(true));
    }

    #[test]
    fn publishes_by_prefix_and_keeps_multipart_together() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 3, 0);
        peers[0].1.write(frame(b"\x01news", false));
        peers[1].1.write(flagged(SUBSCRIBE, b""));
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        x.send(&mut pipes, &mut frame(b"news: x", true)).unwrap();
        x.send(&mut pipes, &mut frame(b"body", false)).unwrap();
        x.send(&mut pipes, &mut frame(b"weather", false)).unwrap();
        assert_eq!(
            drain(&mut peers[0].1),
            vec![b"news: x".to_vec(), b"body".to_vec()]
        );
        assert_eq!(
            drain(&mut peers[1].1),
            vec![b"news: x".to_vec(), b"body".to_vec(), b"weather".to_vec()]
        );
        assert!(drain(&mut peers[2].1).is_empty());
        assert_eq!(
            recv_all(&mut x, &mut pipes),
            vec![b"\x01news".to_vec(), vec![1]]
        );
    }

    #[test]
    fn everything_subscribers_and_topic_subscribers_mix() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        let send = |x: &mut XPub, pipes: &mut Pipes, s: &[u8]| {
            x.send(pipes, &mut frame(s, false)).unwrap();
        };
        for (k, p) in peers.iter_mut() {
            p.write(flagged(SUBSCRIBE, b""));
            x.read_activated(&mut pipes, *k);
        }
        send(&mut x, &mut pipes, b"x");
        // A third pipe, subscribed to "a" only: the others still get everything, it gets "a".
        peers.extend(connect(&mut x, &mut pipes, 1, 0));
        send(&mut x, &mut pipes, b"before its subscription");
        peers[2].1.write(flagged(SUBSCRIBE, b"a"));
        x.read_activated(&mut pipes, peers[2].0);
        send(&mut x, &mut pipes, b"b");
        send(&mut x, &mut pipes, b"a1");
        let got: Vec<_> = peers.iter_mut().map(|(_, p)| drain(p)).collect();
        let all = vec![
            b"x".to_vec(),
            b"before its subscription".to_vec(),
            b"b".to_vec(),
            b"a1".to_vec(),
        ];
        assert_eq!(got, vec![all.clone(), all, vec![b"a1".to_vec()]]);
        // It subscribes to everything too; then the first cancels everything.
        peers[2].1.write(flagged(SUBSCRIBE, b""));
        x.read_activated(&mut pipes, peers[2].0);
        send(&mut x, &mut pipes, b"c");
        peers[0].1.write(flagged(CANCEL, b""));
        x.read_activated(&mut pipes, peers[0].0);
        send(&mut x, &mut pipes, b"d");
        let got: Vec<_> = peers.iter_mut().map(|(_, p)| drain(p)).collect();
        let cd = vec![b"c".to_vec(), b"d".to_vec()];
        assert_eq!(got, vec![vec![b"c".to_vec()], cd.clone(), cd]);
        // A pipe that goes leaves the subscribers and the targets alike.
        let gone = peers.remove(1).0;
        pipes.remove(gone);
        x.terminated(&mut pipes, gone);
        send(&mut x, &mut pipes, b"e");
        let got: Vec<_> = peers.iter_mut().map(|(_, p)| drain(p)).collect();
        assert_eq!(got, vec![vec![], vec![b"e".to_vec()]]);
    }

    #[test]
    fn overlapping_subscriptions_deliver_once() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        for t in [&b"\x01"[..], b"\x01a", b"\x01ab"] {
            peers[0].1.write(frame(t, false));
        }
        x.read_activated(&mut pipes, peers[0].0);
        x.send(&mut pipes, &mut frame(b"abc", false)).unwrap();
        assert_eq!(drain(&mut peers[0].1), vec![b"abc".to_vec()]);
    }

    #[test]
    fn notices_unique_then_verbose_then_verboser() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        let sub = |p: &mut PipeEnd, s: &[u8]| p.write(frame(s, false));
        sub(&mut peers[0].1, b"\x01t");
        sub(&mut peers[1].1, b"\x01t");
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        assert_eq!(recv_all(&mut x, &mut pipes), vec![b"\x01t".to_vec()]);
        sub(&mut peers[0].1, b"\x00t");
        x.read_activated(&mut pipes, peers[0].0);
        assert!(!x.has_in(&mut pipes), "others remain: no notice");
        sub(&mut peers[1].1, b"\x00t");
        x.read_activated(&mut pipes, peers[1].0);
        assert_eq!(recv_all(&mut x, &mut pipes), vec![b"\x00t".to_vec()]);

        opt(&mut x, ZMQ_XPUB_VERBOSE, 1);
        sub(&mut peers[0].1, b"\x01t");
        sub(&mut peers[1].1, b"\x01t");
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        assert_eq!(recv_all(&mut x, &mut pipes).len(), 2);
        sub(&mut peers[0].1, b"\x00t");
        x.read_activated(&mut pipes, peers[0].0);
        assert!(
            !x.has_in(&mut pipes),
            "VERBOSE does not show duplicate cancels"
        );

        opt(&mut x, ZMQ_XPUB_VERBOSER, 1);
        sub(&mut peers[0].1, b"\x01t");
        sub(&mut peers[0].1, b"\x00t");
        x.read_activated(&mut pipes, peers[0].0);
        assert_eq!(
            recv_all(&mut x, &mut pipes),
            vec![b"\x01t".to_vec(), b"\x00t".to_vec()]
        );
    }

    #[test]
    fn flagged_and_plain_forms_and_upstream_data() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        let mut id = Msg::from_slice(b"\0id");
        id.set_flags(ROUTING_ID);
        let p = &mut peers[0].1;
        p.write(id);
        p.write(flagged(SUBSCRIBE, b"a"));
        p.write(frame(b"\x02user", true));
        p.write(frame(b"\x01tail", false));
        p.write(flagged(CANCEL, b"a"));
        x.read_activated(&mut pipes, peers[0].0);
        let mut got = Vec::new();
        while let Ok(m) = x.recv(&mut pipes) {
            got.push((m.data().to_vec(), m.more()));
        }
        assert_eq!(
            got,
            vec![
                (b"\x01a".to_vec(), false),
                (b"\x02user".to_vec(), true),
                (b"\x01tail".to_vec(), false),
                (b"\x00a".to_vec(), false),
            ]
        );
        // "tail" was a later frame of a subscription-processing message: it subscribed.
        assert!(x.subs.contains(b"tail", peers[0].0));
    }

    #[test]
    fn only_first_subscribe_makes_data_messages_data() {
        let mut x = XPub::default();
        opt(&mut x, ZMQ_ONLY_FIRST_SUBSCRIBE, 1);
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        let p = &mut peers[0].1;
        p.write(frame(b"ABC", true));
        p.write(frame(b"\x01BC", false));
        p.write(frame(b"\x01BC", true));
        p.write(frame(b"\x01CD", false));
        x.read_activated(&mut pipes, peers[0].0);
        assert_eq!(
            recv_all(&mut x, &mut pipes),
            vec![
                b"ABC".to_vec(),
                b"\x01BC".to_vec(),
                b"\x01BC".to_vec(),
                b"\x01CD".to_vec()
            ]
        );
        assert_eq!(x.subs.len(), 2, "BC and CD, from the second message only");
    }

    #[test]
    fn terminated_pipe_cancels_its_topics() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        peers[0].1.write(frame(b"\x01a", false));
        peers[0].1.write(frame(b"\x01b", false));
        peers[1].1.write(frame(b"\x01a", false));
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        recv_all(&mut x, &mut pipes);
        let k = peers[0].0;
        drop(peers.remove(0));
        x.read_activated(&mut pipes, k);
        assert_eq!(pipes.take_dead(), vec![k]);
        x.terminated(&mut pipes, k);
        pipes.remove(k);
        assert_eq!(recv_all(&mut x, &mut pipes), vec![b"\x00b".to_vec()]);
        let mut buf = [0u8; 4];
        assert_eq!(x.get_option(ZMQ_TOPICS_COUNT, &mut buf), Ok(Some(4)));
        assert_eq!(i32::from_ne_bytes(buf), 1);
    }

    #[test]
    fn verboser_reports_every_cancel_of_a_gone_pipe() {
        let mut x = XPub::default();
        opt(&mut x, ZMQ_XPUB_VERBOSER, 1);
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        peers[0].1.write(frame(b"\x01a", false));
        peers[1].1.write(frame(b"\x01a", false));
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        recv_all(&mut x, &mut pipes);
        x.terminated(&mut pipes, peers[0].0);
        assert_eq!(recv_all(&mut x, &mut pipes), vec![b"\x00a".to_vec()]);
    }

    #[test]
    fn hwm_drops_unless_nodrop() {
        let mut x = XPub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 1);
        for (_, p) in peers.iter_mut() {
            p.write(frame(b"\x01", false));
        }
        for (k, _) in &peers {
            x.read_activated(&mut pipes, *k);
        }
        x.send(&mut pipes, &mut frame(b"1", false)).unwrap();
        x.send(&mut pipes, &mut frame(b"2", false)).unwrap();
        assert_eq!(drain(&mut peers[0].1), vec![b"1".to_vec()]);
        x.write_activated(&mut pipes, peers[0].0);
        x.send(&mut pipes, &mut frame(b"3", false)).unwrap();
        assert_eq!(drain(&mut peers[0].1), vec![b"3".to_vec()]);
        assert_eq!(drain(&mut peers[1].1), vec![b"1".to_vec()]);

        opt(&mut x, ZMQ_XPUB_NODROP, 1);
        x.write_activated(&mut pipes, peers[1].0);
        x.send(&mut pipes, &mut frame(b"4", false)).unwrap();
        let mut m = frame(b"5", false);
        assert_eq!(x.send(&mut pipes, &mut m), Err(Error::EAGAIN));
        assert_eq!(m.data(), b"5", "the message stays with the caller");
        assert!(x.has_out(&mut pipes));
        drain(&mut peers[0].1);
        drain(&mut peers[1].1);
        x.send(&mut pipes, &mut m).unwrap();
        assert_eq!(drain(&mut peers[1].1), vec![b"5".to_vec()]);
    }

    #[test]
    fn welcome_message_on_attach() {
        let mut x = XPub::default();
        assert_eq!(x.set_option(ZMQ_XPUB_WELCOME_MSG, b"hi"), Ok(true));
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        assert_eq!(drain(&mut peers[0].1), vec![b"hi".to_vec()]);
        assert_eq!(x.set_option(ZMQ_XPUB_WELCOME_MSG, b""), Ok(true));
        let mut more = connect(&mut x, &mut pipes, 1, 0);
        assert!(drain(&mut more[0].1).is_empty());
    }

    #[test]
    fn manual_subscriptions_apply_to_last_pipe() {
        let mut x = XPub::default();
        opt(&mut x, ZMQ_XPUB_MANUAL, 1);
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        // Without a last pipe ZMQ_SUBSCRIBE is accepted and does nothing.
        assert_eq!(x.set_option(ZMQ_SUBSCRIBE, b"X"), Ok(true));
        peers[0].1.write(frame(b"\x01A", false));
        peers[0].1.write(frame(b"\x01A", false));
        peers[1].1.write(frame(b"\x01B", false));
        x.read_activated(&mut pipes, peers[0].0);
        x.read_activated(&mut pipes, peers[1].0);
        assert_eq!(x.recv(&mut pipes).unwrap().data(), b"\x01A");
        x.set_option(ZMQ_SUBSCRIBE, b"XA").unwrap();
        assert_eq!(
            x.recv(&mut pipes).unwrap().data(),
            b"\x01A",
            "manual shows all"
        );
        assert_eq!(x.recv(&mut pipes).unwrap().data(), b"\x01B");
        x.set_option(ZMQ_SUBSCRIBE, b"XB").unwrap();
        for t in [&b"A"[..], b"B", b"XA", b"XB"] {
            x.send(&mut pipes, &mut frame(t, false)).unwrap();
        }
        assert_eq!(drain(&mut peers[0].1), vec![b"XA".to_vec()]);
        assert_eq!(drain(&mut peers[1].1), vec![b"XB".to_vec()]);
        x.set_option(ZMQ_UNSUBSCRIBE, b"XB").unwrap();
        x.send(&mut pipes, &mut frame(b"XB", false)).unwrap();
        assert!(drain(&mut peers[1].1).is_empty());

        // The pipe goes: its requested topics come back as cancels, and there is no last
        // pipe any more.
        x.terminated(&mut pipes, peers[0].0);
        assert_eq!(recv_all(&mut x, &mut pipes), vec![b"\x00A".to_vec()]);
        assert_eq!(x.last_pipe, None);
        assert!(!x.subs.contains(b"XA", peers[0].0));
    }

    #[test]
    fn manual_last_value_sends_first_message_to_new_subscriber_only() {
        let mut x = XPub::default();
        opt(&mut x, ZMQ_XPUB_MANUAL_LAST_VALUE, 1);
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        for (k, p) in peers.iter_mut() {
            p.write(frame(b"\x01A", false));
            x.read_activated(&mut pipes, *k);
            x.recv(&mut pipes).unwrap();
            x.set_option(ZMQ_SUBSCRIBE, b"A").unwrap();
        }
        x.send(&mut pipes, &mut frame(b"A1", false)).unwrap();
        x.send(&mut pipes, &mut frame(b"A2", false)).unwrap();
        assert_eq!(drain(&mut peers[0].1), vec![b"A2".to_vec()]);
        assert_eq!(drain(&mut peers[1].1), vec![b"A1".to_vec(), b"A2".to_vec()]);
    }

    #[test]
    fn invert_matching_sends_to_non_subscribers() {
        let mut x = XPub::default();
        opt(&mut x, ZMQ_INVERT_MATCHING, 1);
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        peers[0].1.write(frame(b"\x01a", false));
        x.read_activated(&mut pipes, peers[0].0);
        x.send(&mut pipes, &mut frame(b"abc", false)).unwrap();
        x.send(&mut pipes, &mut frame(b"xyz", false)).unwrap();
        assert_eq!(drain(&mut peers[0].1), vec![b"xyz".to_vec()]);
        assert_eq!(
            drain(&mut peers[1].1),
            vec![b"abc".to_vec(), b"xyz".to_vec()]
        );
        let mut buf = [0u8; 4];
        assert_eq!(x.get_option(ZMQ_INVERT_MATCHING, &mut buf), Ok(Some(4)));
        assert_eq!(i32::from_ne_bytes(buf), 1);
    }

    #[test]
    fn option_validation() {
        let mut x = XPub::default();
        assert_eq!(
            x.set_option(ZMQ_XPUB_VERBOSE, &(-1i32).to_ne_bytes()),
            Err(Error::EINVAL)
        );
        assert_eq!(x.set_option(ZMQ_XPUB_NODROP, &[1u8]), Err(Error::EINVAL));
        // Not manual: ZMQ_SUBSCRIBE is not an XPUB option.
        assert_eq!(x.set_option(ZMQ_SUBSCRIBE, b"a"), Ok(false));
        assert_eq!(x.set_option(9999, b""), Ok(false));
    }
}

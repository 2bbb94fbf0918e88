//! XSUB: a subscriber whose subscriptions are messages the application sends: `\x01topic`
//! subscribes, `\x00topic` cancels, anything else goes upstream to every publisher as it is.
//! The socket remembers its subscriptions (counted: two subscribes need two cancels) and
//! sends them to each new pipe and again to a pipe whose connection was re-established.
//! Received messages are fair-queued; SUB is this with filtering and ZMQ_SUBSCRIBE instead
//! of sending.

use super::dist::Distributor;
use super::fq::FairQueue;
use super::trie::Subscriptions;
use super::xpub::{
    parse_subscription, ZMQ_INVERT_MATCHING, ZMQ_ONLY_FIRST_SUBSCRIBE, ZMQ_TOPICS_COUNT,
};
use super::Pattern;
use crate::core::error::{Error, Result};
use crate::core::msg::{Msg, CANCEL, SUBSCRIBE};
use crate::core::options::{bool_arg, int_arg, put_int};
use crate::core::pipes::Pipes;

pub const ZMQ_XSUB_VERBOSE_UNSUBSCRIBE: i32 = 115;

/// A subscription as it goes on a pipe; the codec turns it into the peer's wire form.
fn subscription_msg(subscribe: bool, topic: &[u8]) -> Msg {
    let mut m = Msg::from_slice(topic);
    m.set_flags(if subscribe { SUBSCRIBE } else { CANCEL });
    m
}

pub struct XSub {
    /// SUB: only messages matching a subscription are received.
    filter: bool,
    subs: Subscriptions,
    fq: FairQueue,
    dist: Distributor,
    /// A first frame that `has_in` read to see whether it matches.
    prefetched: Option<Msg>,
    more_recv: bool,
    more_send: bool,
    /// The message being sent started with a subscription (see ONLY_FIRST_SUBSCRIBE).
    in_subscription_msg: bool,
    /// Subscriptions made with ZMQ_SUBSCRIBE/ZMQ_UNSUBSCRIBE, to send to every pipe at the
    /// next call that has the pipes at hand.
    outbox: Vec<Msg>,
    /// Pipes to send all subscriptions to once the message being sent is complete.
    replay: Vec<usize>,
    only_first_subscribe: bool,
    verbose_unsubs: bool,
    invert: bool,
}

impl Default for XSub {
    fn default() -> Self {
        XSub::new(false)
    }
}

impl XSub {
    pub(crate) fn new(filter: bool) -> XSub {
        XSub {
            filter,
            subs: Subscriptions::default(),
            fq: FairQueue::default(),
            dist: Distributor::default(),
            prefetched: None,
            more_recv: false,
            more_send: false,
            in_subscription_msg: false,
            outbox: Vec::new(),
            replay: Vec::new(),
            only_first_subscribe: false,
            verbose_unsubs: false,
            invert: false,
        }
    }

    /// Records a subscription or cancel; true if it must go upstream. Every subscribe goes
    /// (an XPUB_VERBOSE publisher wants duplicates); a cancel only when the last reference
    /// to the topic goes, unless XSUB_VERBOSE_UNSUBSCRIBE.
    fn record(&mut self, subscribe: bool, topic: &[u8]) -> bool {
        if subscribe {
            self.subs.add(topic);
            true
        } else {
            self.subs.remove(topic) || self.verbose_unsubs
        }
    }

    /// ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE on a SUB: filters at once, goes upstream at `flush`.
    pub(crate) fn subscribe_option(&mut self, subscribe: bool, topic: &[u8]) {
        if self.record(subscribe, topic) {
            self.outbox.push(subscription_msg(subscribe, topic));
        }
    }

    /// Sends the subscriptions made by options to every pipe. Called on every receive, so
    /// the check is inlined and the sending is not.
    #[inline]
    pub fn flush(&mut self, pipes: &mut Pipes) {
        if !self.outbox.is_empty() && !self.dist.in_msg() {
            self.send_outbox(pipes);
        }
    }

    #[inline(never)]
    fn send_outbox(&mut self, pipes: &mut Pipes) {
        for m in self.outbox.drain(..) {
            self.dist.broadcast(pipes, &m);
        }
    }

    /// Sends every subscription to a pipe (new, or reconnected), unless a message is half
    /// written to it: then once that message is complete.
    fn replay_to(&mut self, pipes: &mut Pipes, key: usize) {
        let Some(p) = pipes.get_mut(key) else { return };
        if p.in_write_msg() {
            if !self.replay.contains(&key) {
                self.replay.push(key);
            }
            return;
        }
        if p.peer_gone() {
            return;
        }
        // Regardless of the HWM: a dropped subscription would silently starve this peer.
        self.subs
            .for_each(|topic| p.write(subscription_msg(true, topic)));
    }

    /// Sends a data frame (or a subscription inside a multipart message) to every pipe.
    fn send_data(&mut self, pipes: &mut Pipes, msg: &mut Msg) {
        if !self.dist.in_msg() {
            self.dist.target_all();
        }
        self.dist.send(pipes, msg);
        if !self.dist.in_msg() && !self.replay.is_empty() {
            for k in std::mem::take(&mut self.replay) {
                self.replay_to(pipes, k);
            }
        }
    }

    #[inline]
    fn accepts(&self, msg: &Msg) -> bool {
        !self.filter || (self.subs.matches(msg.data()) != self.invert)
    }
}

impl Pattern for XSub {
    fn attach(&mut self, pipes: &mut Pipes, key: usize) {
        // Pending option subscriptions go to the pipes that had them not yet; the new pipe
        // gets the whole set.
        self.flush(pipes);
        self.fq.attach(key);
        self.dist.attach(key);
        self.replay_to(pipes, key);
    }

    fn terminated(&mut self, _: &mut Pipes, key: usize) {
        self.fq.terminated(key);
        self.dist.terminated(key);
        self.replay.retain(|&k| k != key);
    }

    fn read_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.flush(pipes);
        self.fq.activated(key);
    }

    fn write_activated(&mut self, pipes: &mut Pipes, key: usize) {
        self.flush(pipes);
        self.dist.activated(key);
    }

    fn hiccuped(&mut self, pipes: &mut Pipes, key: usize) {
        self.flush(pipes);
        self.replay_to(pipes, key);
    }

    fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.flush(pipes);
        let first = !self.more_send;
        let more = msg.more();
        self.more_send = more;
        let parsed = if first || self.in_subscription_msg {
            parse_subscription(msg).map(|(s, topic)| (s, topic.len()))
        } else {
            None
        };
        if first {
            // ONLY_FIRST_SUBSCRIBE: a message that does not start with a subscription is
            // data in all its frames.
            self.in_subscription_msg = !self.only_first_subscribe || parsed.is_some();
        }
        let Some((subscribe, len)) = parsed else {
            self.send_data(pipes, msg);
            return Ok(());
        };
        let data = msg.data();
        let topic = &data[data.len() - len..];
        let forward = self.record(subscribe, topic);
        if first && !more {
            if forward {
                if msg.flags() & (SUBSCRIBE | CANCEL) != 0 {
                    self.dist.broadcast(pipes, msg);
                } else {
                    self.dist
                        .broadcast(pipes, &subscription_msg(subscribe, topic));
                }
            }
            msg.clear();
        } else if forward || (self.dist.in_msg() && !more) {
            // Inside a multipart message the frame travels as data; a cancel that is not
            // forwarded but ends a message under way still goes, to keep it whole.
            self.send_data(pipes, msg);
        } else {
            msg.clear();
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg> {
        let mut m = Msg::new();
        self.recv_into(pipes, &mut m)?;
        Ok(m)
    }

    /// Frames go from the pipe straight into `msg`. One that no subscription matches is
    /// dropped there; if nothing follows it, `msg` is left empty (libzmq empties it on EAGAIN
    /// always).
    fn recv_into(&mut self, pipes: &mut Pipes, msg: &mut Msg) -> Result<()> {
        self.flush(pipes);
        if let Some(m) = self.prefetched.take() {
            self.more_recv = m.more();
            *msg = m;
            return Ok(());
        }
        loop {
            if self.fq.recv_into(pipes, msg).is_none() {
                return Err(Error::EAGAIN);
            }
            if self.more_recv || self.accepts(msg) {
                self.more_recv = msg.more();
                return Ok(());
            }
            if msg.more() {
                self.fq.skip_rest(pipes);
            }
            msg.clear();
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.flush(pipes);
        if self.more_recv || self.prefetched.is_some() {
            return true;
        }
        while let Some((m, _)) = self.fq.recv(pipes) {
            if self.accepts(&m) {
                self.prefetched = Some(m);
                return true;
            }
            if m.more() {
                self.fq.skip_rest(pipes);
            }
        }
        false
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.flush(pipes);
        true
    }

    fn set_option(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        match opt {
            ZMQ_ONLY_FIRST_SUBSCRIBE => {
                let v = int_arg(val)?;
                if v < 0 {
                    return Err(Error::EINVAL);
                }
                self.only_first_subscribe = v != 0;
            }
            ZMQ_XSUB_VERBOSE_UNSUBSCRIBE => self.verbose_unsubs = bool_arg(val)?,
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
mod tests {
    use super::*;
    use crate::core::msg::{MORE, ROUTING_ID};
    use crate::core::pipe::PipeEnd;
    use crate::pattern::xpub::tests::{connect, frame};

    /// What a peer read: (flags without MORE, body, more).
    fn drain(p: &mut PipeEnd) -> Vec<(u8, Vec<u8>, bool)> {
        std::iter::from_fn(|| {
            p.read()
                .map(|m| (m.flags() & !MORE, m.data().to_vec(), m.more()))
        })
        .collect()
    }

    fn sub(t: &[u8]) -> (u8, Vec<u8>, bool) {
        (SUBSCRIBE, t.to_vec(), false)
    }

    fn cancel(t: &[u8]) -> (u8, Vec<u8>, bool) {
        (CANCEL, t.to_vec(), false)
    }

    fn send(x: &mut XSub, pipes: &mut Pipes, s: &[u8], more: bool) {
        x.send(pipes, &mut frame(s, more)).unwrap();
    }

    #[test]
    fn subscriptions_go_upstream_as_flagged_messages() {
        let mut x = XSub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x00a", false);
        send(&mut x, &mut pipes, b"\x00a", false);
        send(&mut x, &mut pipes, b"\x00never", false);
        send(&mut x, &mut pipes, b"\x02other", false);
        let mut s = frame(b"b", false);
        s.set_flags(SUBSCRIBE);
        x.send(&mut pipes, &mut s).unwrap();
        assert!(s.is_empty());
        for (_, p) in peers.iter_mut() {
            assert_eq!(
                drain(p),
                vec![
                    sub(b"a"),
                    sub(b"a"),
                    cancel(b"a"),
                    (0, b"\x02other".to_vec(), false),
                    sub(b"b")
                ]
            );
        }
    }

    #[test]
    fn verbose_unsubscribe_forwards_every_cancel() {
        let mut x = XSub::default();
        assert_eq!(
            x.set_option(ZMQ_XSUB_VERBOSE_UNSUBSCRIBE, &1i32.to_ne_bytes()),
            Ok(true)
        );
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x00a", false);
        send(&mut x, &mut pipes, b"\x00zz", false);
        assert_eq!(
            drain(&mut peers[0].1),
            vec![sub(b"a"), sub(b"a"), cancel(b"a"), cancel(b"zz")]
        );
    }

    #[test]
    fn new_and_hiccuped_pipes_get_all_subscriptions() {
        let mut x = XSub::default();
        let mut pipes = Pipes::default();
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x01a", false);
        send(&mut x, &mut pipes, b"\x01b", false);
        send(&mut x, &mut pipes, b"\x01c", false);
        send(&mut x, &mut pipes, b"\x00c", false);
        let mut peers = connect(&mut x, &mut pipes, 1, 1);
        assert_eq!(drain(&mut peers[0].1), vec![sub(b"a"), sub(b"b")]);
        // Even past the HWM of 1.
        x.hiccuped(&mut pipes, peers[0].0);
        x.hiccuped(&mut pipes, peers[0].0);
        assert_eq!(drain(&mut peers[0].1).len(), 4);
        let mut buf = [0u8; 4];
        assert_eq!(x.get_option(ZMQ_TOPICS_COUNT, &mut buf), Ok(Some(4)));
        assert_eq!(i32::from_ne_bytes(buf), 2);
    }

    #[test]
    fn hiccup_mid_message_replays_after_it() {
        let mut x = XSub::default();
        let mut pipes = Pipes::default();
        send(&mut x, &mut pipes, b"\x01t", false);
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        drain(&mut peers[0].1);
        send(&mut x, &mut pipes, b"\x02head", true);
        x.hiccuped(&mut pipes, peers[0].0);
        send(&mut x, &mut pipes, b"\x02tail", false);
        assert_eq!(
            drain(&mut peers[0].1),
            vec![
                (0, b"\x02head".to_vec(), true),
                (0, b"\x02tail".to_vec(), false),
                sub(b"t")
            ]
        );
    }

    #[test]
    fn multipart_subscriptions_and_only_first_subscribe() {
        let mut x = XSub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 1, 0);
        // Every frame of a multipart message is looked at: the second subscribes.
        send(&mut x, &mut pipes, b"ABC", true);
        send(&mut x, &mut pipes, b"\x01BC", false);
        assert_eq!(x.subs.len(), 1);
        assert_eq!(
            drain(&mut peers[0].1),
            vec![(0, b"ABC".to_vec(), true), (0, b"\x01BC".to_vec(), false)]
        );
        // A cancel of nothing that ends a message still goes, to keep it whole.
        send(&mut x, &mut pipes, b"ABC", true);
        send(&mut x, &mut pipes, b"\x00zz", false);
        assert_eq!(drain(&mut peers[0].1).len(), 2);

        x.set_option(ZMQ_ONLY_FIRST_SUBSCRIBE, &1i32.to_ne_bytes())
            .unwrap();
        send(&mut x, &mut pipes, b"ABC", true);
        send(&mut x, &mut pipes, b"\x01CD", false);
        assert_eq!(x.subs.len(), 1, "data message: not a subscription");
        send(&mut x, &mut pipes, b"\x01CD", true);
        send(&mut x, &mut pipes, b"\x01DE", false);
        assert_eq!(x.subs.len(), 3, "subscription message: all frames count");
        assert_eq!(drain(&mut peers[0].1).len(), 4);
    }

    #[test]
    fn receives_everything_fair_queued() {
        let mut x = XSub::default();
        let mut pipes = Pipes::default();
        let mut peers = connect(&mut x, &mut pipes, 2, 0);
        let mut id = Msg::from_slice(b"id");
        id.set_flags(ROUTING_ID);
        peers[0].1.write(id);
        peers[0].1.write(frame(b"a1", true));
        peers[0].1.write(frame(b"a2", false));
        peers[1].1.write(frame(b"b", false));
        assert!(x.has_in(&mut pipes));
        let got: Vec<_> =
            std::iter::from_fn(|| x.recv(&mut pipes).ok().map(|m| m.data().to_vec())).collect();
        assert_eq!(got, vec![b"a1".to_vec(), b"a2".to_vec(), b"b".to_vec()]);
        assert!(!x.has_in(&mut pipes));
        assert_eq!(x.recv(&mut pipes).unwrap_err(), Error::EAGAIN);
    }

    #[test]
    fn option_validation() {
        let mut x = XSub::default();
        assert_eq!(
            x.set_option(ZMQ_ONLY_FIRST_SUBSCRIBE, &(-1i32).to_ne_bytes()),
            Err(Error::EINVAL)
        );
        assert_eq!(
            x.set_option(crate::core::options::ZMQ_SUBSCRIBE, b"a"),
            Ok(false)
        );
        let mut pipes = Pipes::default();
        assert!(x.has_out(&mut pipes));
    }
}

//! Distribution: fan each message out to a set of pipes chosen at its first frame (PUB/XPUB:
//! the subscribers whose topics match; XSUB: everyone) and kept for its remaining frames. A
//! pipe found at its HWM misses the message and sits out until it is writable again; nothing
//! ever blocks. Choosing and sending allocate nothing: the target list is reused. A message
//! for every pipe ([`Distributor::target_all`]) keeps the targets of the one before it when
//! no pipe has come or become writable since: the list is still every pipe with room.

use crate::core::msg::Msg;
use crate::core::pipes::Pipes;

/// Per-pipe state bits, indexed by pipe key.
const ATTACHED: u8 = 1;
/// Writable as far as we know (cleared when a write found the pipe full).
const ELIGIBLE: u8 = 2;
/// In `targets` for the current message.
const TARGET: u8 = 4;

#[derive(Default)]
pub struct Distributor {
    pipes: Vec<usize>,
    state: Vec<u8>,
    /// The pipes the current message goes to.
    targets: Vec<usize>,
    /// A frame with MORE was sent: the targets are fixed until the last frame.
    in_msg: bool,
    /// `targets` are every attached pipe with room, as `target_all` chose them: kept after
    /// the last frame for the next message. A pipe that sits out or terminates leaves the
    /// list and stays right; one that attaches or has room again clears this.
    all: bool,
}

impl Distributor {
    pub fn attach(&mut self, key: usize) {
        if key >= self.state.len() {
            self.state.resize(key + 1, 0);
        }
        if self.state[key] & ATTACHED == 0 {
            self.pipes.push(key);
        }
        self.state[key] = ATTACHED | ELIGIBLE;
        self.all = false;
    }

    /// The number of attached pipes.
    #[inline]
    pub fn attached(&self) -> usize {
        self.pipes.len()
    }

    /// The pipe has room again.
    pub fn activated(&mut self, key: usize) {
        if let Some(s) = self.state.get_mut(key) {
            if *s & ATTACHED != 0 && *s & ELIGIBLE == 0 {
                *s |= ELIGIBLE;
                self.all = false;
            }
        }
    }

    pub fn terminated(&mut self, key: usize) {
        let Some(s) = self.state.get_mut(key) else {
            return;
        };
        if *s & TARGET != 0 {
            if let Some(i) = self.targets.iter().position(|&k| k == key) {
                self.targets.swap_remove(i);
            }
        }
        if *s & ATTACHED != 0 {
            if let Some(i) = self.pipes.iter().position(|&k| k == key) {
                self.pipes.swap_remove(i);
            }
        }
        *s = 0;
    }

    /// True between the first and the last frame of a message.
    #[inline]
    pub fn in_msg(&self) -> bool {
        self.in_msg
    }

    /// Forgets the targets, to choose those of a new message.
    #[inline]
    pub fn clear(&mut self) {
        for &k in &self.targets {
            self.state[k] &= !TARGET;
        }
        self.targets.clear();
        self.all = false;
    }

    /// Makes `key` a target of the message being chosen (once, however often it is added),
    /// unless it is full.
    #[inline]
    pub fn add(&mut self, key: usize) {
        if let Some(s) = self.state.get_mut(key) {
            if *s == ATTACHED | ELIGIBLE {
                *s |= TARGET;
                self.targets.push(key);
            }
        }
    }

    /// Makes every pipe with room a target, and nothing else: the targets of the message
    /// before if it went to every pipe too and no pipe has come or has room again since.
    #[inline]
    pub fn target_all(&mut self) {
        if self.all {
            return;
        }
        self.clear();
        for i in 0..self.pipes.len() {
            self.add(self.pipes[i]);
        }
        self.all = true;
    }

    /// Swaps targets and non-targets among the pipes with room (ZMQ_INVERT_MATCHING).
    pub fn invert(&mut self) {
        self.targets.clear();
        for &k in &self.pipes {
            let s = &mut self.state[k];
            if *s & ELIGIBLE != 0 {
                *s ^= TARGET;
                if *s & TARGET != 0 {
                    self.targets.push(k);
                }
            }
        }
    }

    /// True if every target has room for the message (ZMQ_XPUB_NODROP). A pipe whose peer
    /// is gone counts as having room: the message is dropped for it.
    #[inline]
    pub fn targets_have_room(&self, pipes: &Pipes) -> bool {
        self.targets.iter().all(|&k| {
            pipes
                .get(k)
                .is_none_or(|p| p.peer_gone() || p.check_write())
        })
    }

    /// Writes a one-frame control message (a subscription) to every pipe, full or not:
    /// subscriptions are few and small, and dropping one would silently lose a subscriber's
    /// traffic for the life of the connection. Only between messages.
    pub fn broadcast(&self, pipes: &mut Pipes, msg: &Msg) {
        debug_assert!(!self.in_msg && !msg.more());
        for &k in &self.pipes {
            if let Some(p) = pipes.get_mut(k) {
                if !p.peer_gone() {
                    p.write(msg.share());
                }
            }
        }
    }

    /// Sends a frame to the targets, taking it: each gets a shared copy, the last the
    /// original. Targets without room lose the message and sit out until `activated`. After
    /// the last frame the targets are cleared.
    pub fn send(&mut self, pipes: &mut Pipes, msg: &mut Msg) {
        let more = msg.more();
        if let [key] = self.targets[..] {
            // A single target (one subscriber, or one matching): nothing to share.
            match pipes.get_mut(key) {
                Some(p) if p.check_write() => p.write(std::mem::take(msg)),
                _ => {
                    self.sit_out(0);
                    msg.clear();
                }
            }
        } else {
            self.send_shared(pipes, msg);
        }
        self.in_msg = more;
        if !more && !self.all {
            self.clear();
        }
    }

    fn send_shared(&mut self, pipes: &mut Pipes, msg: &mut Msg) {
        let mut prev: Option<usize> = None;
        let mut i = 0;
        while i < self.targets.len() {
            let key = self.targets[i];
            if !pipes.get(key).is_some_and(|p| p.check_write()) {
                self.sit_out(i);
                continue;
            }
            if let Some(p) = prev.and_then(|k| pipes.get_mut(k)) {
                p.write(msg.share());
            }
            prev = Some(key);
            i += 1;
        }
        let m = std::mem::take(msg);
        if let Some(p) = prev.and_then(|k| pipes.get_mut(k)) {
            p.write(m);
        }
    }

    /// Target `i` is full (only possible at a first frame: a pipe accepts the rest of a
    /// message it has begun): it loses this message and waits for `activated`.
    fn sit_out(&mut self, i: usize) {
        let key = self.targets.swap_remove(i);
        self.state[key] &= !(TARGET | ELIGIBLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::MORE;
    use crate::core::pipe::{pipe_pair, PipeEnd};

    fn setup(n: usize, hwm: u64) -> (Pipes, Distributor, Vec<PipeEnd>) {
        let mut pipes = Pipes::default();
        let mut d = Distributor::default();
        let mut peers = Vec::new();
        for _ in 0..n {
            let (ours, theirs) = pipe_pair(hwm, 0);
            let k = pipes.insert(ours, "test".into());
            d.attach(k);
            peers.push(theirs);
        }
        (pipes, d, peers)
    }

    fn frame(s: &[u8], more: bool) -> Msg {
        let mut m = Msg::from_slice(s);
        if more {
            m.set_flags(MORE);
        }
        m
    }

    fn drain(p: &mut PipeEnd) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| p.read().map(|m| m.data().to_vec())).collect()
    }

    #[test]
    fn sends_to_targets_once_each() {
        let (mut pipes, mut d, mut peers) = setup(3, 0);
        d.add(0);
        d.add(2);
        d.add(2);
        let big = vec![9u8; 100];
        let mut m = frame(&big, true);
        d.send(&mut pipes, &mut m);
        assert!(m.is_empty() && d.in_msg());
        d.send(&mut pipes, &mut frame(b"end", false));
        assert!(!d.in_msg());
        assert_eq!(drain(&mut peers[0]), vec![big.clone(), b"end".to_vec()]);
        assert!(drain(&mut peers[1]).is_empty());
        assert_eq!(drain(&mut peers[2]), vec![big, b"end".to_vec()]);
    }

    #[test]
    fn full_pipe_misses_message_until_activated() {
        let (mut pipes, mut d, mut peers) = setup(2, 1);
        for s in [&b"1"[..], b"2"] {
            d.target_all();
            d.send(&mut pipes, &mut frame(s, false));
        }
        assert_eq!(drain(&mut peers[0]), vec![b"1".to_vec()]);
        assert_eq!(drain(&mut peers[1]), vec![b"1".to_vec()]);
        d.target_all();
        assert!(d.targets.is_empty(), "full pipes are not targets");
        d.activated(0);
        d.target_all();
        assert!(d.targets_have_room(&pipes));
        d.send(&mut pipes, &mut frame(b"3", false));
        assert_eq!(drain(&mut peers[0]), vec![b"3".to_vec()]);
        assert!(drain(&mut peers[1]).is_empty());
    }

    #[test]
    fn a_single_full_target_loses_the_message_and_sits_out() {
        let (mut pipes, mut d, mut peers) = setup(1, 1);
        let big = Msg::from_slice(&[7u8; 100]);
        let keep = big.share();
        for mut m in [frame(b"1", false), big] {
            d.target_all();
            d.send(&mut pipes, &mut m);
            assert!(m.is_empty());
        }
        assert!(!keep.is_shared(), "the lost message's payload is released");
        d.target_all();
        assert!(d.targets.is_empty(), "a full pipe is no target");
        assert_eq!(drain(&mut peers[0]), vec![b"1".to_vec()]);
        d.activated(0);
        d.target_all();
        d.send(&mut pipes, &mut frame(b"3", false));
        assert_eq!(drain(&mut peers[0]), vec![b"3".to_vec()]);
    }

    #[test]
    fn nodrop_check_sees_full_targets() {
        let (mut pipes, mut d, _peers) = setup(1, 1);
        d.target_all();
        d.send(&mut pipes, &mut frame(b"1", false));
        d.add(0);
        // Still eligible (no write failed yet), but full.
        assert!(!d.targets_have_room(&pipes));
    }

    #[test]
    fn pipe_attached_mid_message_waits_for_next() {
        let (mut pipes, mut d, mut peers) = setup(1, 0);
        d.target_all();
        d.send(&mut pipes, &mut frame(b"head", true));
        let (ours, mut late) = pipe_pair(0, 0);
        let k = pipes.insert(ours, "test".into());
        d.attach(k);
        d.send(&mut pipes, &mut frame(b"tail", false));
        assert!(drain(&mut late).is_empty());
        d.target_all();
        d.send(&mut pipes, &mut frame(b"next", false));
        assert_eq!(drain(&mut late), vec![b"next".to_vec()]);
        assert_eq!(drain(&mut peers[0]).len(), 3);
    }

    #[test]
    fn terminated_target_gets_no_more_frames() {
        let (mut pipes, mut d, mut peers) = setup(2, 0);
        d.target_all();
        d.send(&mut pipes, &mut frame(b"head", true));
        d.terminated(0);
        pipes.remove(0);
        // The key is reused by a new pipe: it must not get the tail.
        let (ours, mut other) = pipe_pair(0, 0);
        assert_eq!(pipes.insert(ours, "test".into()), 0);
        d.attach(0);
        d.send(&mut pipes, &mut frame(b"tail", false));
        assert!(drain(&mut other).is_empty());
        assert_eq!(
            drain(&mut peers[1]),
            vec![b"head".to_vec(), b"tail".to_vec()]
        );
    }

    #[test]
    fn invert_swaps_targets() {
        let (mut pipes, mut d, mut peers) = setup(3, 0);
        d.add(1);
        d.invert();
        d.send(&mut pipes, &mut frame(b"x", false));
        assert_eq!(drain(&mut peers[0]).len(), 1);
        assert!(drain(&mut peers[1]).is_empty());
        assert_eq!(drain(&mut peers[2]).len(), 1);
    }

    #[test]
    fn broadcast_ignores_hwm() {
        let (mut pipes, mut d, mut peers) = setup(2, 1);
        d.target_all();
        d.send(&mut pipes, &mut frame(b"fill", false));
        d.broadcast(&mut pipes, &frame(b"sub", false));
        for p in peers.iter_mut() {
            assert_eq!(drain(p), vec![b"fill".to_vec(), b"sub".to_vec()]);
        }
    }

    #[test]
    fn no_targets_drops() {
        let (mut pipes, mut d, mut peers) = setup(1, 0);
        let mut m = frame(b"x", false);
        d.send(&mut pipes, &mut m);
        assert!(m.is_empty());
        assert!(drain(&mut peers[0]).is_empty());
    }

    #[test]
    fn targets_for_all_are_kept_and_follow_pipe_changes() {
        let (mut pipes, mut d, mut peers) = setup(2, 1);
        let send = |d: &mut Distributor, pipes: &mut Pipes, s: &[u8]| {
            d.target_all();
            d.send(pipes, &mut frame(s, false));
        };
        send(&mut d, &mut pipes, b"a");
        assert_eq!(drain(&mut peers[0]), vec![b"a".to_vec()]);
        // Pipe 1 is full: it sits out of the kept list, and stays out once drained.
        send(&mut d, &mut pipes, b"b");
        assert_eq!(drain(&mut peers[0]), vec![b"b".to_vec()]);
        assert_eq!(drain(&mut peers[1]), vec![b"a".to_vec()]);
        send(&mut d, &mut pipes, b"c");
        assert_eq!(drain(&mut peers[0]), vec![b"c".to_vec()]);
        assert!(drain(&mut peers[1]).is_empty());
        // Room again: back in, once.
        d.activated(1);
        send(&mut d, &mut pipes, b"d");
        assert_eq!(drain(&mut peers[0]), vec![b"d".to_vec()]);
        assert_eq!(drain(&mut peers[1]), vec![b"d".to_vec()]);
        // A new pipe joins at the next message.
        let (ours, mut theirs) = pipe_pair(1, 0);
        let k = pipes.insert(ours, "test".into());
        d.attach(k);
        send(&mut d, &mut pipes, b"e");
        for p in peers.iter_mut().chain([&mut theirs]) {
            assert_eq!(drain(p), vec![b"e".to_vec()]);
        }
        // A terminated pipe leaves.
        d.terminated(0);
        send(&mut d, &mut pipes, b"f");
        assert!(drain(&mut peers[0]).is_empty());
        assert_eq!(drain(&mut peers[1]), vec![b"f".to_vec()]);
        assert_eq!(drain(&mut theirs), vec![b"f".to_vec()]);
        // Choosing targets one by one forgets the kept list.
        d.clear();
        d.add(1);
        d.send(&mut pipes, &mut frame(b"g", false));
        assert_eq!(drain(&mut peers[1]), vec![b"g".to_vec()]);
        assert!(drain(&mut theirs).is_empty());
        send(&mut d, &mut pipes, b"h");
        assert_eq!(drain(&mut peers[1]), vec![b"h".to_vec()]);
        assert_eq!(drain(&mut theirs), vec![b"h".to_vec()]);
    }
}

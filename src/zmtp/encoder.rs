//! The output side of the codec: frames queued for the wire, in order. Headers and small
//! bodies are packed into one growing buffer so many frames go out in one write; a large
//! body stays in its (shared) message and is handed to `writev` by reference, never copied.

use std::collections::VecDeque;
use std::io::IoSlice;

use super::{FLAG_COMMAND, FLAG_LONG, LARGE_FRAME};
use crate::core::msg::Msg;

/// Once this many sent bytes sit at the front of the buffer (and they are at least half of
/// it), they are dropped by moving the unsent rest down.
const COMPACT_AT: usize = 64 * 1024;

/// The most a write carries when it opens a large body (see `write_slices`).
const OPENING: usize = 8 * 1024;

/// The most slices one write gathers. A session stops taking frames at 64 KiB pending, so
/// this holds all of it but for bodies just over `LARGE_FRAME` (two slices each, up to 17).
const MAX_SLICES: usize = 32;

/// The slices of one write, gathered on the stack rather than in a vector allocated per
/// write. A write is a prefix of what is waiting, so slices past `MAX_SLICES` are left for
/// the next one.
pub struct Slices<'a> {
    iov: [IoSlice<'a>; MAX_SLICES],
    len: usize,
}

impl<'a> Slices<'a> {
    pub fn new() -> Slices<'a> {
        Slices {
            iov: [IoSlice::new(&[]); MAX_SLICES],
            len: 0,
        }
    }

    /// Appends `bytes`; false, and nothing appended, when full.
    pub fn push(&mut self, bytes: &'a [u8]) -> bool {
        let Some(slot) = self.iov.get_mut(self.len) else {
            return false;
        };
        *slot = IoSlice::new(bytes);
        self.len += 1;
        true
    }
}

impl Default for Slices<'_> {
    fn default() -> Self {
        Slices::new()
    }
}

impl<'a> std::ops::Deref for Slices<'a> {
    type Target = [IoSlice<'a>];
    fn deref(&self) -> &[IoSlice<'a>] {
        &self.iov[..self.len]
    }
}

/// Bytes waiting to be written.
#[derive(Default)]
pub struct Encoder {
    /// Headers, small bodies and commands.
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already written.
    sent: usize,
    /// Large bodies, each with the offset in `buf` it goes after (non-decreasing).
    payloads: VecDeque<(usize, Msg)>,
    /// Bytes of the front payload already written.
    payload_sent: usize,
    /// Unwritten bytes of all payloads.
    payload_bytes: usize,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder {
            buf: Vec::with_capacity(8 * 1024),
            ..Encoder::default()
        }
    }

    /// Queues bytes as they are (the greeting).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn header(&mut self, flags: u8, size: usize) {
        if size <= u8::MAX as usize {
            self.buf.extend_from_slice(&[flags, size as u8]);
        } else {
            let mut h = [0u8; 9];
            h[0] = flags | FLAG_LONG;
            h[1..].copy_from_slice(&(size as u64).to_be_bytes());
            self.buf.extend_from_slice(&h);
        }
    }

    /// Queues one frame whose body is `prefix` followed by the bytes of `body`. Inlined so
    /// that an empty prefix costs nothing.
    #[inline(always)]
    pub fn frame(&mut self, flags: u8, prefix: &[u8], body: &Msg) {
        let data = body.data();
        let size = prefix.len() + data.len();
        if size <= u8::MAX as usize {
            // A short frame (the common case): one capacity check for all of it.
            self.buf.reserve(2 + size);
            self.buf.extend_from_slice(&[flags, size as u8]);
            self.buf.extend_from_slice(prefix);
            self.buf.extend_from_slice(data);
            return;
        }
        self.long_frame(flags, prefix, body);
    }

    #[inline(never)]
    fn long_frame(&mut self, flags: u8, prefix: &[u8], body: &Msg) {
        let len = body.len();
        self.header(flags, prefix.len() + len);
        self.buf.extend_from_slice(prefix);
        if len > LARGE_FRAME {
            self.payloads.push_back((self.buf.len(), body.share()));
            self.payload_bytes += len;
        } else {
            self.buf.extend_from_slice(body.data());
        }
    }

    /// Queues a command frame: name, then the concatenation of `parts`.
    pub fn command(&mut self, name: &[u8], parts: &[&[u8]]) {
        debug_assert!(!name.is_empty() && name.len() <= u8::MAX as usize);
        let size = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        self.buf.reserve(9 + size);
        self.header(FLAG_COMMAND, size);
        self.buf.push(name.len() as u8);
        self.buf.extend_from_slice(name);
        for p in parts {
            self.buf.extend_from_slice(p);
        }
    }

    /// Number of bytes waiting.
    pub fn len(&self) -> usize {
        self.buf.len() - self.sent + self.payload_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the bytes of the next write to `iov`: everything waiting, except when a large
    /// body that has not started comes after other bytes. Then the write stops `OPENING` bytes
    /// in (the other bytes and the start of the body) and the rest of the body leads the next
    /// write, which is how libzmq's encoder cuts a large message (an 8 KiB batch, then the body
    /// by reference). One big write instead of header+body left Linux TCP under BBR with a
    /// congestion window below the message size in request-reply (1 MiB: p50 2x libzmq's).
    pub fn write_slices<'a>(&'a self, iov: &mut Slices<'a>) {
        if let Some((at, msg)) = self.payloads.front() {
            let before = *at - self.sent;
            if before > 0 {
                iov.push(&self.buf[self.sent..*at]);
                let lead = OPENING.saturating_sub(before).min(msg.len());
                if lead > 0 {
                    iov.push(&msg.data()[..lead]);
                }
                return;
            }
        }
        self.slices(iov);
    }

    /// Appends the waiting bytes, in order, to `iov`: all of them, or as many slices of them
    /// as fit.
    pub fn slices<'a>(&'a self, iov: &mut Slices<'a>) {
        let mut pos = self.sent;
        for (i, (at, msg)) in self.payloads.iter().enumerate() {
            if *at > pos {
                if !iov.push(&self.buf[pos..*at]) {
                    return;
                }
                pos = *at;
            }
            let skip = if i == 0 { self.payload_sent } else { 0 };
            if !iov.push(&msg.data()[skip..]) {
                return;
            }
        }
        if self.buf.len() > pos {
            iov.push(&self.buf[pos..]);
        }
    }

    /// Drops the first `n` waiting bytes, which have been written.
    pub fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len(), "advanced past the pending output");
        while n > 0 {
            let limit = self.payloads.front().map_or(self.buf.len(), |(at, _)| *at);
            let take = n.min(limit - self.sent);
            self.sent += take;
            n -= take;
            if n == 0 {
                break;
            }
            let Some((_, msg)) = self.payloads.front() else {
                break;
            };
            let size = msg.len();
            let take = n.min(size - self.payload_sent);
            self.payload_sent += take;
            self.payload_bytes -= take;
            n -= take;
            if self.payload_sent == size {
                self.payloads.pop_front();
                self.payload_sent = 0;
            }
        }
        if self.payloads.is_empty() && self.sent == self.buf.len() {
            self.buf.clear();
            self.sent = 0;
        } else if self.sent >= COMPACT_AT && self.sent * 2 >= self.buf.len() {
            self.buf.drain(..self.sent);
            for (at, _) in self.payloads.iter_mut() {
                *at -= self.sent;
            }
            self.sent = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::msg::MORE;

    fn pending(e: &Encoder) -> Vec<u8> {
        let mut iov = Slices::new();
        e.slices(&mut iov);
        let v: Vec<u8> = iov.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(v.len(), e.len());
        v
    }

    #[test]
    fn short_and_long_headers() {
        let mut e = Encoder::new();
        e.frame(0, b"", &Msg::from_slice(b"hi"));
        assert_eq!(pending(&e), b"\x00\x02hi");
        e.advance(4);
        assert!(e.is_empty());

        let m = Msg::from_slice(&[7u8; 255]);
        e.frame(MORE, b"", &m);
        let out = pending(&e);
        assert_eq!(&out[..2], &[1, 255]);
        assert_eq!(out.len(), 257);
        e.advance(out.len());

        let m = Msg::from_slice(&[7u8; 256]);
        e.frame(0, b"", &m);
        let out = pending(&e);
        assert_eq!(&out[..9], &[2, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(out.len(), 9 + 256);
        e.advance(out.len());

        e.frame(0, b"", &Msg::new());
        assert_eq!(pending(&e), [0, 0]);
    }

    #[test]
    fn command_frames() {
        let mut e = Encoder::new();
        e.command(b"PING", &[&[0, 10], b"ctx"]);
        assert_eq!(pending(&e), b"\x04\x0a\x04PING\x00\x0actx");
        e.advance(e.len());
        let big = vec![1u8; 300];
        e.command(b"READY", &[&big]);
        let out = pending(&e);
        assert_eq!(&out[..9], &[6, 0, 0, 0, 0, 0, 0, 1, 50]);
        assert_eq!(&out[9..15], b"\x05READY");
    }

    #[test]
    fn large_body_goes_by_reference() {
        let mut e = Encoder::new();
        let big = Msg::from_slice(&vec![9u8; LARGE_FRAME + 1]);
        e.frame(0, b"", &Msg::from_slice(b"a"));
        e.frame(MORE, b"", &big);
        e.frame(0, b"", &Msg::from_slice(b"b"));
        assert!(big.is_shared(), "the encoder keeps a share, not a copy");
        let mut iov = Slices::new();
        e.slices(&mut iov);
        assert_eq!(iov.len(), 3);
        assert_eq!(iov[1].as_ptr(), big.data().as_ptr());
        assert_eq!(iov[0].len(), 3 + 9);
        assert_eq!(iov[2].len(), 3);
        let total = e.len();
        assert_eq!(total, 3 + 9 + LARGE_FRAME + 1 + 3);

        // Write it back in awkward pieces and check the byte stream.
        let whole = pending(&e);
        let mut got = Vec::new();
        for step in [5usize, 7, 1, 4000, 5000, 20] {
            let p = pending(&e);
            let n = step.min(p.len());
            got.extend_from_slice(&p[..n]);
            e.advance(n);
        }
        let rest = pending(&e);
        got.extend_from_slice(&rest);
        e.advance(rest.len());
        assert_eq!(got, whole);
        assert!(e.is_empty());
        assert!(!big.is_shared(), "the share is released once written");
    }

    fn next_write(e: &Encoder) -> usize {
        let mut iov = Slices::new();
        e.write_slices(&mut iov);
        iov.iter().map(|s| s.len()).sum()
    }

    #[test]
    fn a_write_with_more_slices_than_fit_carries_a_prefix() {
        // Each body by reference after a small frame: two slices per pair, 40 pairs.
        let bodies: Vec<Msg> = (0..40u8)
            .map(|i| Msg::from_slice(&vec![i; LARGE_FRAME + 1]))
            .collect();
        let mut e = Encoder::new();
        let mut whole = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            e.frame(0, b"", &Msg::from_slice(&[i as u8]));
            whole.extend_from_slice(&[0, 1, i as u8]);
            e.frame(0, b"", body);
            whole.extend_from_slice(&[FLAG_LONG, 0, 0, 0, 0, 0, 0, 0x20, 1]);
            whole.extend_from_slice(body.data());
        }
        assert_eq!(e.len(), whole.len());
        let mut got = Vec::new();
        let mut writes = 0;
        while !e.is_empty() {
            let mut iov = Slices::new();
            e.slices(&mut iov);
            assert!(iov.len() <= MAX_SLICES);
            let bytes: Vec<u8> = iov.iter().flat_map(|s| s.iter().copied()).collect();
            assert!(!bytes.is_empty());
            got.extend_from_slice(&bytes);
            e.advance(bytes.len());
            writes += 1;
        }
        assert_eq!(got, whole);
        assert_eq!(writes, 3, "80 slices go out 32 at a time");
    }

    #[test]
    fn a_write_opens_a_large_body_with_its_header_and_first_bytes() {
        let big = Msg::from_slice(&vec![1u8; 100_000]);
        let mut e = Encoder::new();
        e.frame(0, b"", &big);
        e.frame(0, b"", &big);
        // Header + 8 KiB - 9 bytes of the body, then the rest of both frames at once.
        assert_eq!(next_write(&e), OPENING);
        e.advance(OPENING);
        assert_eq!(next_write(&e), e.len());
        // A short write that stops right before the second header: that header opens the
        // second body again.
        e.advance(100_000 + 9 - OPENING);
        assert_eq!(next_write(&e), OPENING);
        // Only the header written: the body leads, nothing is held back.
        e.advance(9);
        assert_eq!(next_write(&e), e.len());
        e.advance(e.len());

        // More than OPENING small bytes before the large body: they go with its header only.
        for _ in 0..100 {
            e.frame(0, b"", &Msg::from_slice(&[2u8; 100]));
        }
        e.frame(0, b"", &big);
        assert_eq!(next_write(&e), 100 * 102 + 9);
        e.advance(100 * 102 + 9);
        assert_eq!(next_write(&e), e.len());
        // Small frames only: everything.
        let mut s = Encoder::new();
        s.frame(0, b"", &Msg::from_slice(b"abc"));
        assert_eq!(next_write(&s), 5);
    }

    #[test]
    fn prefix_with_large_body() {
        let mut e = Encoder::new();
        let topic = Msg::from_slice(&vec![3u8; LARGE_FRAME + 10]);
        e.frame(FLAG_COMMAND, b"\x09SUBSCRIBE", &topic);
        let out = pending(&e);
        let size = u64::from_be_bytes(out[1..9].try_into().unwrap()) as usize;
        assert_eq!(out[0], FLAG_COMMAND | FLAG_LONG);
        assert_eq!(size, 10 + LARGE_FRAME + 10);
        assert_eq!(&out[9..19], b"\x09SUBSCRIBE");
        assert_eq!(out.len(), 9 + size);
    }

    #[test]
    fn compaction_keeps_order() {
        let mut e = Encoder::new();
        let big = Msg::from_slice(&vec![5u8; LARGE_FRAME * 2]);
        let mut expect = Vec::new();
        let mut got = Vec::new();
        for round in 0..200u32 {
            for i in 0..50u32 {
                let body = (round * 50 + i).to_be_bytes();
                e.frame(0, b"", &Msg::from_slice(&body));
                expect.extend_from_slice(&[0, 4]);
                expect.extend_from_slice(&body);
            }
            if round % 7 == 0 {
                e.frame(0, b"", &big);
                expect.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0x40, 0]);
                expect.extend_from_slice(big.data());
            }
            // Write a bit less than was queued so a tail always stays behind.
            let p = pending(&e);
            let n = p.len() - p.len() / 3;
            got.extend_from_slice(&p[..n]);
            e.advance(n);
            assert!(e.buf.len() < 4 * COMPACT_AT, "buffer kept growing");
        }
        let p = pending(&e);
        got.extend_from_slice(&p);
        e.advance(p.len());
        assert_eq!(got, expect);
    }
}

//! The input side of the codec: cuts the byte stream into the greeting and then frames. Many
//! small frames are decoded from one 64 KiB read buffer and handed out as borrowed slices; a
//! large frame that has not fully arrived gets its own message, and the socket then reads
//! straight into that message's payload, so big bodies are never copied through the buffer.

use super::greeting::{self, GREETING_LEN};
use super::{ProtocolError, FLAG_LONG, LARGE_FRAME};
use crate::core::msg::Msg;

/// Size of the read buffer.
pub const READ_BUFFER_SIZE: usize = 64 * 1024;

/// The unread tail of the buffer is moved to the front when less than this is free after it.
/// What stays unread is at most a header and a body of `LARGE_FRAME`, so there is always room.
const MIN_FREE: usize = 2 * LARGE_FRAME;

/// One unit of input.
#[derive(Debug)]
pub enum Frame<'a> {
    /// The peer's 64-byte greeting (its signature and version already checked).
    Greeting(&'a [u8; GREETING_LEN]),
    /// A whole frame found inside the read buffer; `flags` is the wire flags byte.
    Borrowed { flags: u8, body: &'a [u8] },
    /// A large frame that was assembled in its own message.
    Owned { flags: u8, msg: Msg },
}

/// Where the bytes of a read went.
pub enum Input {
    /// Into the read buffer: frames are taken with `next_frame`.
    Buffered,
    /// Into a large frame's own payload; the frame, if that completed it. A read into
    /// `read_buffers` that completed it may have put bytes into the read buffer after it:
    /// `next_frame` takes those.
    Direct(Option<Frame<'static>>),
}

enum State {
    Greeting,
    Header,
    /// Inside the body of a large frame.
    Body {
        flags: u8,
        msg: Msg,
        filled: usize,
    },
}

pub struct Decoder {
    buf: Box<[u8]>,
    /// `buf[start..end]` holds received bytes not decoded yet.
    start: usize,
    end: usize,
    state: State,
    max_msg_size: i64,
    /// The last `read_buffer` handed out the large frame's own payload.
    direct: bool,
    /// The last frame header announced a large frame: read at most `LARGE_FRAME` into the
    /// buffer, so that the next large body is read into its own payload, not copied there.
    large: bool,
}

impl Decoder {
    pub fn new(max_msg_size: i64) -> Decoder {
        Decoder {
            buf: vec![0u8; READ_BUFFER_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            state: State::Greeting,
            max_msg_size,
            direct: false,
            large: false,
        }
    }

    /// Where the next read should put its bytes: the rest of a large frame's payload while at
    /// least `LARGE_FRAME` of it is missing, otherwise the free part of the read buffer.
    /// Never empty.
    pub fn read_buffer(&mut self) -> &mut [u8] {
        if let State::Body { msg, filled, .. } = &mut self.state {
            if msg.len() - *filled >= LARGE_FRAME {
                self.direct = true;
                return &mut msg.data_mut()[*filled..];
            }
        }
        self.direct = false;
        // Small frames: take as much as the kernel has, one read for many frames. A stream of
        // large ones: take a header and a little (the rest goes straight into the payload).
        let end = if self.large {
            (self.end + LARGE_FRAME).min(self.buf.len())
        } else {
            self.buf.len()
        };
        &mut self.buf[self.end..end]
    }

    /// As `read_buffer`, with where a read goes on once the first slice is full (empty when
    /// the first is the read buffer). While a large frame's own payload takes the read, the
    /// read buffer follows it, up to `LARGE_FRAME`: one scattered read then completes the
    /// payload and takes the next frame's header and the start of its body as well, where
    /// plain reads took two, one for the payload and one for the next header.
    pub fn read_buffers(&mut self) -> (&mut [u8], &mut [u8]) {
        let direct = matches!(&self.state,
            State::Body { msg, filled, .. } if msg.len() - *filled >= LARGE_FRAME);
        if !direct {
            return (self.read_buffer(), &mut []);
        }
        self.direct = true;
        // Entering the body took every buffered byte (start == end).
        let (from, to) = (self.end, (self.end + LARGE_FRAME).min(self.buf.len()));
        let State::Body { msg, filled, .. } = &mut self.state else {
            unreachable!()
        };
        (&mut msg.data_mut()[*filled..], &mut self.buf[from..to])
    }

    /// `n` bytes were written into the last `read_buffer`, or `read_buffers` in order. When
    /// any went into the read buffer, the caller then takes the frames with `next_frame` (after
    /// the completed large frame, if there is one) and calls `consumed`.
    #[inline]
    pub fn filled(&mut self, n: usize) -> Input {
        if std::mem::take(&mut self.direct) {
            let State::Body { msg, filled, .. } = &mut self.state else {
                unreachable!("direct read outside a frame body");
            };
            let into_payload = n.min(msg.len() - *filled);
            *filled += into_payload;
            if *filled < msg.len() {
                return Input::Direct(None);
            }
            let after = n - into_payload;
            assert!(
                after <= self.buf.len() - self.end,
                "read past the read buffer"
            );
            self.end += after;
            let State::Body { flags, msg, .. } = std::mem::replace(&mut self.state, State::Header)
            else {
                unreachable!()
            };
            return Input::Direct(Some(Frame::Owned { flags, msg }));
        }
        assert!(n <= self.buf.len() - self.end, "read past the read buffer");
        self.end += n;
        Input::Buffered
    }

    /// The next complete unit in the read buffer, or None when more bytes are needed.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ProtocolError> {
        let have = &self.buf[self.start..self.end];
        match &mut self.state {
            State::Greeting => {
                greeting::check_prefix(&have[..have.len().min(GREETING_LEN)])?;
                let Some(g) = have.first_chunk::<GREETING_LEN>() else {
                    return Ok(None);
                };
                self.start += GREETING_LEN;
                self.state = State::Header;
                Ok(Some(Frame::Greeting(g)))
            }
            State::Header => {
                let (flags, size, header_len) = match *have {
                    [flags, size, ..] if flags & FLAG_LONG == 0 => (flags, size as u64, 2),
                    [flags, a, b, c, d, e, f, g, h, ..] => {
                        (flags, u64::from_be_bytes([a, b, c, d, e, f, g, h]), 9)
                    }
                    _ => return Ok(None),
                };
                let size = check_size(size, self.max_msg_size)?;
                self.large = size > LARGE_FRAME;
                let body = &have[header_len..];
                if body.len() >= size {
                    self.start += header_len + size;
                    Ok(Some(Frame::Borrowed {
                        flags,
                        body: &body[..size],
                    }))
                } else if size <= LARGE_FRAME {
                    // Wait for the rest; the buffer always has room for it.
                    Ok(None)
                } else {
                    let mut msg = alloc_frame(size)?;
                    msg.data_mut()[..body.len()].copy_from_slice(body);
                    let filled = body.len();
                    self.start = self.end;
                    self.state = State::Body { flags, msg, filled };
                    Ok(None)
                }
            }
            State::Body { msg, filled, .. } => {
                if have.is_empty() {
                    return Ok(None);
                }
                let take = have.len().min(msg.len() - *filled);
                msg.data_mut()[*filled..*filled + take].copy_from_slice(&have[..take]);
                *filled += take;
                self.start += take;
                if *filled < msg.len() {
                    return Ok(None);
                }
                let State::Body { flags, msg, .. } =
                    std::mem::replace(&mut self.state, State::Header)
                else {
                    unreachable!()
                };
                Ok(Some(Frame::Owned { flags, msg }))
            }
        }
    }

    /// The caller is done taking frames after `filled`: makes room for the next read.
    #[inline]
    pub fn consumed(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < MIN_FREE {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// `filled`, then every complete unit to `on_frame` in order (stopping at the first
    /// error), then `consumed`: what `Codec::process` does, for the tests here.
    #[cfg(test)]
    pub fn decode<F>(&mut self, n: usize, on_frame: &mut F) -> Result<(), ProtocolError>
    where
        F: FnMut(Frame<'_>) -> Result<(), ProtocolError>,
    {
        match self.filled(n) {
            Input::Direct(Some(frame)) => on_frame(frame)?,
            Input::Direct(None) => return Ok(()),
            Input::Buffered => {}
        }
        let result = loop {
            match self.next_frame() {
                Ok(Some(frame)) => {
                    if let Err(e) = on_frame(frame) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.consumed();
        result
    }
}

/// Applies ZMQ_MAXMSGSIZE and refuses sizes no buffer could hold.
fn check_size(size: u64, max_msg_size: i64) -> Result<usize, ProtocolError> {
    if max_msg_size >= 0 && size > max_msg_size as u64 {
        return Err(ProtocolError::FrameTooLarge {
            size,
            max: max_msg_size,
        });
    }
    match usize::try_from(size) {
        Ok(s) if s <= isize::MAX as usize => Ok(s),
        _ => Err(ProtocolError::FrameTooLarge { size, max: -1 }),
    }
}

/// A message of `size` (> `LARGE_FRAME`) bytes; a failed allocation is an error, not an
/// abort, because the size came from the peer.
fn alloc_frame(size: usize) -> Result<Msg, ProtocolError> {
    debug_assert!(size > LARGE_FRAME);
    // SAFETY: the decoder hands the payload out only through `read_buffer` until the peer's
    // bytes have filled all of it; the frame is delivered once complete.
    unsafe { Msg::with_size_uninit(size) }.ok_or(ProtocolError::OutOfMemory { size: size as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a frame looked like, for comparisons.
    #[derive(Debug, PartialEq)]
    enum Got {
        Greeting,
        Frame(u8, Vec<u8>, bool),
    }

    impl From<Frame<'_>> for Got {
        fn from(f: Frame<'_>) -> Got {
            match f {
                Frame::Greeting(_) => Got::Greeting,
                Frame::Borrowed { flags, body } => Got::Frame(flags, body.to_vec(), false),
                Frame::Owned { flags, msg } => Got::Frame(flags, msg.data().to_vec(), true),
            }
        }
    }

    fn feed(d: &mut Decoder, data: &[u8], chunk: usize) -> Result<Vec<Got>, ProtocolError> {
        let mut got = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let buf = d.read_buffer();
            let n = buf.len().min(rest.len()).min(chunk);
            assert!(n > 0);
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            d.decode(n, &mut |f| {
                got.push(Got::from(f));
                Ok(())
            })?;
        }
        Ok(got)
    }

    fn greeting() -> Vec<u8> {
        greeting::encode("NULL", false).to_vec()
    }

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        if body.len() < 256 {
            v.extend_from_slice(&[flags, body.len() as u8]);
        } else {
            v.push(flags | FLAG_LONG);
            v.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn frames_of_every_form_any_chunking() {
        let b255 = vec![0xAB; 255];
        let b256 = vec![0xCD; 256];
        let b9000 = vec![0xEF; 9000];
        let mut stream = greeting();
        stream.extend(frame(0, b""));
        stream.extend(frame(1, b"part"));
        stream.extend(frame(0, &b255));
        stream.extend(frame(1, &b256));
        stream.extend(frame(4, b"\x04PING\x00\x01"));
        // A long-form header for a short body is legal.
        stream.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, 3, b'x', b'y', b'z']);
        stream.extend(frame(0, &b9000));
        stream.extend(frame(0, b"tail"));
        let want = [
            Got::Greeting,
            Got::Frame(0, vec![], false),
            Got::Frame(1, b"part".to_vec(), false),
            Got::Frame(0, b255.clone(), false),
            Got::Frame(3, b256.clone(), false),
            Got::Frame(4, b"\x04PING\x00\x01".to_vec(), false),
            Got::Frame(2, b"xyz".to_vec(), false),
        ];
        for chunk in [1, 2, 3, 7, 64, 65, 1000, usize::MAX] {
            let mut d = Decoder::new(-1);
            let got = feed(&mut d, &stream, chunk).unwrap();
            assert_eq!(&got[..want.len()], &want[..], "chunk {chunk}");
            let Got::Frame(2, body, _) = &got[want.len()] else {
                panic!("chunk {chunk}: unexpected frame");
            };
            assert!(body == &b9000);
            assert_eq!(got[want.len() + 1], Got::Frame(0, b"tail".to_vec(), false));
            assert_eq!(got.len(), want.len() + 2);
        }
    }

    #[test]
    fn large_frame_is_read_in_place() {
        const SIZE: usize = 1 << 20;
        let body: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut stream = greeting();
        stream.extend(frame(1, &body));
        stream.extend(frame(0, b"after"));
        let mut d = Decoder::new(-1);
        let mut frames = Vec::new();
        let mut direct_reads = 0;
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let shared = d.buf.as_ptr_range();
            let buf = d.read_buffer();
            if !shared.contains(&buf.as_ptr()) {
                direct_reads += 1;
            }
            let n = buf.len().min(rest.len()).min(4096);
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            d.decode(n, &mut |f| {
                if let Frame::Owned { flags, msg } = f {
                    frames.push((flags, msg));
                } else if let Frame::Borrowed { flags, body } = f {
                    frames.push((flags, Msg::from_slice(body)));
                }
                Ok(())
            })
            .unwrap();
        }
        assert!(direct_reads > 200, "only {direct_reads} direct reads");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].0, 1 | FLAG_LONG);
        assert_eq!(frames[0].1.len(), SIZE);
        assert!(frames[0].1.data() == &body[..]);
        assert_eq!(frames[1].1.data(), b"after");
    }

    /// Feeds `stream` through `read_buffers` as a kernel would through readv, at most `limit`
    /// bytes a read; the frames, and how many reads it took.
    fn feed_scattered(d: &mut Decoder, stream: &[u8], limit: usize) -> (Vec<Got>, usize) {
        let mut got = Vec::new();
        let mut rest = stream;
        let mut reads = 0;
        while !rest.is_empty() {
            let (a, b) = d.read_buffers();
            let n = (a.len() + b.len()).min(rest.len()).min(limit);
            let in_a = n.min(a.len());
            a[..in_a].copy_from_slice(&rest[..in_a]);
            b[..n - in_a].copy_from_slice(&rest[in_a..n]);
            rest = &rest[n..];
            reads += 1;
            d.decode(n, &mut |f| {
                got.push(Got::from(f));
                Ok(())
            })
            .unwrap();
        }
        (got, reads)
    }

    #[test]
    fn one_scattered_read_completes_a_payload_and_takes_the_next_header() {
        const N: usize = 50;
        const SIZE: usize = 64 << 10;
        let mut stream = greeting();
        let mut want = vec![Got::Greeting];
        for i in 0..N {
            let body: Vec<u8> = (0..SIZE).map(|j| (i * 31 + j * 7) as u8).collect();
            stream.extend(frame(u8::from(i % 3 == 0), &body));
            want.push(Got::Frame(u8::from(i % 3 == 0) | FLAG_LONG, body, true));
            if i % 10 == 9 {
                // Small frames in between come with the header read.
                stream.extend(frame(0, b"small"));
                want.push(Got::Frame(0, b"small".to_vec(), false));
            }
        }
        stream.extend(frame(0, b"end"));
        want.push(Got::Frame(0, b"end".to_vec(), false));
        // A kernel that has everything: one read per large frame after the first (which
        // needs the greeting and its header first), where plain reads took two.
        let mut d = Decoder::new(-1);
        let (got, reads) = feed_scattered(&mut d, &stream, usize::MAX);
        assert!(got == want, "frames differ");
        assert!(reads <= N + 3, "{reads} reads for {N} large frames");
        // Any split of the stream into reads, across the payload's end and the header's.
        for limit in [
            1,
            9,
            100,
            LARGE_FRAME - 1,
            LARGE_FRAME + 3,
            SIZE - 1,
            SIZE + 9,
            SIZE * 3,
        ] {
            let mut d = Decoder::new(-1);
            let (got, _) = feed_scattered(&mut d, &stream, limit);
            assert!(got == want, "frames differ at a limit of {limit}");
        }
    }

    #[test]
    fn direct_buffer_is_the_message_payload() {
        let mut d = Decoder::new(-1);
        let mut stream = greeting();
        let body = vec![5u8; 100_000];
        stream.extend(frame(0, &body));
        feed(&mut d, &stream[..64 + 9 + 10], usize::MAX).unwrap();
        let buf = d.read_buffer();
        assert_eq!(buf.len(), 100_000 - 10);
        buf.copy_from_slice(&body[10..]);
        let mut got = None;
        d.decode(100_000 - 10, &mut |f| {
            if let Frame::Owned { msg, .. } = f {
                got = Some(msg);
            }
            Ok(())
        })
        .unwrap();
        let msg = got.unwrap();
        assert!(msg.data() == &body[..]);
        assert!(!msg.is_shared());
        // The buffer alone now: no payload for a scattered read to fill first.
        let (a, b) = d.read_buffers();
        assert_eq!((a.len(), b.len()), (LARGE_FRAME, 0));
        // Back to the shared buffer afterwards, a little at a time while frames are large
        // (the next large body goes straight into its payload too), all of it after a small
        // frame.
        assert_eq!(d.read_buffer().len(), LARGE_FRAME);
        feed(&mut d, &frame(0, b"small"), usize::MAX).unwrap();
        assert_eq!(d.read_buffer().len(), READ_BUFFER_SIZE);
    }

    #[test]
    fn size_limits() {
        let mut stream = greeting();
        stream.extend(frame(0, &[0; 100]));
        let mut d = Decoder::new(100);
        assert_eq!(feed(&mut d, &stream, usize::MAX).unwrap().len(), 2);
        let mut d = Decoder::new(99);
        assert_eq!(
            feed(&mut d, &stream, usize::MAX),
            Err(ProtocolError::FrameTooLarge { size: 100, max: 99 })
        );
        // Refused on the header alone, before the body arrives.
        let mut d = Decoder::new(10);
        let mut s = greeting();
        s.extend_from_slice(&[2, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert!(matches!(
            feed(&mut d, &s, usize::MAX),
            Err(ProtocolError::FrameTooLarge { size: 65536, .. })
        ));
        // Absurd sizes are refused even without a limit.
        let mut d = Decoder::new(-1);
        let mut s = greeting();
        s.extend_from_slice(&[2, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        assert!(matches!(
            feed(&mut d, &s, usize::MAX),
            Err(ProtocolError::FrameTooLarge { max: -1, .. })
        ));
        let mut d = Decoder::new(-1);
        let mut s = greeting();
        s.extend_from_slice(&[2, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3]);
        assert!(matches!(
            feed(&mut d, &s, usize::MAX),
            Err(ProtocolError::OutOfMemory { .. } | ProtocolError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn bad_greeting_fails_early() {
        let mut d = Decoder::new(-1);
        assert_eq!(feed(&mut d, &[0x00], 1), Err(ProtocolError::BadSignature));
        let mut d = Decoder::new(-1);
        let g = greeting();
        let mut v2 = g[..10].to_vec();
        v2.push(1);
        assert_eq!(
            feed(&mut d, &v2, 1),
            Err(ProtocolError::UnsupportedVersion(1))
        );
    }

    #[test]
    fn buffer_never_runs_out_of_room() {
        // Frames just under LARGE_FRAME, fed in reads that always end mid-frame.
        let body = vec![1u8; LARGE_FRAME];
        let mut stream = greeting();
        for _ in 0..40 {
            stream.extend(frame(0, &body));
            stream.extend(frame(0, b"x"));
        }
        for chunk in [LARGE_FRAME - 1, 3 * LARGE_FRAME + 5, READ_BUFFER_SIZE] {
            let mut d = Decoder::new(-1);
            let got = feed(&mut d, &stream, chunk).unwrap();
            assert_eq!(got.len(), 81);
        }
    }
}

//! Pipes: the lock-free, bidirectional message queue between a socket and one peer (another
//! socket for inproc, or the I/O thread's session of a tcp/ipc connection).
//!
//! Each direction is a [`Half`]: a queue of frames plus two counters of whole messages
//! (`written` by its writer, `read` by its reader). A message becomes visible to the reader
//! only when its last frame is committed, so multipart messages are atomic. The high-water mark
//! is `written - read`, where the writer learns `read` only every low-water mark's worth of
//! messages, as libzmq's does (its reader sends `activate_write` every LWM messages), or,
//! when it waits, once the queue is down to the length it waits for. A side that finds the
//! queue empty (reader) or full (writer) raises a flag; the other side wakes it through its
//! [`PipeListener`] only when it sees that flag, so the steady state costs one atomic store
//! per message and no syscalls.

use super::msg::Msg;
use super::spsc::Spsc;
use crossbeam_utils::CachePadded;
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What happened to a pipe end, as told to its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeEvent {
    /// Messages arrived after the owner found the pipe empty.
    Readable,
    /// Room appeared after the owner found the pipe full.
    Writable,
    /// The peer closed its end.
    Closed,
    /// The connection behind the peer end was re-established (subscriptions must be resent).
    Hiccup,
}

/// The owner of a pipe end: woken with the token it registered.
pub trait PipeListener: Send + Sync {
    fn pipe_event(&self, token: usize, event: PipeEvent);
}

/// One direction. The counters each sit on their own cache line: `written` is stored by the
/// writer and `read` by the reader for every message, and sharing a line would make the two
/// cores fight over it; the flags, written rarely, share a third line.
struct Half {
    queue: Spsc<Msg>,
    written: CachePadded<AtomicU64>,
    read: CachePadded<AtomicU64>,
    reader_asleep: AtomicBool,
    writer_blocked: AtomicBool,
    /// A blocked writer is woken only once the queue is down to this many messages, so that
    /// it can write a batch rather than one message per wake-up. Stored by the writer each
    /// time it blocks (at its HWM, or at a limit of its own: `wait_until_queued`).
    lwm: AtomicU64,
    /// The reader publishes `read` every this many messages (the LWM of the writer's HWM),
    /// when it finds the queue empty, and when the writer waits and the queue is down to
    /// `lwm`.
    publish_every: AtomicU64,
    /// The writer will write no more; the reader sees "closed" once it has drained the queue.
    closed: AtomicBool,
}

impl Half {
    fn new() -> Half {
        Half {
            queue: Spsc::default(),
            written: CachePadded::new(AtomicU64::new(0)),
            read: CachePadded::new(AtomicU64::new(0)),
            reader_asleep: AtomicBool::new(false),
            writer_blocked: AtomicBool::new(false),
            lwm: AtomicU64::new(0),
            publish_every: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }
    }
}

type Listener = (Arc<dyn PipeListener>, usize);

struct Shared {
    halves: [Half; 2],
    listeners: [Mutex<Option<Listener>>; 2],
    /// An end has been closed (its owner is gone or detached).
    end_closed: [AtomicBool; 2],
}

impl Shared {
    fn notify(&self, side: usize, ev: PipeEvent) {
        let l = self.listeners[side].lock().clone();
        if let Some((l, token)) = l {
            l.pipe_event(token, ev);
        }
    }
}

/// One end of a pipe. Its owner writes to one half and reads from the other.
pub struct PipeEnd {
    shared: Arc<Shared>,
    side: usize,
    /// Whole messages written / read by this end (the authoritative local copies).
    written: u64,
    read: u64,
    /// The peer's counters as last loaded: the other half's `written` and this half's
    /// `read`. Both only grow, so a stale copy errs on the safe side (fewer messages to read,
    /// less room to write) and the shared counter, whose cache line the peer keeps writing,
    /// is loaded again only when the copy says empty or full.
    seen_written: Cell<u64>,
    seen_read: Cell<u64>,
    /// `written` as last published to the reader (see `write_deferred`).
    published: u64,
    /// `read` is next published to the writer when it gets here (see `count_frame`).
    next_publish: Cell<u64>,
    hwm: u64,
    in_read_msg: bool,
    in_write_msg: bool,
    closed: bool,
    /// ZMQ_CONFLATE on the reading side: only the newest whole message is delivered.
    conflate: bool,
    /// What this end writes goes to the kernel (the peer is a session), so large payloads
    /// have their pages mapped first (`Msg::map_for_kernel`).
    to_kernel: bool,
}

/// The low-water mark for a high-water mark: half of it, rounded up (libzmq 4.3's
/// `compute_lwm`; libzmq before 4.3 kept it at most 1024 below a large HWM).
fn lwm(hwm: u64) -> u64 {
    hwm.div_ceil(2)
}

/// How often a reader publishes its count to a writer with this HWM: every LWM messages, or
/// every 512 without a HWM (only a session reading ahead uses the count then; see
/// `read_by_peer`).
fn publish_every(hwm: u64) -> u64 {
    if hwm == 0 {
        512
    } else {
        lwm(hwm)
    }
}

/// Creates a pipe. `hwm_ab` limits messages from end A to end B, `hwm_ba` the other way;
/// 0 means unlimited.
pub fn pipe_pair(hwm_ab: u64, hwm_ba: u64) -> (PipeEnd, PipeEnd) {
    let shared = Arc::new(Shared {
        halves: [Half::new(), Half::new()],
        listeners: [Mutex::new(None), Mutex::new(None)],
        end_closed: [AtomicBool::new(false), AtomicBool::new(false)],
    });
    let end = |side, hwm, hwm_in| PipeEnd {
        shared: shared.clone(),
        side,
        written: 0,
        read: 0,
        seen_written: Cell::new(0),
        seen_read: Cell::new(0),
        published: 0,
        next_publish: Cell::new(publish_every(hwm_in)),
        hwm,
        in_read_msg: false,
        in_write_msg: false,
        closed: false,
        conflate: false,
        to_kernel: false,
    };
    shared.halves[0]
        .publish_every
        .store(publish_every(hwm_ab), Ordering::Relaxed);
    shared.halves[1]
        .publish_every
        .store(publish_every(hwm_ba), Ordering::Relaxed);
    (end(0, hwm_ab, hwm_ba), end(1, hwm_ba, hwm_ab))
}

impl PipeEnd {
    /// `side` is 0 or 1; the masks let the compiler drop the bounds checks.
    #[inline]
    fn out(&self) -> &Half {
        &self.shared.halves[self.side & 1]
    }

    #[inline]
    fn inp(&self) -> &Half {
        &self.shared.halves[(self.side & 1) ^ 1]
    }

    #[inline]
    fn peer_side(&self) -> usize {
        (self.side & 1) ^ 1
    }

    /// Registers who is woken for this end. Events that happened before are not replayed:
    /// the owner must try to read/write once after registering.
    pub fn set_listener(&self, listener: Arc<dyn PipeListener>, token: usize) {
        *self.shared.listeners[self.side].lock() = Some((listener, token));
    }

    /// Changes the HWM of what this end writes. The reader publishes its count at the new
    /// interval from its next publication on.
    pub fn set_hwm(&mut self, hwm: u64) {
        self.hwm = hwm;
        self.out()
            .publish_every
            .store(publish_every(hwm), Ordering::Relaxed);
    }

    /// True when the next frame written starts a message and the HWM lets it in. A false
    /// return arms a wake-up: the owner gets `Writable` when the reader makes room.
    #[inline]
    pub fn check_write(&self) -> bool {
        if self.in_write_msg {
            return true;
        }
        if self.peer_gone() {
            return false;
        }
        if self.hwm == 0 {
            return true;
        }
        if self.written - self.seen_read.get() < self.hwm {
            return true;
        }
        let out = &self.shared.halves[self.side & 1];
        self.seen_read.set(out.read.load(Ordering::Acquire));
        if self.written - self.seen_read.get() < self.hwm {
            return true;
        }
        !self.block(lwm(self.hwm), |queued| queued < self.hwm)
    }

    /// Raises `writer_blocked`, to be woken when the reader has brought the queue down to
    /// `lwm` messages, then loads the reader's count once more: it may have read meanwhile
    /// without seeing the flag (see `count_frame`). If `room` says the queue now has room,
    /// lowers the flag again and returns false (nothing armed).
    #[inline]
    fn block(&self, lwm: u64, room: impl Fn(u64) -> bool) -> bool {
        let out = self.out();
        // The reader loads `lwm` only after seeing `writer_blocked`.
        out.lwm.store(lwm, Ordering::Relaxed);
        out.writer_blocked.store(true, Ordering::SeqCst);
        self.seen_read.set(out.read.load(Ordering::SeqCst));
        if room(self.written - self.seen_read.get()) {
            out.writer_blocked.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whole messages written by this end so far.
    pub fn written_count(&self) -> u64 {
        self.written
    }

    /// Whole messages the peer has read of those this end wrote, as it last published: up
    /// to `publish_every` short while it is reading, exact once it has found the queue
    /// empty or brought it down to what this end waits for (`wait_until_queued`).
    pub fn read_by_peer(&self) -> u64 {
        self.out().read.load(Ordering::Acquire)
    }

    /// Arms a `Writable` wake-up for when the reader has brought what this end wrote down to
    /// `queued` messages, for a writer that stops before its HWM (an I/O session limiting how
    /// far it reads ahead). False when the queue is already that short (nothing armed).
    pub fn wait_until_queued(&self, queued: u64) -> bool {
        self.block(queued, |now| now <= queued)
    }

    /// True when the peer end is closed (writes would go nowhere).
    #[inline]
    pub fn peer_gone(&self) -> bool {
        self.shared.end_closed[self.peer_side()].load(Ordering::Acquire)
    }

    /// Queues a frame, ignoring the HWM (the caller checked it with `check_write`, or is
    /// an I/O session finishing a batch it already read). Wakes the reader when the frame
    /// completes a message and the reader was waiting.
    #[inline]
    pub fn write(&mut self, msg: Msg) {
        self.write_deferred(msg);
        self.flush();
    }

    /// As `write`, but whole messages reach the reader only at the next `flush` (or `write`,
    /// or `close`): an I/O session that decodes many messages from one read publishes them
    /// with one sequentially consistent store, not one each. They count against the HWM at
    /// once.
    #[inline]
    pub fn write_deferred(&mut self, msg: Msg) {
        if self.to_kernel {
            msg.map_for_kernel();
        }
        let more = msg.more();
        // SAFETY: this end is the half's only writer (one PipeEnd per side, used through &mut).
        unsafe { self.out().queue.push(msg) };
        self.in_write_msg = more;
        if !more {
            self.written += 1;
        }
    }

    /// Publishes the whole messages written so far; wakes the reader if it was waiting.
    #[inline]
    pub fn flush(&mut self) {
        if self.published == self.written {
            return;
        }
        self.published = self.written;
        let out = &self.shared.halves[self.side & 1];
        out.written.store(self.written, Ordering::SeqCst);
        if out.reader_asleep.load(Ordering::SeqCst)
            && out.reader_asleep.swap(false, Ordering::SeqCst)
        {
            self.shared.notify(self.peer_side(), PipeEvent::Readable);
        }
    }

    /// True if a whole message (or the rest of one) is ready to read. A false return arms a
    /// wake-up: the owner gets `Readable` when a message is committed.
    #[inline]
    pub fn check_read(&self) -> bool {
        if self.in_read_msg {
            return true;
        }
        // Messages up to `seen_written` were committed (seen with Acquire) before.
        if self.seen_written.get() != self.read {
            return true;
        }
        let inp = &self.shared.halves[(self.side & 1) ^ 1];
        self.seen_written.set(inp.written.load(Ordering::Acquire));
        if self.seen_written.get() != self.read {
            return true;
        }
        inp.reader_asleep.store(true, Ordering::SeqCst);
        self.seen_written.set(inp.written.load(Ordering::SeqCst));
        if self.seen_written.get() != self.read {
            inp.reader_asleep.store(false, Ordering::Relaxed);
            return true;
        }
        // Empty: the writer may have all the room back (`read` is stored by this end only).
        if inp.read.load(Ordering::Relaxed) != self.read {
            self.publish_read();
        }
        false
    }

    /// Marks what this end writes as bound for the kernel: its writer (the socket) maps the
    /// pages of a large payload before the peer (an I/O thread's session) copies from them.
    pub fn set_to_kernel(&mut self) {
        self.to_kernel = true;
    }

    /// ZMQ_CONFLATE: `read` skips to the newest whole message, dropping older ones.
    pub fn set_conflate(&mut self, on: bool) {
        self.conflate = on;
    }

    /// Takes the next frame, or None when no whole message is waiting (which arms a wake-up).
    #[inline(always)]
    pub fn read(&mut self) -> Option<Msg> {
        if !self.check_read() {
            return None;
        }
        if self.conflate && !self.in_read_msg {
            let newest = self.inp().written.load(Ordering::Acquire);
            while newest - self.read > 1 {
                self.read_frame_raw();
                self.skip_rest_of_message();
            }
        }
        Some(self.read_frame_raw())
    }

    /// As `read`, into `out` (its old content dropped): the frame goes from the queue's slot
    /// straight into place. False, with `out` untouched, when no whole message is waiting.
    #[inline(always)]
    pub fn read_into(&mut self, out: &mut Msg) -> bool {
        if self.conflate {
            return match self.read() {
                Some(m) => {
                    *out = m;
                    true
                }
                None => false,
            };
        }
        if !self.check_read() {
            return false;
        }
        // SAFETY: as in `read_frame_raw`.
        unsafe { self.inp().queue.pop_into(out) };
        self.count_frame(out.more());
        true
    }

    /// Pops the next frame (a whole message is known to be committed) and does the
    /// bookkeeping (`count_frame`).
    #[inline(always)]
    fn read_frame_raw(&mut self) -> Msg {
        // SAFETY: this end is the half's only reader, and the caller saw (Acquire on
        // `written`) that a whole message is committed; the writer pushes every frame of a
        // message before committing it, so the frame is there.
        let msg = unsafe { self.inp().queue.pop() };
        self.count_frame(msg.more());
        msg
    }

    /// After a frame is taken: the message count, published every `publish_every` messages,
    /// or to a writer that waits for room as soon as the queue is down to the length it
    /// waits for.
    #[inline(always)]
    fn count_frame(&mut self, more: bool) {
        self.in_read_msg = more;
        if !self.in_read_msg {
            self.read += 1;
            if self.read >= self.next_publish.get() || self.writer_waits_for_this() {
                self.publish_read();
            }
        }
    }

    /// True when the writer waits for room (`block`) and the queue may be down to the length
    /// it waits for. Until then a publication would neither wake it nor be read by it, and
    /// would cost a store to a line the writer reads. `seen_written` is at most the writer's
    /// count, so the length it gives is at most the real one: never too late, and
    /// `publish_read` checks the real one. A stale `writer_blocked` only delays the
    /// publication: the flag is seen at a later message, or by `publish_read`'s own load (at
    /// the interval, or when the queue is found empty).
    #[inline(always)]
    fn writer_waits_for_this(&self) -> bool {
        let inp = &self.shared.halves[(self.side & 1) ^ 1];
        // Acquire: the writer stores `lwm` before raising the flag.
        inp.writer_blocked.load(Ordering::Acquire)
            && self.seen_written.get().saturating_sub(self.read) <= inp.lwm.load(Ordering::Relaxed)
    }

    /// Tells the writer how many messages this end has read, and wakes it if it waits for
    /// the queue to be this short.
    #[inline(never)]
    fn publish_read(&self) {
        let inp = &self.shared.halves[(self.side & 1) ^ 1];
        inp.read.store(self.read, Ordering::SeqCst);
        self.next_publish
            .set(self.read + inp.publish_every.load(Ordering::Relaxed));
        // Pairs with `block`: the writer raises its flag, then loads `read`.
        if inp.writer_blocked.load(Ordering::SeqCst)
            && inp.written.load(Ordering::Acquire) - self.read <= inp.lwm.load(Ordering::Relaxed)
            && inp.writer_blocked.swap(false, Ordering::SeqCst)
        {
            self.shared.notify(self.peer_side(), PipeEvent::Writable);
        }
    }

    /// True once the peer has closed and every message it sent has been read.
    pub fn is_drained_and_closed(&self) -> bool {
        !self.in_read_msg
            && self.inp().closed.load(Ordering::Acquire)
            && self.inp().written.load(Ordering::Acquire) == self.read
    }

    /// True if the peer closed its end (messages may still be waiting to be read).
    pub fn peer_closed(&self) -> bool {
        self.shared.end_closed[self.peer_side()].load(Ordering::Acquire)
    }

    /// True when the message being written is incomplete (a frame with MORE was written).
    pub fn in_write_msg(&self) -> bool {
        self.in_write_msg
    }

    /// Drops the frames of a partially read message (the reader gives up on it).
    pub fn skip_rest_of_message(&mut self) {
        while self.in_read_msg {
            if self.read().is_none() {
                break;
            }
        }
    }

    /// Tells the peer end's owner that the connection behind this end was re-established.
    pub fn send_hiccup(&self) {
        self.shared.notify(self.peer_side(), PipeEvent::Hiccup);
    }

    /// Closes this end: the peer reads what is queued, then sees the pipe closed. Frames of
    /// an unfinished message stay uncommitted and are never delivered.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.flush();
        self.closed = true;
        *self.shared.listeners[self.side].lock() = None;
        self.out().closed.store(true, Ordering::SeqCst);
        self.shared.end_closed[self.side].store(true, Ordering::SeqCst);
        self.shared.notify(self.peer_side(), PipeEvent::Closed);
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Events(Mutex<Vec<(usize, PipeEvent)>>, AtomicUsize);
    impl PipeListener for Events {
        fn pipe_event(&self, token: usize, event: PipeEvent) {
            self.0.lock().push((token, event));
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Unparks the thread that owns the pipe end.
    struct Park(std::thread::Thread);
    impl PipeListener for Park {
        fn pipe_event(&self, _: usize, _: PipeEvent) {
            self.0.unpark();
        }
    }

    /// Writes `n` one-frame messages, ignoring the HWM.
    fn write_n(p: &mut PipeEnd, n: u8) {
        for i in 0..n {
            p.write(frame(&[i], false));
        }
    }

    /// Reads `n` messages, each of which must be there.
    fn read_n(p: &mut PipeEnd, n: u32) {
        for _ in 0..n {
            p.read().unwrap();
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "the kernel's page tables (mincore, madvise)")]
    fn a_pipe_to_the_kernel_maps_large_payloads_before_they_are_queued() {
        // 40 MiB is above the pool's classes and glibc's mmap threshold: a fresh mapping,
        // never touched but for the header in its first page.
        const LEN: usize = 40 << 20;
        let sent = |to_kernel: bool| {
            let (mut a, mut b) = pipe_pair(0, 0);
            if to_kernel {
                a.set_to_kernel();
            }
            // SAFETY: the bytes are never read, only their pages looked at.
            let m = unsafe { Msg::with_size_uninit(LEN) }.unwrap();
            a.write(m);
            let mut m = b.read().unwrap();
            crate::core::pool::mapped_pages(m.data_ptr(), LEN)
        };
        let (mapped, pages) = sent(false);
        assert!(
            mapped <= 2,
            "{mapped} of {pages} pages mapped without the flag"
        );
        let (mapped, pages) = sent(true);
        assert_eq!(mapped, pages);
        // Small payloads and inline ones pass untouched.
        let (mut a, mut b) = pipe_pair(0, 0);
        a.set_to_kernel();
        a.write(Msg::from_slice(&[1; 5000]));
        a.write(Msg::from_slice(b"x"));
        assert_eq!(b.read().unwrap().data(), &[1; 5000][..]);
        assert_eq!(b.read().unwrap().data(), b"x");
    }

    fn frame(s: &[u8], more: bool) -> Msg {
        let mut m = Msg::from_slice(s);
        m.set_more(more);
        m
    }

    #[test]
    fn multipart_is_atomic() {
        let (mut a, mut b) = pipe_pair(0, 0);
        a.write(frame(b"1", true));
        assert!(b.read().is_none(), "first frame must not be visible alone");
        a.write(frame(b"2", false));
        assert_eq!(b.read().unwrap().data(), b"1");
        assert_eq!(b.read().unwrap().data(), b"2");
        assert!(b.read().is_none());
    }

    #[test]
    fn reader_woken_once_after_finding_empty() {
        let (mut a, mut b) = pipe_pair(0, 0);
        let ev = Arc::new(Events::default());
        b.set_listener(ev.clone(), 7);
        a.write(frame(b"x", false));
        assert_eq!(ev.1.load(Ordering::SeqCst), 0, "reader was not asleep");
        b.read().unwrap();
        assert!(b.read().is_none());
        a.write(frame(b"y", false));
        a.write(frame(b"z", false));
        assert_eq!(*ev.0.lock(), vec![(7, PipeEvent::Readable)]);
    }

    #[test]
    fn hwm_blocks_and_wakes_writer_at_the_low_water_mark() {
        // The low-water mark is half the HWM, rounded up, however large the HWM (libzmq 4.3).
        for (hwm, lwm) in [(4u32, 2u32), (5001, 2501)] {
            let (mut a, mut b) = pipe_pair(hwm as u64, 0);
            let ev = Arc::new(Events::default());
            a.set_listener(ev.clone(), 1);
            for i in 0..hwm {
                assert!(a.check_write());
                a.write(frame(&i.to_le_bytes(), false));
            }
            assert!(!a.check_write());
            read_n(&mut b, hwm - lwm - 1);
            assert!(
                ev.0.lock().is_empty(),
                "HWM {hwm}: {} queued, above the low-water mark",
                lwm + 1
            );
            b.read().unwrap();
            assert_eq!(*ev.0.lock(), vec![(1, PipeEvent::Writable)], "HWM {hwm}");
            assert!(a.check_write());
        }
    }

    #[test]
    fn the_writer_learns_the_count_every_lwm_messages_or_when_it_waits() {
        // HWM 8, LWM 4: as libzmq's writer, ours sees the reader's progress in steps of 4.
        let (mut a, mut b) = pipe_pair(8, 0);
        let ev = Arc::new(Events::default());
        a.set_listener(ev.clone(), 1);
        write_n(&mut a, 8);
        read_n(&mut b, 3);
        assert_eq!(a.read_by_peer(), 0, "3 reads are not published");
        read_n(&mut b, 1);
        assert_eq!(a.read_by_peer(), 4);
        write_n(&mut a, 4);
        read_n(&mut b, 3);
        // 5 queued, but the writer counts 8 and waits; the reader sees it waiting.
        assert!(!a.check_write());
        read_n(&mut b, 1);
        assert_eq!(a.read_by_peer(), 8);
        assert_eq!(
            *ev.0.lock(),
            vec![(1, PipeEvent::Writable)],
            "4 queued: the LWM"
        );
        assert!(a.check_write());
        // A reader that runs dry publishes what it read: the writer has its whole HWM back.
        read_n(&mut b, 4);
        assert!(b.read().is_none());
        assert_eq!(a.read_by_peer(), 12);
        for i in 0..8u8 {
            assert!(a.check_write(), "message {i} of 8");
            a.write(frame(&[i], false));
        }
        assert!(!a.check_write());
    }

    #[test]
    fn a_writer_below_its_hwm_can_wait_for_the_queue_to_shrink() {
        let (mut a, mut b) = pipe_pair(1000, 0);
        let ev = Arc::new(Events::default());
        a.set_listener(ev.clone(), 1);
        write_n(&mut a, 10);
        assert!(
            !a.wait_until_queued(10),
            "already that short: nothing armed"
        );
        assert!(a.wait_until_queued(3));
        assert_eq!(a.written_count(), 10);
        read_n(&mut b, 6);
        assert_eq!(
            a.read_by_peer(),
            0,
            "4 queued: the reader publishes only once the queue is down to 3"
        );
        assert!(ev.0.lock().is_empty(), "4 queued");
        b.read().unwrap();
        assert_eq!(a.read_by_peer(), 7);
        assert_eq!(*ev.0.lock(), vec![(1, PipeEvent::Writable)]);
        // Blocking at the HWM afterwards wakes at the HWM's own low-water mark again.
        let (mut a, mut b) = pipe_pair(4, 0);
        a.set_listener(ev.clone(), 2);
        write_n(&mut a, 4);
        assert!(a.wait_until_queued(0));
        read_n(&mut b, 4);
        assert!(a.check_write());
        write_n(&mut a, 4);
        assert!(!a.check_write());
        read_n(&mut b, 2);
        let woken: Vec<_> = ev.0.lock().iter().filter(|e| e.0 == 2).copied().collect();
        assert_eq!(
            woken,
            vec![(2, PipeEvent::Writable); 2],
            "woken at 0, then at 2"
        );
    }

    #[test]
    fn deferred_writes_reach_the_reader_at_flush_or_close() {
        let (mut a, mut b) = pipe_pair(3, 0);
        let ev = Arc::new(Events::default());
        b.set_listener(ev.clone(), 9);
        assert!(b.read().is_none(), "reader now waits for a wake-up");
        a.write_deferred(frame(b"1", true));
        a.write_deferred(frame(b"2", false));
        a.write_deferred(frame(b"3", false));
        assert!(b.read().is_none(), "nothing published yet");
        assert!(ev.0.lock().is_empty());
        // Deferred messages count against the HWM at once.
        assert!(a.check_write());
        a.write_deferred(frame(b"4", false));
        assert!(!a.check_write());
        a.flush();
        assert_eq!(*ev.0.lock(), vec![(9, PipeEvent::Readable)]);
        a.flush();
        assert_eq!(
            ev.0.lock().len(),
            1,
            "a second flush with nothing new wakes no one"
        );
        for want in [&b"1"[..], b"2", b"3", b"4"] {
            assert_eq!(b.read().unwrap().data(), want);
        }
        a.write_deferred(frame(b"last", false));
        a.close();
        assert_eq!(b.read().unwrap().data(), b"last");
        assert!(b.is_drained_and_closed());
    }

    #[test]
    fn conflate_delivers_only_the_newest() {
        let (mut a, mut b) = pipe_pair(0, 0);
        b.set_conflate(true);
        for i in 0..5u8 {
            a.write(frame(&[i], false));
        }
        assert_eq!(b.read().unwrap().data(), &[4]);
        assert!(b.read().is_none());
        a.write(frame(b"x", false));
        assert_eq!(b.read().unwrap().data(), b"x");
    }

    #[test]
    fn close_after_drain() {
        let (mut a, mut b) = pipe_pair(0, 0);
        let ev = Arc::new(Events::default());
        b.set_listener(ev.clone(), 3);
        a.write(frame(b"1", false));
        a.write(frame(b"partial", true));
        a.close();
        assert!(b.peer_closed());
        assert!(!b.is_drained_and_closed());
        assert_eq!(b.read().unwrap().data(), b"1");
        assert!(b.read().is_none(), "uncommitted frames are never delivered");
        assert!(b.is_drained_and_closed());
        assert!(!b.check_write());
    }

    #[test]
    fn threads_exchange_a_million_messages_in_order() {
        let (mut a, mut b) = pipe_pair(100, 0);
        let writer = std::thread::spawn(move || {
            a.set_listener(Arc::new(Park(std::thread::current())), 0);
            for i in 0u32..200_000 {
                while !a.check_write() {
                    std::thread::park_timeout(std::time::Duration::from_millis(10));
                }
                a.write(frame(&i.to_le_bytes(), true));
                a.write(frame(b"tail", false));
            }
            a
        });
        b.set_listener(Arc::new(Park(std::thread::current())), 0);
        let mut next = 0u32;
        while next < 200_000 {
            match b.read() {
                Some(m) => {
                    assert_eq!(m.data(), &next.to_le_bytes());
                    assert!(m.more());
                    assert_eq!(b.read().unwrap().data(), b"tail");
                    next += 1;
                }
                None => std::thread::park_timeout(std::time::Duration::from_millis(10)),
            }
        }
        drop(writer.join().unwrap());
    }

    /// Both sides sleep whenever they cannot go on (the writer at a HWM of 4, the reader on
    /// an empty queue) and wait for the other's wake-up: a lost one shows as a 10 s wait.
    #[test]
    fn threads_never_lose_a_wake_up() {
        const LOST: std::time::Duration = std::time::Duration::from_secs(10);
        let n: u32 = if cfg!(miri) { 300 } else { 100_000 };
        let (mut a, mut b) = pipe_pair(4, 0);
        fn sleep(who: &str, i: u32) {
            let t = std::time::Instant::now();
            std::thread::park_timeout(LOST);
            assert!(t.elapsed() < LOST, "{who} never woken at message {i}");
        }
        let writer = std::thread::spawn(move || {
            a.set_listener(Arc::new(Park(std::thread::current())), 0);
            for i in 0..n {
                while !a.check_write() {
                    sleep("writer", i);
                }
                a.write(frame(&i.to_le_bytes(), false));
            }
            a
        });
        b.set_listener(Arc::new(Park(std::thread::current())), 0);
        for i in 0..n {
            let m = loop {
                match b.read() {
                    Some(m) => break m,
                    None => sleep("reader", i),
                }
            };
            assert_eq!(m.data(), &i.to_le_bytes());
        }
        drop(writer.join().unwrap());
    }
}

//! A single-producer, single-consumer queue of chunks: the storage behind each direction of a
//! pipe. It has no atomics on the data path at all: the pipe publishes how many messages are
//! committed with its own counter, and the reader only pops what that counter says exists.
//! Chunks are allocated 128 slots at a time and the last one the reader finishes is kept as a
//! spare for the writer, so a steady stream allocates nothing.

use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

const CHUNK: usize = 128;

/// One value, on cache lines of its own (a 64-byte `Msg` fills exactly one): the writer
/// filling the next slot must not touch the line the reader is taking the last one from, or
/// the line bounces between their cores on every message while the queue is nearly empty.
#[repr(align(64))]
struct Slot<T>(UnsafeCell<MaybeUninit<T>>);

struct Chunk<T> {
    slots: [Slot<T>; CHUNK],
    /// Set by the writer when it fills this chunk, before the message in the last slot is
    /// committed, so a reader that gets that far always finds it.
    next: UnsafeCell<*mut Chunk<T>>,
}

impl<T> Chunk<T> {
    fn alloc() -> NonNull<Chunk<T>> {
        let c = Box::new(Chunk {
            slots: std::array::from_fn(|_| Slot(UnsafeCell::new(MaybeUninit::uninit()))),
            next: UnsafeCell::new(ptr::null_mut()),
        });
        // SAFETY: Box::into_raw never returns NULL.
        unsafe { NonNull::new_unchecked(Box::into_raw(c)) }
    }
}

struct Cursor<T> {
    chunk: NonNull<Chunk<T>>,
    pos: usize,
}

pub struct Spsc<T> {
    /// Only the writer touches this.
    tail: CachePadded<UnsafeCell<Cursor<T>>>,
    /// Only the reader touches this.
    head: CachePadded<UnsafeCell<Cursor<T>>>,
    spare: AtomicPtr<Chunk<T>>,
}

// SAFETY: values move from the writer's thread to the reader's; the cursors are each used by
// one side only (the contract of `push` and `pop`), and chunks change hands through the
// commit counter of the pipe (Release/Acquire) or through `spare` (Release/Acquire).
unsafe impl<T: Send> Send for Spsc<T> {}
unsafe impl<T: Send> Sync for Spsc<T> {}

impl<T> Default for Spsc<T> {
    fn default() -> Self {
        let first = Chunk::alloc();
        Spsc {
            tail: CachePadded::new(UnsafeCell::new(Cursor {
                chunk: first,
                pos: 0,
            })),
            head: CachePadded::new(UnsafeCell::new(Cursor {
                chunk: first,
                pos: 0,
            })),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

impl<T> Spsc<T> {
    /// Appends a value.
    ///
    /// # Safety
    /// Only one thread at a time may push (the pipe's single writer end).
    #[inline]
    pub unsafe fn push(&self, v: T) {
        let tail = &mut *self.tail.get();
        let chunk = tail.chunk.as_ptr();
        // `pos` < CHUNK always: it is reset to 0 when it reaches CHUNK.
        debug_assert!(tail.pos < CHUNK);
        (*(*chunk).slots.get_unchecked(tail.pos).0.get()).write(v);
        tail.pos += 1;
        if tail.pos == CHUNK {
            self.next_tail_chunk(tail);
        }
    }

    /// The writer filled its chunk: moves on to the spare one or a new one.
    ///
    /// # Safety
    /// As `push`; `tail` is this queue's tail cursor.
    #[cold]
    #[inline(never)]
    unsafe fn next_tail_chunk(&self, tail: &mut Cursor<T>) {
        let chunk = tail.chunk.as_ptr();
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        let next = match NonNull::new(spare) {
            Some(c) => {
                *(*c.as_ptr()).next.get() = ptr::null_mut();
                c
            }
            None => Chunk::alloc(),
        };
        *(*chunk).next.get() = next.as_ptr();
        tail.chunk = next;
        tail.pos = 0;
    }

    /// Takes the oldest value.
    ///
    /// # Safety
    /// Only one thread at a time may pop (the pipe's single reader end), and only a value the
    /// writer has pushed and published (through a Release store the reader has Acquired).
    #[inline]
    pub unsafe fn pop(&self) -> T {
        let v = self.head_slot().read();
        self.advance_head();
        v
    }

    /// As `pop`, into `*out`, whose old value is dropped: the value goes from its slot
    /// straight into place rather than through a temporary.
    ///
    /// # Safety
    /// As `pop`.
    #[inline]
    pub unsafe fn pop_into(&self, out: &mut T) {
        // `out` is moved out first and dropped last, so that it holds a value even if the
        // drop unwinds; the slot is not read again (the position moves past it).
        let old = ptr::read(out);
        ptr::copy_nonoverlapping(self.head_slot(), out, 1);
        self.advance_head();
        drop(old);
    }

    /// The slot of the oldest value.
    ///
    /// # Safety
    /// As `pop`; the slot must be read before `advance_head` (which may hand its chunk back
    /// to the writer).
    #[inline]
    unsafe fn head_slot(&self) -> *const T {
        let head = &*self.head.get();
        debug_assert!(head.pos < CHUNK);
        // `pos` < CHUNK always, as in `push`.
        (*(*head.chunk.as_ptr()).slots.get_unchecked(head.pos).0.get()).as_ptr()
    }

    /// Moves past the oldest value, which the caller has taken.
    ///
    /// # Safety
    /// As `pop`.
    #[inline]
    unsafe fn advance_head(&self) {
        let head = &mut *self.head.get();
        head.pos += 1;
        if head.pos == CHUNK {
            self.next_head_chunk(head);
        }
    }

    /// The reader finished its chunk: moves on to the next one and keeps this one as the
    /// spare.
    ///
    /// # Safety
    /// As `pop`; `head` is this queue's head cursor.
    #[cold]
    #[inline(never)]
    unsafe fn next_head_chunk(&self, head: &mut Cursor<T>) {
        let chunk = head.chunk.as_ptr();
        let next = *(*chunk).next.get();
        debug_assert!(!next.is_null());
        head.chunk = NonNull::new_unchecked(next);
        head.pos = 0;
        // The writer left this chunk when it filled it; keep it for reuse.
        let old = self.spare.swap(chunk, Ordering::Release);
        if !old.is_null() {
            drop(Box::from_raw(old));
        }
    }
}

impl<T> Drop for Spsc<T> {
    fn drop(&mut self) {
        // Exclusive access: drop what was pushed and never popped (including frames of an
        // uncommitted message), then free the chunks.
        let tail = self.tail.get_mut();
        let head = self.head.get_mut();
        // SAFETY: every slot from head to tail holds an initialised value; each chunk on the
        // way has its `next` set because the writer moved past it.
        unsafe {
            while head.chunk != tail.chunk || head.pos != tail.pos {
                let chunk = head.chunk.as_ptr();
                (*(*chunk).slots[head.pos].0.get()).assume_init_drop();
                head.pos += 1;
                if head.pos == CHUNK {
                    head.chunk = NonNull::new_unchecked(*(*chunk).next.get());
                    head.pos = 0;
                    drop(Box::from_raw(chunk));
                }
            }
            drop(Box::from_raw(head.chunk.as_ptr()));
            let spare = *self.spare.get_mut();
            if !spare.is_null() {
                drop(Box::from_raw(spare));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn fifo_across_chunks_and_drop_frees_the_rest() {
        let q = Spsc::default();
        let live = Arc::new(());
        for _ in 0..3 {
            for i in 0..(CHUNK * 2 + 5) {
                unsafe { q.push((i, live.clone())) };
            }
            for i in 0..(CHUNK * 2) {
                assert_eq!(unsafe { q.pop() }.0, i);
            }
            for i in CHUNK * 2..CHUNK * 2 + 5 {
                assert_eq!(unsafe { q.pop() }.0, i);
            }
        }
        for i in 0..(CHUNK + 3) {
            unsafe { q.push((i, live.clone())) };
        }
        drop(q);
        assert_eq!(Arc::strong_count(&live), 1);
    }

    #[test]
    fn pop_into_moves_each_value_into_place_and_drops_the_old_one() {
        let q = Spsc::default();
        let (queued, old) = (Arc::new(()), Arc::new(()));
        for i in 0..(CHUNK + 3) {
            unsafe { q.push((i, queued.clone())) };
        }
        let mut out = (usize::MAX, old.clone());
        for i in 0..(CHUNK + 3) {
            unsafe { q.pop_into(&mut out) };
            assert_eq!(out.0, i);
            assert_eq!(Arc::strong_count(&queued), 1 + CHUNK + 3 - i);
        }
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "the value first in `out` was dropped"
        );
        drop(out);
        assert_eq!(Arc::strong_count(&queued), 1);
    }

    #[test]
    fn two_threads() {
        let q = Arc::new(Spsc::default());
        let published = Arc::new(AtomicUsize::new(0));
        let n = if cfg!(miri) { 1000 } else { 200_000 };
        let (q2, p2) = (q.clone(), published.clone());
        let writer = std::thread::spawn(move || {
            for i in 0..n {
                unsafe { q2.push(Box::new(i)) };
                p2.store(i + 1, Ordering::Release);
            }
        });
        let mut got = 0;
        while got < n {
            if published.load(Ordering::Acquire) > got {
                assert_eq!(*unsafe { q.pop() }, got);
                got += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        writer.join().unwrap();
    }
}

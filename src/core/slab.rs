//! Small message payloads carved from per-thread slabs.
//!
//! A payload of 41 bytes to 1 KiB would otherwise be one malloc in the thread that makes the
//! message and one free in the thread that drops it: for a 64-byte tcp stream that was a sixth
//! of both processes' time, glibc's arena lock and chunk consolidation included. Instead each
//! thread carves its payloads front to back out of a 32 KiB slab (from [`super::pool`]), with no
//! atomic operation, and each payload holds a reference to its slab; the slab goes back to the
//! pool when its owner has moved on to a new one and every payload carved from it is gone.
//!
//! The slab's count starts at a bias far above any number of pieces, so that releases (one
//! atomic decrement each, in whichever thread drops the payload) cannot reach zero while the
//! owner is still carving; when the owner retires the slab it takes back the bias less the
//! pieces it handed out, and whoever brings the count to zero frees it. A payload kept alive
//! pins its slab, as libzmq's zero-copy receive buffers do.

use super::pool;
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

/// Bytes of a slab, its header included: exactly a pool class.
const SLAB: usize = 32 * 1024 + pool::ROOM;
/// The largest piece carved from a slab (a 1 KiB payload and its header); larger payloads
/// come from the pool.
pub const MAX_PIECE: usize = 1024 + 32;
/// Pieces are multiples of this size, packed: a queue full of small messages holds one piece
/// each, and 31 pieces of a 1 KiB payload fit in a slab (libzmq's malloc'd content is 1,072
/// bytes for one).
const PIECE_ALIGN: usize = 8;
const BIAS: usize = usize::MAX / 2;

/// The start of a slab (the pool's blocks are 8-aligned, so no more is asked).
pub struct Slab {
    refs: AtomicUsize,
}

/// Where the first piece starts: the count has a cache line to itself, as releases from
/// another thread write it while the owner carves.
const FIRST: usize = 64;
const _: () = assert!(
    FIRST % PIECE_ALIGN == 0 && FIRST >= std::mem::size_of::<Slab>() && FIRST + MAX_PIECE <= SLAB
);

/// The slab a thread is carving from.
struct Carver {
    slab: Option<NonNull<Slab>>,
    next: usize,
    carved: usize,
}

thread_local! {
    static CARVER: UnsafeCell<Carver> = const {
        UnsafeCell::new(Carver { slab: None, next: 0, carved: 0 })
    };
}

impl Carver {
    #[inline]
    fn carve(&mut self, size: usize) -> Option<(NonNull<u8>, NonNull<Slab>)> {
        let need = (size + PIECE_ALIGN - 1) & !(PIECE_ALIGN - 1);
        loop {
            if let Some(s) = self.slab {
                if self.next + need <= SLAB {
                    // SAFETY: next + need <= SLAB, so the piece lies inside the slab's block.
                    let piece =
                        unsafe { NonNull::new_unchecked(s.as_ptr().cast::<u8>().add(self.next)) };
                    self.next += need;
                    self.carved += 1;
                    return Some((piece, s));
                }
                self.retire();
            }
            let block = pool::alloc_block(SLAB)?;
            let s = block.cast::<Slab>();
            // SAFETY: the block has SLAB bytes, is ours alone and 8-aligned, enough for Slab.
            unsafe {
                s.as_ptr().write(Slab {
                    refs: AtomicUsize::new(BIAS),
                })
            };
            self.slab = Some(s);
            self.next = FIRST;
            self.carved = 0;
        }
    }

    /// Stops carving from the current slab; frees it if its pieces are all gone already.
    fn retire(&mut self) {
        if let Some(s) = self.slab.take() {
            let left = BIAS - self.carved;
            // SAFETY: the slab lives until its count reaches zero, which only this line or a
            // release can make happen, and not before this subtraction.
            if unsafe { s.as_ref() }.refs.fetch_sub(left, Ordering::AcqRel) == left {
                // SAFETY: every piece has been released and the owner has let go: it is ours.
                unsafe { free(s) };
            }
        }
    }
}

impl Drop for Carver {
    fn drop(&mut self) {
        self.retire();
    }
}

/// A piece of at least `size` bytes (8-aligned, uninitialised) and its slab, which the caller
/// must [`release`] once when the piece is no longer used. None if `size` is above
/// [`MAX_PIECE`], if the thread is exiting, or if no memory can be had.
#[inline]
pub fn carve(size: usize) -> Option<(NonNull<u8>, NonNull<Slab>)> {
    if size > MAX_PIECE {
        return None;
    }
    // SAFETY: the carver is this thread's own and no reference to it outlives this call
    // (carve does not re-enter: the pool does not call back into us).
    CARVER
        .try_with(|c| unsafe { (*c.get()).carve(size) })
        .ok()
        .flatten()
}

/// Gives a piece back to its slab.
///
/// # Safety
/// `slab` must come from the `carve` that returned the piece, and each piece is released once;
/// the piece must not be used after.
#[inline]
pub unsafe fn release(slab: NonNull<Slab>) {
    if slab.as_ref().refs.fetch_sub(1, Ordering::Release) == 1 {
        fence(Ordering::Acquire);
        free(slab);
    }
}

unsafe fn free(slab: NonNull<Slab>) {
    pool::free(slab.cast(), SLAB);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_disjoint_aligned_and_slabs_are_reused() {
        let mut pieces = Vec::new();
        for i in 0..1000usize {
            let size = 41 + i % 900;
            let (p, s) = carve(size).unwrap();
            assert_eq!(p.as_ptr() as usize % 8, 0);
            // SAFETY: the piece has `size` bytes and is ours.
            unsafe { p.as_ptr().write_bytes(i as u8, size) };
            pieces.push((p, s, size, i as u8));
        }
        for (p, s, size, v) in pieces {
            // SAFETY: as above; each piece is released once.
            unsafe {
                assert!(std::slice::from_raw_parts(p.as_ptr(), size)
                    .iter()
                    .all(|&b| b == v));
                release(s);
            }
        }
        assert!(carve(MAX_PIECE + 1).is_none());
    }

    #[test]
    fn pieces_released_by_another_thread_after_the_owner_exits() {
        let pieces: Vec<(usize, usize)> = std::thread::spawn(|| {
            (0..500)
                .map(|i| {
                    let (p, s) = carve(100).unwrap();
                    // SAFETY: 100 bytes are ours.
                    unsafe { p.as_ptr().cast::<u32>().write_unaligned(i) };
                    (p.as_ptr() as usize, s.as_ptr() as usize)
                })
                .collect()
        })
        .join()
        .unwrap();
        for (i, (p, s)) in pieces.into_iter().enumerate() {
            // SAFETY: the owner thread has exited (its carver retired the slab); the pieces
            // stay valid until released, once each.
            unsafe {
                assert_eq!((p as *const u32).read_unaligned(), i as u32);
                release(NonNull::new(s as *mut Slab).unwrap());
            }
        }
    }
}

//! A process-wide cache of large message buffers.
//!
//! A stream of large messages allocates in one thread (the sender, or the I/O thread reading
//! from the wire) and frees in another (the receiver). glibc serves that with its arena lock,
//! which both threads then fight over, and with heap trimming, which returns the pages to the
//! kernel only to fault them back in for the next message: profiled, the two cost half the time
//! of an inproc 64 KiB stream. Freed buffers of 1 KiB to 8 MiB therefore go to a lock-free
//! bounded queue per size class, where the next allocation of that class finds them.
//!
//! Sizes are rounded up to a class: four classes per power of two, each [`ROOM`] bytes over its
//! quarter-octave size, so that a power-of-two payload and the message header in front of it
//! fill a block of their own class exactly, not one a quarter larger; at most a quarter of a
//! block is slack (for large blocks virtual memory only: pages never written are never faulted
//! in). Each class
//! keeps a few blocks and all of them together at most [`BUDGET`] bytes; beyond that, blocks go
//! back to the allocator as before.

use crossbeam_queue::ArrayQueue;
use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Blocks up to this size are plain allocations (glibc's per-thread cache is fast for them).
const MIN: usize = 1024;
/// log2 of the largest block size pooled (plus `ROOM`).
const MAX_SHIFT: u32 = 23;
/// What each class has above its quarter-octave size: room for a message header.
pub const ROOM: usize = 64;
/// Classes start one octave below MIN (the ones wholly below it are never used).
const FIRST_OCTAVE: u32 = 9;
const CLASSES: usize = ((MAX_SHIFT - FIRST_OCTAVE) * 4) as usize;
/// Bytes cached by all classes together, at most.
const BUDGET: usize = 16 << 20;
/// Bytes cached by one class, at most (and never fewer than two blocks, never more than 64).
const CLASS_BUDGET: usize = 2 << 20;
/// Alignment of every pooled block (that of the message header that starts it).
const ALIGN: usize = 8;

struct Block(NonNull<u8>);

// SAFETY: a cached block is memory nobody refers to; whoever pops it owns it.
unsafe impl Send for Block {}

struct Pool {
    classes: Vec<ArrayQueue<Block>>,
    cached: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        classes: (0..CLASSES)
            .map(|i| ArrayQueue::new((CLASS_BUDGET / class_size(i)).clamp(2, 64)))
            .collect(),
        cached: AtomicUsize::new(0),
    })
}

/// The class of a block of `size` bytes, or None if such blocks are not pooled.
#[inline]
fn class_of(size: usize) -> Option<usize> {
    if size <= MIN || size > (1 << MAX_SHIFT) + ROOM {
        return None;
    }
    let s = size - ROOM - 1; // MIN - ROOM ..= 2^MAX_SHIFT - 1
    let octave = usize::BITS - 1 - s.leading_zeros(); // FIRST_OCTAVE ..= MAX_SHIFT - 1
    let quarter = s >> (octave - 2); // 4 ..= 7
    Some(((octave - FIRST_OCTAVE) * 4) as usize + quarter - 4)
}

fn class_size(class: usize) -> usize {
    let octave = class / 4 + FIRST_OCTAVE as usize;
    let quarter = class % 4 + 4;
    ((quarter + 1) << (octave - 2)) + ROOM
}

/// The layout a block of `size` bytes is really allocated with.
#[inline]
fn layout(size: usize) -> Option<Layout> {
    let real = class_of(size).map_or(size, class_size);
    Layout::from_size_align(real, ALIGN).ok()
}

/// A block of at least `size` bytes (uninitialised), from the cache or the allocator; None
/// when `size` is 0 or the allocator fails. Free it with [`free`] and the same `size`.
#[inline]
pub fn alloc_block(size: usize) -> Option<NonNull<u8>> {
    alloc_with(size, false)
}

/// As [`alloc_block`], with the first `size` bytes zeroed (by calloc when the cache has no
/// block: fresh pages from the kernel are zero already).
pub fn alloc_block_zeroed(size: usize) -> Option<NonNull<u8>> {
    alloc_with(size, true)
}

#[inline]
fn alloc_with(size: usize, zero: bool) -> Option<NonNull<u8>> {
    if let Some(c) = class_of(size) {
        let p = pool();
        if let Some(b) = p.classes[c].pop() {
            p.cached.fetch_sub(class_size(c), Ordering::Relaxed);
            if zero {
                // SAFETY: the block has at least `size` bytes and is ours alone.
                unsafe { b.0.as_ptr().write_bytes(0, size) };
            }
            return Some(b.0);
        }
    }
    let l = layout(size)?;
    if l.size() == 0 {
        return None;
    }
    // SAFETY: the layout has a non-zero size.
    NonNull::new(unsafe {
        if zero {
            alloc_zeroed(l)
        } else {
            alloc(l)
        }
    })
}

/// Returns a block from [`alloc_block`].
///
/// # Safety
/// `block` must come from `alloc_block(size)` with the same `size`, and not be used after.
#[inline]
pub unsafe fn free(block: NonNull<u8>, size: usize) {
    if let Some(c) = class_of(size) {
        let p = pool();
        let bytes = class_size(c);
        if p.cached.fetch_add(bytes, Ordering::Relaxed) + bytes <= BUDGET
            && p.classes[c].push(Block(block)).is_ok()
        {
            return;
        }
        p.cached.fetch_sub(bytes, Ordering::Relaxed);
    }
    if let Some(l) = layout(size) {
        dealloc(block.as_ptr(), l);
    }
}

/// Payloads from this size on are checked by [`map_for_reading`] before they go to the kernel.
pub const MAP_MIN: usize = 256 << 10;

/// Maps every page of `[ptr, ptr + len)` that is not mapped yet, for reading, in one call per
/// run of such pages (`MADV_POPULATE_READ`: pages never written get the kernel's shared zero
/// page, so nothing becomes resident that was not).
///
/// A payload the application sized but never wrote (`zmq_msg_init_size` and send, as
/// libzmq's `remote_thr` does) is otherwise faulted in page by page under the I/O thread's
/// copy into the socket: 256 traps per MiB, which cost that thread about as much as the copy
/// itself. Called on the sending thread, this moves the mapping off the I/O thread and does it
/// without the traps. A payload that was written costs one `mincore` per 4 MiB and nothing
/// else. Errors (a kernel before 5.14 has no `MADV_POPULATE_READ`) are ignored: the kernel's
/// copy then faults the pages in as before.
///
/// # Safety
/// `ptr .. ptr + len` must lie in memory this process has mapped (a block of ours).
#[cold]
#[inline(never)]
pub unsafe fn map_for_reading(ptr: *const u8, len: usize) {
    const CHUNK: usize = 1024; // pages looked at per mincore call
    let page = page_size();
    let (start, end) = page_span(ptr, len);
    let mut resident = [0u8; CHUNK];
    let mut at = start;
    while at < end {
        let pages = ((end - at) / page).min(CHUNK);
        // SAFETY: `at` is page-aligned and the `pages` pages from it hold bytes of the caller's
        // block, so they are mapped; `resident` has room for one byte per page.
        if libc::mincore(at as *mut libc::c_void, pages * page, resident.as_mut_ptr()) != 0 {
            return;
        }
        let mut i = 0;
        while i < pages {
            if resident[i] & 1 != 0 {
                i += 1;
                continue;
            }
            let run = resident[i..pages]
                .iter()
                .take_while(|r| *r & 1 == 0)
                .count();
            // SAFETY: as above; populating for reading changes no byte of the range.
            if libc::madvise(
                (at + i * page) as *mut libc::c_void,
                run * page,
                libc::MADV_POPULATE_READ,
            ) != 0
            {
                return;
            }
            i += run;
        }
        at += pages * page;
    }
}

/// The page-aligned addresses around `[ptr, ptr + len)`: its first page and the end of its last.
fn page_span(ptr: *const u8, len: usize) -> (usize, usize) {
    let page = page_size();
    let start = ptr as usize & !(page - 1);
    (start, (ptr as usize + len).div_ceil(page) * page)
}

fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let p = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
                p if p > 0 && (p as usize).is_power_of_two() => p as usize,
                _ => 4096,
            };
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

/// How many of the pages holding `[ptr, ptr + len)` are mapped, and how many there are.
#[cfg(test)]
pub fn mapped_pages(ptr: *const u8, len: usize) -> (usize, usize) {
    let (start, end) = page_span(ptr, len);
    let pages = (end - start) / page_size();
    let mut v = vec![0u8; pages];
    // SAFETY: the caller's range is mapped; `v` has a byte per page.
    let r = unsafe { libc::mincore(start as *mut libc::c_void, end - start, v.as_mut_ptr()) };
    assert_eq!(r, 0, "mincore");
    (v.iter().filter(|r| *r & 1 != 0).count(), pages)
}

/// Bytes currently cached.
#[cfg(test)]
fn cached() -> usize {
    pool().cached.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "the kernel's page tables (mincore, madvise)")]
    fn mapping_for_reading_maps_only_the_range_and_keeps_its_bytes() {
        let page = page_size();
        let len = 64 * page;
        // SAFETY: a private anonymous mapping of our own, unmapped at the end.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        assert_eq!(mapped_pages(base, len), (0, 64));
        // SAFETY: all within the mapping above.
        unsafe {
            // Pages 10 and 20 written before, the rest never touched.
            base.add(10 * page + 5).write(7);
            base.add(20 * page).write(9);
            // From 100 bytes into page 8 to 10 bytes into page 40: pages 8..=40.
            map_for_reading(base.add(8 * page + 100), 32 * page - 90);
            assert_eq!(mapped_pages(base.add(8 * page), 33 * page), (33, 33));
            assert_eq!(mapped_pages(base, 8 * page), (0, 8));
            assert_eq!(mapped_pages(base.add(41 * page), 23 * page), (0, 23));
            let bytes = std::slice::from_raw_parts(base, len);
            assert_eq!(bytes[10 * page + 5], 7);
            assert_eq!(bytes[20 * page], 9);
            assert_eq!(bytes.iter().map(|b| *b as usize).sum::<usize>(), 16);
            // Still writable, and writes land.
            base.add(30 * page + 1).write(3);
            assert_eq!(*base.add(30 * page + 1), 3);
            assert_eq!(libc::munmap(base.cast(), len), 0);
        }
    }

    #[test]
    fn classes_cover_their_sizes_with_at_most_a_quarter_of_slack() {
        let mut last = 0;
        for size in (MIN + 1..=(1 << MAX_SHIFT) + ROOM)
            .step_by(97)
            .chain([(1 << MAX_SHIFT) + ROOM])
        {
            let c = class_of(size).unwrap();
            let cs = class_size(c);
            assert!(cs >= size, "{size} in class {c} of {cs}");
            assert!(cs - size <= size / 4, "{size} in class {c} of {cs}");
            assert!(c >= last && c < CLASSES);
            last = c;
        }
        assert_eq!(class_of(MIN), None);
        assert_eq!(class_of((1 << MAX_SHIFT) + ROOM + 1), None);
        // A power-of-two payload behind a header of up to ROOM bytes: no quarter wasted.
        assert_eq!(class_size(class_of(1024 + ROOM).unwrap()), 1024 + ROOM);
        assert_eq!(class_size(class_of(65536 + 8).unwrap()), 65536 + ROOM);
        assert_eq!(
            class_size(class_of((1 << 20) + ROOM).unwrap()),
            (1 << 20) + ROOM
        );
        assert_eq!(
            class_size(class_of((1 << 20) + ROOM + 1).unwrap()),
            (5 << 18) + ROOM
        );
        let first = class_of(MIN + 1).unwrap();
        for c in first..CLASSES {
            assert_eq!(class_of(class_size(c)), Some(c));
        }
    }

    #[test]
    fn freed_blocks_are_reused_and_the_budget_holds() {
        // Another test may use the pool meanwhile; only check what cannot be disturbed.
        let size = 3 * 1000 * 1000 + 7;
        let a = alloc_block(size).unwrap();
        // SAFETY: the block has at least `size` bytes.
        unsafe { a.as_ptr().add(size - 1).write(1) };
        unsafe { free(a, size) };
        let b = alloc_block(size).unwrap();
        unsafe { free(b, size) };
        let blocks: Vec<_> = (0..20).map(|_| alloc_block(size).unwrap()).collect();
        for b in blocks {
            unsafe { free(b, size) };
        }
        assert!(cached() <= BUDGET);
        // Unpooled sizes round-trip through the allocator.
        let small = alloc_block(100).unwrap();
        unsafe { free(small, 100) };
        assert!(alloc_block(0).is_none());
    }

    #[test]
    fn threads_share_blocks_without_losing_any() {
        let size = 70_000;
        let (tx, rx) = std::sync::mpsc::sync_channel::<usize>(16);
        let t = std::thread::spawn(move || {
            for i in 0..10_000usize {
                let b = alloc_block(size).unwrap();
                // SAFETY: the block has `size` bytes; it is handed to the other thread.
                unsafe { b.as_ptr().cast::<usize>().write(i) };
                tx.send(b.as_ptr() as usize).unwrap();
            }
        });
        for i in 0..10_000usize {
            let p = rx.recv().unwrap() as *mut u8;
            // SAFETY: the pointer came from alloc_block(size) and is used once.
            unsafe {
                assert_eq!(p.cast::<usize>().read(), i);
                free(NonNull::new(p).unwrap(), size);
            }
        }
        t.join().unwrap();
    }
}

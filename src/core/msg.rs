//! Messages. A [`Msg`] is what a `zmq_msg_t` holds: it fits in 64 bytes, keeps small payloads
//! inline (no allocation) and large ones in a reference-counted [`Payload`] that is shared, never
//! copied, by `zmq_msg_copy` and on its way to the wire.

use super::{pool, slab};
use std::alloc::{handle_alloc_error, Layout};
use std::ffi::CStr;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Payloads up to this size live inside the message itself.
pub const INLINE_CAP: usize = 40;

/// Another frame of the same message follows this one.
pub const MORE: u8 = 1;
/// A ZMTP command frame rather than a message frame.
pub const COMMAND: u8 = 2;
/// The frame announces the peer's routing id to the socket (first message of a pipe).
pub const ROUTING_ID: u8 = 4;
/// ZMTP 3.1 SUBSCRIBE / CANCEL command carried as a message (XPUB/XSUB).
pub const SUBSCRIBE: u8 = 8;
pub const CANCEL: u8 = 16;

/// The C free function of `zmq_msg_init_data`.
pub type FreeFn = unsafe extern "C" fn(data: *mut libc::c_void, hint: *mut libc::c_void);

/// A message frame.
pub struct Msg {
    data: Data,
    flags: u8,
    routing_id: u32,
    meta: Option<Arc<Metadata>>,
}

enum Data {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Shared(Payload),
}

// 64 exactly: a pipe slot (a cache line) holds one `Msg` and nothing else.
const _: () = assert!(std::mem::size_of::<Msg>() == 64);
const _: () = assert!(std::mem::align_of::<Msg>() <= 8);

/// A heap or user-supplied buffer shared by every message that refers to it: a header with the
/// reference count and the length and, for our own buffers, the bytes after it. The header is as
/// small as each kind allows (24 bytes in a slab piece, where payloads up to 1 KiB live; libzmq's
/// is 40) because a full queue holds one per message. The kind is kept in the two low bits of the
/// pointer (headers are 8-aligned), so that it costs room neither in the header nor in the
/// message.
pub struct Payload(NonNull<u8>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A block from the pool: a [`Head`], then the bytes.
    Block = 0,
    /// A piece of a slab: a [`PieceHead`], then the bytes.
    Piece = 1,
    /// A user buffer or constant data, described by an [`ExternalHead`] of its own.
    External = 2,
}

const KIND_BITS: usize = 3;
const _: () = assert!(std::mem::align_of::<Head>() > KIND_BITS);

/// What every kind of payload starts with.
#[repr(C)]
struct Head {
    refs: AtomicUsize,
    len: usize,
}

#[repr(C)]
struct PieceHead {
    head: Head,
    slab: NonNull<slab::Slab>,
}

#[repr(C)]
struct ExternalHead {
    head: Head,
    ptr: *mut u8,
    /// Called once with (ptr, hint) when the last reference goes; None for constant data.
    free: Option<FreeFn>,
    hint: *mut libc::c_void,
}

/// Where a pool block's bytes start: 48 bytes in, not right after the 16-byte header. With the
/// bytes right after it, a fresh 1 MiB block (mmap'd by glibc: the block 16 bytes into a page)
/// has its bytes 32 bytes into the page, and tcp REQ/REP of 1 MiB then took 3-4x as long on the
/// build machine's kernel (p50 650-830 against 170-230 µs); 32 to 112 bytes into the block (48 to
/// 128 into the page) did not. We have not found why; 48 is where the bytes were when the header
/// had 48 bytes.
const BLOCK_HEAD: usize = 48;
const PIECE_HEAD: usize = std::mem::size_of::<PieceHead>();
// A power-of-two payload and its header fill a pool class exactly, and a 1 KiB one a slab piece.
const _: () = assert!(
    BLOCK_HEAD >= std::mem::size_of::<Head>()
        && BLOCK_HEAD <= pool::ROOM
        && PIECE_HEAD + 1024 <= slab::MAX_PIECE
);

impl Head {
    fn new(len: usize) -> Head {
        Head {
            refs: AtomicUsize::new(1),
            len,
        }
    }
}

fn block_layout(len: usize) -> Layout {
    // The header's alignment (8) is enough for the bytes that follow it.
    Layout::from_size_align(BLOCK_HEAD.saturating_add(len), std::mem::align_of::<Head>())
        .unwrap_or_else(|_| handle_alloc_error(Layout::new::<Head>()))
}

// SAFETY: the buffer is only written through `data_mut` by the message's owner (as the C API
// allows) and freed once, by whichever thread drops the last reference; libzmq documents that
// the free function may be called from any thread.
unsafe impl Send for Payload {}
unsafe impl Sync for Payload {}

impl Payload {
    /// A payload of `len` bytes of our own, zero-filled (calloc: cheap for large sizes).
    fn zeroed(len: usize) -> Payload {
        Payload::try_zeroed(len).unwrap_or_else(|| handle_alloc_error(block_layout(len)))
    }

    /// As `zeroed`, but None when the memory cannot be had (for sizes a peer chose).
    fn try_zeroed(len: usize) -> Option<Payload> {
        Payload::try_alloc(len, true)
    }

    /// A payload of `len` bytes, zeroed or not. Not zeroing matters for large buffers that
    /// are about to be filled anyway: clearing 1 MiB costs as much as sending it.
    fn try_alloc(len: usize, zero: bool) -> Option<Payload> {
        if let Some((piece, slab)) = slab::carve(PIECE_HEAD.checked_add(len)?) {
            // SAFETY: the piece has room for the header and `len` bytes, 8-aligned (enough for
            // the header); it goes back to its slab when the payload goes.
            unsafe {
                if zero {
                    piece.as_ptr().add(PIECE_HEAD).write_bytes(0, len);
                }
                let head = piece.cast::<PieceHead>();
                head.as_ptr().write(PieceHead {
                    head: Head::new(len),
                    slab,
                });
                return Some(Payload::new(head.cast(), Kind::Piece));
            }
        }
        let size = BLOCK_HEAD.checked_add(len)?;
        let block = if zero {
            pool::alloc_block_zeroed(size)
        } else {
            pool::alloc_block(size)
        }?
        .cast::<Head>();
        // SAFETY: the block has room for the header and `len` bytes, aligned for the header
        // (pool blocks are 8-aligned); the bytes are zeroed, or left for the caller of
        // `Msg::with_size_uninit` to fill.
        unsafe { block.as_ptr().write(Head::new(len)) };
        Some(Payload::new(block, Kind::Block))
    }

    /// A payload holding a copy of `bytes`.
    fn copy_of(bytes: &[u8]) -> Payload {
        // SAFETY: an uninitialised payload of exactly `bytes.len()` bytes, all written here.
        unsafe {
            let p = Payload::try_alloc(bytes.len(), false)
                .unwrap_or_else(|| handle_alloc_error(block_layout(bytes.len())));
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.ptr(), bytes.len());
            p
        }
    }

    fn external(
        ptr: *mut u8,
        len: usize,
        free: Option<FreeFn>,
        hint: *mut libc::c_void,
    ) -> Payload {
        let h = Box::new(ExternalHead {
            head: Head::new(len),
            ptr,
            free,
            hint,
        });
        // SAFETY: Box::into_raw never returns NULL; the Head is the ExternalHead's first field.
        let head = unsafe { NonNull::new_unchecked(Box::into_raw(h)) };
        Payload::new(head.cast(), Kind::External)
    }

    #[inline]
    fn new(head: NonNull<Head>, kind: Kind) -> Payload {
        Payload(head.cast::<u8>().map_addr(|a| a | kind as usize))
    }

    #[inline]
    fn kind(&self) -> Kind {
        match self.0.addr().get() & KIND_BITS {
            0 => Kind::Block,
            1 => Kind::Piece,
            _ => Kind::External,
        }
    }

    /// The header, without the kind bits.
    #[inline]
    fn head_ptr(&self) -> NonNull<Head> {
        // SAFETY: the header's address is not 0, and the kind bits are below its alignment.
        self.0
            .map_addr(|a| unsafe { NonZeroUsize::new_unchecked(a.get() & !KIND_BITS) })
            .cast()
    }

    #[inline]
    fn head(&self) -> &Head {
        // SAFETY: the header lives until the last Payload referring to it is dropped.
        unsafe { self.head_ptr().as_ref() }
    }

    #[inline]
    fn len(&self) -> usize {
        self.head().len
    }

    /// Where the bytes are.
    #[inline]
    fn ptr(&self) -> *mut u8 {
        let h = self.head_ptr();
        // SAFETY: our own bytes follow their kind's header in the same allocation; an external
        // header says where its bytes are.
        unsafe {
            match self.kind() {
                Kind::Block => h.as_ptr().cast::<u8>().add(BLOCK_HEAD),
                Kind::Piece => h.as_ptr().cast::<u8>().add(PIECE_HEAD),
                Kind::External => (*h.cast::<ExternalHead>().as_ptr()).ptr,
            }
        }
    }

    #[inline]
    fn refs(&self) -> usize {
        self.head().refs.load(Ordering::Acquire)
    }
}

impl Clone for Payload {
    #[inline]
    fn clone(&self) -> Payload {
        self.head().refs.fetch_add(1, Ordering::Relaxed);
        Payload(self.0)
    }
}

impl Drop for Payload {
    #[inline]
    fn drop(&mut self) {
        // The last reference needs no atomic write: nobody else can take a new one.
        let refs = &self.head().refs;
        if refs.load(Ordering::Acquire) != 1 {
            if refs.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            std::sync::atomic::fence(Ordering::Acquire);
        }
        // SAFETY: we held the last reference.
        unsafe { self.release() }
    }
}

impl Payload {
    /// Frees the header and bytes.
    ///
    /// # Safety
    /// The caller held the last reference.
    #[inline]
    unsafe fn release(&mut self) {
        // SAFETY: we held the last reference, so nobody else can reach the header or bytes;
        // each kind goes back to where `try_alloc` or `external` got it.
        unsafe {
            let h = self.head_ptr();
            match self.kind() {
                Kind::Block => pool::free(h.cast(), BLOCK_HEAD + self.len()),
                Kind::Piece => slab::release((*h.cast::<PieceHead>().as_ptr()).slab),
                Kind::External => {
                    let e = Box::from_raw(h.cast::<ExternalHead>().as_ptr());
                    if let Some(free) = e.free {
                        free(e.ptr.cast(), e.hint);
                    }
                }
            }
        }
    }
}

/// Properties of the connection a message arrived on (`zmq_msg_gets`).
#[derive(Default, Debug)]
pub struct Metadata {
    /// (name, NUL-terminated value) pairs.
    props: Vec<(String, Vec<u8>)>,
    /// The file descriptor of the connection (ZMQ_SRCFD), or -1.
    pub fd: i32,
}

impl Metadata {
    pub fn new(fd: i32) -> Metadata {
        Metadata {
            props: Vec::new(),
            fd,
        }
    }

    /// Adds a property; the value is stored NUL-terminated for the C API.
    pub fn insert(&mut self, name: &str, value: &[u8]) {
        let mut v = Vec::with_capacity(value.len() + 1);
        v.extend_from_slice(value);
        v.push(0);
        self.props.retain(|(n, _)| n != name);
        self.props.push((name.to_string(), v));
    }

    /// Looks a property up; "Identity" is the deprecated name of "Routing-Id".
    pub fn get(&self, name: &str) -> Option<&CStr> {
        let name = if name == "Identity" {
            "Routing-Id"
        } else {
            name
        };
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| CStr::from_bytes_with_nul(v).ok())
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::new()
    }
}

impl Msg {
    /// An empty message.
    #[inline]
    pub const fn new() -> Msg {
        Msg::of(Data::Inline {
            len: 0,
            buf: [0; INLINE_CAP],
        })
    }

    /// Makes this an empty message (`zmq_msg_close`). A message that holds nothing to
    /// release, as one is after a send took its content, is overwritten without running the
    /// drop code, which is a call per message otherwise.
    #[inline]
    pub fn clear(&mut self) {
        if matches!(self.data, Data::Shared(_)) || self.meta.is_some() {
            *self = Msg::new();
        } else {
            // Nothing in the old value owns anything: forgetting it leaks nothing.
            std::mem::forget(std::mem::take(self));
        }
    }

    /// A message of `data` with no flags, routing id or metadata. (Built field by field: the
    /// `..Msg::new()` form makes a whole empty message and drops its data.)
    #[inline]
    const fn of(data: Data) -> Msg {
        Msg {
            data,
            flags: 0,
            routing_id: 0,
            meta: None,
        }
    }

    /// A zero-filled message of `size` bytes, ready to be written through `data_mut`.
    #[inline]
    pub fn with_size(size: usize) -> Msg {
        if size <= INLINE_CAP {
            Msg::of(Data::Inline {
                len: size as u8,
                buf: [0; INLINE_CAP],
            })
        } else {
            Msg::shared(Payload::zeroed(size))
        }
    }

    /// A message of `size` bytes whose content is not initialised (`zmq_msg_init_size`, and
    /// the decoder's large frames, which the kernel fills). None if the memory cannot be had.
    ///
    /// # Safety
    /// Every byte must be written (through `data_ptr` or `data_mut`) before any is read.
    #[inline]
    pub unsafe fn with_size_uninit(size: usize) -> Option<Msg> {
        if size <= INLINE_CAP {
            return Some(Msg::with_size(size));
        }
        Payload::try_alloc(size, false).map(Msg::shared)
    }

    /// A zero-filled message of `size` bytes, or None if the memory cannot be had (for a size
    /// chosen by a peer, where an abort would be wrong).
    pub fn try_with_size(size: usize) -> Option<Msg> {
        if size <= INLINE_CAP {
            return Some(Msg::with_size(size));
        }
        Payload::try_zeroed(size).map(Msg::shared)
    }

    /// Before the message goes to the kernel: if it holds a large block of our own, maps the
    /// block's pages that were never touched, on this thread (see `pool::map_for_reading`).
    /// Small and user-supplied payloads are left alone.
    #[inline]
    pub fn map_for_kernel(&self) {
        if let Data::Shared(p) = &self.data {
            if p.kind() == Kind::Block && p.len() >= pool::MAP_MIN {
                // SAFETY: the payload's bytes lie in its block, which is mapped while `p` lives.
                unsafe { pool::map_for_reading(p.ptr(), p.len()) };
            }
        }
    }

    /// A message holding a copy of `bytes`.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Msg {
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Msg::of(Data::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Msg::shared(Payload::copy_of(bytes))
        }
    }

    #[inline]
    fn shared(p: Payload) -> Msg {
        Msg::of(Data::Shared(p))
    }

    /// A message over a user buffer (`zmq_msg_init_data`); `ffn`, if any, frees it once.
    ///
    /// # Safety
    /// `ptr` must be valid for `len` bytes until `ffn` is called (or forever without `ffn`).
    pub unsafe fn from_user(
        ptr: *mut u8,
        len: usize,
        ffn: Option<FreeFn>,
        hint: *mut libc::c_void,
    ) -> Msg {
        Msg::shared(Payload::external(ptr, len, ffn, hint))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Inline { len, .. } => *len as usize,
            Data::Shared(p) => p.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn data(&self) -> &[u8] {
        match &self.data {
            Data::Inline { len, buf } => &buf[..*len as usize],
            // SAFETY: the payload owns (or borrows for its lifetime) ptr..ptr+len.
            Data::Shared(p) => unsafe { std::slice::from_raw_parts(p.ptr(), p.len()) },
        }
    }

    /// Mutable access to the bytes. For a shared payload this writes through to every copy,
    /// exactly as writing through `zmq_msg_data` does in libzmq.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        match &mut self.data {
            Data::Inline { len, buf } => &mut buf[..*len as usize],
            // SAFETY: as in `data`; the C API hands out the same mutable pointer, and we only
            // create this slice for the duration of a call made by the message's owner.
            Data::Shared(p) => unsafe { std::slice::from_raw_parts_mut(p.ptr(), p.len()) },
        }
    }

    /// The payload pointer as the C API exposes it (`zmq_msg_data`).
    #[inline]
    pub fn data_ptr(&mut self) -> *mut u8 {
        match &mut self.data {
            Data::Inline { buf, .. } => buf.as_mut_ptr(),
            Data::Shared(p) => p.ptr(),
        }
    }

    /// True when the payload is shared with other messages or owned by the user.
    pub fn is_shared(&self) -> bool {
        match &self.data {
            Data::Inline { .. } => false,
            Data::Shared(p) => p.refs() > 1 || p.kind() == Kind::External,
        }
    }

    /// A second message sharing this one's payload (`zmq_msg_copy`).
    pub fn share(&self) -> Msg {
        Msg {
            data: match &self.data {
                Data::Inline { len, buf } => Data::Inline {
                    len: *len,
                    buf: *buf,
                },
                Data::Shared(p) => Data::Shared(p.clone()),
            },
            flags: self.flags,
            routing_id: self.routing_id,
            meta: self.meta.clone(),
        }
    }

    #[inline]
    pub fn flags(&self) -> u8 {
        self.flags
    }

    #[inline]
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }

    #[inline]
    pub fn set_more(&mut self, more: bool) {
        if more {
            self.flags |= MORE
        } else {
            self.flags &= !MORE
        }
    }

    #[inline]
    pub fn set_flags(&mut self, f: u8) {
        self.flags |= f;
    }

    #[inline]
    pub fn reset_flags(&mut self, f: u8) {
        self.flags &= !f;
    }

    #[inline]
    pub fn is_command(&self) -> bool {
        self.flags & COMMAND != 0
    }

    pub fn routing_id(&self) -> u32 {
        self.routing_id
    }

    pub fn set_routing_id(&mut self, id: u32) {
        self.routing_id = id;
    }

    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.meta.as_ref()
    }

    pub fn set_metadata(&mut self, meta: Option<Arc<Metadata>>) {
        self.meta = meta;
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg")
            .field("len", &self.len())
            .field("flags", &self.flags)
            .field("head", &&self.data()[..self.len().min(16)])
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn clear_releases_what_the_message_holds() {
        let a = Msg::from_slice(&[1u8; 200]);
        let mut b = a.share();
        assert!(a.is_shared());
        b.clear();
        assert!(b.is_empty() && !a.is_shared());
        let mut c = Msg::from_slice(b"x");
        c.set_flags(MORE);
        c.clear();
        assert!(c.is_empty() && !c.more());
    }

    #[test]
    fn small_is_inline_large_is_shared() {
        let m = Msg::from_slice(b"hello");
        assert_eq!(m.data(), b"hello");
        assert!(!m.is_shared());
        let big = vec![7u8; 1000];
        let m = Msg::from_slice(&big);
        assert_eq!(m.len(), 1000);
        let c = m.share();
        assert!(c.is_shared() && m.is_shared());
        assert_eq!(c.data(), &big[..]);
    }

    fn piece_slab(m: &Msg) -> usize {
        match &m.data {
            Data::Shared(p) if p.kind() == Kind::Piece => {
                // SAFETY: a piece payload starts with its PieceHead.
                unsafe { (*p.head_ptr().cast::<PieceHead>().as_ptr()).slab.as_ptr() as usize }
            }
            _ => panic!("not a slab piece"),
        }
    }

    #[test]
    fn every_kind_of_payload_keeps_its_bytes() {
        for len in [41, 64, 1024, 1025, 64 * 1024, 1 << 20] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let m = Msg::from_slice(&bytes);
            assert_eq!(m.len(), len);
            assert_eq!(m.data(), &bytes[..]);
            assert!(!m.is_shared());
            let c = m.share();
            drop(m);
            assert_eq!(c.data(), &bytes[..]);
        }
        let mut buf = *b"user bytes";
        // SAFETY: `buf` outlives the message, which has no free function.
        let m = unsafe { Msg::from_user(buf.as_mut_ptr(), buf.len(), None, std::ptr::null_mut()) };
        assert_eq!(m.data(), b"user bytes");
        assert!(m.is_shared());
    }

    #[test]
    fn small_payloads_are_packed_in_slabs() {
        // A fresh thread starts a fresh slab: 31 pieces of a 1 KiB payload fill one exactly
        // (what makes a queue of them smaller than libzmq's), and 64-byte payloads sit 88
        // bytes apart (header and bytes, no padding).
        std::thread::spawn(|| {
            let kib: Vec<Msg> = (0..62).map(|_| Msg::with_size(1024)).collect();
            let slabs: std::collections::HashSet<usize> = kib.iter().map(piece_slab).collect();
            assert_eq!(slabs.len(), 2);
            drop(kib);
            let mut a = Msg::with_size(64);
            let mut b = Msg::with_size(64);
            assert_eq!(piece_slab(&a), piece_slab(&b));
            assert_eq!(b.data_ptr() as usize - a.data_ptr() as usize, 88);
        })
        .join()
        .unwrap();
    }

    static FREED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn count_free(_d: *mut libc::c_void, hint: *mut libc::c_void) {
        FREED.fetch_add(hint as usize, Ordering::SeqCst);
    }

    #[test]
    fn user_free_fn_runs_once_after_last_copy() {
        let mut buf = [1u8; 8];
        let m = unsafe { Msg::from_user(buf.as_mut_ptr(), 8, Some(count_free), 5 as *mut _) };
        let c = m.share();
        drop(m);
        assert_eq!(FREED.load(Ordering::SeqCst), 0);
        std::thread::spawn(move || drop(c)).join().unwrap();
        assert_eq!(FREED.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn metadata_identity_alias() {
        let mut md = Metadata::new(-1);
        md.insert("Routing-Id", b"abc");
        assert_eq!(md.get("Identity").unwrap().to_bytes(), b"abc");
        assert!(md.get("Peer-Address").is_none());
    }
}

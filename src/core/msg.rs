//! Messages. A [`Msg`] is what a `zmq_msg_t` holds: it fits in 64 bytes, keeps small payloads
//! inline (no allocation) and large ones in a reference-counted [`Payload`] that is shared, never
//! copied, by `zmq_msg_copy` and on its way to the wire.

use super::{pool, slab};
use std::alloc::{handle_alloc_error, Layout};
use std::ffi::CStr;
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

/// A heap or user-supplied buffer shared by every message that refers to it: one allocation
/// holding a reference count and, for our own buffers, the bytes right after it.
pub struct Payload(NonNull<Header>);

struct Header {
    refs: AtomicUsize,
    ptr: *mut u8,
    len: usize,
    release: Release,
}

enum Release {
    /// The bytes follow the header in the same block, from the pool.
    Inline,
    /// The bytes follow the header in a piece of a slab.
    Slab(NonNull<slab::Slab>),
    /// Owned by the user; `free(ptr, hint)` is called exactly once when the last reference goes.
    Free(FreeFn, *mut libc::c_void),
    /// Constant data (`zmq_send_const`, `zmq_msg_init_data` without a free function).
    Const,
}

const HEADER: usize = std::mem::size_of::<Header>();

fn inline_layout(len: usize) -> Layout {
    // The header's alignment (8) is enough for the bytes that follow it.
    Layout::from_size_align(HEADER + len, std::mem::align_of::<Header>())
        .unwrap_or_else(|_| handle_alloc_error(Layout::new::<Header>()))
}

// SAFETY: the buffer is only written through `data_mut` by the message's owner (as the C API
// allows) and freed once, by whichever thread drops the last reference; libzmq documents that
// the free function may be called from any thread.
unsafe impl Send for Payload {}
unsafe impl Sync for Payload {}

impl Payload {
    /// A payload of `len` bytes of our own, zero-filled (calloc: cheap for large sizes).
    fn zeroed(len: usize) -> Payload {
        Payload::try_zeroed(len).unwrap_or_else(|| handle_alloc_error(inline_layout(len)))
    }

    /// As `zeroed`, but None when the memory cannot be had (for sizes a peer chose).
    fn try_zeroed(len: usize) -> Option<Payload> {
        Payload::try_alloc(len, true)
    }

    /// A payload of `len` bytes, zeroed or not. Not zeroing matters for large buffers that
    /// are about to be filled anyway: clearing 1 MiB costs as much as sending it.
    fn try_alloc(len: usize, zero: bool) -> Option<Payload> {
        let size = HEADER.checked_add(len)?;
        if let Some((piece, slab)) = slab::carve(size) {
            // SAFETY: the piece has room for the header and `len` bytes, 8-aligned; it is
            // released to its slab when the payload goes.
            unsafe {
                if zero {
                    piece.as_ptr().add(HEADER).write_bytes(0, len);
                }
                return Some(Payload::init(piece, len, Release::Slab(slab)));
            }
        }
        let block = if zero {
            pool::alloc_block_zeroed(size)
        } else {
            pool::alloc_block(size)
        }?;
        // SAFETY: the block has room for the header and `len` bytes, aligned for the header
        // (pool blocks are 8-aligned); the bytes are zeroed, or left for the caller of
        // `Msg::with_size_uninit` to fill.
        unsafe { Some(Payload::init(block, len, Release::Inline)) }
    }

    /// # Safety
    /// `block` must be fresh memory of `HEADER + len` bytes, 8-aligned, that `release` frees.
    #[inline]
    unsafe fn init(block: NonNull<u8>, len: usize, release: Release) -> Payload {
        let h = block.as_ptr() as *mut Header;
        h.write(Header {
            refs: AtomicUsize::new(1),
            ptr: block.as_ptr().add(HEADER),
            len,
            release,
        });
        Payload(NonNull::new_unchecked(h))
    }

    /// A payload holding a copy of `bytes`.
    fn copy_of(bytes: &[u8]) -> Payload {
        // SAFETY: an uninitialised payload of exactly `bytes.len()` bytes, all written here.
        unsafe {
            let p = Payload::try_alloc(bytes.len(), false)
                .unwrap_or_else(|| handle_alloc_error(inline_layout(bytes.len())));
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.header().ptr, bytes.len());
            p
        }
    }

    fn external(ptr: *mut u8, len: usize, release: Release) -> Payload {
        let h = Box::new(Header {
            refs: AtomicUsize::new(1),
            ptr,
            len,
            release,
        });
        // SAFETY: Box::into_raw never returns NULL.
        Payload(unsafe { NonNull::new_unchecked(Box::into_raw(h)) })
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the header lives until the last Payload referring to it is dropped.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn refs(&self) -> usize {
        self.header().refs.load(Ordering::Acquire)
    }
}

impl Clone for Payload {
    #[inline]
    fn clone(&self) -> Payload {
        self.header().refs.fetch_add(1, Ordering::Relaxed);
        Payload(self.0)
    }
}

impl Drop for Payload {
    #[inline]
    fn drop(&mut self) {
        // The last reference needs no atomic write: nobody else can take a new one.
        let refs = &self.header().refs;
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
        let h = self.0.as_ptr();
        // SAFETY: we held the last reference, so nobody else can reach the header or bytes.
        unsafe {
            match (*h).release {
                Release::Inline => {
                    let size = HEADER + (*h).len;
                    std::ptr::drop_in_place(h);
                    pool::free(self.0.cast(), size);
                }
                Release::Free(ffn, hint) => {
                    ffn((*h).ptr.cast(), hint);
                    drop(Box::from_raw(h));
                }
                Release::Const => drop(Box::from_raw(h)),
                Release::Slab(slab) => {
                    std::ptr::drop_in_place(h);
                    slab::release(slab);
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
        Msg {
            data: Data::Inline {
                len: 0,
                buf: [0; INLINE_CAP],
            },
            flags: 0,
            routing_id: 0,
            meta: None,
        }
    }

    /// A zero-filled message of `size` bytes, ready to be written through `data_mut`.
    #[inline]
    pub fn with_size(size: usize) -> Msg {
        if size <= INLINE_CAP {
            Msg {
                data: Data::Inline {
                    len: size as u8,
                    buf: [0; INLINE_CAP],
                },
                ..Msg::new()
            }
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

    /// A message holding a copy of `bytes`.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Msg {
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Msg {
                data: Data::Inline {
                    len: bytes.len() as u8,
                    buf,
                },
                ..Msg::new()
            }
        } else {
            Msg::shared(Payload::copy_of(bytes))
        }
    }

    fn shared(p: Payload) -> Msg {
        Msg {
            data: Data::Shared(p),
            ..Msg::new()
        }
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
        let release = match ffn {
            Some(f) => Release::Free(f, hint),
            None => Release::Const,
        };
        Msg::shared(Payload::external(ptr, len, release))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Inline { len, .. } => *len as usize,
            Data::Shared(p) => p.header().len,
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
            Data::Shared(p) => unsafe {
                std::slice::from_raw_parts(p.header().ptr, p.header().len)
            },
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
            Data::Shared(p) => unsafe {
                std::slice::from_raw_parts_mut(p.header().ptr, p.header().len)
            },
        }
    }

    /// The payload pointer as the C API exposes it (`zmq_msg_data`).
    #[inline]
    pub fn data_ptr(&mut self) -> *mut u8 {
        match &mut self.data {
            Data::Inline { buf, .. } => buf.as_mut_ptr(),
            Data::Shared(p) => p.header().ptr,
        }
    }

    /// True when the payload is shared with other messages or owned by the user.
    pub fn is_shared(&self) -> bool {
        match &self.data {
            Data::Inline { .. } => false,
            Data::Shared(p) => {
                p.refs() > 1 || !matches!(p.header().release, Release::Inline | Release::Slab(_))
            }
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

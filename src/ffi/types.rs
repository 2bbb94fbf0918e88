//! The `#[repr(C)]` types of libzmq's ABI.
//!
//! `build.rs` emits `zmq_fd_t`, `zmq_pollitem_t` and `zmq_poller_event_t` into `include/zmq.h`
//! with cbindgen. `zmq_msg_t` and the three callback types are written as text in
//! `cbindgen.toml` instead, in libzmq's exact form: the message's alignment is
//! `sizeof (void *)` on every target, and the callbacks are *function* typedefs
//! (`typedef void (zmq_free_fn) (void *, void *)`, used as `zmq_free_fn *`), which cbindgen
//! cannot express. In an `extern "C"` signature write `Option<zmq_free_fn>` (nullable) or
//! `zmq_free_fn`; both come out right in the header.

#![allow(non_camel_case_types)]

use libc::{c_int, c_short, c_void};

/// An opaque message: 64 bytes aligned like a pointer, which the library fills with its own
/// message object (`crate::core::msg::Msg`).
#[repr(C)]
#[cfg_attr(target_pointer_width = "64", repr(align(8)))]
#[cfg_attr(target_pointer_width = "32", repr(align(4)))]
pub struct zmq_msg_t {
    pub _x: [u8; 64],
}

/// Frees the buffer given to `zmq_msg_init_data` once the last message using it is closed.
pub type zmq_free_fn = unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void);

/// The body of a thread started by `zmq_threadstart`.
pub type zmq_thread_fn = unsafe extern "C" fn(arg: *mut c_void);

/// A timer callback of `zmq_timers_add`.
pub type zmq_timer_fn = unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void);

/// A socket's file descriptor, as `ZMQ_FD` and `zmq_pollitem_t` carry it.
pub type zmq_fd_t = c_int;

/// One entry of `zmq_poll`: a ZeroMQ socket, or (when `socket` is null) a plain file descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct zmq_pollitem_t {
    pub socket: *mut c_void,
    pub fd: zmq_fd_t,
    pub events: c_short,
    pub revents: c_short,
}

#[cfg(zmq_draft)]
pub use draft::*;

/// The draft API: declared in `zmq.h` only under `#ifdef ZMQ_BUILD_DRAFT_API`.
#[cfg(zmq_draft)]
mod draft {
    use super::*;

    /// One event reported by `zmq_poller_wait` / `zmq_poller_wait_all`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct zmq_poller_event_t {
        pub socket: *mut c_void,
        pub fd: zmq_fd_t,
        pub user_data: *mut c_void,
        pub events: c_short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    const PTR: usize = size_of::<*mut c_void>();

    #[test]
    fn msg_is_64_bytes_aligned_like_a_pointer() {
        assert_eq!(size_of::<zmq_msg_t>(), 64);
        assert_eq!(align_of::<zmq_msg_t>(), align_of::<*mut c_void>());
        // The library's message object must fit in the space a C caller gives it.
        assert!(size_of::<crate::core::msg::Msg>() <= size_of::<zmq_msg_t>());
        assert!(align_of::<crate::core::msg::Msg>() <= align_of::<zmq_msg_t>());
    }

    #[test]
    fn pollitem_layout() {
        assert_eq!(offset_of!(zmq_pollitem_t, socket), 0);
        assert_eq!(offset_of!(zmq_pollitem_t, fd), PTR);
        assert_eq!(offset_of!(zmq_pollitem_t, events), PTR + 4);
        assert_eq!(offset_of!(zmq_pollitem_t, revents), PTR + 6);
        assert_eq!(size_of::<zmq_pollitem_t>(), if PTR == 8 { 16 } else { 12 });
    }

    #[test]
    fn poller_event_layout() {
        assert_eq!(offset_of!(zmq_poller_event_t, socket), 0);
        assert_eq!(offset_of!(zmq_poller_event_t, fd), PTR);
        assert_eq!(offset_of!(zmq_poller_event_t, user_data), 2 * PTR);
        assert_eq!(offset_of!(zmq_poller_event_t, events), 3 * PTR);
        assert_eq!(size_of::<zmq_poller_event_t>(), 4 * PTR);
    }

    #[test]
    fn callbacks_are_single_pointers_and_nullable() {
        assert_eq!(size_of::<Option<zmq_free_fn>>(), PTR);
        assert_eq!(size_of::<Option<zmq_thread_fn>>(), PTR);
        assert_eq!(size_of::<Option<zmq_timer_fn>>(), PTR);
    }
}

//! The C ABI: `extern "C"` functions with libzmq's names and signatures, grouped by family.
//! This layer only converts and validates arguments, calls into `core`, and maps errors to
//! `errno`. No panic crosses it: every entry point runs inside [`guard`].

pub mod constants;
pub mod ctx;
pub mod msg;
pub mod poll;
pub mod proxy;
pub mod socket;
pub mod types;
pub mod util;

use crate::core::error::{Error, Result};

/// Stores `e` in the calling thread's `errno`, as libzmq does.
#[inline]
pub fn set_errno(e: Error) {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = e.0 }
}

/// Runs `f`; on `Err` sets errno and returns `fail`. A panic (a bug of ours) is caught and
/// reported as EFAULT instead of unwinding into C.
#[inline]
pub fn guard<T>(fail: T, f: impl FnOnce() -> Result<T>) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_errno(e);
            fail
        }
        Err(_) => {
            set_errno(Error::EFAULT);
            fail
        }
    }
}

/// `guard` for the common `int` return: `Ok(n)` gives n, failure gives -1.
#[inline]
pub fn guard_int(f: impl FnOnce() -> Result<libc::c_int>) -> libc::c_int {
    guard(-1, f)
}

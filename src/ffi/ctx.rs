//! Context functions: zmq_ctx_new/term/shutdown/destroy/set/get and the deprecated
//! zmq_init/zmq_term.

use super::{guard, guard_int};
use crate::core::ctx::Ctx;
use crate::core::error::Error;
use libc::{c_int, c_void};

#[no_mangle]
pub extern "C" fn zmq_ctx_new() -> *mut c_void {
    guard(
        std::ptr::null_mut(),
        || Ok(Box::into_raw(Ctx::new()).cast()),
    )
}

/// # Safety
/// `context` must be NULL or a pointer returned by `zmq_ctx_new` not yet terminated.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_term(context: *mut c_void) -> c_int {
    guard_int(|| {
        let ctx = Ctx::from_ptr(context)?;
        ctx.terminate();
        let mut b = Box::from_raw(context as *mut Ctx);
        b.invalidate();
        drop(b);
        Ok(0)
    })
}

/// # Safety
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_destroy(context: *mut c_void) -> c_int {
    zmq_ctx_term(context)
}

/// # Safety
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_term(context: *mut c_void) -> c_int {
    zmq_ctx_term(context)
}

/// # Safety
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_shutdown(context: *mut c_void) -> c_int {
    guard_int(|| {
        Ctx::from_ptr(context)?.shutdown();
        Ok(0)
    })
}

/// # Safety
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int {
    guard_int(|| {
        Ctx::from_ptr(context)?.set(option, optval)?;
        Ok(0)
    })
}

/// # Safety
/// As `zmq_ctx_term`.
#[no_mangle]
pub unsafe extern "C" fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int {
    guard_int(|| Ctx::from_ptr(context)?.get(option))
}

#[no_mangle]
pub extern "C" fn zmq_init(io_threads: c_int) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        if io_threads < 0 {
            return Err(Error::EINVAL);
        }
        let ctx = Ctx::new();
        ctx.set(crate::core::ctx::ZMQ_IO_THREADS, io_threads)?;
        Ok(Box::into_raw(ctx).cast())
    })
}

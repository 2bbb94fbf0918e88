//! Message functions: zmq_msg_init*, close, move, copy, data, size, more, get/set/gets.

use super::socket::msg_mut;
use super::types::{zmq_free_fn, zmq_msg_t};
use super::{guard, guard_int};
use crate::core::error::Error;
use crate::core::msg::Msg;
use libc::{c_char, c_int, c_void, size_t};
use std::ffi::CStr;

const ZMQ_MORE: c_int = 1;
const ZMQ_SRCFD: c_int = 2;
const ZMQ_SHARED: c_int = 3;

/// Writes the message `make` returns into uninitialised `zmq_msg_t` storage. The pointer is
/// checked first, so that nothing is made for a NULL one and the message is built in place.
#[inline(always)]
unsafe fn init(
    msg: *mut zmq_msg_t,
    make: impl FnOnce() -> crate::core::error::Result<Msg>,
) -> crate::core::error::Result<c_int> {
    if msg.is_null() {
        return Err(Error::EFAULT);
    }
    // SAFETY: zmq_msg_t is 64 bytes aligned to 8, which holds a Msg (asserted in msg.rs);
    // the storage is uninitialised, so nothing is dropped.
    std::ptr::write(msg as *mut Msg, make()?);
    Ok(0)
}

/// # Safety
/// `msg` must point to writable `zmq_msg_t` storage.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int {
    guard_int(|| init(msg, || Ok(Msg::new())))
}

/// # Safety
/// As `zmq_msg_init`.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: size_t) -> c_int {
    guard_int(|| {
        if size > isize::MAX as usize {
            return Err(Error::ENOMEM);
        }
        // SAFETY: as libzmq documents, the content is undefined until the caller writes it
        // through zmq_msg_data; that is the caller's contract.
        init(msg, || {
            unsafe { Msg::with_size_uninit(size) }.ok_or(Error::ENOMEM)
        })
    })
}

/// # Safety
/// `data` must be valid for `size` bytes until `ffn` is called (forever if `ffn` is NULL).
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_init_data(
    msg: *mut zmq_msg_t,
    data: *mut c_void,
    size: size_t,
    ffn: Option<zmq_free_fn>,
    hint: *mut c_void,
) -> c_int {
    guard_int(|| {
        if data.is_null() && size != 0 {
            return Err(Error::EINVAL);
        }
        init(msg, || Ok(Msg::from_user(data as *mut u8, size, ffn, hint)))
    })
}

/// # Safety
/// `msg` must be an initialised message.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int {
    guard_int(|| {
        msg_mut(msg)?.clear();
        Ok(0)
    })
}

/// # Safety
/// Both must be initialised messages.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_move(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard_int(|| {
        let s = std::mem::take(msg_mut(src)?);
        *msg_mut(dest)? = s;
        Ok(0)
    })
}

/// # Safety
/// Both must be initialised messages.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
    guard_int(|| {
        let c = msg_mut(src)?.share();
        *msg_mut(dest)? = c;
        Ok(0)
    })
}

/// # Safety
/// `msg` must be an initialised message.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void {
    guard(std::ptr::null_mut(), || Ok(msg_mut(msg)?.data_ptr().cast()))
}

/// # Safety
/// `msg` must be an initialised message.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_size(msg: *const zmq_msg_t) -> size_t {
    guard(0, || Ok(msg_mut(msg as *mut _)?.len()))
}

/// # Safety
/// `msg` must be an initialised message.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int {
    guard(0, || Ok(msg_mut(msg as *mut _)?.more() as c_int))
}

/// # Safety
/// `msg` must be an initialised message.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_get(msg: *const zmq_msg_t, property: c_int) -> c_int {
    guard_int(|| {
        let m = msg_mut(msg as *mut _)?;
        match property {
            ZMQ_MORE => Ok(m.more() as c_int),
            ZMQ_SRCFD => Ok(m.metadata().map_or(-1, |md| md.fd)),
            ZMQ_SHARED => Ok(m.is_shared() as c_int),
            _ => Err(Error::EINVAL),
        }
    })
}

/// No property can be set (as in libzmq).
///
/// # Safety
/// Any arguments.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_set(msg: *mut zmq_msg_t, property: c_int, optval: c_int) -> c_int {
    let _ = (msg, property, optval);
    guard_int(|| Err(Error::EINVAL))
}

/// # Safety
/// `msg` must be an initialised message; `property` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_gets(
    msg: *const zmq_msg_t,
    property: *const c_char,
) -> *const c_char {
    guard(std::ptr::null(), || {
        let m = msg_mut(msg as *mut _)?;
        if property.is_null() {
            return Err(Error::EINVAL);
        }
        let name = CStr::from_ptr(property)
            .to_str()
            .map_err(|_| Error::EINVAL)?;
        m.metadata()
            .and_then(|md| md.get(name))
            .map(|v| v.as_ptr())
            .ok_or(Error::EINVAL)
    })
}

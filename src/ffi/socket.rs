//! Socket functions: zmq_socket/close, options, bind/connect, send/recv in all their forms.

use super::guard;
use super::guard_int;
use super::types::zmq_msg_t;
use crate::core::ctx::Ctx;
use crate::core::error::{Error, Result};
use crate::core::msg::Msg;
use crate::core::socket::{Socket, ZMQ_SNDMORE};
use libc::{c_char, c_int, c_void, size_t};
use std::ffi::CStr;

/// The socket behind a C handle.
///
/// # Safety
/// `s` must be NULL or a pointer the C caller believes is a socket.
unsafe fn socket<'a>(s: *mut c_void) -> Result<&'a mut Socket> {
    Socket::from_ptr(s)
}

/// A C string argument as UTF-8.
unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::EINVAL);
    }
    CStr::from_ptr(p).to_str().map_err(|_| Error::EINVAL)
}

/// The message inside a `zmq_msg_t`.
///
/// # Safety
/// `msg` must be NULL or point to a `zmq_msg_t` initialised by `zmq_msg_init*`.
pub(crate) unsafe fn msg_mut<'a>(msg: *mut zmq_msg_t) -> Result<&'a mut Msg> {
    if msg.is_null() {
        return Err(Error::EFAULT);
    }
    Ok(&mut *(msg as *mut Msg))
}

fn size_result(n: usize) -> c_int {
    n.min(c_int::MAX as usize) as c_int
}

/// # Safety
/// `context` must be NULL or a live context from `zmq_ctx_new`.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket(context: *mut c_void, type_: c_int) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let ctx = Ctx::from_ptr(context)?;
        Ok(Box::into_raw(ctx.socket(type_)?).cast())
    })
}

/// # Safety
/// `s` must be NULL or a socket not yet closed.
#[no_mangle]
pub unsafe extern "C" fn zmq_close(s: *mut c_void) -> c_int {
    guard_int(|| {
        socket(s)?;
        Box::from_raw(s as *mut Socket).close();
        Ok(0)
    })
}

/// # Safety
/// `optval` must be valid for `optvallen` bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_setsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: size_t,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        let val: &[u8] = if optvallen == 0 {
            &[]
        } else if optval.is_null() {
            return Err(Error::EINVAL);
        } else {
            std::slice::from_raw_parts(optval.cast(), optvallen)
        };
        if optval.is_null() && optvallen == 0 && !accepts_empty(option) {
            return Err(Error::EINVAL);
        }
        sock.setsockopt(option, val)?;
        Ok(0)
    })
}

/// Options whose value may be empty (binary/string options that reset or subscribe to all).
fn accepts_empty(option: c_int) -> bool {
    use crate::core::options::*;
    matches!(
        option,
        ZMQ_SUBSCRIBE | ZMQ_UNSUBSCRIBE | ZMQ_ZAP_DOMAIN | ZMQ_BINDTODEVICE | ZMQ_SOCKS_PROXY
    )
}

/// # Safety
/// `optval` must be valid for `*optvallen` bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_getsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut size_t,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if optval.is_null() || optvallen.is_null() {
            return Err(Error::EFAULT);
        }
        let out = std::slice::from_raw_parts_mut(optval as *mut u8, *optvallen);
        let n = sock.getsockopt(option, out)?;
        *optvallen = n;
        Ok(0)
    })
}

/// # Safety
/// `addr` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn zmq_bind(s: *mut c_void, addr: *const c_char) -> c_int {
    guard_int(|| {
        socket(s)?.bind(str_arg(addr)?)?;
        Ok(0)
    })
}

/// # Safety
/// As `zmq_bind`.
#[no_mangle]
pub unsafe extern "C" fn zmq_connect(s: *mut c_void, addr: *const c_char) -> c_int {
    guard_int(|| {
        socket(s)?.connect(str_arg(addr)?)?;
        Ok(0)
    })
}

/// # Safety
/// As `zmq_bind`.
#[no_mangle]
pub unsafe extern "C" fn zmq_unbind(s: *mut c_void, addr: *const c_char) -> c_int {
    guard_int(|| {
        socket(s)?.unbind(str_arg(addr)?)?;
        Ok(0)
    })
}

/// # Safety
/// As `zmq_bind`.
#[no_mangle]
pub unsafe extern "C" fn zmq_disconnect(s: *mut c_void, addr: *const c_char) -> c_int {
    guard_int(|| {
        socket(s)?.disconnect(str_arg(addr)?)?;
        Ok(0)
    })
}

/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_send(
    s: *mut c_void,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if buf.is_null() && len != 0 {
            return Err(Error::EFAULT);
        }
        let data = if len == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(buf as *const u8, len)
        };
        let mut msg = Msg::from_slice(data);
        sock.send(&mut msg, flags)?;
        Ok(size_result(len))
    })
}

/// # Safety
/// `buf` must stay valid and unchanged for as long as the message may be in flight.
#[no_mangle]
pub unsafe extern "C" fn zmq_send_const(
    s: *mut c_void,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if buf.is_null() && len != 0 {
            return Err(Error::EFAULT);
        }
        let mut msg = Msg::from_user(buf as *mut u8, len, None, std::ptr::null_mut());
        sock.send(&mut msg, flags)?;
        Ok(size_result(len))
    })
}

/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn zmq_recv(
    s: *mut c_void,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if buf.is_null() && len != 0 {
            return Err(Error::EFAULT);
        }
        let msg = sock.recv(flags)?;
        let n = msg.len().min(len);
        if n > 0 {
            std::ptr::copy_nonoverlapping(msg.data().as_ptr(), buf as *mut u8, n);
        }
        Ok(size_result(msg.len()))
    })
}

/// # Safety
/// `msg` must be an initialised message; `s` a socket.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        let m = msg_mut(msg)?;
        let len = m.len();
        sock.send(m, flags)?;
        Ok(size_result(len))
    })
}

/// # Safety
/// `msg` must be an initialised message; `s` a socket.
#[no_mangle]
pub unsafe extern "C" fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        let m = msg_mut(msg)?;
        sock.recv_into(m, flags)?;
        Ok(size_result(m.len()))
    })
}

/// # Safety
/// As `zmq_msg_send`.
#[no_mangle]
pub unsafe extern "C" fn zmq_sendmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    zmq_msg_send(msg, s, flags)
}

/// # Safety
/// As `zmq_msg_recv`.
#[no_mangle]
pub unsafe extern "C" fn zmq_recvmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
    zmq_msg_recv(msg, s, flags)
}

/// Sends `count` buffers as one multipart message.
///
/// # Safety
/// `iov` must point to `count` valid iovecs.
#[no_mangle]
pub unsafe extern "C" fn zmq_sendiov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: size_t,
    flags: c_int,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if count == 0 || iov.is_null() {
            return Err(Error::EINVAL);
        }
        let iovs = std::slice::from_raw_parts(iov, count);
        let mut total = 0usize;
        for (i, v) in iovs.iter().enumerate() {
            let data = if v.iov_len == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(v.iov_base as *const u8, v.iov_len)
            };
            let mut m = Msg::from_slice(data);
            let f = if i + 1 < count {
                flags | ZMQ_SNDMORE
            } else {
                flags
            };
            sock.send(&mut m, f)?;
            total += v.iov_len;
        }
        Ok(size_result(total))
    })
}

/// Receives up to `*count` frames of a message into malloc'ed buffers the caller frees.
///
/// # Safety
/// `iov` must point to `*count` writable iovecs.
#[no_mangle]
pub unsafe extern "C" fn zmq_recviov(
    s: *mut c_void,
    iov: *mut libc::iovec,
    count: *mut size_t,
    flags: c_int,
) -> c_int {
    guard_int(|| {
        let sock = socket(s)?;
        if iov.is_null() || count.is_null() || *count == 0 {
            return Err(Error::EINVAL);
        }
        let max = *count;
        let mut n = 0usize;
        let mut total = 0usize;
        loop {
            let m = sock.recv(flags)?;
            let buf = libc::malloc(m.len().max(1)) as *mut u8;
            if buf.is_null() {
                return Err(Error::ENOMEM);
            }
            std::ptr::copy_nonoverlapping(m.data().as_ptr(), buf, m.len());
            let v = &mut *iov.add(n);
            v.iov_base = buf.cast();
            v.iov_len = m.len();
            total += m.len();
            n += 1;
            if !m.more() || n == max {
                break;
            }
        }
        *count = n;
        Ok(size_result(total))
    })
}

/// Socket monitoring is not implemented yet.
///
/// # Safety
/// Any arguments.
#[no_mangle]
pub unsafe extern "C" fn zmq_socket_monitor(
    s: *mut c_void,
    addr: *const c_char,
    events: c_int,
) -> c_int {
    let _ = (addr, events);
    guard_int(|| {
        socket(s)?;
        Err(Error::ENOTSUP)
    })
}

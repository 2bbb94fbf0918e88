//! zmq_poll: readiness over ZeroMQ sockets (through their ZMQ_FD and ZMQ_EVENTS) and plain
//! file descriptors, with libzmq's timeout rules (-1 forever, 0 immediate, else ms).

use super::guard_int;
use super::types::zmq_pollitem_t;
use crate::core::error::{Error, Result};
use crate::core::socket::{Socket, ZMQ_POLLIN, ZMQ_POLLOUT};
use libc::{c_int, c_long};
use std::time::{Duration, Instant};

const ZMQ_POLLERR: i16 = 4;
const ZMQ_POLLPRI: i16 = 8;

/// # Safety
/// `items` must point to `nitems` valid poll items whose sockets are live.
#[no_mangle]
pub unsafe extern "C" fn zmq_poll(
    items: *mut zmq_pollitem_t,
    nitems: c_int,
    timeout: c_long,
) -> c_int {
    guard_int(|| {
        if nitems < 0 {
            return Err(Error::EINVAL);
        }
        if nitems == 0 {
            if timeout != 0 {
                let d = if timeout < 0 {
                    Duration::from_secs(u32::MAX as u64)
                } else {
                    Duration::from_millis(timeout as u64)
                };
                std::thread::sleep(d);
            }
            return Ok(0);
        }
        if items.is_null() {
            return Err(Error::EFAULT);
        }
        poll(
            std::slice::from_raw_parts_mut(items, nitems as usize),
            timeout,
        )
    })
}

unsafe fn poll(items: &mut [zmq_pollitem_t], timeout: c_long) -> Result<c_int> {
    let mut fds = Vec::with_capacity(items.len());
    for it in items.iter() {
        if it.socket.is_null() {
            let mut ev = 0;
            if it.events & ZMQ_POLLIN != 0 {
                ev |= libc::POLLIN;
            }
            if it.events & ZMQ_POLLOUT != 0 {
                ev |= libc::POLLOUT;
            }
            if it.events & ZMQ_POLLPRI != 0 {
                ev |= libc::POLLPRI;
            }
            fds.push(libc::pollfd {
                fd: it.fd,
                events: ev,
                revents: 0,
            });
        } else {
            let s = Socket::from_ptr(it.socket)?;
            fds.push(libc::pollfd {
                fd: s.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
    }
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let mut first = true;
    loop {
        // The first round only looks (timeout 0); later rounds sleep until something changes.
        let wait_ms: c_int = if first {
            0
        } else {
            match deadline {
                None if timeout < 0 => -1,
                None => 0,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        0
                    } else {
                        ((d - now).as_micros().div_ceil(1000)).min(c_int::MAX as u128) as c_int
                    }
                }
            }
        };
        let rc = libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms);
        if rc < 0 {
            let e = Error::last_os_error();
            if e == Error::EINTR {
                return Err(e);
            }
            return Err(e);
        }
        let mut count = 0;
        for (it, pfd) in items.iter_mut().zip(fds.iter()) {
            it.revents = 0;
            if it.socket.is_null() {
                if pfd.revents & libc::POLLIN != 0 {
                    it.revents |= ZMQ_POLLIN;
                }
                if pfd.revents & libc::POLLOUT != 0 {
                    it.revents |= ZMQ_POLLOUT;
                }
                if pfd.revents & libc::POLLPRI != 0 {
                    it.revents |= ZMQ_POLLPRI;
                }
                if pfd.revents & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
                    it.revents |= ZMQ_POLLERR;
                }
            } else {
                let s = Socket::from_ptr(it.socket)?;
                let ev = s.events()?;
                it.revents = ev & it.events;
            }
            if it.revents != 0 {
                count += 1;
            }
        }
        if count > 0 || timeout == 0 {
            return Ok(count);
        }
        if !first {
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Ok(0);
                }
            }
        }
        first = false;
    }
}

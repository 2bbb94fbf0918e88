//! Polling: readiness over ZeroMQ sockets (through their ZMQ_FD and ZMQ_EVENTS) and plain
//! file descriptors, with libzmq's timeout rules (-1 forever, 0 immediate, else ms). Works on
//! any slot type, so the C API's `zmq_pollitem_t` array is polled in place.

use super::error::{Error, Result};
use super::socket::{Socket, ZMQ_POLLIN, ZMQ_POLLOUT};
use std::time::{Duration, Instant};

pub const ZMQ_POLLERR: i16 = 4;
pub const ZMQ_POLLPRI: i16 = 8;

/// One entry of a poll set.
pub trait PollSlot {
    /// The socket, or NULL for a plain file descriptor.
    fn socket(&self) -> *mut libc::c_void;
    fn fd(&self) -> i32;
    fn events(&self) -> i16;
    fn set_revents(&mut self, revents: i16);
}

/// Waits until an item is ready or `timeout` ms pass; returns how many items are ready.
///
/// # Safety
/// Every non-NULL socket must be a live socket not used by another thread meanwhile.
pub unsafe fn poll<S: PollSlot>(items: &mut [S], timeout: i64) -> Result<usize> {
    if items.is_empty() {
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
    let mut fds = Vec::with_capacity(items.len());
    for it in items.iter() {
        if it.socket().is_null() {
            let mut ev = 0;
            if it.events() & ZMQ_POLLIN != 0 {
                ev |= libc::POLLIN;
            }
            if it.events() & ZMQ_POLLOUT != 0 {
                ev |= libc::POLLOUT;
            }
            if it.events() & ZMQ_POLLPRI != 0 {
                ev |= libc::POLLPRI;
            }
            fds.push(libc::pollfd {
                fd: it.fd(),
                events: ev,
                revents: 0,
            });
        } else {
            let s = Socket::from_ptr(it.socket())?;
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
        let wait_ms: i32 = if first {
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
                        ((d - now).as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32
                    }
                }
            }
        };
        if libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) < 0 {
            return Err(Error::last_os_error());
        }
        let mut count = 0;
        for (it, pfd) in items.iter_mut().zip(fds.iter()) {
            let mut rev = 0;
            if it.socket().is_null() {
                if pfd.revents & libc::POLLIN != 0 {
                    rev |= ZMQ_POLLIN;
                }
                if pfd.revents & libc::POLLOUT != 0 {
                    rev |= ZMQ_POLLOUT;
                }
                if pfd.revents & libc::POLLPRI != 0 {
                    rev |= ZMQ_POLLPRI;
                }
                if pfd.revents & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
                    rev |= ZMQ_POLLERR;
                }
            } else {
                let s = Socket::from_ptr(it.socket())?;
                rev = s.events_after(pfd.revents != 0)? & it.events();
            }
            it.set_revents(rev);
            if rev != 0 {
                count += 1;
            }
        }
        if count > 0 || timeout == 0 {
            return Ok(count);
        }
        if !first && deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
        first = false;
    }
}

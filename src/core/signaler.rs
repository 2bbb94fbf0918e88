//! A wake-up file descriptor (Linux eventfd). A socket's signaler is what `ZMQ_FD` returns and
//! what a blocked `zmq_recv` sleeps on; it is written only when the socket's mailbox goes from
//! empty to non-empty, so a busy socket makes no syscalls for signalling.

use std::os::fd::RawFd;

pub struct Signaler {
    fd: RawFd,
}

impl Signaler {
    pub fn new() -> std::io::Result<Signaler> {
        // SAFETY: plain syscall; the fd is owned by the returned Signaler and closed in Drop.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Signaler { fd })
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Makes the fd readable (wakes a waiter).
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our own eventfd. It can only fail with
        // EAGAIN when the counter is saturated, in which case it is readable already.
        unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
    }

    /// Consumes any pending signal so the fd is no longer readable.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from our own non-blocking eventfd.
        unsafe { libc::read(self.fd, (&mut v as *mut u64).cast(), 8) };
    }

    /// Waits until signalled or `timeout_ms` passes (-1: forever). Returns true if signalled.
    /// The signal is left pending; the caller drains it when it processes its mailbox.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return rc > 0;
        }
    }
}

impl Drop for Signaler {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
    }
}

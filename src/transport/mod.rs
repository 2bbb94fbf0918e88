//! Transports: parsing endpoints, opening listeners and outgoing connections for tcp and ipc
//! (inproc needs no I/O and lives in the context). Nothing here knows socket types or ZMTP.

pub mod ipc;
pub mod tcp;

use crate::core::error::{Error, Result};
use crate::core::options::Options;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::os::fd::{AsRawFd, RawFd};

/// A parsed endpoint URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(tcp::TcpEndpoint),
    Ipc(String),
    Inproc(String),
}

impl Endpoint {
    pub fn parse(uri: &str) -> Result<Endpoint> {
        let (proto, addr) = uri.split_once("://").ok_or(Error::EINVAL)?;
        match proto {
            "tcp" => Ok(Endpoint::Tcp(tcp::TcpEndpoint::parse(addr)?)),
            "ipc" => {
                if addr.is_empty() || addr.len() >= 108 {
                    return Err(Error::EINVAL);
                }
                Ok(Endpoint::Ipc(addr.to_string()))
            }
            "inproc" => {
                if addr.is_empty() {
                    return Err(Error::EINVAL);
                }
                Ok(Endpoint::Inproc(addr.to_string()))
            }
            _ => Err(Error::EPROTONOSUPPORT),
        }
    }
}

/// Checks that an endpoint can be connected to (no wildcards).
pub fn validate_connect(ep: &Endpoint) -> Result<()> {
    match ep {
        Endpoint::Tcp(t) => t.validate_connect(),
        Endpoint::Ipc(p) if p == "*" => Err(Error::EINVAL),
        _ => Ok(()),
    }
}

/// A bound, listening socket.
pub enum Listener {
    Tcp(mio::net::TcpListener, String),
    /// The file of a path-bound ipc listener, with its inode, removed on drop if unchanged.
    Ipc(
        mio::net::UnixListener,
        String,
        Option<(std::path::PathBuf, u64)>,
    ),
}

impl Listener {
    /// The endpoint as ZMQ_LAST_ENDPOINT reports it (wildcards resolved).
    pub fn endpoint(&self) -> String {
        match self {
            Listener::Tcp(_, e) | Listener::Ipc(_, e, _) => e.clone(),
        }
    }

    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l, _) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Listener::Ipc(l, _, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l, _) => l,
            Listener::Ipc(l, _, _) => l,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Remove the socket file only if it is still the one we bound: a new socket may
        // have bound the same path since this listener was closed.
        if let Listener::Ipc(_, _, Some((path, ino))) = self {
            use std::os::unix::fs::MetadataExt;
            if std::fs::symlink_metadata(&*path).is_ok_and(|m| m.ino() == *ino) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Binds and listens on a tcp or ipc endpoint.
pub fn listen(ep: &Endpoint, opts: &Options) -> Result<Listener> {
    match ep {
        Endpoint::Tcp(t) => tcp::listen(t, opts),
        Endpoint::Ipc(path) => ipc::listen(path, opts),
        Endpoint::Inproc(_) => Err(Error::EINVAL),
    }
}

/// A connected byte stream.
pub enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Stream {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    /// Reads into `first`, then `second` (one `readv`); a plain `read` when `second` is empty.
    pub fn read_two(&mut self, first: &mut [u8], second: &mut [u8]) -> io::Result<usize> {
        if second.is_empty() {
            return self.read(first);
        }
        let mut iov = [IoSliceMut::new(first), IoSliceMut::new(second)];
        match self {
            Stream::Tcp(s) => s.read_vectored(&mut iov),
            Stream::Unix(s) => s.read_vectored(&mut iov),
        }
    }

    /// Gathers `iov` into one `sendmsg` with MSG_NOSIGNAL: a peer that has gone must give
    /// EPIPE, never a SIGPIPE that kills the application.
    pub fn write_vectored(&mut self, iov: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = iov.len().min(1024);
        // SAFETY: msghdr is plain data; zero is valid for its unused fields.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        // IoSlice is ABI-compatible with iovec on Unix (documented by std).
        hdr.msg_iov = iov.as_ptr() as *mut libc::iovec;
        hdr.msg_iovlen = n as _;
        // SAFETY: hdr points at `n` live iovecs borrowed for the duration of the call.
        let rc = unsafe { libc::sendmsg(self.fd(), &hdr, libc::MSG_NOSIGNAL) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(rc as usize)
    }

    /// For a connect in progress: Ok once connected, the error if it failed, WouldBlock while
    /// still pending.
    pub fn finish_connect(&mut self) -> io::Result<()> {
        let err = match self {
            Stream::Tcp(s) => s.take_error()?,
            Stream::Unix(s) => s.take_error()?,
        };
        if let Some(e) = err {
            return Err(e);
        }
        let connected = match self {
            Stream::Tcp(s) => s.peer_addr().map(|_| ()),
            Stream::Unix(s) => s.peer_addr().map(|_| ()),
        };
        match connected {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(e) => Err(e),
        }
    }

    /// The peer's address as the "Peer-Address" property reports it (tcp only).
    pub fn peer_address(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| a.ip().to_string()),
            Stream::Unix(_) => None,
        }
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Bytes written to a Unix stream that the peer has not read yet (SIOCOUTQ), or None for
    /// tcp (where the kernel counts unacknowledged, not unread, bytes) or on error.
    pub fn unread_by_peer(&self) -> Option<usize> {
        let Stream::Unix(s) = self else { return None };
        let mut n: libc::c_int = 0;
        // SAFETY: SIOCOUTQ (== TIOCOUTQ) writes one c_int through the pointer, which points
        // to a live local.
        let rc = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
        (rc == 0 && n >= 0).then_some(n as usize)
    }

    /// Applies the socket options that concern an established stream.
    pub fn configure(&self, opts: &Options) {
        let fd = self.fd();
        if opts.sndbuf >= 0 {
            set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, opts.sndbuf);
        }
        if opts.rcvbuf >= 0 {
            set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, opts.rcvbuf);
        }
        if let Stream::Tcp(_) = self {
            tcp::configure(fd, opts);
        }
    }
}

/// setsockopt with an int; failures are ignored as libzmq does for tuning options.
pub(crate) fn set_int_opt(fd: RawFd, level: i32, name: i32, val: i32) {
    // SAFETY: passes a pointer to a live i32 and its size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&val as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}

/// Opens an outgoing connection (non-blocking; completion is seen as writability).
pub fn connect(ep: &Endpoint, opts: &Options) -> io::Result<Stream> {
    match ep {
        Endpoint::Tcp(t) => tcp::connect(t, opts).map(Stream::Tcp),
        Endpoint::Ipc(path) => ipc::connect(path).map(Stream::Unix),
        Endpoint::Inproc(_) => Err(io::ErrorKind::InvalidInput.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_endpoints() {
        assert_eq!(Endpoint::parse("foo"), Err(Error::EINVAL));
        assert_eq!(Endpoint::parse("udp://x:1"), Err(Error::EPROTONOSUPPORT));
        assert_eq!(Endpoint::parse("ipc://"), Err(Error::EINVAL));
        assert_eq!(
            Endpoint::parse("inproc://a"),
            Ok(Endpoint::Inproc("a".into()))
        );
        assert!(matches!(
            Endpoint::parse("tcp://127.0.0.1:5555"),
            Ok(Endpoint::Tcp(_))
        ));
        assert_eq!(Endpoint::parse("tcp://127.0.0.1"), Err(Error::EINVAL));
        assert_eq!(Endpoint::parse("tcp://127.0.0.1:65536"), Err(Error::EINVAL));
    }
}

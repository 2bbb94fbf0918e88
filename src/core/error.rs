//! Error codes: libzmq reports every failure as an errno value. Inside the crate a failure is
//! an [`Error`] carrying that value; the FFI layer stores it in the thread's `errno`.

use std::ffi::{CStr, CString};
use std::fmt;

/// Base of the error codes that are native to ZeroMQ (no POSIX equivalent).
pub const ZMQ_HAUSNUMERO: i32 = 156_384_712;
pub const EFSM: i32 = ZMQ_HAUSNUMERO + 51;
pub const ENOCOMPATPROTO: i32 = ZMQ_HAUSNUMERO + 52;
pub const ETERM: i32 = ZMQ_HAUSNUMERO + 53;
pub const EMTHREAD: i32 = ZMQ_HAUSNUMERO + 54;

/// An errno value, as libzmq would report it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error(pub i32);

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub const EINVAL: Error = Error(libc::EINVAL);
    pub const EAGAIN: Error = Error(libc::EAGAIN);
    pub const EFAULT: Error = Error(libc::EFAULT);
    pub const ENOTSUP: Error = Error(libc::ENOTSUP);
    pub const ENOTSOCK: Error = Error(libc::ENOTSOCK);
    pub const EINTR: Error = Error(libc::EINTR);
    pub const ENOMEM: Error = Error(libc::ENOMEM);
    pub const EMFILE: Error = Error(libc::EMFILE);
    pub const EPROTONOSUPPORT: Error = Error(libc::EPROTONOSUPPORT);
    pub const EADDRINUSE: Error = Error(libc::EADDRINUSE);
    pub const EADDRNOTAVAIL: Error = Error(libc::EADDRNOTAVAIL);
    pub const ENODEV: Error = Error(libc::ENODEV);
    pub const ENOENT: Error = Error(libc::ENOENT);
    pub const EHOSTUNREACH: Error = Error(libc::EHOSTUNREACH);
    pub const EMSGSIZE: Error = Error(libc::EMSGSIZE);
    pub const ENOTCONN: Error = Error(libc::ENOTCONN);
    pub const EBADF: Error = Error(libc::EBADF);
    pub const EFSM: Error = Error(EFSM);
    pub const ENOCOMPATPROTO: Error = Error(ENOCOMPATPROTO);
    pub const ETERM: Error = Error(ETERM);
    pub const EMTHREAD: Error = Error(EMTHREAD);

    /// The error of a failed libc call (reads `errno`).
    pub fn last_os_error() -> Error {
        Error(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.raw_os_error().unwrap_or(match e.kind() {
            std::io::ErrorKind::WouldBlock => libc::EAGAIN,
            std::io::ErrorKind::InvalidInput => libc::EINVAL,
            std::io::ErrorKind::NotFound => libc::ENOENT,
            _ => libc::EIO,
        }))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error({}: {})",
            self.0,
            strerror(self.0).to_string_lossy()
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&strerror(self.0).to_string_lossy())
    }
}

/// The text libzmq's `zmq_strerror` gives for a code (native codes first, then the OS's).
pub fn strerror(code: i32) -> &'static CStr {
    match code {
        EFSM => c"Operation cannot be accomplished in current state",
        ENOCOMPATPROTO => c"The protocol is not compatible with the socket type",
        ETERM => c"Context was terminated",
        EMTHREAD => c"No thread available",
        _ => os_strerror(code),
    }
}

fn os_strerror(code: i32) -> &'static CStr {
    use std::sync::OnceLock;
    // strerror's text is immutable for the life of the process for a given code; cache the
    // known range once so that callers get a 'static str without leaking per call.
    static TABLE: OnceLock<Vec<&'static CStr>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..200)
            .map(|c| {
                // SAFETY: strerror_r writes at most buf.len() bytes including the NUL.
                let mut buf = [0 as libc::c_char; 256];
                let rc = unsafe { libc::strerror_r(c, buf.as_mut_ptr(), buf.len()) };
                let s = if rc == 0 {
                    // SAFETY: strerror_r succeeded, so buf holds a NUL-terminated string.
                    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_owned()
                } else {
                    CString::new(format!("Unknown error {c}")).unwrap_or_default()
                };
                &*Box::leak(s.into_boxed_c_str())
            })
            .collect()
    });
    usize::try_from(code)
        .ok()
        .and_then(|c| table.get(c).copied())
        .unwrap_or(c"Unknown error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_codes_have_libzmq_values_and_texts() {
        assert_eq!(ETERM, 156_384_765);
        assert_eq!(EFSM, 156_384_763);
        assert_eq!(strerror(ETERM), c"Context was terminated");
        assert_eq!(strerror(libc::EAGAIN), c"Resource temporarily unavailable");
    }
}

//! ipc:// over Unix domain sockets: filesystem paths, `*` for a generated path, and Linux
//! abstract names written `@name`.

use super::Listener;
use crate::core::error::{Error, Result};
use crate::core::options::Options;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};

fn address(path: &str) -> io::Result<SocketAddr> {
    match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(path),
    }
}

pub fn listen(path: &str, _opts: &Options) -> Result<Listener> {
    let path = if path == "*" {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir();
        format!(
            "{}/zmq-{}-{}-{:x}.ipc",
            dir.display(),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        )
    } else {
        path.to_string()
    };
    let addr = address(&path).map_err(|_| Error::EINVAL)?;
    let file = (!path.starts_with('@')).then(|| std::path::PathBuf::from(&path));
    // Like libzmq, a stale socket file left by a previous process is replaced.
    if let Some(f) = &file {
        let _ = std::fs::remove_file(f);
    }
    let l = UnixListener::bind_addr(&addr).map_err(Error::from)?;
    l.set_nonblocking(true).map_err(Error::from)?;
    let file = file.map(|f| {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::symlink_metadata(&f).map(|m| m.ino()).unwrap_or(0);
        (f, ino)
    });
    Ok(Listener::Ipc(
        mio::net::UnixListener::from_std(l),
        format!("ipc://{path}"),
        file,
    ))
}

pub fn connect(path: &str) -> io::Result<mio::net::UnixStream> {
    let addr = address(path)?;
    // A Unix connect completes or fails at once; do it blocking, then switch modes.
    let s = UnixStream::connect_addr(&addr)?;
    s.set_nonblocking(true)?;
    Ok(mio::net::UnixStream::from_std(s))
}

//! tcp:// addresses: `host:port` with `*` wildcards, IPv4, bracketed IPv6, interface names
//! and hostnames, and `source;destination` for connects from a chosen local address.

use super::{set_int_opt, Listener};
use crate::core::error::{Error, Result};
use crate::core::options::Options;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, RawFd};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpEndpoint {
    pub host: String,
    /// None: a wildcard port (`*` or `0`).
    pub port: Option<u16>,
    /// `src;dst` form: the local address to connect from.
    pub source: Option<Box<TcpEndpoint>>,
}

impl TcpEndpoint {
    pub fn parse(addr: &str) -> Result<TcpEndpoint> {
        if let Some((src, dst)) = addr.split_once(';') {
            let mut ep = TcpEndpoint::parse(dst)?;
            let src = if src.contains(':') {
                TcpEndpoint::parse(src)?
            } else {
                TcpEndpoint {
                    host: src.to_string(),
                    port: None,
                    source: None,
                }
            };
            ep.source = Some(Box::new(src));
            return Ok(ep);
        }
        let (host, port) = addr.rsplit_once(':').ok_or(Error::EINVAL)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        // libzmq reads the port as a number and keeps its low 16 bits (so ":99999" is port
        // 34463); a value that truncates to 0 is refused.
        let port = match port {
            "*" | "0" => None,
            p => match p.parse::<u32>() {
                Ok(n) if n as u16 != 0 => Some(n as u16),
                _ => return Err(Error::EINVAL),
            },
        };
        Ok(TcpEndpoint {
            host: host.to_string(),
            port,
            source: None,
        })
    }

    pub fn validate_connect(&self) -> Result<()> {
        if self.port.is_none() || self.host == "*" || self.host.is_empty() {
            return Err(Error::EINVAL);
        }
        Ok(())
    }
}

/// Finds the address to bind: `*`, a literal or an interface name. As in libzmq, a bind does
/// not look names up in DNS: anything else is ENODEV.
fn resolve_local(host: &str, ipv6: bool) -> Result<IpAddr> {
    if host == "*" {
        return Ok(if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        });
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_ipv6() && !ipv6 {
            return Err(Error::ENODEV);
        }
        return Ok(ip);
    }
    interface_address(host, ipv6).ok_or(Error::ENODEV)
}

fn pick(addrs: &[SocketAddr], ipv6: bool) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.iter().find(|_| ipv6))
        .copied()
}

/// The address of a network interface by name (e.g. "lo", "eth0").
fn interface_address(name: &str, ipv6: bool) -> Option<IpAddr> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a linked list we free with freeifaddrs below; we only read it.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return None;
        }
        let mut found = None;
        let mut cur = ifap;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            if std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes() {
                continue;
            }
            let fam = (*ifa.ifa_addr).sa_family as i32;
            if fam == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                found = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
                break;
            } else if fam == libc::AF_INET6 && ipv6 && found.is_none() {
                let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                found = Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        libc::freeifaddrs(ifap);
        found
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid bit pattern.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// A new non-blocking tcp socket for `addr`'s family; closed on drop unless taken.
struct Fd(RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: we own the fd.
            unsafe { libc::close(self.0) };
        }
    }
}

impl Fd {
    fn tcp(addr: &SocketAddr) -> io::Result<Fd> {
        let domain = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: plain syscall.
        let fd = unsafe {
            libc::socket(
                domain,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Fd(fd))
    }

    fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        let (ss, len) = sockaddr(addr);
        // SAFETY: ss holds a valid sockaddr of length len.
        if unsafe { libc::bind(self.0, &ss as *const _ as *const libc::sockaddr, len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn take(mut self) -> RawFd {
        std::mem::replace(&mut self.0, -1)
    }
}

fn bind_to_device(fd: RawFd, dev: &[u8]) -> io::Result<()> {
    if dev.is_empty() {
        return Ok(());
    }
    // SAFETY: passes a pointer/length pair into a live slice.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr().cast(),
            dev.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn listen(ep: &TcpEndpoint, opts: &Options) -> Result<Listener> {
    let ip = resolve_local(&ep.host, opts.ipv6 != 0)?;
    let addr = SocketAddr::new(ip, ep.port.unwrap_or(0));
    let fd = Fd::tcp(&addr).map_err(Error::from)?;
    set_int_opt(fd.0, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    if addr.is_ipv6() {
        set_int_opt(fd.0, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0);
    }
    bind_to_device(fd.0, &opts.bindtodevice).map_err(Error::from)?;
    fd.bind(&addr).map_err(Error::from)?;
    // SAFETY: plain syscall on our fd.
    if unsafe { libc::listen(fd.0, opts.backlog.max(1)) } != 0 {
        return Err(Error::last_os_error());
    }
    // SAFETY: the fd is a bound, listening, non-blocking tcp socket we own.
    let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd.take()) };
    let local = std_listener.local_addr().map_err(Error::from)?;
    let endpoint = match local {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    };
    Ok(Listener::Tcp(
        mio::net::TcpListener::from_std(std_listener),
        endpoint,
    ))
}

pub fn connect(ep: &TcpEndpoint, opts: &Options) -> io::Result<mio::net::TcpStream> {
    let port = ep.port.ok_or(io::ErrorKind::InvalidInput)?;
    let ipv6 = opts.ipv6 != 0;
    let addrs: Vec<SocketAddr> = (ep.host.as_str(), port).to_socket_addrs()?.collect();
    let addr = pick(&addrs, ipv6).ok_or(io::ErrorKind::AddrNotAvailable)?;
    let fd = Fd::tcp(&addr)?;
    bind_to_device(fd.0, &opts.bindtodevice)?;
    if let Some(src) = &ep.source {
        let ip = resolve_local(&src.host, ipv6).map_err(|_| io::ErrorKind::AddrNotAvailable)?;
        fd.bind(&SocketAddr::new(ip, src.port.unwrap_or(0)))?;
    }
    let (ss, len) = sockaddr(&addr);
    // SAFETY: ss holds a valid sockaddr of length len; the fd is ours.
    let rc = unsafe { libc::connect(fd.0, &ss as *const _ as *const libc::sockaddr, len) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    // SAFETY: a tcp socket we own, connecting or connected, non-blocking.
    Ok(mio::net::TcpStream::from_std(unsafe {
        std::net::TcpStream::from_raw_fd(fd.take())
    }))
}

/// TCP_NODELAY always (as libzmq), then the keepalive / TOS / user-timeout options.
pub fn configure(fd: RawFd, opts: &Options) {
    set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
    if opts.tcp_keepalive != -1 {
        set_int_opt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, opts.tcp_keepalive);
        if opts.tcp_keepalive == 1 {
            if opts.tcp_keepalive_cnt != -1 {
                set_int_opt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_KEEPCNT,
                    opts.tcp_keepalive_cnt,
                );
            }
            if opts.tcp_keepalive_idle != -1 {
                set_int_opt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_KEEPIDLE,
                    opts.tcp_keepalive_idle,
                );
            }
            if opts.tcp_keepalive_intvl != -1 {
                set_int_opt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_KEEPINTVL,
                    opts.tcp_keepalive_intvl,
                );
            }
        }
    }
    if opts.tos != 0 {
        set_int_opt(fd, libc::IPPROTO_IP, libc::IP_TOS, opts.tos);
    }
    if opts.tcp_maxrt > 0 {
        set_int_opt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            opts.tcp_maxrt,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let e = TcpEndpoint::parse("*:*").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("*", None));
        let e = TcpEndpoint::parse("[::1]:5555").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", Some(5555)));
        let e = TcpEndpoint::parse("127.0.0.1:0;localhost:80").unwrap();
        assert_eq!(e.source.unwrap().host, "127.0.0.1");
        assert!(TcpEndpoint::parse("host:").is_err());
        assert!(TcpEndpoint::parse(":80")
            .unwrap()
            .validate_connect()
            .is_err());
        assert!(TcpEndpoint::parse("*:80")
            .unwrap()
            .validate_connect()
            .is_err());
    }

    #[test]
    fn resolves_loopback_interface() {
        assert_eq!(
            resolve_local("lo", false).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(resolve_local("no-such-if-xyz", false), Err(Error::ENODEV));
    }
}

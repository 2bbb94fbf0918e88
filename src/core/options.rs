//! Socket options shared by every socket type: values, defaults (libzmq 4.3.5's), and the
//! validation of `zmq_setsockopt` / `zmq_getsockopt`. Integer options are declared as data in
//! [`INT_OPTIONS`]; the few with other shapes are matched by hand. Options that only one
//! socket type understands live with that type in `pattern/`.

use super::error::{Error, Result};

pub const ZMQ_AFFINITY: i32 = 4;
pub const ZMQ_ROUTING_ID: i32 = 5;
pub const ZMQ_SUBSCRIBE: i32 = 6;
pub const ZMQ_UNSUBSCRIBE: i32 = 7;
pub const ZMQ_RATE: i32 = 8;
pub const ZMQ_RECOVERY_IVL: i32 = 9;
pub const ZMQ_SNDBUF: i32 = 11;
pub const ZMQ_RCVBUF: i32 = 12;
pub const ZMQ_RCVMORE: i32 = 13;
pub const ZMQ_FD: i32 = 14;
pub const ZMQ_EVENTS: i32 = 15;
pub const ZMQ_TYPE: i32 = 16;
pub const ZMQ_LINGER: i32 = 17;
pub const ZMQ_RECONNECT_IVL: i32 = 18;
pub const ZMQ_BACKLOG: i32 = 19;
pub const ZMQ_RECONNECT_IVL_MAX: i32 = 21;
pub const ZMQ_MAXMSGSIZE: i32 = 22;
pub const ZMQ_SNDHWM: i32 = 23;
pub const ZMQ_RCVHWM: i32 = 24;
pub const ZMQ_MULTICAST_HOPS: i32 = 25;
pub const ZMQ_RCVTIMEO: i32 = 27;
pub const ZMQ_SNDTIMEO: i32 = 28;
pub const ZMQ_IPV4ONLY: i32 = 31;
pub const ZMQ_LAST_ENDPOINT: i32 = 32;
pub const ZMQ_ROUTER_MANDATORY: i32 = 33;
pub const ZMQ_TCP_KEEPALIVE: i32 = 34;
pub const ZMQ_TCP_KEEPALIVE_CNT: i32 = 35;
pub const ZMQ_TCP_KEEPALIVE_IDLE: i32 = 36;
pub const ZMQ_TCP_KEEPALIVE_INTVL: i32 = 37;
pub const ZMQ_TCP_ACCEPT_FILTER: i32 = 38;
pub const ZMQ_IMMEDIATE: i32 = 39;
pub const ZMQ_XPUB_VERBOSE: i32 = 40;
pub const ZMQ_ROUTER_RAW: i32 = 41;
pub const ZMQ_IPV6: i32 = 42;
pub const ZMQ_MECHANISM: i32 = 43;
pub const ZMQ_PLAIN_SERVER: i32 = 44;
pub const ZMQ_PLAIN_USERNAME: i32 = 45;
pub const ZMQ_PLAIN_PASSWORD: i32 = 46;
pub const ZMQ_CURVE_SERVER: i32 = 47;
pub const ZMQ_CURVE_PUBLICKEY: i32 = 48;
pub const ZMQ_CURVE_SECRETKEY: i32 = 49;
pub const ZMQ_CURVE_SERVERKEY: i32 = 50;
pub const ZMQ_PROBE_ROUTER: i32 = 51;
pub const ZMQ_REQ_CORRELATE: i32 = 52;
pub const ZMQ_REQ_RELAXED: i32 = 53;
pub const ZMQ_CONFLATE: i32 = 54;
pub const ZMQ_ZAP_DOMAIN: i32 = 55;
pub const ZMQ_ROUTER_HANDOVER: i32 = 56;
pub const ZMQ_TOS: i32 = 57;
pub const ZMQ_INVERT_MATCHING: i32 = 74;
pub const ZMQ_CONNECT_ROUTING_ID: i32 = 61;
pub const ZMQ_GSSAPI_SERVER: i32 = 62;
pub const ZMQ_HANDSHAKE_IVL: i32 = 66;
pub const ZMQ_SOCKS_PROXY: i32 = 68;
pub const ZMQ_XPUB_NODROP: i32 = 69;
pub const ZMQ_HEARTBEAT_IVL: i32 = 75;
pub const ZMQ_HEARTBEAT_TTL: i32 = 76;
pub const ZMQ_HEARTBEAT_TIMEOUT: i32 = 77;
pub const ZMQ_CONNECT_TIMEOUT: i32 = 79;
pub const ZMQ_TCP_MAXRT: i32 = 80;
pub const ZMQ_THREAD_SAFE: i32 = 81;
pub const ZMQ_MULTICAST_MAXTPDU: i32 = 84;
pub const ZMQ_USE_FD: i32 = 89;
pub const ZMQ_BINDTODEVICE: i32 = 92;
pub const ZMQ_METADATA: i32 = 95;
pub const ZMQ_IN_BATCH_SIZE: i32 = 101;
pub const ZMQ_OUT_BATCH_SIZE: i32 = 102;

/// Every option a socket carries. Sessions take a copy when they are created (as libzmq's do).
#[derive(Clone, Debug)]
pub struct Options {
    pub socket_type: i32,
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub affinity: u64,
    pub routing_id: Vec<u8>,
    pub rate: i32,
    pub recovery_ivl: i32,
    pub sndbuf: i32,
    pub rcvbuf: i32,
    pub linger: i32,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub backlog: i32,
    pub maxmsgsize: i64,
    pub multicast_hops: i32,
    pub rcvtimeo: i32,
    pub sndtimeo: i32,
    pub ipv6: i32,
    pub immediate: i32,
    pub tcp_keepalive: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_intvl: i32,
    pub tos: i32,
    pub handshake_ivl: i32,
    pub heartbeat_ivl: i32,
    pub heartbeat_ttl: i32,
    pub heartbeat_timeout: i32,
    pub connect_timeout: i32,
    pub tcp_maxrt: i32,
    pub conflate: i32,
    pub multicast_maxtpdu: i32,
    pub use_fd: i32,
    pub in_batch_size: i32,
    pub out_batch_size: i32,
    pub invert_matching: i32,
    pub connect_routing_id: Vec<u8>,
    pub zap_domain: Vec<u8>,
    pub bindtodevice: Vec<u8>,
    pub metadata: Vec<(String, Vec<u8>)>,
}

impl Options {
    pub fn new(socket_type: i32) -> Options {
        Options {
            socket_type,
            sndhwm: 1000,
            rcvhwm: 1000,
            affinity: 0,
            routing_id: Vec::new(),
            rate: 100,
            recovery_ivl: 10_000,
            sndbuf: -1,
            rcvbuf: -1,
            linger: -1,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            backlog: 100,
            maxmsgsize: -1,
            multicast_hops: 1,
            rcvtimeo: -1,
            sndtimeo: -1,
            ipv6: 0,
            immediate: 0,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            tos: 0,
            handshake_ivl: 30_000,
            heartbeat_ivl: 0,
            heartbeat_ttl: 0,
            heartbeat_timeout: -1,
            connect_timeout: 0,
            tcp_maxrt: 0,
            conflate: 0,
            multicast_maxtpdu: 1500,
            use_fd: -1,
            in_batch_size: 8192,
            out_batch_size: 8192,
            invert_matching: 0,
            connect_routing_id: Vec::new(),
            zap_domain: Vec::new(),
            bindtodevice: Vec::new(),
            metadata: Vec::new(),
        }
    }

    /// The heartbeat timeout in effect (libzmq: defaults to the heartbeat interval).
    pub fn effective_heartbeat_timeout(&self) -> i32 {
        if self.heartbeat_timeout == -1 {
            self.heartbeat_ivl
        } else {
            self.heartbeat_timeout
        }
    }

    /// Sets a generic option. `Ok(false)` means the option is not a generic one.
    pub fn set(&mut self, opt: i32, val: &[u8]) -> Result<bool> {
        if let Some(def) = INT_OPTIONS.iter().find(|d| d.id == opt) {
            let v = int_arg(val)?;
            if v < def.min || v > def.max {
                return Err(Error::EINVAL);
            }
            *(def.field)(self) = v;
            return Ok(true);
        }
        match opt {
            ZMQ_AFFINITY => self.affinity = u64_arg(val)?,
            ZMQ_MAXMSGSIZE => {
                self.maxmsgsize = i64_arg(val)?;
            }
            ZMQ_ROUTING_ID => {
                // 1..255 bytes, and not starting with a zero byte (reserved for generated ids).
                if val.is_empty() || val.len() > 255 || val[0] == 0 {
                    return Err(Error::EINVAL);
                }
                self.routing_id = val.to_vec();
            }
            ZMQ_CONNECT_ROUTING_ID => {
                if val.is_empty() || val.len() > 255 {
                    return Err(Error::EINVAL);
                }
                self.connect_routing_id = val.to_vec();
            }
            ZMQ_IPV4ONLY => {
                let v = int_arg(val)?;
                if !(0..=1).contains(&v) {
                    return Err(Error::EINVAL);
                }
                self.ipv6 = 1 - v;
            }
            ZMQ_ZAP_DOMAIN => {
                if val.len() > 255 {
                    return Err(Error::EINVAL);
                }
                self.zap_domain = val.to_vec();
            }
            ZMQ_BINDTODEVICE => {
                if val.len() > 16 {
                    return Err(Error::EINVAL);
                }
                self.bindtodevice = val.iter().copied().take_while(|&b| b != 0).collect();
            }
            ZMQ_METADATA => {
                let s = std::str::from_utf8(val).map_err(|_| Error::EINVAL)?;
                let (name, value) = s.split_once(':').ok_or(Error::EINVAL)?;
                if !name.starts_with("X-") || name.len() < 3 {
                    return Err(Error::EINVAL);
                }
                self.metadata.retain(|(n, _)| n != name);
                self.metadata
                    .push((name.to_string(), value.as_bytes().to_vec()));
            }
            // Security mechanisms and transports we do not have yet: refuse honestly rather
            // than accept and then run without the protection the caller asked for.
            ZMQ_PLAIN_SERVER
            | ZMQ_PLAIN_USERNAME
            | ZMQ_PLAIN_PASSWORD
            | ZMQ_CURVE_SERVER
            | ZMQ_CURVE_PUBLICKEY
            | ZMQ_CURVE_SECRETKEY
            | ZMQ_CURVE_SERVERKEY
            | ZMQ_GSSAPI_SERVER
            | ZMQ_SOCKS_PROXY
            | ZMQ_TCP_ACCEPT_FILTER => return Err(Error::ENOTSUP),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads a generic option into `out`, returning the length written. `Ok(None)` means the
    /// option is not a generic one.
    pub fn get(&self, opt: i32, out: &mut [u8]) -> Result<Option<usize>> {
        if let Some(def) = INT_OPTIONS.iter().find(|d| d.id == opt) {
            let mut copy = self.clone();
            return put_int(out, *(def.field)(&mut copy)).map(Some);
        }
        let n = match opt {
            ZMQ_AFFINITY => put_bytes_exact(out, &self.affinity.to_ne_bytes())?,
            ZMQ_MAXMSGSIZE => put_bytes_exact(out, &self.maxmsgsize.to_ne_bytes())?,
            ZMQ_ROUTING_ID => put_bytes(out, &self.routing_id)?,
            ZMQ_IPV4ONLY => put_int(out, 1 - self.ipv6)?,
            ZMQ_ZAP_DOMAIN => put_cstr(out, &self.zap_domain)?,
            ZMQ_BINDTODEVICE => put_cstr(out, &self.bindtodevice)?,
            ZMQ_MECHANISM => put_int(out, 0)?,
            ZMQ_PLAIN_SERVER | ZMQ_CURVE_SERVER | ZMQ_GSSAPI_SERVER => put_int(out, 0)?,
            ZMQ_PLAIN_USERNAME | ZMQ_PLAIN_PASSWORD | ZMQ_SOCKS_PROXY => put_cstr(out, b"")?,
            _ => return Ok(None),
        };
        Ok(Some(n))
    }
}

struct IntOption {
    id: i32,
    min: i32,
    max: i32,
    field: fn(&mut Options) -> &mut i32,
}

const MAX: i32 = i32::MAX;

/// The integer options: id, accepted range, field.
#[rustfmt::skip]
static INT_OPTIONS: &[IntOption] = &[
    IntOption { id: ZMQ_SNDHWM, min: 0, max: MAX, field: |o| &mut o.sndhwm },
    IntOption { id: ZMQ_RCVHWM, min: 0, max: MAX, field: |o| &mut o.rcvhwm },
    IntOption { id: ZMQ_RATE, min: 1, max: MAX, field: |o| &mut o.rate },
    IntOption { id: ZMQ_RECOVERY_IVL, min: 0, max: MAX, field: |o| &mut o.recovery_ivl },
    IntOption { id: ZMQ_SNDBUF, min: -1, max: MAX, field: |o| &mut o.sndbuf },
    IntOption { id: ZMQ_RCVBUF, min: -1, max: MAX, field: |o| &mut o.rcvbuf },
    IntOption { id: ZMQ_LINGER, min: -1, max: MAX, field: |o| &mut o.linger },
    IntOption { id: ZMQ_RECONNECT_IVL, min: -1, max: MAX, field: |o| &mut o.reconnect_ivl },
    IntOption { id: ZMQ_RECONNECT_IVL_MAX, min: 0, max: MAX, field: |o| &mut o.reconnect_ivl_max },
    IntOption { id: ZMQ_BACKLOG, min: 0, max: MAX, field: |o| &mut o.backlog },
    IntOption { id: ZMQ_MULTICAST_HOPS, min: 1, max: MAX, field: |o| &mut o.multicast_hops },
    IntOption { id: ZMQ_RCVTIMEO, min: -1, max: MAX, field: |o| &mut o.rcvtimeo },
    IntOption { id: ZMQ_SNDTIMEO, min: -1, max: MAX, field: |o| &mut o.sndtimeo },
    IntOption { id: ZMQ_IPV6, min: 0, max: 1, field: |o| &mut o.ipv6 },
    IntOption { id: ZMQ_IMMEDIATE, min: 0, max: 1, field: |o| &mut o.immediate },
    IntOption { id: ZMQ_TCP_KEEPALIVE, min: -1, max: 1, field: |o| &mut o.tcp_keepalive },
    IntOption { id: ZMQ_TCP_KEEPALIVE_CNT, min: -1, max: MAX, field: |o| &mut o.tcp_keepalive_cnt },
    IntOption { id: ZMQ_TCP_KEEPALIVE_IDLE, min: -1, max: MAX, field: |o| &mut o.tcp_keepalive_idle },
    IntOption { id: ZMQ_TCP_KEEPALIVE_INTVL, min: -1, max: MAX, field: |o| &mut o.tcp_keepalive_intvl },
    IntOption { id: ZMQ_TOS, min: 0, max: MAX, field: |o| &mut o.tos },
    IntOption { id: ZMQ_HANDSHAKE_IVL, min: 0, max: MAX, field: |o| &mut o.handshake_ivl },
    IntOption { id: ZMQ_HEARTBEAT_IVL, min: 0, max: MAX, field: |o| &mut o.heartbeat_ivl },
    IntOption { id: ZMQ_HEARTBEAT_TTL, min: 0, max: 6_553_599, field: |o| &mut o.heartbeat_ttl },
    IntOption { id: ZMQ_HEARTBEAT_TIMEOUT, min: 0, max: MAX, field: |o| &mut o.heartbeat_timeout },
    IntOption { id: ZMQ_CONNECT_TIMEOUT, min: 0, max: MAX, field: |o| &mut o.connect_timeout },
    IntOption { id: ZMQ_TCP_MAXRT, min: 0, max: MAX, field: |o| &mut o.tcp_maxrt },
    IntOption { id: ZMQ_CONFLATE, min: 0, max: 1, field: |o| &mut o.conflate },
    IntOption { id: ZMQ_MULTICAST_MAXTPDU, min: 1, max: MAX, field: |o| &mut o.multicast_maxtpdu },
    IntOption { id: ZMQ_USE_FD, min: -1, max: MAX, field: |o| &mut o.use_fd },
    IntOption { id: ZMQ_IN_BATCH_SIZE, min: 1, max: MAX, field: |o| &mut o.in_batch_size },
    IntOption { id: ZMQ_OUT_BATCH_SIZE, min: 1, max: MAX, field: |o| &mut o.out_batch_size },
    IntOption { id: ZMQ_INVERT_MATCHING, min: 0, max: 1, field: |o| &mut o.invert_matching },
];

/// An `int` option value: exactly `sizeof(int)` bytes.
pub fn int_arg(val: &[u8]) -> Result<i32> {
    let b: [u8; 4] = val.try_into().map_err(|_| Error::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// A boolean `int` option (any non-zero is true, as libzmq accepts).
pub fn bool_arg(val: &[u8]) -> Result<bool> {
    Ok(int_arg(val)? != 0)
}

fn i64_arg(val: &[u8]) -> Result<i64> {
    let b: [u8; 8] = val.try_into().map_err(|_| Error::EINVAL)?;
    Ok(i64::from_ne_bytes(b))
}

fn u64_arg(val: &[u8]) -> Result<u64> {
    let b: [u8; 8] = val.try_into().map_err(|_| Error::EINVAL)?;
    Ok(u64::from_ne_bytes(b))
}

/// Writes an `int`; the buffer must be at least `sizeof(int)`.
pub fn put_int(out: &mut [u8], v: i32) -> Result<usize> {
    if out.len() < 4 {
        return Err(Error::EINVAL);
    }
    out[..4].copy_from_slice(&v.to_ne_bytes());
    Ok(4)
}

fn put_bytes_exact(out: &mut [u8], v: &[u8]) -> Result<usize> {
    if out.len() < v.len() {
        return Err(Error::EINVAL);
    }
    out[..v.len()].copy_from_slice(v);
    Ok(v.len())
}

/// Writes binary data; EINVAL if it does not fit.
pub fn put_bytes(out: &mut [u8], v: &[u8]) -> Result<usize> {
    put_bytes_exact(out, v)
}

/// Writes a NUL-terminated string; the length reported includes the NUL, as libzmq does.
pub fn put_cstr(out: &mut [u8], v: &[u8]) -> Result<usize> {
    if out.len() < v.len() + 1 {
        return Err(Error::EINVAL);
    }
    out[..v.len()].copy_from_slice(v);
    out[v.len()] = 0;
    Ok(v.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_options_validate_size_and_range() {
        let mut o = Options::new(0);
        assert_eq!(o.set(ZMQ_SNDHWM, &5i32.to_ne_bytes()), Ok(true));
        assert_eq!(o.sndhwm, 5);
        assert_eq!(o.set(ZMQ_SNDHWM, &5i64.to_ne_bytes()), Err(Error::EINVAL));
        assert_eq!(
            o.set(ZMQ_SNDHWM, &(-1i32).to_ne_bytes()),
            Err(Error::EINVAL)
        );
        assert_eq!(o.set(ZMQ_LINGER, &(-1i32).to_ne_bytes()), Ok(true));
        assert_eq!(o.set(9999, &0i32.to_ne_bytes()), Ok(false));
        let mut buf = [0u8; 4];
        assert_eq!(o.get(ZMQ_SNDHWM, &mut buf), Ok(Some(4)));
        assert_eq!(i32::from_ne_bytes(buf), 5);
        assert_eq!(o.get(ZMQ_SNDHWM, &mut buf[..2]), Err(Error::EINVAL));
    }

    #[test]
    fn routing_id_rules() {
        let mut o = Options::new(0);
        assert_eq!(o.set(ZMQ_ROUTING_ID, b""), Err(Error::EINVAL));
        assert_eq!(o.set(ZMQ_ROUTING_ID, b"\0abc"), Err(Error::EINVAL));
        assert_eq!(o.set(ZMQ_ROUTING_ID, &[1u8; 256]), Err(Error::EINVAL));
        assert_eq!(o.set(ZMQ_ROUTING_ID, b"peer"), Ok(true));
        let mut buf = [0u8; 255];
        assert_eq!(o.get(ZMQ_ROUTING_ID, &mut buf), Ok(Some(4)));
    }
}

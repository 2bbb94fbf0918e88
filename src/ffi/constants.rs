//! Every constant of libzmq 4.3.5's `zmq.h`, with the same names and values.
//!
//! `build.rs` turns this file into the `#define`s of `include/zmq.h` with cbindgen: keep it to
//! plain `pub const NAME: c_int = value;` items (an expression of other constants is fine and
//! stays symbolic in C, as `ZMQ_XREQ ZMQ_DEALER` does in libzmq). A `// Title` comment line
//! directly above a constant starts a titled group in the header. The `draft` module holds what
//! libzmq only declares under `ZMQ_BUILD_DRAFT_API`; build.rs sets `cfg(zmq_draft)` so that Rust
//! always has them, and cbindgen wraps them in that `#ifdef`.
//!
//! Not emitted by cbindgen (written as text by `cbindgen.toml` instead): `ZMQ_HAUSNUMERO` and the
//! `#ifndef ENOTSUP`-style errno fallbacks (on Linux `<errno.h>` wins, so Rust re-exports libc's),
//! the `ZMQ_MAKE_VERSION`/`ZMQ_VERSION` macros and the `ZMQ_HAVE_*` flags. String constants
//! (`&CStr`) are emitted by build.rs itself, cbindgen has no C form for them.

#![allow(non_upper_case_globals)]

#[allow(unused_imports)]
use std::ffi::CStr;

use libc::c_int;

// Version macros for compile-time API version detection
pub const ZMQ_VERSION_MAJOR: c_int = 4;
pub const ZMQ_VERSION_MINOR: c_int = 3;
pub const ZMQ_VERSION_PATCH: c_int = 5;
/// `ZMQ_MAKE_VERSION(ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH)`.
pub const ZMQ_VERSION: c_int =
    ZMQ_VERSION_MAJOR * 10000 + ZMQ_VERSION_MINOR * 100 + ZMQ_VERSION_PATCH;

/// Base of the codes of errors that have no POSIX errno (`crate::core::error` owns the values).
pub const ZMQ_HAUSNUMERO: c_int = crate::core::error::ZMQ_HAUSNUMERO;

/// The POSIX codes libzmq reports. Its header only defines them (as `ZMQ_HAUSNUMERO + n`) on
/// systems whose `<errno.h>` lacks them; on Linux these are the values C programs see.
pub use libc::{
    EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, ECONNABORTED, ECONNREFUSED, ECONNRESET, EHOSTUNREACH,
    EINPROGRESS, EMSGSIZE, ENETDOWN, ENETRESET, ENETUNREACH, ENOBUFS, ENOTCONN, ENOTSOCK, ENOTSUP,
    EPROTONOSUPPORT, ETIMEDOUT,
};

// Native 0MQ error codes
pub const EFSM: c_int = ZMQ_HAUSNUMERO + 51;
pub const ENOCOMPATPROTO: c_int = ZMQ_HAUSNUMERO + 52;
pub const ETERM: c_int = ZMQ_HAUSNUMERO + 53;
pub const EMTHREAD: c_int = ZMQ_HAUSNUMERO + 54;

// Context options
pub const ZMQ_IO_THREADS: c_int = 1;
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_SOCKET_LIMIT: c_int = 3;
pub const ZMQ_THREAD_PRIORITY: c_int = 3;
pub const ZMQ_THREAD_SCHED_POLICY: c_int = 4;
pub const ZMQ_MAX_MSGSZ: c_int = 5;
pub const ZMQ_MSG_T_SIZE: c_int = 6;
pub const ZMQ_THREAD_AFFINITY_CPU_ADD: c_int = 7;
pub const ZMQ_THREAD_AFFINITY_CPU_REMOVE: c_int = 8;
pub const ZMQ_THREAD_NAME_PREFIX: c_int = 9;

// Default for new contexts
pub const ZMQ_IO_THREADS_DFLT: c_int = 1;
pub const ZMQ_MAX_SOCKETS_DFLT: c_int = 1023;
pub const ZMQ_THREAD_PRIORITY_DFLT: c_int = -1;
pub const ZMQ_THREAD_SCHED_POLICY_DFLT: c_int = -1;

// Socket types
pub const ZMQ_PAIR: c_int = 0;
pub const ZMQ_PUB: c_int = 1;
pub const ZMQ_SUB: c_int = 2;
pub const ZMQ_REQ: c_int = 3;
pub const ZMQ_REP: c_int = 4;
pub const ZMQ_DEALER: c_int = 5;
pub const ZMQ_ROUTER: c_int = 6;
pub const ZMQ_PULL: c_int = 7;
pub const ZMQ_PUSH: c_int = 8;
pub const ZMQ_XPUB: c_int = 9;
pub const ZMQ_XSUB: c_int = 10;
pub const ZMQ_STREAM: c_int = 11;

// Deprecated socket type aliases
pub const ZMQ_XREQ: c_int = ZMQ_DEALER;
pub const ZMQ_XREP: c_int = ZMQ_ROUTER;

// Socket options
pub const ZMQ_AFFINITY: c_int = 4;
pub const ZMQ_ROUTING_ID: c_int = 5;
pub const ZMQ_SUBSCRIBE: c_int = 6;
pub const ZMQ_UNSUBSCRIBE: c_int = 7;
pub const ZMQ_RATE: c_int = 8;
pub const ZMQ_RECOVERY_IVL: c_int = 9;
pub const ZMQ_SNDBUF: c_int = 11;
pub const ZMQ_RCVBUF: c_int = 12;
pub const ZMQ_RCVMORE: c_int = 13;
pub const ZMQ_FD: c_int = 14;
pub const ZMQ_EVENTS: c_int = 15;
pub const ZMQ_TYPE: c_int = 16;
pub const ZMQ_LINGER: c_int = 17;
pub const ZMQ_RECONNECT_IVL: c_int = 18;
pub const ZMQ_BACKLOG: c_int = 19;
pub const ZMQ_RECONNECT_IVL_MAX: c_int = 21;
pub const ZMQ_MAXMSGSIZE: c_int = 22;
pub const ZMQ_SNDHWM: c_int = 23;
pub const ZMQ_RCVHWM: c_int = 24;
pub const ZMQ_MULTICAST_HOPS: c_int = 25;
pub const ZMQ_RCVTIMEO: c_int = 27;
pub const ZMQ_SNDTIMEO: c_int = 28;
pub const ZMQ_LAST_ENDPOINT: c_int = 32;
pub const ZMQ_ROUTER_MANDATORY: c_int = 33;
pub const ZMQ_TCP_KEEPALIVE: c_int = 34;
pub const ZMQ_TCP_KEEPALIVE_CNT: c_int = 35;
pub const ZMQ_TCP_KEEPALIVE_IDLE: c_int = 36;
pub const ZMQ_TCP_KEEPALIVE_INTVL: c_int = 37;
pub const ZMQ_IMMEDIATE: c_int = 39;
pub const ZMQ_XPUB_VERBOSE: c_int = 40;
pub const ZMQ_ROUTER_RAW: c_int = 41;
pub const ZMQ_IPV6: c_int = 42;
pub const ZMQ_MECHANISM: c_int = 43;
pub const ZMQ_PLAIN_SERVER: c_int = 44;
pub const ZMQ_PLAIN_USERNAME: c_int = 45;
pub const ZMQ_PLAIN_PASSWORD: c_int = 46;
pub const ZMQ_CURVE_SERVER: c_int = 47;
pub const ZMQ_CURVE_PUBLICKEY: c_int = 48;
pub const ZMQ_CURVE_SECRETKEY: c_int = 49;
pub const ZMQ_CURVE_SERVERKEY: c_int = 50;
pub const ZMQ_PROBE_ROUTER: c_int = 51;
pub const ZMQ_REQ_CORRELATE: c_int = 52;
pub const ZMQ_REQ_RELAXED: c_int = 53;
pub const ZMQ_CONFLATE: c_int = 54;
pub const ZMQ_ZAP_DOMAIN: c_int = 55;
pub const ZMQ_ROUTER_HANDOVER: c_int = 56;
pub const ZMQ_TOS: c_int = 57;
pub const ZMQ_CONNECT_ROUTING_ID: c_int = 61;
pub const ZMQ_GSSAPI_SERVER: c_int = 62;
pub const ZMQ_GSSAPI_PRINCIPAL: c_int = 63;
pub const ZMQ_GSSAPI_SERVICE_PRINCIPAL: c_int = 64;
pub const ZMQ_GSSAPI_PLAINTEXT: c_int = 65;
pub const ZMQ_HANDSHAKE_IVL: c_int = 66;
pub const ZMQ_SOCKS_PROXY: c_int = 68;
pub const ZMQ_XPUB_NODROP: c_int = 69;
pub const ZMQ_BLOCKY: c_int = 70;
pub const ZMQ_XPUB_MANUAL: c_int = 71;
pub const ZMQ_XPUB_WELCOME_MSG: c_int = 72;
pub const ZMQ_STREAM_NOTIFY: c_int = 73;
pub const ZMQ_INVERT_MATCHING: c_int = 74;
pub const ZMQ_HEARTBEAT_IVL: c_int = 75;
pub const ZMQ_HEARTBEAT_TTL: c_int = 76;
pub const ZMQ_HEARTBEAT_TIMEOUT: c_int = 77;
pub const ZMQ_XPUB_VERBOSER: c_int = 78;
pub const ZMQ_CONNECT_TIMEOUT: c_int = 79;
pub const ZMQ_TCP_MAXRT: c_int = 80;
pub const ZMQ_THREAD_SAFE: c_int = 81;
pub const ZMQ_MULTICAST_MAXTPDU: c_int = 84;
pub const ZMQ_VMCI_BUFFER_SIZE: c_int = 85;
pub const ZMQ_VMCI_BUFFER_MIN_SIZE: c_int = 86;
pub const ZMQ_VMCI_BUFFER_MAX_SIZE: c_int = 87;
pub const ZMQ_VMCI_CONNECT_TIMEOUT: c_int = 88;
pub const ZMQ_USE_FD: c_int = 89;
pub const ZMQ_GSSAPI_PRINCIPAL_NAMETYPE: c_int = 90;
pub const ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE: c_int = 91;
pub const ZMQ_BINDTODEVICE: c_int = 92;

// Message properties (zmq_msg_get)
pub const ZMQ_MORE: c_int = 1;
pub const ZMQ_SHARED: c_int = 3;

// Send/recv flags
pub const ZMQ_DONTWAIT: c_int = 1;
pub const ZMQ_SNDMORE: c_int = 2;

// Security mechanisms
pub const ZMQ_NULL: c_int = 0;
pub const ZMQ_PLAIN: c_int = 1;
pub const ZMQ_CURVE: c_int = 2;
pub const ZMQ_GSSAPI: c_int = 3;

// RADIO-DISH protocol
pub const ZMQ_GROUP_MAX_LENGTH: c_int = 255;

// Deprecated options and aliases
pub const ZMQ_IDENTITY: c_int = ZMQ_ROUTING_ID;
pub const ZMQ_CONNECT_RID: c_int = ZMQ_CONNECT_ROUTING_ID;
pub const ZMQ_TCP_ACCEPT_FILTER: c_int = 38;
pub const ZMQ_IPC_FILTER_PID: c_int = 58;
pub const ZMQ_IPC_FILTER_UID: c_int = 59;
pub const ZMQ_IPC_FILTER_GID: c_int = 60;
pub const ZMQ_IPV4ONLY: c_int = 31;
pub const ZMQ_DELAY_ATTACH_ON_CONNECT: c_int = ZMQ_IMMEDIATE;
pub const ZMQ_NOBLOCK: c_int = ZMQ_DONTWAIT;
pub const ZMQ_FAIL_UNROUTABLE: c_int = ZMQ_ROUTER_MANDATORY;
pub const ZMQ_ROUTER_BEHAVIOR: c_int = ZMQ_ROUTER_MANDATORY;

// Deprecated message properties
pub const ZMQ_SRCFD: c_int = 2;

// GSSAPI principal name types
pub const ZMQ_GSSAPI_NT_HOSTBASED: c_int = 0;
pub const ZMQ_GSSAPI_NT_USER_NAME: c_int = 1;
pub const ZMQ_GSSAPI_NT_KRB5_PRINCIPAL: c_int = 2;

// Socket transport events (zmq_socket_monitor)
pub const ZMQ_EVENT_CONNECTED: c_int = 0x0001;
pub const ZMQ_EVENT_CONNECT_DELAYED: c_int = 0x0002;
pub const ZMQ_EVENT_CONNECT_RETRIED: c_int = 0x0004;
pub const ZMQ_EVENT_LISTENING: c_int = 0x0008;
pub const ZMQ_EVENT_BIND_FAILED: c_int = 0x0010;
pub const ZMQ_EVENT_ACCEPTED: c_int = 0x0020;
pub const ZMQ_EVENT_ACCEPT_FAILED: c_int = 0x0040;
pub const ZMQ_EVENT_CLOSED: c_int = 0x0080;
pub const ZMQ_EVENT_CLOSE_FAILED: c_int = 0x0100;
pub const ZMQ_EVENT_DISCONNECTED: c_int = 0x0200;
pub const ZMQ_EVENT_MONITOR_STOPPED: c_int = 0x0400;
pub const ZMQ_EVENT_ALL: c_int = 0xFFFF;

pub const ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: c_int = 0x0800;
pub const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: c_int = 0x1000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: c_int = 0x2000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: c_int = 0x4000;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: c_int = 0x10000000;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: c_int = 0x10000001;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: c_int = 0x10000002;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: c_int = 0x10000003;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: c_int = 0x10000011;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE: c_int = 0x10000012;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO: c_int = 0x10000013;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE: c_int = 0x10000014;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: c_int = 0x10000015;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: c_int = 0x10000016;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME: c_int = 0x10000017;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: c_int = 0x10000018;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: c_int = 0x11000001;
pub const ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: c_int = 0x11000002;
pub const ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED: c_int = 0x20000000;
pub const ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: c_int = 0x20000001;
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: c_int = 0x20000002;
pub const ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION: c_int = 0x20000003;
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: c_int = 0x20000004;
pub const ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: c_int = 0x20000005;
pub const ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED: c_int = 0x30000000;

// zmq_poll event flags (zmq_pollitem_t events / revents)
pub const ZMQ_POLLIN: c_int = 1;
pub const ZMQ_POLLOUT: c_int = 2;
pub const ZMQ_POLLERR: c_int = 4;
pub const ZMQ_POLLPRI: c_int = 8;
pub const ZMQ_POLLITEMS_DFLT: c_int = 16;

// Probe library capabilities
pub const ZMQ_HAS_CAPABILITIES: c_int = 1;

// Deprecated zmq_device types
pub const ZMQ_STREAMER: c_int = 1;
pub const ZMQ_FORWARDER: c_int = 2;
pub const ZMQ_QUEUE: c_int = 3;

#[cfg(zmq_draft)]
pub use draft::*;

/// The draft API: declared in `zmq.h` only under `#ifdef ZMQ_BUILD_DRAFT_API`.
#[cfg(zmq_draft)]
mod draft {
    use super::*;

    // DRAFT Socket types
    pub const ZMQ_SERVER: c_int = 12;
    pub const ZMQ_CLIENT: c_int = 13;
    pub const ZMQ_RADIO: c_int = 14;
    pub const ZMQ_DISH: c_int = 15;
    pub const ZMQ_GATHER: c_int = 16;
    pub const ZMQ_SCATTER: c_int = 17;
    pub const ZMQ_DGRAM: c_int = 18;
    pub const ZMQ_PEER: c_int = 19;
    pub const ZMQ_CHANNEL: c_int = 20;

    // DRAFT Socket options
    pub const ZMQ_ZAP_ENFORCE_DOMAIN: c_int = 93;
    pub const ZMQ_LOOPBACK_FASTPATH: c_int = 94;
    pub const ZMQ_METADATA: c_int = 95;
    pub const ZMQ_MULTICAST_LOOP: c_int = 96;
    pub const ZMQ_ROUTER_NOTIFY: c_int = 97;
    pub const ZMQ_XPUB_MANUAL_LAST_VALUE: c_int = 98;
    pub const ZMQ_SOCKS_USERNAME: c_int = 99;
    pub const ZMQ_SOCKS_PASSWORD: c_int = 100;
    pub const ZMQ_IN_BATCH_SIZE: c_int = 101;
    pub const ZMQ_OUT_BATCH_SIZE: c_int = 102;
    pub const ZMQ_WSS_KEY_PEM: c_int = 103;
    pub const ZMQ_WSS_CERT_PEM: c_int = 104;
    pub const ZMQ_WSS_TRUST_PEM: c_int = 105;
    pub const ZMQ_WSS_HOSTNAME: c_int = 106;
    pub const ZMQ_WSS_TRUST_SYSTEM: c_int = 107;
    pub const ZMQ_ONLY_FIRST_SUBSCRIBE: c_int = 108;
    pub const ZMQ_RECONNECT_STOP: c_int = 109;
    pub const ZMQ_HELLO_MSG: c_int = 110;
    pub const ZMQ_DISCONNECT_MSG: c_int = 111;
    pub const ZMQ_PRIORITY: c_int = 112;
    pub const ZMQ_BUSY_POLL: c_int = 113;
    pub const ZMQ_HICCUP_MSG: c_int = 114;
    pub const ZMQ_XSUB_VERBOSE_UNSUBSCRIBE: c_int = 115;
    pub const ZMQ_TOPICS_COUNT: c_int = 116;
    pub const ZMQ_NORM_MODE: c_int = 117;
    pub const ZMQ_NORM_UNICAST_NACK: c_int = 118;
    pub const ZMQ_NORM_BUFFER_SIZE: c_int = 119;
    pub const ZMQ_NORM_SEGMENT_SIZE: c_int = 120;
    pub const ZMQ_NORM_BLOCK_SIZE: c_int = 121;
    pub const ZMQ_NORM_NUM_PARITY: c_int = 122;
    pub const ZMQ_NORM_NUM_AUTOPARITY: c_int = 123;
    pub const ZMQ_NORM_PUSH: c_int = 124;

    // DRAFT ZMQ_NORM_MODE options
    pub const ZMQ_NORM_FIXED: c_int = 0;
    pub const ZMQ_NORM_CC: c_int = 1;
    pub const ZMQ_NORM_CCL: c_int = 2;
    pub const ZMQ_NORM_CCE: c_int = 3;
    pub const ZMQ_NORM_CCE_ECNONLY: c_int = 4;

    // DRAFT ZMQ_RECONNECT_STOP options
    pub const ZMQ_RECONNECT_STOP_CONN_REFUSED: c_int = 0x1;
    pub const ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED: c_int = 0x2;
    pub const ZMQ_RECONNECT_STOP_AFTER_DISCONNECT: c_int = 0x4;

    // DRAFT Context options
    pub const ZMQ_ZERO_COPY_RECV: c_int = 10;

    // DRAFT Msg property names
    pub const ZMQ_MSG_PROPERTY_ROUTING_ID: &CStr = c"Routing-Id";
    pub const ZMQ_MSG_PROPERTY_SOCKET_TYPE: &CStr = c"Socket-Type";
    pub const ZMQ_MSG_PROPERTY_USER_ID: &CStr = c"User-Id";
    pub const ZMQ_MSG_PROPERTY_PEER_ADDRESS: &CStr = c"Peer-Address";

    // Router notify options
    pub const ZMQ_NOTIFY_CONNECT: c_int = 1;
    pub const ZMQ_NOTIFY_DISCONNECT: c_int = 2;

    // DRAFT Socket monitoring events
    pub const ZMQ_EVENT_PIPES_STATS: c_int = 0x10000;
    pub const ZMQ_CURRENT_EVENT_VERSION: c_int = 1;
    pub const ZMQ_CURRENT_EVENT_VERSION_DRAFT: c_int = 2;
    pub const ZMQ_EVENT_ALL_V1: c_int = ZMQ_EVENT_ALL;
    pub const ZMQ_EVENT_ALL_V2: c_int = ZMQ_EVENT_ALL_V1 | ZMQ_EVENT_PIPES_STATS;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error;

    #[test]
    fn native_error_codes_mirror_core() {
        assert_eq!(ZMQ_HAUSNUMERO, 156_384_712);
        assert_eq!(EFSM, error::EFSM);
        assert_eq!(ENOCOMPATPROTO, error::ENOCOMPATPROTO);
        assert_eq!(ETERM, error::ETERM);
        assert_eq!(EMTHREAD, error::EMTHREAD);
        assert_eq!(ENOTSUP, 95);
    }

    #[test]
    fn aliases_and_composites() {
        assert_eq!(ZMQ_VERSION, 40305);
        assert_eq!(ZMQ_XREQ, ZMQ_DEALER);
        assert_eq!(ZMQ_XREP, ZMQ_ROUTER);
        assert_eq!(ZMQ_IDENTITY, ZMQ_ROUTING_ID);
        assert_eq!(ZMQ_NOBLOCK, ZMQ_DONTWAIT);
        assert_eq!(ZMQ_DELAY_ATTACH_ON_CONNECT, 39);
        assert_eq!(ZMQ_ROUTER_BEHAVIOR, 33);
        assert_eq!(ZMQ_THREAD_PRIORITY, ZMQ_SOCKET_LIMIT);
        assert_eq!(ZMQ_EVENT_ALL_V2, 0x1ffff);
        assert_eq!(ZMQ_MSG_PROPERTY_ROUTING_ID, c"Routing-Id");
    }
}

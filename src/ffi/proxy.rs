//! zmq_proxy, zmq_proxy_steerable and the deprecated zmq_device (the loop is core::proxy).

use super::guard_int;
use crate::core::proxy::run;
use libc::{c_int, c_void};

/// # Safety
/// The arguments must be live sockets (capture may be NULL).
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
) -> c_int {
    guard_int(|| run(frontend, backend, capture, std::ptr::null_mut()))
}

/// # Safety
/// The arguments must be live sockets (capture and control may be NULL).
#[no_mangle]
pub unsafe extern "C" fn zmq_proxy_steerable(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    guard_int(|| run(frontend, backend, capture, control))
}

/// The deprecated device API: a proxy without capture.
///
/// # Safety
/// As `zmq_proxy`.
#[no_mangle]
pub unsafe extern "C" fn zmq_device(
    type_: c_int,
    frontend: *mut c_void,
    backend: *mut c_void,
) -> c_int {
    let _ = type_;
    zmq_proxy(frontend, backend, std::ptr::null_mut())
}

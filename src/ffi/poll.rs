//! zmq_poll: the C poll items are polled in place by `core::poll`.

use super::guard_int;
use super::types::zmq_pollitem_t;
use crate::core::error::Error;
use crate::core::poll::{poll, PollSlot};
use libc::{c_int, c_long, c_void};

impl PollSlot for zmq_pollitem_t {
    fn socket(&self) -> *mut c_void {
        self.socket
    }
    fn fd(&self) -> i32 {
        self.fd
    }
    fn events(&self) -> i16 {
        self.events
    }
    fn set_revents(&mut self, revents: i16) {
        self.revents = revents;
    }
}

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
        let items: &mut [zmq_pollitem_t] = if nitems == 0 {
            &mut []
        } else if items.is_null() {
            return Err(Error::EFAULT);
        } else {
            std::slice::from_raw_parts_mut(items, nitems as usize)
        };
        // c_long is i64 here but i32 on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        let timeout = timeout as i64;
        poll(items, timeout).map(|n| n as c_int)
    })
}

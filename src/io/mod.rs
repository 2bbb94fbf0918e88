//! I/O threads. Each runs one mio reactor that owns listeners and sessions (one per tcp/ipc
//! connection or connect endpoint) and only moves bytes: from the socket into the ZMTP codec
//! and the kernel, and back. Sockets reach it through a mailbox woken on empty-to-non-empty.

mod reactor;
mod readahead;
mod session;
mod wire;

use crate::core::mailbox::Mailbox;
use crate::core::options::Options;
use crate::core::pipe::{PipeEnd, PipeEvent, PipeListener};
use crate::core::socket::SocketShared;
use crate::transport::{Endpoint, Listener};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a session needs to know of the socket it serves (copied at bind/connect time).
#[derive(Clone)]
pub struct SessionConfig {
    pub socket: Arc<SocketShared>,
    pub options: Options,
    /// The endpoint as the socket knows it (for unbind/disconnect).
    pub endpoint: Arc<str>,
    /// The socket wants each pipe to start with the peer's routing id.
    pub wants_routing_id: bool,
    /// The socket type's name in the ZMTP handshake.
    pub zmtp_name: &'static str,
    /// Raw bytes instead of ZMTP (STREAM sockets); implies a pipe per connection.
    pub raw: bool,
    /// ZMQ_CONFLATE applies to what the socket sends (the session's reading side).
    pub conflate_out: bool,
}

pub enum IoCmd {
    Listen {
        object: u64,
        listener: Listener,
        config: SessionConfig,
    },
    Connect {
        object: u64,
        endpoint: Endpoint,
        /// The socket's pipe, created at connect time unless ZMQ_IMMEDIATE.
        pipe: Option<PipeEnd>,
        config: SessionConfig,
    },
    /// Unbind / disconnect / socket close: stop the object (sessions linger).
    Close { object: u64 },
    /// A pipe owned by the object in slot `.0` changed.
    Pipe(usize, PipeEvent),
    /// Context termination: exit once every lingering session is done.
    Stop,
}

pub(crate) type IoMailbox = Mailbox<IoCmd, mio::Waker>;

/// Wakes an I/O thread's object when one of its pipes changes.
pub(crate) struct IoPipeListener(pub Arc<IoMailbox>);

impl PipeListener for IoPipeListener {
    fn pipe_event(&self, token: usize, event: PipeEvent) {
        self.0.send(IoCmd::Pipe(token, event));
    }
}

/// How I/O threads are started (ZMQ_THREAD_* context options; -1 / empty = leave alone).
#[derive(Clone, Debug, Default)]
pub struct ThreadSetup {
    pub name_prefix: i32,
    pub cpus: Vec<i32>,
    pub policy: i32,
    pub priority: i32,
}

impl ThreadSetup {
    fn name(&self, index: usize) -> String {
        if self.name_prefix >= 0 {
            format!("{}/ZMQbg/IO/{index}", self.name_prefix)
        } else {
            format!("ZMQbg/IO/{index}")
        }
    }

    /// Applies affinity and scheduling to the calling thread; failures are ignored, as libzmq
    /// does when the process lacks the privilege.
    fn apply(&self) {
        crate::core::threads::block_signals();
        // SAFETY: plain syscalls on the calling thread with initialised arguments.
        unsafe {
            if !self.cpus.is_empty() {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                for &c in &self.cpus {
                    if (0..libc::CPU_SETSIZE).contains(&c) {
                        libc::CPU_SET(c as usize, &mut set);
                    }
                }
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            if self.policy >= 0 || self.priority >= 0 {
                let mut policy = 0;
                let mut param: libc::sched_param = std::mem::zeroed();
                libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param);
                if self.policy >= 0 {
                    policy = self.policy;
                }
                if self.priority >= 0 {
                    param.sched_priority = self.priority;
                }
                libc::pthread_setschedparam(libc::pthread_self(), policy, &param);
            }
        }
    }
}

pub struct IoThread {
    mailbox: Arc<IoMailbox>,
    handle: JoinHandle<()>,
}

impl IoThread {
    pub fn spawn(index: usize, setup: ThreadSetup) -> std::io::Result<IoThread> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), reactor::WAKER)?;
        let mailbox = Arc::new(Mailbox::new(waker));
        let mb = mailbox.clone();
        let handle = std::thread::Builder::new()
            .name(setup.name(index))
            .spawn(move || {
                setup.apply();
                reactor::Reactor::new(poll, mb).run()
            })?;
        Ok(IoThread { mailbox, handle })
    }

    pub fn send(&self, cmd: IoCmd) {
        self.mailbox.send(cmd);
    }

    pub fn join(self) {
        let _ = self.handle.join();
    }
}

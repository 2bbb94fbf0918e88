//! The context: I/O threads (started with the first socket), the registry of open sockets
//! (for termination), and the inproc endpoint directory.

use super::error::{Error, Result};
use super::msg::{Msg, ROUTING_ID};
use super::options::Options;
use super::pipe::{pipe_pair, PipeEnd};
use super::socket::{Cmd, Socket, SocketShared};
use crate::io::{IoCmd, IoThread, ThreadSetup};
use crate::pattern;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

pub const ZMQ_IO_THREADS: i32 = 1;
pub const ZMQ_MAX_SOCKETS: i32 = 2;
pub const ZMQ_SOCKET_LIMIT: i32 = 3;
pub const ZMQ_THREAD_PRIORITY: i32 = 3;
pub const ZMQ_THREAD_SCHED_POLICY: i32 = 4;
pub const ZMQ_MAX_MSGSZ: i32 = 5;
pub const ZMQ_MSG_T_SIZE: i32 = 6;
pub const ZMQ_THREAD_AFFINITY_CPU_ADD: i32 = 7;
pub const ZMQ_THREAD_AFFINITY_CPU_REMOVE: i32 = 8;
pub const ZMQ_THREAD_NAME_PREFIX: i32 = 9;
pub const ZMQ_IPV6: i32 = 42;
pub const ZMQ_BLOCKY: i32 = 70;

const SOCKET_LIMIT: i32 = 65535;

#[derive(Clone)]
struct CtxOptions {
    io_threads: i32,
    max_sockets: i32,
    max_msgsz: i32,
    ipv6: bool,
    blocky: bool,
    thread_priority: i32,
    thread_sched_policy: i32,
    thread_name_prefix: i32,
    affinity_cpus: Vec<i32>,
}

struct Sockets {
    slots: Vec<Option<Arc<SocketShared>>>,
    count: usize,
}

/// A bound inproc endpoint.
struct InprocPeer {
    socket: Arc<SocketShared>,
    sndhwm: i32,
    rcvhwm: i32,
    routing_id: Vec<u8>,
}

/// A connect made before the matching bind: the binder's end of the pipe waits here.
struct PendingConnect {
    pipe: PipeEnd,
    connector_rcvhwm: i32,
    connector_type: i32,
}

#[derive(Default)]
struct Inproc {
    bound: HashMap<String, InprocPeer>,
    pending: HashMap<String, Vec<PendingConnect>>,
}

pub struct CtxInner {
    opts: Mutex<CtxOptions>,
    io: Mutex<Vec<IoThread>>,
    sockets: Mutex<Sockets>,
    sockets_closed: Condvar,
    terminating: AtomicBool,
    inproc: Mutex<Inproc>,
    next_object: AtomicU64,
    next_thread: AtomicUsize,
}

/// What `zmq_ctx_new` returns a pointer to.
pub struct Ctx {
    magic: u32,
    pub inner: Arc<CtxInner>,
}

const CTX_MAGIC: u32 = 0xABAD_CAFE;

impl Ctx {
    pub fn new() -> Box<Ctx> {
        Box::new(Ctx {
            magic: CTX_MAGIC,
            inner: Arc::new(CtxInner {
                opts: Mutex::new(CtxOptions {
                    io_threads: 1,
                    max_sockets: 1023,
                    max_msgsz: i32::MAX,
                    ipv6: false,
                    blocky: true,
                    thread_priority: -1,
                    thread_sched_policy: -1,
                    thread_name_prefix: -1,
                    affinity_cpus: Vec::new(),
                }),
                io: Mutex::new(Vec::new()),
                sockets: Mutex::new(Sockets {
                    slots: Vec::new(),
                    count: 0,
                }),
                sockets_closed: Condvar::new(),
                terminating: AtomicBool::new(false),
                inproc: Mutex::new(Inproc::default()),
                next_object: AtomicU64::new(1),
                next_thread: AtomicUsize::new(0),
            }),
        })
    }

    /// # Safety
    /// `ptr` must be NULL or point to readable memory (the C caller's contract).
    pub unsafe fn from_ptr<'a>(ptr: *mut libc::c_void) -> Result<&'a Ctx> {
        if ptr.is_null() || (ptr as usize) % std::mem::align_of::<Ctx>() != 0 {
            return Err(Error::EFAULT);
        }
        let c = &*(ptr as *const Ctx);
        if c.magic != CTX_MAGIC {
            return Err(Error::EFAULT);
        }
        Ok(c)
    }

    /// Marks the box dead before it is freed, so a stale pointer is most likely refused.
    pub fn invalidate(&mut self) {
        self.magic = 0;
    }

    pub fn socket(&self, socket_type: i32) -> Result<Box<Socket>> {
        self.inner.create_socket(socket_type)
    }

    /// `zmq_ctx_shutdown`: blocked and future calls on the sockets fail with ETERM.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// `zmq_ctx_term`: shutdown, wait for every socket to be closed, let sessions linger,
    /// stop the I/O threads.
    pub fn terminate(&self) {
        self.inner.shutdown();
        let mut s = self.inner.sockets.lock();
        while s.count > 0 {
            self.inner.sockets_closed.wait(&mut s);
        }
        drop(s);
        let threads = std::mem::take(&mut *self.inner.io.lock());
        for t in &threads {
            t.send(IoCmd::Stop);
        }
        for t in threads {
            t.join();
        }
    }

    pub fn set(&self, opt: i32, val: i32) -> Result<()> {
        let mut o = self.inner.opts.lock();
        match opt {
            ZMQ_IO_THREADS if val >= 0 => o.io_threads = val,
            ZMQ_MAX_SOCKETS if (1..=SOCKET_LIMIT).contains(&val) => o.max_sockets = val,
            ZMQ_MAX_MSGSZ if val >= 0 => o.max_msgsz = val,
            ZMQ_IPV6 if val >= 0 => o.ipv6 = val != 0,
            ZMQ_BLOCKY if val >= 0 => o.blocky = val != 0,
            ZMQ_THREAD_PRIORITY if val >= 0 => o.thread_priority = val,
            ZMQ_THREAD_SCHED_POLICY if val >= 0 => o.thread_sched_policy = val,
            ZMQ_THREAD_NAME_PREFIX if val >= 0 => o.thread_name_prefix = val,
            ZMQ_THREAD_AFFINITY_CPU_ADD if val >= 0 => o.affinity_cpus.push(val),
            ZMQ_THREAD_AFFINITY_CPU_REMOVE if val >= 0 => {
                let before = o.affinity_cpus.len();
                o.affinity_cpus.retain(|&c| c != val);
                if before == o.affinity_cpus.len() {
                    return Err(Error::EINVAL);
                }
            }
            _ => return Err(Error::EINVAL),
        }
        Ok(())
    }

    pub fn get(&self, opt: i32) -> Result<i32> {
        let o = self.inner.opts.lock();
        Ok(match opt {
            ZMQ_IO_THREADS => o.io_threads,
            ZMQ_MAX_SOCKETS => o.max_sockets,
            ZMQ_SOCKET_LIMIT => SOCKET_LIMIT,
            ZMQ_MAX_MSGSZ => o.max_msgsz,
            ZMQ_MSG_T_SIZE => 64,
            ZMQ_IPV6 => o.ipv6 as i32,
            ZMQ_BLOCKY => o.blocky as i32,
            ZMQ_THREAD_SCHED_POLICY => o.thread_sched_policy,
            ZMQ_THREAD_NAME_PREFIX => o.thread_name_prefix,
            _ => return Err(Error::EINVAL),
        })
    }
}

impl CtxInner {
    pub fn blocky(&self) -> bool {
        self.opts.lock().blocky
    }

    pub fn ipv6(&self) -> bool {
        self.opts.lock().ipv6
    }

    fn shutdown(&self) {
        if self.terminating.swap(true, Ordering::SeqCst) {
            return;
        }
        let s = self.sockets.lock();
        for sock in s.slots.iter().flatten() {
            sock.mailbox.send(Cmd::Stop);
        }
    }

    fn create_socket(self: &Arc<Self>, socket_type: i32) -> Result<Box<Socket>> {
        if self.terminating.load(Ordering::SeqCst) {
            return Err(Error::ETERM);
        }
        self.start_io_threads()?;
        let max = self.opts.lock().max_sockets as usize;
        let mut s = self.sockets.lock();
        if s.count >= max {
            return Err(Error::EMFILE);
        }
        let slot = match s.slots.iter().position(|x| x.is_none()) {
            Some(i) => i,
            None => {
                s.slots.push(None);
                s.slots.len() - 1
            }
        };
        let sock = Socket::new(self.clone(), socket_type, slot)?;
        s.slots[slot] = Some(sock.shared.clone());
        s.count += 1;
        Ok(sock)
    }

    pub(crate) fn unregister_socket(&self, slot: usize) {
        let mut s = self.sockets.lock();
        if let Some(x) = s.slots.get_mut(slot) {
            if x.take().is_some() {
                s.count -= 1;
            }
        }
        if s.count == 0 {
            self.sockets_closed.notify_all();
        }
    }

    fn start_io_threads(&self) -> Result<()> {
        let mut io = self.io.lock();
        if !io.is_empty() {
            return Ok(());
        }
        let o = self.opts.lock().clone();
        let setup = ThreadSetup {
            name_prefix: o.thread_name_prefix,
            cpus: o.affinity_cpus.clone(),
            policy: o.thread_sched_policy,
            priority: o.thread_priority,
        };
        for i in 0..o.io_threads.max(1) {
            io.push(IoThread::spawn(i as usize, setup.clone()).map_err(|_| Error::EMTHREAD)?);
        }
        Ok(())
    }

    /// Hands a new object to an I/O thread chosen by `affinity` (a bitmask; 0 = any).
    pub(crate) fn send_to_io(
        &self,
        affinity: u64,
        make: impl FnOnce(u64) -> IoCmd,
    ) -> Result<(usize, u64)> {
        let io = self.io.lock();
        if io.is_empty() {
            return Err(Error::EMTHREAD);
        }
        let n = io.len();
        let thread = (0..n)
            .map(|i| (self.next_thread.fetch_add(1, Ordering::Relaxed) + i) % n)
            .find(|&t| affinity == 0 || (t < 64 && affinity & (1 << t) != 0))
            .unwrap_or(0);
        let object = self.next_object.fetch_add(1, Ordering::Relaxed);
        io[thread].send(make(object));
        Ok((thread, object))
    }

    pub(crate) fn io_command(&self, thread: usize, cmd: IoCmd) {
        if let Some(t) = self.io.lock().get(thread) {
            t.send(cmd);
        }
    }

    // ----- inproc ---------------------------------------------------------------------------

    /// Registers an inproc name; returns the pipes of connects that were waiting for it.
    pub(crate) fn inproc_bind(
        &self,
        name: &str,
        socket: Arc<SocketShared>,
        opts: &Options,
    ) -> Result<Vec<PipeEnd>> {
        if name.is_empty() {
            return Err(Error::EINVAL);
        }
        let mut reg = self.inproc.lock();
        if reg.bound.contains_key(name) {
            return Err(Error::EADDRINUSE);
        }
        reg.bound.insert(
            name.to_string(),
            InprocPeer {
                socket,
                sndhwm: opts.sndhwm,
                rcvhwm: opts.rcvhwm,
                routing_id: opts.routing_id.clone(),
            },
        );
        let pending = reg.pending.remove(name).unwrap_or_default();
        Ok(pending
            .into_iter()
            .map(|mut p| {
                p.pipe.set_hwm(sum_hwm(opts.sndhwm, p.connector_rcvhwm));
                // The connector wrote its routing id first, not knowing who would bind;
                // drop it if we do not route by id.
                if !pattern::wants_routing_id(opts.socket_type) {
                    let _ = p.pipe.read();
                }
                if pattern::wants_routing_id(p.connector_type) {
                    p.pipe.write(routing_id_msg(&opts.routing_id));
                }
                p.pipe
            })
            .collect())
    }

    /// Connects to an inproc name, bound or not yet; returns the connector's pipe end.
    pub(crate) fn inproc_connect(&self, name: &str, opts: &Options) -> Result<PipeEnd> {
        if name.is_empty() {
            return Err(Error::EINVAL);
        }
        let mut reg = self.inproc.lock();
        match reg.bound.get(name) {
            Some(peer) => {
                let (mut ours, mut theirs) = pipe_pair(
                    sum_hwm(opts.sndhwm, peer.rcvhwm),
                    sum_hwm(peer.sndhwm, opts.rcvhwm),
                );
                // A side that routes by id reads the other's routing id first.
                if pattern::wants_routing_id(peer.socket.socket_type) {
                    ours.write(routing_id_msg(&opts.routing_id));
                }
                if pattern::wants_routing_id(opts.socket_type) {
                    theirs.write(routing_id_msg(&peer.routing_id));
                }
                peer.socket
                    .mailbox
                    .send(Cmd::Attach(theirs, format!("inproc://{name}").into()));
                Ok(ours)
            }
            None => {
                let (mut ours, theirs) = pipe_pair(opts.sndhwm.max(0) as u64, 0);
                ours.write(routing_id_msg(&opts.routing_id));
                reg.pending
                    .entry(name.to_string())
                    .or_default()
                    .push(PendingConnect {
                        pipe: theirs,
                        connector_rcvhwm: opts.rcvhwm,
                        connector_type: opts.socket_type,
                    });
                Ok(ours)
            }
        }
    }

    pub(crate) fn inproc_unbind(&self, name: &str, socket: &Arc<SocketShared>) {
        let mut reg = self.inproc.lock();
        if reg
            .bound
            .get(name)
            .is_some_and(|p| Arc::ptr_eq(&p.socket, socket))
        {
            reg.bound.remove(name);
        }
    }
}

/// libzmq's inproc HWM: the sender's SNDHWM plus the receiver's RCVHWM, unlimited if either is.
fn sum_hwm(snd: i32, rcv: i32) -> u64 {
    if snd <= 0 || rcv <= 0 {
        0
    } else {
        snd as u64 + rcv as u64
    }
}

fn routing_id_msg(id: &[u8]) -> Msg {
    let mut m = Msg::from_slice(id);
    m.set_flags(ROUTING_ID);
    m
}

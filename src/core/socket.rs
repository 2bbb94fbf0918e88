//! The socket: what a `void *` from `zmq_socket` points to. The calling thread does the
//! socket's work itself: `send` puts the message straight into a pipe and `recv` takes it out
//! of one; the I/O threads are only told when a pipe they sleep on becomes non-empty. Commands
//! from other threads (new pipes, wake-ups, context termination) wait in the mailbox and are
//! processed at the start of each call, at the cost of one atomic load when there are none.

use super::ctx::CtxInner;
use super::error::{Error, Result};
use super::mailbox::Mailbox;
use super::msg::{Msg, MORE, ROUTING_ID};
use super::options::*;
use super::pipe::{pipe_pair, PipeEnd, PipeEvent, PipeListener};
use super::pipes::Pipes;
use super::signaler::Signaler;
use super::spin::spin_until;
use crate::io::{IoCmd, SessionConfig};
use crate::pattern::{self, Pattern};
use crate::transport::{self, Endpoint};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ZMQ_DONTWAIT: i32 = 1;
pub const ZMQ_SNDMORE: i32 = 2;
pub const ZMQ_POLLIN: i16 = 1;
pub const ZMQ_POLLOUT: i16 = 2;

/// Commands sent to a socket by other threads.
pub enum Cmd {
    Pipe(usize, PipeEvent),
    /// A pipe to a new peer (an accepted or completed connection, or an inproc peer).
    Attach(PipeEnd, Arc<str>),
    /// The context is terminating: every call now fails with ETERM.
    Stop,
}

/// The part of a socket other threads may touch.
pub struct SocketShared {
    pub mailbox: Mailbox<Cmd, Signaler>,
    /// ZMQ_LINGER, read by sessions when the socket has closed.
    pub linger: AtomicI32,
    pub socket_type: i32,
}

impl PipeListener for SocketShared {
    fn pipe_event(&self, token: usize, event: PipeEvent) {
        self.mailbox.send(Cmd::Pipe(token, event));
    }
}

enum EndpointKind {
    /// A listener or connecter object living on an I/O thread.
    Io {
        thread: usize,
        object: u64,
    },
    InprocBind(Arc<str>),
    InprocConnect,
}

struct EndpointRec {
    uri: Arc<str>,
    kind: EndpointKind,
}

const SOCKET_MAGIC: u32 = 0xBADC_0FFE;

/// How long a blocking call watches its mailbox before it sleeps (see `spin_for_command`).
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(5);

pub struct Socket {
    magic: u32,
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) ctx: Arc<CtxInner>,
    pub(crate) options: Options,
    pattern: Box<dyn Pattern>,
    pipes: Pipes,
    rcvmore: bool,
    last_endpoint: Vec<u8>,
    endpoints: Vec<EndpointRec>,
    stopped: bool,
    /// Blocking calls spin briefly before sleeping (see `spin_for_command`).
    spin: bool,
    pub(crate) slot: usize,
}

impl Socket {
    pub(crate) fn new(ctx: Arc<CtxInner>, socket_type: i32, slot: usize) -> Result<Box<Socket>> {
        let mut options = Options::new(socket_type);
        // libzmq: subscribers never linger; BLOCKY=0 makes every socket's default 0.
        if !ctx.blocky() || socket_type == pattern::ZMQ_SUB || socket_type == pattern::ZMQ_XSUB {
            options.linger = 0;
        }
        options.ipv6 = ctx.ipv6() as i32;
        let pattern = pattern::create(socket_type, &options)?;
        let spin = pattern.lockstep();
        let signaler = Signaler::new().map_err(|_| Error::EMFILE)?;
        let shared = Arc::new(SocketShared {
            mailbox: Mailbox::new(signaler),
            linger: AtomicI32::new(options.linger),
            socket_type,
        });
        Ok(Box::new(Socket {
            magic: SOCKET_MAGIC,
            shared,
            ctx,
            options,
            pattern,
            pipes: Pipes::default(),
            rcvmore: false,
            last_endpoint: Vec::new(),
            endpoints: Vec::new(),
            stopped: false,
            spin,
            slot,
        }))
    }

    /// True if `ptr` looks like a live socket of ours (checked before every call from C).
    ///
    /// # Safety
    /// `ptr` must be NULL or point to readable memory of at least a `Socket`'s size; that is
    /// the caller's contract with libzmq too.
    pub unsafe fn from_ptr<'a>(ptr: *mut libc::c_void) -> Result<&'a mut Socket> {
        if ptr.is_null() || (ptr as usize) % std::mem::align_of::<Socket>() != 0 {
            return Err(Error::ENOTSOCK);
        }
        let s = &mut *(ptr as *mut Socket);
        if s.magic != SOCKET_MAGIC {
            return Err(Error::ENOTSOCK);
        }
        Ok(s)
    }

    pub fn socket_type(&self) -> i32 {
        self.options.socket_type
    }

    // ----- commands -------------------------------------------------------------------------

    /// Processes pending commands, if any (one atomic load when there are none). The check is
    /// inlined into every call; the work is not.
    #[inline(always)]
    fn process_commands(&mut self) -> Result<()> {
        let pending = self.shared.mailbox.has_pending();
        if pending || self.pipes.has_dead() || self.stopped {
            return self.process_commands_with(pending);
        }
        Ok(())
    }

    /// Processes commands; with `drain_signal` the wake-up signal is consumed first, whatever
    /// caused it (a signal can outlive the command it announced), which resets the ZMQ_FD edge.
    #[inline(never)]
    fn process_commands_with(&mut self, drain_signal: bool) -> Result<()> {
        if drain_signal {
            self.shared.mailbox.waker().drain();
            let shared = self.shared.clone();
            shared.mailbox.drain(|cmd| self.process(cmd));
        }
        if self.pipes.has_dead() {
            self.reap();
        }
        if self.stopped {
            return Err(Error::ETERM);
        }
        Ok(())
    }

    fn process(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Pipe(key, PipeEvent::Readable) => {
                if self.pipes.get(key).is_some() {
                    self.pattern.read_activated(&mut self.pipes, key);
                }
            }
            Cmd::Pipe(key, PipeEvent::Writable) => {
                if self.pipes.get(key).is_some() {
                    self.pattern.write_activated(&mut self.pipes, key);
                }
            }
            Cmd::Pipe(key, PipeEvent::Hiccup) => {
                if self.pipes.get(key).is_some() {
                    self.pattern.hiccuped(&mut self.pipes, key);
                }
            }
            Cmd::Pipe(key, PipeEvent::Closed) => {
                let Some(p) = self.pipes.get(key) else { return };
                if p.is_drained_and_closed() || (p.peer_closed() && !self.reads()) {
                    self.pipes.mark_dead(key);
                } else if p.peer_closed() {
                    // Let the pattern read what is left; it reports the pipe dead when drained.
                    self.pattern.read_activated(&mut self.pipes, key);
                }
            }
            Cmd::Attach(pipe, endpoint) => {
                self.attach(pipe, endpoint, None);
            }
            Cmd::Stop => self.stopped = true,
        }
    }

    /// Whether this socket type ever reads from its pipes.
    fn reads(&self) -> bool {
        !matches!(
            self.options.socket_type,
            pattern::ZMQ_PUSH | pattern::ZMQ_PUB
        )
    }

    fn attach(&mut self, pipe: PipeEnd, endpoint: Arc<str>, assigned_id: Option<Vec<u8>>) -> usize {
        let key = self.pipes.insert(pipe, endpoint);
        let listener: Arc<dyn PipeListener> = self.shared.clone();
        let conflate = self.options.conflate != 0 && pattern::conflates(self.socket_type()).0;
        if let Some(p) = self.pipes.get_mut(key) {
            p.set_listener(listener, key);
            if conflate {
                // Keep only the newest message; a conflating pipe never blocks its writer.
                p.set_conflate(true);
                p.set_hwm(0);
            }
        }
        if let Some(id) = assigned_id {
            self.pattern.assign_routing_id(key, id);
        }
        self.pattern.attach(&mut self.pipes, key);
        if self.pipes.get(key).is_some_and(|p| p.peer_closed()) {
            self.process(Cmd::Pipe(key, PipeEvent::Closed));
        }
        key
    }

    /// Removes the pipes patterns reported dead.
    fn reap(&mut self) {
        for key in self.pipes.take_dead() {
            if self.pipes.get(key).is_some() {
                self.pattern.terminated(&mut self.pipes, key);
                self.pipes.remove(key);
            }
        }
    }

    /// Waits for a command until `deadline` (None: forever). False on timeout.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<bool> {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Ok(false);
                }
                let ms = (d - now).as_micros().div_ceil(1000);
                ms.min(i32::MAX as u128) as i32
            }
        };
        if !self.spin_for_command() {
            self.shared.mailbox.waker().wait(timeout);
        }
        self.process_commands_with(true)?;
        Ok(true)
    }

    /// Before sleeping in poll: watch the mailbox for a few microseconds (`spin_until`). A
    /// peer thread that is about to answer then does so without the cost of waking a sleeping
    /// thread, and the caller skips a poll. Only for lockstep patterns (REQ, REP): a reader of
    /// a stream that spun would catch every message as it comes, one wake-up command each,
    /// instead of a batch per wake-up (measured: 10-15% less PUSH/PULL ipc and inproc PUB/SUB
    /// throughput).
    #[inline]
    fn spin_for_command(&self) -> bool {
        self.spin && spin_until(SPIN_BEFORE_SLEEP, || self.shared.mailbox.has_pending())
    }

    fn deadline(timeout_ms: i32) -> Option<Instant> {
        (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64))
    }

    // ----- send / recv ----------------------------------------------------------------------

    /// Sends `msg` (taken on success). `flags`: ZMQ_DONTWAIT, ZMQ_SNDMORE.
    pub fn send(&mut self, msg: &mut Msg, flags: i32) -> Result<()> {
        self.process_commands()?;
        msg.reset_flags(MORE | ROUTING_ID);
        if flags & ZMQ_SNDMORE != 0 {
            msg.set_flags(MORE);
        }
        match self.pattern.send(&mut self.pipes, msg) {
            Err(Error::EAGAIN) => {}
            r => {
                if self.pipes.has_dead() {
                    self.reap();
                }
                return r;
            }
        }
        if flags & ZMQ_DONTWAIT != 0 || self.options.sndtimeo == 0 {
            return Err(Error::EAGAIN);
        }
        let deadline = Self::deadline(self.options.sndtimeo);
        loop {
            if !self.wait(deadline)? {
                return Err(Error::EAGAIN);
            }
            match self.pattern.send(&mut self.pipes, msg) {
                Err(Error::EAGAIN) => continue,
                r => return r,
            }
        }
    }

    /// Receives one frame. `flags`: ZMQ_DONTWAIT.
    pub fn recv(&mut self, flags: i32) -> Result<Msg> {
        let mut msg = Msg::new();
        self.recv_into(&mut msg, flags)?;
        Ok(msg)
    }

    /// As `recv`, into `msg` (its old content dropped); on failure `msg` is untouched, or
    /// empty (see `Pattern::recv_into`).
    pub fn recv_into(&mut self, msg: &mut Msg, flags: i32) -> Result<()> {
        self.process_commands()?;
        let r = self.pattern.recv_into(&mut self.pipes, msg);
        if self.pipes.has_dead() {
            self.reap();
        }
        match r {
            Err(Error::EAGAIN) => {}
            r => return self.received(r, msg),
        }
        if flags & ZMQ_DONTWAIT != 0 || self.options.rcvtimeo == 0 {
            return Err(Error::EAGAIN);
        }
        let deadline = Self::deadline(self.options.rcvtimeo);
        loop {
            if !self.wait(deadline)? {
                return Err(Error::EAGAIN);
            }
            let r = self.pattern.recv_into(&mut self.pipes, msg);
            if self.pipes.has_dead() {
                self.reap();
            }
            match r {
                Err(Error::EAGAIN) => continue,
                r => return self.received(r, msg),
            }
        }
    }

    #[inline]
    fn received(&mut self, r: Result<()>, msg: &Msg) -> Result<()> {
        if r.is_ok() {
            self.rcvmore = msg.more();
        }
        r
    }

    /// ZMQ_EVENTS: what the socket could do now. Resets the ZMQ_FD edge.
    pub fn events(&mut self) -> Result<i16> {
        self.events_after(true)
    }

    /// As `events`; `signalled` says whether the fd was seen readable (its signal must be
    /// consumed). Without it only pending commands are processed, which costs no syscall.
    pub fn events_after(&mut self, signalled: bool) -> Result<i16> {
        if signalled {
            self.process_commands_with(true)?;
        } else {
            self.process_commands()?;
        }
        let mut ev = 0;
        if self.pattern.has_in(&mut self.pipes) {
            ev |= ZMQ_POLLIN;
        }
        if self.pattern.has_out(&mut self.pipes) {
            ev |= ZMQ_POLLOUT;
        }
        if self.pipes.has_dead() {
            self.reap();
        }
        Ok(ev)
    }

    pub fn fd(&self) -> i32 {
        self.shared.mailbox.waker().fd()
    }

    // ----- options --------------------------------------------------------------------------

    pub fn setsockopt(&mut self, opt: i32, val: &[u8]) -> Result<()> {
        self.process_commands()?;
        if self.pattern.set_option(opt, val)? {
            self.pattern.option_applied(&mut self.pipes);
            return Ok(());
        }
        if self.options.set(opt, val)? {
            if opt == ZMQ_LINGER {
                self.shared
                    .linger
                    .store(self.options.linger, Ordering::Relaxed);
            }
            return Ok(());
        }
        Err(Error::EINVAL)
    }

    pub fn getsockopt(&mut self, opt: i32, out: &mut [u8]) -> Result<usize> {
        if self.stopped && opt != ZMQ_LINGER {
            return Err(Error::ETERM);
        }
        match opt {
            ZMQ_TYPE => return put_int(out, self.options.socket_type),
            ZMQ_RCVMORE => return put_int(out, self.rcvmore as i32),
            ZMQ_FD => return put_int(out, self.fd()),
            ZMQ_EVENTS => {
                let ev = self.events()?;
                return put_int(out, ev as i32);
            }
            ZMQ_LAST_ENDPOINT => return put_cstr(out, &self.last_endpoint),
            ZMQ_THREAD_SAFE => return put_int(out, 0),
            _ => {}
        }
        if let Some(n) = self.pattern.get_option(opt, out)? {
            return Ok(n);
        }
        if let Some(n) = self.options.get(opt, out)? {
            return Ok(n);
        }
        Err(Error::EINVAL)
    }

    // ----- endpoints ------------------------------------------------------------------------

    pub fn bind(&mut self, uri: &str) -> Result<()> {
        self.process_commands()?;
        let ep = Endpoint::parse(uri)?;
        match ep {
            Endpoint::Inproc(name) => {
                let uri_arc: Arc<str> = uri.into();
                let pending = self
                    .ctx
                    .inproc_bind(&name, self.shared.clone(), &self.options)?;
                for pipe in pending {
                    self.attach(pipe, uri_arc.clone(), None);
                }
                self.last_endpoint = uri.as_bytes().to_vec();
                self.endpoints.push(EndpointRec {
                    uri: uri_arc,
                    kind: EndpointKind::InprocBind(name.into()),
                });
            }
            Endpoint::Tcp(_) | Endpoint::Ipc(_) => {
                let listener = transport::listen(&ep, &self.options)?;
                let resolved = listener.endpoint();
                let resolved_arc: Arc<str> = resolved.as_str().into();
                let (thread, object) =
                    self.ctx
                        .send_to_io(self.options.affinity, |object| IoCmd::Listen {
                            object,
                            listener,
                            config: self.session_config(resolved_arc.clone()),
                        })?;
                self.last_endpoint = resolved.clone().into_bytes();
                self.endpoints.push(EndpointRec {
                    uri: resolved.into(),
                    kind: EndpointKind::Io { thread, object },
                });
            }
        }
        Ok(())
    }

    pub fn connect(&mut self, uri: &str) -> Result<()> {
        self.process_commands()?;
        let ep = Endpoint::parse(uri)?;
        let uri_arc: Arc<str> = uri.into();
        self.last_endpoint = uri.as_bytes().to_vec();
        let assigned = (!self.options.connect_routing_id.is_empty())
            .then(|| std::mem::take(&mut self.options.connect_routing_id));
        match ep {
            Endpoint::Inproc(name) => {
                let ours = self.ctx.inproc_connect(&name, &self.options)?;
                self.attach(ours, uri_arc.clone(), assigned);
                self.endpoints.push(EndpointRec {
                    uri: uri_arc,
                    kind: EndpointKind::InprocConnect,
                });
            }
            Endpoint::Tcp(_) | Endpoint::Ipc(_) => {
                transport::validate_connect(&ep)?;
                // Unless ZMQ_IMMEDIATE, the pipe exists from now on so messages can be queued
                // before the connection is up, and it survives reconnects.
                let pipe = if self.options.immediate == 0
                    && self.options.socket_type != pattern::ZMQ_STREAM
                {
                    let (mut ours, theirs) = pipe_pair(self.out_hwm(), self.in_hwm());
                    ours.set_to_kernel();
                    self.attach(ours, uri_arc.clone(), assigned);
                    Some(theirs)
                } else {
                    None
                };
                let config = self.session_config(uri_arc.clone());
                let (thread, object) =
                    self.ctx
                        .send_to_io(self.options.affinity, |object| IoCmd::Connect {
                            object,
                            endpoint: ep,
                            pipe,
                            config,
                        })?;
                self.endpoints.push(EndpointRec {
                    uri: uri_arc,
                    kind: EndpointKind::Io { thread, object },
                });
            }
        }
        Ok(())
    }

    fn out_hwm(&self) -> u64 {
        self.options.sndhwm.max(0) as u64
    }

    fn in_hwm(&self) -> u64 {
        self.options.rcvhwm.max(0) as u64
    }

    fn session_config(&self, endpoint: Arc<str>) -> SessionConfig {
        SessionConfig {
            socket: self.shared.clone(),
            options: self.options.clone(),
            endpoint,
            wants_routing_id: pattern::wants_routing_id(self.options.socket_type),
            zmtp_name: pattern::zmtp_name(self.options.socket_type),
            raw: self.options.socket_type == pattern::ZMQ_STREAM,
            conflate_out: self.options.conflate != 0
                && pattern::conflates(self.options.socket_type).1,
        }
    }

    pub fn unbind(&mut self, uri: &str) -> Result<()> {
        self.process_commands()?;
        self.remove_endpoint(uri, true)
    }

    pub fn disconnect(&mut self, uri: &str) -> Result<()> {
        self.process_commands()?;
        self.remove_endpoint(uri, false)
    }

    fn remove_endpoint(&mut self, uri: &str, bound: bool) -> Result<()> {
        Endpoint::parse(uri)?;
        let matching: Vec<usize> = (0..self.endpoints.len())
            .filter(|&i| {
                let e = &self.endpoints[i];
                &*e.uri == uri
                    && match e.kind {
                        EndpointKind::InprocBind(_) => bound,
                        EndpointKind::InprocConnect => !bound,
                        EndpointKind::Io { .. } => true,
                    }
            })
            .collect();
        if matching.is_empty() {
            return Err(Error::ENOENT);
        }
        let mut objects = Vec::new();
        for &i in matching.iter().rev() {
            let e = self.endpoints.remove(i);
            match e.kind {
                EndpointKind::Io { thread, object } => objects.push((thread, object)),
                EndpointKind::InprocBind(name) => self.ctx.inproc_unbind(&name, &self.shared),
                EndpointKind::InprocConnect => {}
            }
        }
        // Other names of the same I/O object (a wildcard bind) go too.
        self.endpoints.retain(|e| match e.kind {
            EndpointKind::Io { thread, object } => !objects.contains(&(thread, object)),
            _ => true,
        });
        for (thread, object) in objects {
            self.ctx.io_command(thread, IoCmd::Close { object });
        }
        // Pipes of the endpoint: for a connect, ours; for a bind, every accepted peer's.
        let keys: Vec<usize> = self
            .pipes
            .keys()
            .filter(|&k| self.pipes.endpoint(k).is_some_and(|e| &**e == uri))
            .collect();
        for k in keys {
            self.pipes.mark_dead(k);
        }
        self.reap();
        Ok(())
    }

    /// Closes the socket: its pipes close (sessions linger with what is queued) and its
    /// I/O objects stop accepting and connecting.
    pub fn close(mut self: Box<Self>) {
        self.magic = 0;
        for e in std::mem::take(&mut self.endpoints) {
            match e.kind {
                EndpointKind::Io { thread, object } => {
                    self.ctx.io_command(thread, IoCmd::Close { object })
                }
                EndpointKind::InprocBind(name) => self.ctx.inproc_unbind(&name, &self.shared),
                EndpointKind::InprocConnect => {}
            }
        }
        let keys: Vec<usize> = self.pipes.keys().collect();
        for k in keys {
            self.pipes.remove(k);
        }
        self.ctx.unregister_socket(self.slot);
    }
}

//! The event loop of one I/O thread: readiness events, mailbox commands and timers are
//! dispatched to the objects (listeners and sessions) kept in a slab indexed by token.

use super::session::Session;
use super::{IoCmd, IoMailbox, IoPipeListener, SessionConfig};
use crate::core::pipe::PipeListener;
use crate::core::spin::spin_until;
use crate::transport::Listener;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const WAKER: Token = Token(usize::MAX);

/// How long a busy I/O thread polls without sleeping before it sleeps (see `watch`).
const WATCH: Duration = Duration::from_micros(50);

struct ListenerObj {
    object: u64,
    listener: Listener,
    config: SessionConfig,
}

enum Object {
    Listener(Box<ListenerObj>),
    Session(Box<Session>),
}

/// What an object may use of the reactor while it handles an event.
pub(crate) struct Io<'a> {
    pub registry: &'a mio::Registry,
    pub token: usize,
    pub pipe_listener: &'a Arc<dyn PipeListener>,
    timers: &'a mut BinaryHeap<Reverse<(Instant, usize)>>,
    again: &'a mut Vec<usize>,
}

impl Io<'_> {
    /// Asks for `read_more` on the next round (the object stopped reading with data left).
    pub fn read_again(&mut self) {
        if !self.again.contains(&self.token) {
            self.again.push(self.token);
        }
    }

    /// Asks for `on_timer` at `at` (the object re-checks its own deadlines then).
    pub fn timer(&mut self, at: Instant) {
        self.timers.push(Reverse((at, self.token)));
    }
}

pub(crate) struct Reactor {
    poll: Poll,
    mailbox: Arc<IoMailbox>,
    pipe_listener: Arc<dyn PipeListener>,
    objects: Vec<Option<Object>>,
    free: Vec<usize>,
    by_id: HashMap<u64, Vec<usize>>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Sessions to give another read next round (they hit their per-event budget).
    again: Vec<usize>,
    stopping: bool,
    /// How long the last wait for events lasted (see `watch`).
    last_idle: Duration,
}

impl Reactor {
    pub fn new(poll: Poll, mailbox: Arc<IoMailbox>) -> Reactor {
        let pipe_listener: Arc<dyn PipeListener> = Arc::new(IoPipeListener(mailbox.clone()));
        Reactor {
            poll,
            mailbox,
            pipe_listener,
            objects: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            timers: BinaryHeap::new(),
            again: Vec::new(),
            stopping: false,
            last_idle: Duration::ZERO,
        }
    }

    fn insert(&mut self, obj: Object) -> usize {
        match self.free.pop() {
            Some(k) => {
                self.objects[k] = Some(obj);
                k
            }
            None => {
                self.objects.push(Some(obj));
                self.objects.len() - 1
            }
        }
    }

    fn io(&mut self, token: usize) -> (Option<&mut Object>, Io<'_>) {
        let obj = self.objects.get_mut(token).and_then(|o| o.as_mut());
        (
            obj,
            Io {
                registry: self.poll.registry(),
                token,
                pipe_listener: &self.pipe_listener,
                timers: &mut self.timers,
                again: &mut self.again,
            },
        )
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            // Sessions that stopped reading at their budget (possibly while handling a
            // command or a timer, after this round's `again` pass) must not wait for an edge
            // that will never come: poll without sleeping then.
            let timeout = if !self.again.is_empty() {
                Some(Duration::ZERO)
            } else {
                self.timers
                    .peek()
                    .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
            };
            events.clear();
            let idle_from = Instant::now();
            if self.last_idle < WATCH {
                self.watch(&mut events, timeout.map_or(WATCH, |t| t.min(WATCH)));
            }
            if events.is_empty() {
                let timeout = if self.mailbox.has_pending() {
                    Some(Duration::ZERO)
                } else {
                    timeout
                };
                if let Err(e) = self.poll.poll(&mut events, timeout) {
                    if e.kind() != std::io::ErrorKind::Interrupted {
                        return;
                    }
                }
            }
            self.last_idle = idle_from.elapsed();
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let token = ev.token().0;
                let closed = ev.is_read_closed() || ev.is_error();
                let readable = ev.is_readable() || closed;
                let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
                self.ready(token, readable, writable, closed);
            }
            for token in std::mem::take(&mut self.again) {
                let (obj, mut io) = self.io(token);
                if let Some(Object::Session(s)) = obj {
                    s.read_more(&mut io);
                }
                self.reap(token);
            }
            // Commands are cheap to check; do it every round rather than only on the waker's
            // event, so nothing waits behind a busy connection.
            if self.mailbox.has_pending() {
                let mb = self.mailbox.clone();
                mb.drain(|cmd| self.command(cmd));
            }
            let now = Instant::now();
            while let Some(Reverse((at, token))) = self.timers.peek().copied() {
                if at > now {
                    break;
                }
                self.timers.pop();
                let (obj, mut io) = self.io(token);
                if let Some(Object::Session(s)) = obj {
                    s.on_timer(&mut io, now);
                }
                self.reap(token);
            }
            if self.stopping && self.objects.iter().all(|o| o.is_none()) {
                return;
            }
        }
    }

    /// Polls for events and commands without sleeping, for up to `limit` (`WATCH`, or less if
    /// a timer is due sooner; see `spin_until`). Called before sleeping in epoll while the
    /// thread is busy (its last wait was shorter than `WATCH`): the next event (a socket's
    /// message or answer, the peer's next packet) then usually comes within it, and a thread
    /// that sleeps must be woken across CPUs, most of a small message's roundtrip on a VM. An
    /// I/O thread whose events are further apart never watches.
    ///
    /// Each look yields the CPU first (`sched_yield`): the thread this one has just woken (the
    /// application, with the message it waits for) may have been put on this same CPU, and
    /// would otherwise wait for the scheduler to preempt the watch, up to all of it. That was
    /// a slow mode of REQ/REP: tcp 64 B p50 63-94 us in half of the runs against 15-20 in the
    /// rest; with the yield every run was fast. With the CPU to itself the yield returns at
    /// once, a syscall beside the epoll one each look already makes.
    fn watch(&mut self, events: &mut Events, limit: Duration) {
        let (poll, mailbox) = (&mut self.poll, &self.mailbox);
        spin_until(limit, || {
            std::thread::yield_now();
            mailbox.has_pending()
                || (poll.poll(events, Some(Duration::ZERO)).is_ok() && !events.is_empty())
        });
    }

    fn ready(&mut self, token: usize, readable: bool, writable: bool, closed: bool) {
        let (obj, mut io) = self.io(token);
        let mut accepted = Vec::new();
        match obj {
            Some(Object::Session(s)) => s.on_ready(&mut io, readable, writable, closed),
            Some(Object::Listener(l)) => loop {
                match l.listener.accept() {
                    Ok(stream) => {
                        accepted.push(Session::accepted(stream, l.config.clone(), l.object))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    // WouldBlock, or out of fds / memory: try again on the next event.
                    Err(_) => break,
                }
            },
            None => {}
        }
        for s in accepted {
            let object = s.owner();
            let token = self.insert(Object::Session(s));
            self.by_id.entry(object).or_default().push(token);
            let (obj, mut io) = self.io(token);
            if let Some(Object::Session(s)) = obj {
                s.start(&mut io);
            }
            self.reap(token);
        }
        self.reap(token);
    }

    fn command(&mut self, cmd: IoCmd) {
        match cmd {
            IoCmd::Listen {
                object,
                mut listener,
                config,
            } => {
                if self.stopping {
                    return;
                }
                let token = self.free.last().copied().unwrap_or(self.objects.len());
                if self
                    .poll
                    .registry()
                    .register(listener.source(), Token(token), Interest::READABLE)
                    .is_err()
                {
                    return;
                }
                let t = self.insert(Object::Listener(Box::new(ListenerObj {
                    object,
                    listener,
                    config,
                })));
                debug_assert_eq!(t, token);
                self.by_id.entry(object).or_default().push(t);
            }
            IoCmd::Connect {
                object,
                endpoint,
                pipe,
                config,
            } => {
                let s = Session::connecting(endpoint, pipe, config, object);
                let token = self.insert(Object::Session(s));
                self.by_id.entry(object).or_default().push(token);
                let (obj, mut io) = self.io(token);
                if let Some(Object::Session(s)) = obj {
                    s.start(&mut io);
                }
                self.reap(token);
            }
            IoCmd::Close { object } => {
                for token in self.by_id.remove(&object).unwrap_or_default() {
                    self.close(token);
                }
            }
            IoCmd::Pipe(token, ev) => {
                let (obj, mut io) = self.io(token);
                if let Some(Object::Session(s)) = obj {
                    s.on_pipe_event(&mut io, ev);
                }
                self.reap(token);
            }
            IoCmd::Stop => {
                self.stopping = true;
                let tokens: Vec<usize> = (0..self.objects.len()).collect();
                for token in tokens {
                    self.close(token);
                }
            }
        }
    }

    /// Stops an object: a listener goes at once, a session lingers if it must.
    fn close(&mut self, token: usize) {
        let (obj, mut io) = self.io(token);
        match obj {
            Some(Object::Listener(l)) => {
                let _ = io.registry.deregister(l.listener.source());
                self.objects[token] = None;
                self.free.push(token);
            }
            Some(Object::Session(s)) => {
                s.close(&mut io);
                self.reap(token);
            }
            None => {}
        }
    }

    /// Removes a session that has finished.
    fn reap(&mut self, token: usize) {
        let done = matches!(self.objects.get(token), Some(Some(Object::Session(s))) if s.is_done());
        if done {
            if let Some(Some(Object::Session(mut s))) =
                self.objects.get_mut(token).map(|o| o.take())
            {
                s.shutdown(self.poll.registry());
                let owner = s.owner();
                if let Some(v) = self.by_id.get_mut(&owner) {
                    v.retain(|&t| t != token);
                    if v.is_empty() {
                        self.by_id.remove(&owner);
                    }
                }
            }
            self.free.push(token);
        }
    }
}

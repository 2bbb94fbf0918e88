//! A session: one tcp/ipc connection (or one connect endpoint and its successive connections)
//! on an I/O thread. It pumps frames between the socket's pipe and the ZMTP codec, and the
//! codec's bytes to and from the kernel, reconnecting, timing out handshakes, heartbeating and
//! lingering as the socket's options say.

use super::reactor::Io;
use super::readahead::{self, ReadAhead};
use super::wire::{Raw, Wire};
use super::SessionConfig;
use crate::core::msg::{Metadata, Msg, ROUTING_ID};
use crate::core::pipe::{pipe_pair, PipeEnd, PipeEvent};
use crate::core::socket::Cmd;
use crate::transport::{self, Endpoint, Stream};
use crate::zmtp::{self, Codec, Event, PeerInfo, Slices};
use mio::{Interest, Token};
use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of output gathered before a write, and the most read in one go before yielding.
const OUT_BATCH: usize = 64 * 1024;
const MAX_READS_PER_EVENT: usize = 64;
/// While lingering over ipc: how long a peer may leave our last bytes unread before we close.
const DRAIN_STALL: Duration = Duration::from_secs(1);
const DRAIN_POLL_MAX: Duration = Duration::from_millis(50);

/// Lingering after the last byte went to the kernel, until the peer has read it.
struct Drain {
    unread: usize,
    progress_at: Instant,
    ivl: Duration,
    next_check: Instant,
}

struct Conn {
    stream: Stream,
    codec: Wire,
    connecting: bool,
    writable: bool,
    /// WRITABLE is in the interest registered for the stream: while connecting, and from a
    /// write the kernel refused (its buffer full) until a writable event finds nothing left
    /// to send. Not always: a Unix socket reports write space each time the peer reads, and
    /// every such event would wake this thread for nothing (one context switch more per
    /// REQ/REP roundtrip on one CPU).
    out_armed: bool,
    handshake_deadline: Option<Instant>,
    ping_at: Option<Instant>,
    ping_timeout_at: Option<Instant>,
    ttl_deadline: Option<Instant>,
    ttl: Duration,
    /// The reactor reported the peer's end of stream (or an error): read until the read
    /// says so, even after a short read (see `Session::read`).
    read_closed: bool,
}

pub(crate) struct Session {
    config: SessionConfig,
    /// The I/O object id the socket knows: the connect's own, or the listener's.
    owner: u64,
    /// Where to reconnect to; None for an accepted connection.
    connect: Option<Endpoint>,
    pipe: Option<PipeEnd>,
    conn: Option<Conn>,
    reconnect_ivl: i32,
    reconnect_at: Option<Instant>,
    /// The socket side has gone: finish sending within the linger period, then stop.
    lingering: bool,
    linger_deadline: Option<Instant>,
    drain: Option<Drain>,
    /// The pipe is full, or holds the read-ahead budget: stop reading until the socket makes
    /// room.
    read_paused: bool,
    /// Bytes read into the pipe that the socket has not taken yet (see `readahead`).
    ahead: ReadAhead,
    /// Paused for the read-ahead budget: until when at most.
    ahead_deadline: Option<Instant>,
    /// Frames of an incoming multipart message, committed to the pipe when the last arrives.
    parts: Vec<Msg>,
    events: Vec<Event>,
    meta: Option<Arc<Metadata>>,
    /// A connection on this session's pipe has completed before (the next one is a reconnect).
    reconnected: bool,
    done: bool,
}

impl Session {
    pub fn connecting(
        endpoint: Endpoint,
        pipe: Option<PipeEnd>,
        config: SessionConfig,
        owner: u64,
    ) -> Box<Session> {
        Session::new(config, owner, Some(endpoint), pipe, None)
    }

    pub fn accepted(stream: Stream, config: SessionConfig, owner: u64) -> Box<Session> {
        stream.configure(&config.options);
        let codec = new_wire(&config);
        let conn = Conn::new(stream, codec, false);
        Session::new(config, owner, None, None, Some(conn))
    }

    fn new(
        config: SessionConfig,
        owner: u64,
        connect: Option<Endpoint>,
        pipe: Option<PipeEnd>,
        conn: Option<Conn>,
    ) -> Box<Session> {
        Box::new(Session {
            reconnect_ivl: config.options.reconnect_ivl,
            config,
            owner,
            connect,
            pipe,
            conn,
            reconnect_at: None,
            lingering: false,
            linger_deadline: None,
            drain: None,
            read_paused: false,
            ahead: ReadAhead::default(),
            ahead_deadline: None,
            parts: Vec::new(),
            events: Vec::new(),
            meta: None,
            reconnected: false,
            done: false,
        })
    }

    pub fn owner(&self) -> u64 {
        self.owner
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// ZMQ_CONFLATE on what the socket sends (the session reads it).
    fn conflates(&self) -> bool {
        self.config.conflate_out
    }

    /// Called once the session has its token.
    pub fn start(&mut self, io: &mut Io) {
        let conflate = self.conflates();
        if let Some(p) = &mut self.pipe {
            p.set_listener(io.pipe_listener.clone(), io.token);
            if conflate {
                p.set_conflate(true);
                p.set_hwm(0);
            }
        }
        if self.conn.is_some() {
            self.register(io);
            self.arm_handshake(io);
            self.raw_ready(io);
            self.flush(io);
        } else {
            self.try_connect(io);
        }
    }

    fn register(&mut self, io: &mut Io) {
        let token = Token(io.token);
        if let Some(c) = &mut self.conn {
            if io
                .registry
                .register(c.stream.source(), token, interest(c.out_armed))
                .is_err()
            {
                self.conn = None;
                self.disconnected(io);
            }
        }
    }

    fn arm_handshake(&mut self, io: &mut Io) {
        let ivl = self.config.options.handshake_ivl;
        if let Some(c) = &mut self.conn {
            if ivl > 0 {
                let at = Instant::now() + Duration::from_millis(ivl as u64);
                c.handshake_deadline = Some(at);
                io.timer(at);
            }
        }
    }

    fn try_connect(&mut self, io: &mut Io) {
        let Some(ep) = &self.connect else { return };
        match transport::connect(ep, &self.config.options) {
            Ok(stream) => {
                let codec = new_wire(&self.config);
                self.conn = Some(Conn::new(stream, codec, true));
                self.register(io);
                let ct = self.config.options.connect_timeout;
                if ct > 0 {
                    if let Some(c) = &mut self.conn {
                        let at = Instant::now() + Duration::from_millis(ct as u64);
                        c.handshake_deadline = Some(at);
                        io.timer(at);
                    }
                }
            }
            Err(_) => self.schedule_reconnect(io),
        }
    }

    fn schedule_reconnect(&mut self, io: &mut Io) {
        // Without reconnection nothing more happens here; the pipe stays for the socket.
        if self.connect.is_none() || self.config.options.reconnect_ivl < 0 {
            return;
        }
        let ivl = self.reconnect_ivl.max(0) as u64;
        let at = Instant::now() + Duration::from_millis(ivl);
        self.reconnect_at = Some(at);
        io.timer(at);
        let max = self.config.options.reconnect_ivl_max;
        if max > 0 {
            self.reconnect_ivl = (self.reconnect_ivl.saturating_mul(2)).min(max);
        }
    }

    /// The reactor comes back to a session that stopped reading with bytes left.
    pub fn read_more(&mut self, io: &mut Io) {
        self.read(io);
        self.flush(io);
    }

    /// An event for the connection: `closed` when it reports the peer's end of stream or an
    /// error.
    pub fn on_ready(&mut self, io: &mut Io, readable: bool, writable: bool, closed: bool) {
        let Some(c) = &mut self.conn else { return };
        c.read_closed |= closed;
        if c.connecting {
            match c.stream.finish_connect() {
                Ok(()) => {
                    c.connecting = false;
                    c.handshake_deadline = None;
                    c.stream.configure(&self.config.options);
                    self.reconnect_ivl = self.config.options.reconnect_ivl;
                    self.arm_handshake(io);
                    self.raw_ready(io);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return self.fail(io),
            }
        }
        if writable {
            if let Some(c) = &mut self.conn {
                c.writable = true;
            }
        }
        if readable {
            self.read(io);
        }
        self.flush(io);
        if writable {
            self.disarm_out(io);
        }
    }

    /// After a writable event: with nothing left to send, stops asking for them.
    fn disarm_out(&mut self, io: &mut Io) {
        let Some(c) = &mut self.conn else { return };
        if c.out_armed
            && !c.connecting
            && !c.codec.has_output()
            && c.ask_writable(io, false).is_err()
        {
            self.fail(io);
        }
    }

    /// Reads and delivers what the kernel has, up to a budget. A read that fills less than
    /// its buffer found the kernel's queue drained: readiness is edge-triggered, and Linux
    /// reports every later arrival (data, or the end of stream) as a new edge, so the read
    /// that would only say EAGAIN is skipped: one syscall less per read of a small message,
    /// and on one CPU the I/O thread goes back to sleep as soon as the application it has
    /// just woken is done (REQ/REP 64 B pinned to one core: p50 about 6% lower over tcp and
    /// ipc). An end of stream reported with the data before it is read to the end.
    fn read(&mut self, io: &mut Io) {
        for round in 0..=MAX_READS_PER_EVENT {
            if round == MAX_READS_PER_EVENT {
                // Readiness is edge-triggered: bytes left in the kernel would never be
                // reported again. Yield to other connections and come back next round.
                io.read_again();
                return;
            }
            if self.read_paused || self.done {
                return;
            }
            let Some(c) = &mut self.conn else { return };
            let (first, second) = c.codec.read_buffers();
            let want = first.len() + second.len();
            let n = match c.stream.read_two(first, second) {
                Ok(0) => return self.fail(io),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.fail(io),
            };
            let drained = n < want && !c.read_closed;
            c.ping_timeout_at = None;
            if c.ttl_deadline.is_some() {
                c.ttl_deadline = Some(Instant::now() + c.ttl);
            }
            // Messages go straight into the pipe. Anything else (rare: the handshake's
            // completion, heartbeats) waits in `events` for `handle`, which needs all of the
            // session; once something waits, later messages wait behind it, so that order is
            // kept (a message after READY needs the pipe and metadata READY brings).
            let (pipe, parts, meta, events) = (
                &mut self.pipe,
                &mut self.parts,
                &self.meta,
                &mut self.events,
            );
            let r = c.codec.process(n, &mut |ev| match ev {
                Event::Message(m) if events.is_empty() => deliver(pipe, parts, meta, m),
                ev => queue_event(events, ev),
            });
            if !self.events.is_empty() {
                let mut events = std::mem::take(&mut self.events);
                for ev in events.drain(..) {
                    self.handle(io, ev);
                }
                self.events = events;
            }
            // What this read delivered reaches the socket in one publication.
            if let Some(p) = &mut self.pipe {
                p.flush();
            }
            if r.is_err() {
                // Send what the codec queued (e.g. an ERROR command) then drop the peer.
                self.flush(io);
                return self.fail(io);
            }
            if let Some(p) = &self.pipe {
                self.ahead.note(p.written_count(), n);
                if !p.check_write() && !p.peer_gone() {
                    self.read_paused = true;
                } else if self.ahead.needs_check() {
                    self.pause_for_read_ahead(io);
                }
            }
            if drained {
                return;
            }
        }
    }

    /// The pipe may hold more than the read-ahead budget: if so, stop reading until
    /// the socket is down to half of it, or PAUSE_MAX has passed (see `readahead`).
    #[cold]
    fn pause_for_read_ahead(&mut self, io: &mut Io) {
        let Some(p) = &self.pipe else { return };
        if self.ahead.over_budget(p.read_by_peer())
            && p.wait_until_queued(self.ahead.resume_at(p.written_count()))
        {
            self.read_paused = true;
            let at = Instant::now() + readahead::PAUSE_MAX;
            self.ahead_deadline = Some(at);
            io.timer(at);
        }
    }

    fn handle(&mut self, io: &mut Io, ev: Event) {
        match ev {
            Event::Message(m) => deliver(&mut self.pipe, &mut self.parts, &self.meta, m),
            Event::Ready(info) => self.handshaken(io, info),
            Event::Ping { ttl_deciseconds } => {
                if let Some(c) = &mut self.conn {
                    if ttl_deciseconds > 0 {
                        c.ttl = Duration::from_millis(ttl_deciseconds as u64 * 100);
                        let at = Instant::now() + c.ttl;
                        c.ttl_deadline = Some(at);
                        io.timer(at);
                    }
                }
            }
            Event::Pong | Event::PeerError(_) => {}
        }
    }

    fn handshaken(&mut self, io: &mut Io, info: PeerInfo) {
        let fd = self.conn.as_ref().map(|c| c.stream.fd()).unwrap_or(-1);
        let mut md = Metadata::new(fd);
        for (k, v) in &info.properties {
            let name = if k.eq_ignore_ascii_case("Identity") {
                "Routing-Id"
            } else {
                k.as_str()
            };
            md.insert(name, v);
        }
        if let Some(addr) = self.conn.as_ref().and_then(|c| c.stream.peer_address()) {
            md.insert("Peer-Address", addr.as_bytes());
        }
        self.meta = Some(Arc::new(md));
        let opts = &self.config.options;
        if let Some(c) = &mut self.conn {
            c.handshake_deadline = None;
            if opts.heartbeat_ivl > 0 {
                let at = Instant::now() + Duration::from_millis(opts.heartbeat_ivl as u64);
                c.ping_at = Some(at);
                io.timer(at);
            }
        }
        if self.pipe.is_none() {
            if self.lingering {
                return;
            }
            // Socket end: out = socket -> peer (SNDHWM), in = peer -> socket (RCVHWM).
            let (mut sock_end, mut ours) =
                pipe_pair(opts.sndhwm.max(0) as u64, opts.rcvhwm.max(0) as u64);
            sock_end.set_to_kernel();
            ours.set_listener(io.pipe_listener.clone(), io.token);
            if self.conflates() {
                ours.set_conflate(true);
                ours.set_hwm(0);
            }
            self.pipe = Some(ours);
            self.ahead.clear();
            self.announce_routing_id(&info);
            self.config
                .socket
                .mailbox
                .send(Cmd::Attach(sock_end, self.config.endpoint.clone()));
        } else {
            self.announce_routing_id(&info);
            if self.reconnected {
                if let Some(p) = &self.pipe {
                    p.send_hiccup();
                }
            }
            self.reconnected = true;
        }
    }

    /// A ROUTER learns who is on a pipe from the first message in it.
    fn announce_routing_id(&mut self, info: &PeerInfo) {
        if !self.config.wants_routing_id {
            return;
        }
        if let Some(p) = &mut self.pipe {
            let mut m = Msg::from_slice(info.routing_id.as_deref().unwrap_or(&[]));
            m.set_flags(ROUTING_ID);
            p.write(m);
        }
    }

    /// A raw (STREAM) connection needs no handshake: it is ready once connected.
    fn raw_ready(&mut self, io: &mut Io) {
        let info = self.conn.as_mut().and_then(|c| c.codec.take_raw_ready());
        if let Some(info) = info {
            self.handshaken(io, info);
        }
    }

    /// Moves frames from the pipe into the codec and the codec's bytes into the kernel; then,
    /// if lingering, checks whether everything has been sent.
    fn flush(&mut self, io: &mut Io) {
        self.pump_out(io);
        self.check_linger_done(io);
    }

    fn pump_out(&mut self, io: &mut Io) {
        loop {
            let Some(c) = &mut self.conn else { return };
            if c.connecting {
                return;
            }
            if c.codec.is_ready() {
                if let Some(p) = &mut self.pipe {
                    // Each frame goes from its queue slot into `m` and is encoded from there.
                    let mut m = Msg::new();
                    while c.codec.output_len() < OUT_BATCH && p.read_into(&mut m) {
                        c.codec.encode(&m);
                    }
                }
            }
            if c.codec.wants_close() {
                return self.fail(io);
            }
            if !c.codec.has_output() || !c.writable {
                break;
            }
            let mut iov = Slices::new();
            c.codec.output_slices(&mut iov);
            match c.stream.write_vectored(&iov) {
                Ok(n) => {
                    c.codec.advance_output(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    c.writable = false;
                    // epoll_ctl checks readiness as it changes the interest: space freed
                    // since the write is reported, not lost.
                    if !c.out_armed && c.ask_writable(io, true).is_err() {
                        return self.fail(io);
                    }
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    return self.fail(io);
                }
            }
        }
    }

    pub fn on_pipe_event(&mut self, io: &mut Io, ev: PipeEvent) {
        match ev {
            PipeEvent::Readable => self.flush(io),
            PipeEvent::Writable => self.resume_reading(io),
            PipeEvent::Hiccup => {}
            PipeEvent::Closed => {
                if self.pipe.as_ref().is_some_and(|p| p.peer_closed()) {
                    self.close(io);
                    self.flush(io);
                }
            }
        }
    }

    /// Reads again after a pause (the socket made room, or the read-ahead pause ran out).
    fn resume_reading(&mut self, io: &mut Io) {
        if self.unpause() {
            self.read(io);
            self.flush(io);
        }
    }

    /// Ends a pause, for the pipe's HWM or the read-ahead budget; true if there was one.
    fn unpause(&mut self) -> bool {
        self.ahead_deadline = None;
        std::mem::take(&mut self.read_paused)
    }

    /// The socket is done with this session: keep sending what is queued for up to LINGER,
    /// then stop.
    pub fn close(&mut self, io: &mut Io) {
        if self.lingering {
            return;
        }
        self.lingering = true;
        self.unpause();
        let linger = self.config.socket.linger.load(Ordering::Relaxed);
        if linger == 0 || self.pipe.is_none() {
            self.done = true;
            return;
        }
        if linger > 0 {
            let at = Instant::now() + Duration::from_millis(linger as u64);
            self.linger_deadline = Some(at);
            io.timer(at);
        }
        self.flush(io);
    }

    /// While lingering: done once the socket's last message has been handed to the kernel
    /// and, over ipc, read by the peer.
    fn check_linger_done(&mut self, io: &mut Io) {
        if !self.lingering || self.done || self.drain.is_some() {
            return;
        }
        let drained = self.pipe.as_ref().is_none_or(|p| p.is_drained_and_closed());
        let written = self.conn.as_ref().is_none_or(|c| !c.codec.has_output());
        if !(drained && written) {
            return;
        }
        // libzmq 4.3.x takes the EPOLLHUP of a closed Unix stream for an error when its
        // receive pipe is full and drops the connection without reading what is still in the
        // kernel. So over ipc, close only once the peer has read everything, as long as it
        // keeps reading (DRAIN_STALL) and within the linger period.
        let unread = self.conn.as_ref().and_then(|c| c.stream.unread_by_peer());
        match unread {
            Some(n) if n > 0 => {
                let now = Instant::now();
                let ivl = Duration::from_millis(1);
                self.drain = Some(Drain {
                    unread: n,
                    progress_at: now,
                    ivl,
                    next_check: now + ivl,
                });
                io.timer(now + ivl);
            }
            _ => self.done = true,
        }
    }

    /// The draining linger's periodic check (see `check_linger_done`).
    fn check_drain(&mut self, io: &mut Io, now: Instant) {
        let unread = self.conn.as_ref().and_then(|c| c.stream.unread_by_peer());
        let Some(d) = &mut self.drain else { return };
        if d.next_check > now {
            return;
        }
        let unread = unread.unwrap_or(0);
        if unread < d.unread {
            d.unread = unread;
            d.progress_at = now;
        }
        if unread == 0 || now.duration_since(d.progress_at) >= DRAIN_STALL {
            self.done = true;
            return;
        }
        d.ivl = (d.ivl * 2).min(DRAIN_POLL_MAX);
        d.next_check = now + d.ivl;
        io.timer(d.next_check);
    }

    pub fn on_timer(&mut self, io: &mut Io, now: Instant) {
        if self.linger_deadline.is_some_and(|d| d <= now) {
            self.done = true;
            return;
        }
        if self.drain.is_some() {
            return self.check_drain(io, now);
        }
        if self.ahead_deadline.is_some_and(|d| d <= now) {
            // The socket has not read for PAUSE_MAX: read to the HWM as libzmq would.
            self.ahead.give_up();
            self.resume_reading(io);
        }
        if self.reconnect_at.is_some_and(|d| d <= now) {
            self.reconnect_at = None;
            if self.conn.is_none() {
                self.try_connect(io);
            }
            return;
        }
        let Some(c) = &mut self.conn else { return };
        if c.handshake_deadline.is_some_and(|d| d <= now)
            || c.ping_timeout_at.is_some_and(|d| d <= now)
            || c.ttl_deadline.is_some_and(|d| d <= now)
        {
            return self.fail(io);
        }
        if c.ping_at.is_some_and(|d| d <= now) {
            let opts = &self.config.options;
            let ttl_ds = (opts.heartbeat_ttl / 100).min(u16::MAX as i32) as u16;
            c.codec.encode_ping(ttl_ds);
            let next = now + Duration::from_millis(opts.heartbeat_ivl as u64);
            c.ping_at = Some(next);
            io.timer(next);
            let timeout = opts.effective_heartbeat_timeout();
            if timeout > 0 && c.ping_timeout_at.is_none() {
                let at = now + Duration::from_millis(timeout as u64);
                c.ping_timeout_at = Some(at);
                io.timer(at);
            }
            self.flush(io);
        }
    }

    /// The connection broke or the peer misbehaved: drop it, and reconnect if we connect.
    fn fail(&mut self, io: &mut Io) {
        if let Some(mut c) = self.conn.take() {
            let _ = io.registry.deregister(c.stream.source());
        }
        self.disconnected(io);
    }

    fn disconnected(&mut self, io: &mut Io) {
        self.parts.clear();
        self.unpause();
        self.meta = None;
        if let Some(p) = &mut self.pipe {
            // The rest of a message half-sent on the old connection cannot be resumed.
            p.skip_rest_of_message();
        }
        // ZMQ_IMMEDIATE and STREAM sockets have a pipe per connection, not per endpoint.
        let immediate = self.config.options.immediate != 0 || self.config.raw;
        if self.connect.is_none() || immediate {
            // The socket sees the peer go away.
            self.pipe = None;
        }
        if self.connect.is_none() || (self.lingering && self.pipe.is_none()) || self.drain.is_some()
        {
            self.done = true;
            return;
        }
        self.schedule_reconnect(io);
    }

    /// Final cleanup before the reactor drops the session.
    pub fn shutdown(&mut self, registry: &mio::Registry) {
        if let Some(mut c) = self.conn.take() {
            let _ = registry.deregister(c.stream.source());
        }
    }
}

#[cold]
#[inline(never)]
fn queue_event(events: &mut Vec<Event>, ev: Event) {
    events.push(ev);
}

/// Hands a frame from the peer to the socket: the frames of a multipart message are held in
/// `parts` and written together when the last arrives (the pipe commits whole messages only
/// and cannot take back a partial one if the connection breaks). The caller flushes the pipe
/// once it has delivered what a read brought.
#[inline(always)]
fn deliver(
    pipe: &mut Option<PipeEnd>,
    parts: &mut Vec<Msg>,
    meta: &Option<Arc<Metadata>>,
    mut m: Msg,
) {
    let Some(p) = pipe else { return };
    if p.peer_gone() {
        return;
    }
    m.set_metadata(meta.clone());
    if m.more() || !parts.is_empty() {
        deliver_part(p, parts, m);
    } else {
        p.write_deferred(m);
    }
}

/// `deliver` for the frames of a multipart message.
#[inline(never)]
fn deliver_part(p: &mut PipeEnd, parts: &mut Vec<Msg>, m: Msg) {
    if m.more() {
        parts.push(m);
    } else {
        for part in parts.drain(..) {
            p.write_deferred(part);
        }
        p.write_deferred(m);
    }
}

/// The readiness a session's stream is registered for.
fn interest(out: bool) -> Interest {
    if out {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    }
}

impl Conn {
    /// Adds WRITABLE to the stream's registered interest, or takes it out (`out_armed`).
    fn ask_writable(&mut self, io: &Io, on: bool) -> std::io::Result<()> {
        self.out_armed = on;
        io.registry
            .reregister(self.stream.source(), Token(io.token), interest(on))
    }

    fn new(stream: Stream, codec: Wire, connecting: bool) -> Conn {
        Conn {
            stream,
            codec,
            connecting,
            writable: !connecting,
            out_armed: connecting,
            handshake_deadline: None,
            ping_at: None,
            ping_timeout_at: None,
            ttl_deadline: None,
            ttl: Duration::ZERO,
            read_closed: false,
        }
    }
}

fn new_wire(config: &SessionConfig) -> Wire {
    if config.raw {
        Wire::Raw(Raw::new())
    } else {
        Wire::Zmtp(Codec::new(codec_config(config)))
    }
}

fn codec_config(config: &SessionConfig) -> zmtp::Config {
    let o = &config.options;
    zmtp::Config {
        socket_type: config.zmtp_name,
        routing_id: o.routing_id.clone(),
        as_server: false,
        max_msg_size: o.maxmsgsize,
        metadata: o.metadata.clone(),
    }
}

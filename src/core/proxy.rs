//! zmq_proxy / zmq_proxy_steerable: forward whole messages between two sockets, copying them
//! to a capture socket, steered by a control socket (PAUSE, RESUME, TERMINATE, STATISTICS).

use super::error::{Error, Result};
use super::msg::Msg;
use super::poll::{poll, PollSlot};
use super::socket::{Socket, ZMQ_DONTWAIT, ZMQ_POLLIN, ZMQ_SNDMORE};
use libc::{c_int, c_void};

struct Item {
    socket: *mut c_void,
    fd: i32,
    events: i16,
    revents: i16,
}

impl PollSlot for Item {
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

#[derive(Default)]
struct Stats {
    msgs_in: u64,
    bytes_in: u64,
    msgs_out: u64,
    bytes_out: u64,
}

/// Moves one whole message from `from` to `to` (and a copy to `capture`), frame by frame
/// through `m`, which a send leaves empty for the next.
unsafe fn forward(
    from: *mut c_void,
    to: *mut c_void,
    capture: *mut c_void,
    m: &mut Msg,
    from_stats: &mut Stats,
    to_stats: &mut Stats,
) -> Result<()> {
    loop {
        Socket::from_ptr(from)?.recv_into(m, ZMQ_DONTWAIT)?;
        let more = m.more();
        let len = m.len() as u64;
        // As libzmq 4.3.5, the counters count frames, not whole messages.
        from_stats.msgs_in += 1;
        from_stats.bytes_in += len;
        if !capture.is_null() {
            let mut c = m.share();
            Socket::from_ptr(capture)?.send(&mut c, if more { ZMQ_SNDMORE } else { 0 })?;
        }
        Socket::from_ptr(to)?.send(m, if more { ZMQ_SNDMORE } else { 0 })?;
        to_stats.msgs_out += 1;
        to_stats.bytes_out += len;
        if !more {
            return Ok(());
        }
    }
}

/// Forwards what is waiting, up to a batch, so one poll moves many messages.
unsafe fn forward_batch(
    from: *mut c_void,
    to: *mut c_void,
    capture: *mut c_void,
    from_stats: &mut Stats,
    to_stats: &mut Stats,
) -> Result<()> {
    const BATCH: usize = 1000;
    let mut m = Msg::new();
    for _ in 0..BATCH {
        match forward(from, to, capture, &mut m, from_stats, to_stats) {
            Ok(()) => {}
            Err(Error::EAGAIN) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

enum Control {
    None,
    Pause,
    Resume,
    Terminate,
    Statistics,
}

/// Runs the proxy until TERMINATE (Ok(0)) or an error such as ETERM.
///
/// # Safety
/// The arguments must be live sockets (capture and control may be NULL), not used by
/// another thread meanwhile.
pub unsafe fn run(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> Result<c_int> {
    Socket::from_ptr(frontend)?;
    Socket::from_ptr(backend)?;
    let mut items = vec![
        Item {
            socket: frontend,
            fd: 0,
            events: ZMQ_POLLIN,
            revents: 0,
        },
        Item {
            socket: backend,
            fd: 0,
            events: ZMQ_POLLIN,
            revents: 0,
        },
    ];
    if !control.is_null() {
        Socket::from_ptr(control)?;
        items.push(Item {
            socket: control,
            fd: 0,
            events: ZMQ_POLLIN,
            revents: 0,
        });
    }
    let mut front = Stats::default();
    let mut back = Stats::default();
    let mut paused = false;
    loop {
        poll(&mut items, -1)?;
        if items.len() == 3 && items[2].revents & ZMQ_POLLIN != 0 {
            let ctl = Socket::from_ptr(control)?;
            let cmd = ctl.recv(ZMQ_DONTWAIT)?;
            let action = match cmd.data() {
                b"PAUSE" => Control::Pause,
                b"RESUME" => Control::Resume,
                b"TERMINATE" => Control::Terminate,
                b"STATISTICS" => Control::Statistics,
                _ => Control::None,
            };
            if cmd.more() {
                while ctl.recv(ZMQ_DONTWAIT)?.more() {}
            }
            // A REP control socket gets a reply to every command: the counters for
            // STATISTICS, an empty frame otherwise (libzmq 4.3.5).
            let rep = ctl.socket_type() == crate::pattern::ZMQ_REP;
            if rep && !matches!(action, Control::Statistics) {
                ctl.send(&mut Msg::new(), 0)?;
            }
            match action {
                Control::Pause => paused = true,
                Control::Resume => paused = false,
                Control::Terminate => return Ok(0),
                Control::Statistics => {
                    if rep {
                        let vals = [
                            front.msgs_in,
                            front.bytes_in,
                            front.msgs_out,
                            front.bytes_out,
                            back.msgs_in,
                            back.bytes_in,
                            back.msgs_out,
                            back.bytes_out,
                        ];
                        for (i, v) in vals.iter().enumerate() {
                            let mut m = Msg::from_slice(&v.to_ne_bytes());
                            ctl.send(&mut m, if i < 7 { ZMQ_SNDMORE } else { 0 })?;
                        }
                    }
                }
                Control::None => {}
            }
        }
        if paused {
            continue;
        }
        if items[0].revents & ZMQ_POLLIN != 0 {
            forward_batch(frontend, backend, capture, &mut front, &mut back)?;
        }
        if items[1].revents & ZMQ_POLLIN != 0 && frontend != backend {
            forward_batch(backend, frontend, capture, &mut back, &mut front)?;
        }
    }
}

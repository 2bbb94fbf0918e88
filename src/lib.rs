//! A C-ABI drop-in replacement for libzmq 4.3.x.
//!
//! Layers (see docs/architecture.md): `ffi` converts and validates C calls; `core` holds the
//! context, sockets, messages and pipes; `pattern` has one file per socket type; `zmtp` is a
//! sans-I/O codec of the wire protocol; `transport` resolves and opens tcp/ipc/inproc
//! endpoints; `io` runs the I/O threads that move bytes between sockets and pipes.

pub mod core;
pub mod ffi;
pub mod io;
pub mod pattern;
pub mod transport;
pub mod zmtp;

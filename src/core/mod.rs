//! The machinery every socket shares: context, socket base, options, messages, pipes,
//! mailboxes and errors.

pub mod ctx;
pub mod error;
pub mod mailbox;
pub mod msg;
pub mod options;
pub mod pipe;
pub mod pipes;
pub mod poll;
pub mod pool;
pub mod proxy;
pub mod signaler;
pub mod slab;
pub mod socket;
pub(crate) mod spin;
pub mod spsc;
pub(crate) mod threads;
pub mod timers;

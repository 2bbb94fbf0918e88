//! What every thread the library starts does first.

/// Blocks every signal in the calling thread, as libzmq does in the threads it starts (its
/// I/O threads and `zmq_threadstart`'s): the application's signal handlers then run in its own
/// threads, never in ours.
pub(crate) fn block_signals() {
    // SAFETY: plain calls on initialised local sets; pthread_sigmask only changes this
    // thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

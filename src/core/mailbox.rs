//! A multi-producer command queue with a single consumer that is woken only on the
//! empty-to-non-empty transition. Sockets and I/O threads each own one.

use crossbeam_queue::SegQueue;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Something that can be woken: an eventfd signaler or an I/O thread's mio waker.
pub trait Wake: Send + Sync {
    fn wake(&self);
}

impl Wake for super::signaler::Signaler {
    fn wake(&self) {
        self.signal()
    }
}

impl Wake for mio::Waker {
    fn wake(&self) {
        let _ = mio::Waker::wake(self);
    }
}

pub struct Mailbox<C, W: Wake> {
    queue: SegQueue<C>,
    /// Commands pushed minus commands consumed. Transiently negative while a consumer has
    /// popped a command whose producer has not counted it yet.
    pending: AtomicIsize,
    waker: W,
}

impl<C, W: Wake> Mailbox<C, W> {
    pub fn new(waker: W) -> Self {
        Mailbox {
            queue: SegQueue::new(),
            pending: AtomicIsize::new(0),
            waker,
        }
    }

    pub fn waker(&self) -> &W {
        &self.waker
    }

    /// Queues a command; wakes the consumer if the mailbox was empty.
    pub fn send(&self, cmd: C) {
        self.queue.push(cmd);
        if self.pending.fetch_add(1, Ordering::AcqRel) == 0 {
            self.waker.wake();
        }
    }

    /// True when commands may be waiting (a single load: cheap enough for every call).
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire) != 0
    }

    /// Processes every queued command. The caller must have drained its wake fd first, so
    /// that a command sent after this returns wakes it again.
    pub fn drain(&self, mut f: impl FnMut(C)) {
        loop {
            let mut n = 0isize;
            while let Some(c) = self.queue.pop() {
                f(c);
                n += 1;
            }
            if n == 0 {
                return;
            }
            // If others were counted meanwhile they did not wake us: go round again.
            if self.pending.fetch_sub(n, Ordering::AcqRel) == n {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_only_on_first_command() {
        let mb = Mailbox::new(Count(AtomicUsize::new(0)));
        mb.send(1);
        mb.send(2);
        assert_eq!(mb.waker().0.load(Ordering::SeqCst), 1);
        let mut got = vec![];
        mb.drain(|c| got.push(c));
        assert_eq!(got, vec![1, 2]);
        assert!(!mb.has_pending());
        mb.send(3);
        assert_eq!(mb.waker().0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn concurrent_producers_lose_nothing() {
        let mb = Arc::new(Mailbox::new(Count(AtomicUsize::new(0))));
        let producers: Vec<_> = (0..4)
            .map(|_| {
                let mb = mb.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        mb.send(i);
                    }
                })
            })
            .collect();
        let mut total = 0;
        while total < 40_000 {
            mb.drain(|_| total += 1);
        }
        for p in producers {
            p.join().unwrap();
        }
        mb.drain(|_| total += 1);
        assert_eq!(total, 40_000);
        assert!(!mb.has_pending());
    }
}

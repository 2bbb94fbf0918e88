//! How far a session reads ahead of its socket, in bytes.
//!
//! The receive HWM counts messages: 1,000 by default, which for 64 KiB messages is 64 MiB the
//! I/O thread may decode before the socket takes any. It gets there whenever the application
//! thread waits for a CPU while the I/O thread keeps reading (measured: a tcp stream of 64 KiB
//! messages at 40-50 k msg/s queued 130-200 of them, a scheduler time slice's worth, and the
//! receiver's peak memory was above libzmq's). So a session that has read more than [`BUDGET`]
//! bytes into the pipe that the socket has not taken yet stops reading; the bytes wait in the
//! kernel, which pushes back on the sender as a full pipe would. It reads again once the socket
//! is down to half the budget, or after [`PAUSE_MAX`] in any case: a socket that does not read
//! for that long gets its whole HWM, as with libzmq, until it catches up. Nothing is dropped,
//! and nothing waits longer than that pause; the ZMQ_RCVHWM man page already warns that the
//! real limit may be lower than the option says.

use std::collections::VecDeque;
use std::time::Duration;

/// Bytes queued for the socket at most before the session stops reading. Below 4 KiB a
/// message, the default HWM of 1,000 stops it first.
pub const BUDGET: usize = 4 << 20;
/// The longest a session waits for its socket to read before reading to the HWM again.
pub const PAUSE_MAX: Duration = Duration::from_millis(10);
/// Reads remembered separately at most (more than a budget of 64 KiB reads); older ones are
/// merged.
const CAP: usize = 256;

/// Counted per read from the kernel, not per message: nothing is added to the per-message
/// path. A read's bytes count as queued until the socket has read one message more than the
/// pipe held after it: the bytes may end a message, or be part of the next, still in the
/// decoder (then they count one message longer than needed; never shorter).
#[derive(Default)]
pub struct ReadAhead {
    /// Reads whose bytes the socket may not have taken, oldest first: the count of messages
    /// the socket has read once it has taken them, and the bytes read.
    queued: VecDeque<(u64, usize)>,
    bytes: usize,
    /// The socket made the session wait PAUSE_MAX: no budget until it is back under it.
    off: bool,
}

impl ReadAhead {
    /// Counts a read of `bytes` after which the pipe held `written` messages in all.
    #[inline]
    pub fn note(&mut self, written: u64, bytes: usize) {
        let count = written + 1;
        self.bytes += bytes;
        match self.queued.back_mut() {
            Some(last) if last.0 == count => last.1 += bytes,
            _ => self.queued.push_back((count, bytes)),
        }
    }

    /// True when `over_budget` has work: the bytes may be over budget, or reads to forget.
    #[inline]
    pub fn needs_check(&self) -> bool {
        self.bytes > BUDGET || self.queued.len() >= CAP
    }

    /// Forgets what the socket has read (`read` messages in all) and says whether the
    /// session should stop reading.
    pub fn over_budget(&mut self, read: u64) -> bool {
        while let Some(&(count, bytes)) = self.queued.front() {
            if count > read {
                break;
            }
            self.queued.pop_front();
            self.bytes -= bytes;
        }
        if self.queued.len() >= CAP {
            // The socket is far behind: the older half counts until the newest of them is
            // read (a little longer than it should, never shorter).
            let merged: usize = self.queued.drain(..CAP / 2).map(|(_, b)| b).sum();
            self.queued[0].1 += merged;
        }
        if self.bytes <= BUDGET {
            self.off = false;
        }
        !self.off && self.bytes > BUDGET
    }

    /// The number of messages (of `written`) the socket must get down to for the bytes
    /// queued to be at most half the budget (0 when that takes a message still to come).
    pub fn resume_at(&self, written: u64) -> u64 {
        let mut rest = self.bytes;
        let mut must_read = 0;
        for &(count, bytes) in &self.queued {
            if rest <= BUDGET / 2 {
                break;
            }
            rest -= bytes;
            must_read = count;
        }
        written.saturating_sub(must_read)
    }

    /// The socket did not read for PAUSE_MAX: read to the HWM until it catches up.
    pub fn give_up(&mut self) {
        self.off = true;
    }

    /// The pipe was replaced: its counts start again.
    pub fn clear(&mut self) {
        *self = ReadAhead::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: usize = 64 << 10;

    /// Reads of one 64 KiB message each, committed as messages `from + 1`...
    fn fill(ra: &mut ReadAhead, from: u64, n: u64) {
        for i in from..from + n {
            ra.note(i + 1, READ);
        }
    }

    #[test]
    fn over_budget_until_the_reader_takes_enough() {
        let per_budget = (BUDGET / READ) as u64;
        let mut ra = ReadAhead::default();
        fill(&mut ra, 0, per_budget);
        assert!(!ra.over_budget(0), "exactly the budget is allowed");
        fill(&mut ra, per_budget, 10);
        let written = per_budget + 10;
        assert!(ra.needs_check());
        assert!(ra.over_budget(0));
        // A read's bytes count until one message more than it completed is read.
        assert!(ra.over_budget(10), "one read still over");
        // The wake-up comes when half the budget is left queued.
        assert_eq!(ra.resume_at(written), per_budget / 2 - 1);
        assert!(!ra.over_budget(11));
    }

    #[test]
    fn giving_up_lasts_until_the_reader_catches_up() {
        let per_budget = (BUDGET / READ) as u64;
        let mut ra = ReadAhead::default();
        fill(&mut ra, 0, 2 * per_budget);
        assert!(ra.over_budget(0));
        ra.give_up();
        fill(&mut ra, 2 * per_budget, 100);
        assert!(
            !ra.over_budget(0),
            "reads to the HWM while the reader is stuck"
        );
        assert!(!ra.over_budget(101 + per_budget), "at the budget: back on");
        fill(&mut ra, 2 * per_budget + 100, 1);
        assert!(ra.over_budget(101 + per_budget), "the budget holds again");
    }

    #[test]
    fn reads_within_one_message_count_with_the_message() {
        let mut ra = ReadAhead::default();
        // One multipart message, or one large frame, over many reads: committed as message 1
        // by the last of them.
        for _ in 0..BUDGET / READ {
            ra.note(0, READ);
        }
        ra.note(1, READ);
        assert_eq!(ra.queued.len(), 2, "reads within a message are one entry");
        assert!(ra.over_budget(0));
        assert_eq!(ra.resume_at(1), 0);
        assert!(!ra.over_budget(1));
        assert!(!ra.needs_check());
    }

    #[test]
    fn a_reader_far_behind_costs_bounded_memory_and_is_never_undercounted() {
        let mut ra = ReadAhead::default();
        // Small reads, a message each: far under budget, but remembered reads are capped.
        for i in 0..10_000u64 {
            ra.note(i + 1, 100);
            if ra.needs_check() {
                assert!(!ra.over_budget(0));
            }
            assert!(ra.queued.len() <= CAP);
        }
        assert_eq!(ra.bytes, 1_000_000, "nothing forgotten before it is read");
        assert!(!ra.over_budget(9_999));
        assert_eq!(
            ra.bytes, 200,
            "the last message and what may follow it still count"
        );
        assert!(!ra.over_budget(10_001));
        assert_eq!(ra.bytes, 0);
    }
}

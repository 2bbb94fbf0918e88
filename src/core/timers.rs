//! The timer set behind `zmq_timers_*`: repeating timers ordered by deadline. Time is passed in
//! as a value (milliseconds on any monotonic clock), so the logic has no clock and no I/O and
//! every path is testable. Firing is split into [`Timers::due`] and [`Timers::fire`] so that the
//! caller can run each callback without holding a borrow of the set: a C handler may call back
//! into the same set (cancel, reset, add) while `zmq_timers_execute` is running.

use std::collections::{BTreeMap, HashMap};

use crate::core::error::{Error, Result};

/// A set of repeating timers, each carrying a payload `T` (the FFI stores handler and argument).
pub struct Timers<T> {
    /// Last id handed out; ids start at 1 like libzmq's.
    last_id: i32,
    /// Tie-breaker among equal deadlines: timers due at the same time fire in scheduling order.
    next_seq: u64,
    by_deadline: BTreeMap<(u64, u64), i32>,
    timers: HashMap<i32, Timer<T>>,
}

struct Timer<T> {
    interval: u64,
    /// This timer's key in `by_deadline`: (deadline, seq).
    key: (u64, u64),
    payload: T,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Timers<T> {
    pub fn new() -> Self {
        Timers {
            last_id: 0,
            next_seq: 0,
            by_deadline: BTreeMap::new(),
            timers: HashMap::new(),
        }
    }

    /// Registers a timer that first expires `interval` ms after `now`, then every `interval` ms.
    /// Returns its id (always > 0).
    pub fn add(&mut self, now: u64, interval: u64, payload: T) -> i32 {
        let id = self.next_id();
        let key = self.schedule(id, now.saturating_add(interval));
        self.timers.insert(
            id,
            Timer {
                interval,
                key,
                payload,
            },
        );
        id
    }

    /// Removes a timer. EINVAL if `id` is unknown or already cancelled.
    pub fn cancel(&mut self, id: i32) -> Result<()> {
        let timer = self.timers.remove(&id).ok_or(Error::EINVAL)?;
        self.by_deadline.remove(&timer.key);
        Ok(())
    }

    /// Changes a timer's interval and restarts it from `now`. EINVAL if `id` is unknown.
    pub fn set_interval(&mut self, now: u64, id: i32, interval: u64) -> Result<()> {
        self.timers.get_mut(&id).ok_or(Error::EINVAL)?.interval = interval;
        self.reset(now, id)
    }

    /// Restarts a timer: it next expires one interval after `now`. EINVAL if `id` is unknown.
    pub fn reset(&mut self, now: u64, id: i32) -> Result<()> {
        let (old_key, interval) = match self.timers.get(&id) {
            Some(t) => (t.key, t.interval),
            None => return Err(Error::EINVAL),
        };
        self.by_deadline.remove(&old_key);
        let key = self.schedule(id, now.saturating_add(interval));
        if let Some(t) = self.timers.get_mut(&id) {
            t.key = key;
        }
        Ok(())
    }

    /// Milliseconds from `now` until the next timer expires (0 if one is overdue), or `None`
    /// when no timer is registered.
    pub fn timeout(&self, now: u64) -> Option<u64> {
        let (&(deadline, _), _) = self.by_deadline.first_key_value()?;
        Some(deadline.saturating_sub(now))
    }

    /// The ids of the timers expired at `now`, earliest first. Pass each to [`Timers::fire`].
    pub fn due(&self, now: u64) -> Vec<i32> {
        self.by_deadline
            .range(..=(now, u64::MAX))
            .map(|(_, &id)| id)
            .collect()
    }

    /// If timer `id` still exists and is expired at `now`, reschedules it one interval after
    /// `now` and returns its payload for the caller to run. A timer cancelled or reset by an
    /// earlier callback of the same round is thus skipped, and each timer fires at most once
    /// per round even with a zero interval.
    pub fn fire(&mut self, now: u64, id: i32) -> Option<T>
    where
        T: Clone,
    {
        let timer = self.timers.get(&id)?;
        if timer.key.0 > now {
            return None;
        }
        let (old_key, deadline) = (timer.key, now.saturating_add(timer.interval));
        self.by_deadline.remove(&old_key);
        let key = self.schedule(id, deadline);
        let timer = self.timers.get_mut(&id)?;
        timer.key = key;
        Some(timer.payload.clone())
    }

    fn schedule(&mut self, id: i32, deadline: u64) -> (u64, u64) {
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.by_deadline.insert(key, id);
        key
    }

    /// The next free positive id. Wraps after i32::MAX, skipping ids still in use.
    fn next_id(&mut self) -> i32 {
        loop {
            self.last_id = if self.last_id == i32::MAX {
                1
            } else {
                self.last_id + 1
            };
            if !self.timers.contains_key(&self.last_id) {
                return self.last_id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one `execute` round the way the FFI does, collecting (id, payload) of what fired.
    fn run(t: &mut Timers<&'static str>, now: u64) -> Vec<(i32, &'static str)> {
        let mut fired = Vec::new();
        for id in t.due(now) {
            if let Some(p) = t.fire(now, id) {
                fired.push((id, p));
            }
        }
        fired
    }

    #[test]
    fn empty_set_has_no_timeout_and_fires_nothing() {
        let mut t = Timers::<&str>::new();
        assert_eq!(t.timeout(0), None);
        assert!(run(&mut t, 1_000).is_empty());
    }

    #[test]
    fn ids_start_at_one_and_increase() {
        let mut t = Timers::new();
        assert_eq!(t.add(0, 10, "a"), 1);
        assert_eq!(t.add(0, 10, "b"), 2);
        t.cancel(1).unwrap();
        assert_eq!(t.add(0, 10, "c"), 3);
    }

    #[test]
    fn ids_wrap_and_skip_ids_in_use() {
        let mut t = Timers::new();
        assert_eq!(t.add(0, 10, "one"), 1);
        t.last_id = i32::MAX - 1;
        assert_eq!(t.add(0, 10, "max"), i32::MAX);
        assert_eq!(t.add(0, 10, "wrapped"), 2);
    }

    #[test]
    fn timer_repeats_at_its_interval() {
        let mut t = Timers::new();
        let id = t.add(100, 50, "tick");
        assert_eq!(t.timeout(100), Some(50));
        assert_eq!(t.timeout(120), Some(30));
        assert!(run(&mut t, 149).is_empty());
        assert_eq!(run(&mut t, 150), vec![(id, "tick")]);
        assert!(run(&mut t, 150).is_empty(), "fires once per expiry");
        assert_eq!(t.timeout(150), Some(50));
        // Late execution: rescheduled from the time it actually ran.
        assert_eq!(run(&mut t, 230), vec![(id, "tick")]);
        assert_eq!(t.timeout(230), Some(50));
    }

    #[test]
    fn overdue_timer_has_zero_timeout() {
        let mut t = Timers::new();
        t.add(0, 10, "x");
        assert_eq!(t.timeout(500), Some(0));
    }

    #[test]
    fn timers_fire_in_deadline_order_then_insertion_order() {
        let mut t = Timers::new();
        let late = t.add(0, 30, "late");
        let a = t.add(0, 10, "a");
        let b = t.add(0, 10, "b");
        let unexpired = t.add(0, 100, "unexpired");
        assert_eq!(t.due(30), vec![a, b, late]);
        assert_eq!(run(&mut t, 30), vec![(a, "a"), (b, "b"), (late, "late")]);
        assert_eq!(t.timeout(30), Some(10));
        assert_eq!(run(&mut t, 100).last(), Some(&(unexpired, "unexpired")));
    }

    #[test]
    fn cancel_removes_and_second_cancel_is_einval() {
        let mut t = Timers::new();
        let id = t.add(0, 10, "x");
        assert_eq!(t.cancel(id), Ok(()));
        assert_eq!(t.cancel(id), Err(Error::EINVAL));
        assert_eq!(t.cancel(12345), Err(Error::EINVAL));
        assert_eq!(t.timeout(0), None);
        assert!(run(&mut t, 100).is_empty());
    }

    #[test]
    fn unknown_ids_are_einval() {
        let mut t = Timers::<()>::new();
        assert_eq!(t.set_interval(0, 1, 10), Err(Error::EINVAL));
        assert_eq!(t.reset(0, 1), Err(Error::EINVAL));
        assert_eq!(t.fire(0, 1), None);
    }

    #[test]
    fn reset_restarts_from_now() {
        let mut t = Timers::new();
        let id = t.add(0, 100, "x");
        t.reset(60, id).unwrap();
        assert_eq!(t.timeout(60), Some(100));
        assert!(run(&mut t, 100).is_empty());
        assert_eq!(run(&mut t, 160), vec![(id, "x")]);
    }

    #[test]
    fn set_interval_changes_period_and_restarts() {
        let mut t = Timers::new();
        let id = t.add(0, 100, "x");
        t.set_interval(40, id, 10).unwrap();
        assert_eq!(t.timeout(40), Some(10));
        assert_eq!(run(&mut t, 50), vec![(id, "x")]);
        assert_eq!(t.timeout(50), Some(10));
    }

    #[test]
    fn callback_cancelling_a_later_timer_of_the_same_round_skips_it() {
        let mut t = Timers::new();
        let a = t.add(0, 10, "a");
        let b = t.add(0, 10, "b");
        let due = t.due(10);
        assert_eq!(t.fire(10, due[0]), Some("a"));
        t.cancel(b).unwrap(); // done by a's callback
        assert_eq!(t.fire(10, due[1]), None);
        assert_eq!(t.due(20), vec![a]);
    }

    #[test]
    fn callback_resetting_a_later_timer_of_the_same_round_defers_it() {
        let mut t = Timers::new();
        t.add(0, 10, "a");
        let b = t.add(0, 10, "b");
        let due = t.due(10);
        assert_eq!(t.fire(10, due[0]), Some("a"));
        t.reset(10, b).unwrap();
        assert_eq!(t.fire(10, due[1]), None);
        assert_eq!(t.timeout(10), Some(10));
    }

    #[test]
    fn zero_interval_fires_once_per_round() {
        let mut t = Timers::new();
        let id = t.add(0, 0, "z");
        assert_eq!(t.timeout(0), Some(0));
        assert_eq!(run(&mut t, 0), vec![(id, "z")]);
        assert_eq!(run(&mut t, 0), vec![(id, "z")]);
    }

    #[test]
    fn huge_intervals_saturate_instead_of_wrapping() {
        let mut t = Timers::new();
        let id = t.add(1_000, u64::MAX, "never");
        assert_eq!(t.timeout(1_000), Some(u64::MAX - 1_000));
        assert!(run(&mut t, 1_000_000).is_empty());
        t.set_interval(5, id, u64::MAX).unwrap();
        assert!(run(&mut t, u64::MAX - 1).is_empty());
    }
}

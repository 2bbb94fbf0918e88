//! The small utilities of libzmq's C API: version, errno access, capabilities, Z85, CURVE key
//! helpers, atomic counters, stopwatches, sleep, threads and the `zmq_timers_*` family.
//! Objects handed to C (counters, stopwatches, threads, timer sets) carry a tag word so that a
//! NULL or foreign pointer is refused with EFAULT instead of being used.

// Each entry point's safety contract is its libzmq man page: valid pointers, sizes as stated.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::error::{strerror, Error, Result};
use crate::core::timers::Timers;
use crate::ffi::{guard, guard_int, set_errno};

/// `zmq_thread_fn`: `void (void *arg)`.
type ThreadFn = unsafe extern "C" fn(*mut c_void);
/// `zmq_timer_fn`: `void (int timer_id, void *arg)`.
type TimerFn = unsafe extern "C" fn(c_int, *mut c_void);

// ---------------------------------------------------------------------------------------------
// Tagged handles

/// The kinds of object we hand to C as `void *`, each with its own tag value.
trait Tagged {
    const TAG: u32;
}

/// What a `void *` handle points to: the tag first, so it can be checked before anything else
/// is read. A pointer of another kind, or freed by us (the tag is overwritten on free), most
/// likely fails the check; only NULL is refused for sure, as in libzmq.
#[repr(C)]
struct Handle<T> {
    tag: u32,
    value: T,
}

const DEAD_TAG: u32 = 0xDEAD_BEEF;

impl<T: Tagged> Handle<T> {
    fn into_raw(value: T) -> *mut c_void {
        Box::into_raw(Box::new(Handle { tag: T::TAG, value })).cast()
    }

    /// The object behind `p`, or EFAULT if `p` is NULL, misaligned or not tagged as a `T`.
    ///
    /// # Safety
    /// A non-NULL, aligned `p` must be readable for a `u32` (any live allocation is).
    unsafe fn get<'a>(p: *mut c_void) -> Result<&'a T> {
        let handle = p.cast::<Handle<T>>();
        if handle.is_null() || !handle.is_aligned() || p.cast::<u32>().read() != T::TAG {
            return Err(Error::EFAULT);
        }
        // SAFETY: the tag says `p` came from `into_raw` for this `T` and was not freed since.
        Ok(&(*handle).value)
    }

    /// Frees the object behind `p` and returns its value, after the same checks as `get`.
    ///
    /// # Safety
    /// As for `get`; moreover no reference from `get` may be used afterwards.
    unsafe fn free(p: *mut c_void) -> Result<T> {
        Self::get(p)?;
        let mut handle = Box::from_raw(p.cast::<Handle<T>>());
        // Volatile so the store survives the deallocation right after it.
        ptr::write_volatile(&mut handle.tag, DEAD_TAG);
        Ok(handle.value)
    }
}

// ---------------------------------------------------------------------------------------------
// Version, errno, capabilities

/// Reports libzmq's version, 4.3.5. NULL outputs are skipped.
#[no_mangle]
pub unsafe extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    for (out, v) in [(major, 4), (minor, 3), (patch, 5)] {
        if !out.is_null() {
            *out = v;
        }
    }
}

/// The calling thread's `errno`.
#[no_mangle]
pub unsafe extern "C" fn zmq_errno() -> c_int {
    *libc::__errno_location()
}

/// The message for an error code, ZeroMQ's own codes included. The string is static.
#[no_mangle]
pub unsafe extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    guard(c"Unknown error".as_ptr(), || Ok(strerror(errnum).as_ptr()))
}

/// 1 if the library has the capability named by the lowercase string `capability`, else 0.
#[no_mangle]
pub unsafe extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    if capability.is_null() {
        return 0;
    }
    match CStr::from_ptr(capability).to_bytes() {
        b"ipc" => 1,
        // TODO: "curve" answers 1 once the CURVE mechanism lands.
        // Not built: pgm, tipc, norm, vmci, gssapi; "draft" (no draft API); "WS"/"WSS".
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Z85 (ZMQ RFC 32)

const Z85_ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Digit value of each byte in Z85, 0xFF for bytes outside the alphabet.
const Z85_DIGIT: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < Z85_ALPHABET.len() {
        table[Z85_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data` as Z85 text: five characters per four bytes. EINVAL unless the length is a
/// multiple of 4 (empty data gives empty text).
pub fn z85_encode(data: &[u8]) -> Result<String> {
    if data.len() % 4 != 0 {
        return Err(Error::EINVAL);
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = Z85_ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&b| b as char));
    }
    Ok(text)
}

/// Decodes Z85 text: four bytes per five characters. EINVAL if the length is not a non-zero
/// multiple of 5 (libzmq refuses empty text too), on a character outside the alphabet, or on a
/// group whose value exceeds 32 bits.
pub fn z85_decode(text: &[u8]) -> Result<Vec<u8>> {
    if text.is_empty() || text.len() % 5 != 0 {
        return Err(Error::EINVAL);
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.chunks_exact(5) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = Z85_DIGIT[c as usize];
            if digit == 0xFF {
                return Err(Error::EINVAL);
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Error::EINVAL)?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

/// Encodes `size` bytes of `data` into `dest`, which must hold `size * 5 / 4 + 1` bytes; the
/// text is NUL-terminated. Returns `dest`, or NULL with EINVAL if `size % 4 != 0` (EFAULT for
/// NULL pointers).
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_encode(
    dest: *mut c_char,
    data: *const u8,
    size: usize,
) -> *mut c_char {
    guard(ptr::null_mut(), || {
        if size % 4 != 0 {
            return Err(Error::EINVAL);
        }
        if dest.is_null() || (data.is_null() && size > 0) {
            return Err(Error::EFAULT);
        }
        let data = if size == 0 {
            &[][..]
        } else {
            // SAFETY: the caller passes `size` readable bytes at `data`.
            std::slice::from_raw_parts(data, size)
        };
        let text = z85_encode(data)?;
        // SAFETY: the caller guarantees room for the text and its terminator.
        ptr::copy_nonoverlapping(text.as_ptr(), dest.cast::<u8>(), text.len());
        *dest.add(text.len()) = 0;
        Ok(dest)
    })
}

/// Decodes the NUL-terminated Z85 `string` into `dest`, which must hold `strlen * 4 / 5`
/// bytes. Returns `dest`, or NULL with EINVAL on a bad length or character (EFAULT for NULL
/// pointers).
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    guard(ptr::null_mut(), || {
        if dest.is_null() || string.is_null() {
            return Err(Error::EFAULT);
        }
        let data = z85_decode(CStr::from_ptr(string).to_bytes())?;
        // SAFETY: the caller guarantees room for the decoded bytes.
        ptr::copy_nonoverlapping(data.as_ptr(), dest, data.len());
        Ok(dest)
    })
}

// ---------------------------------------------------------------------------------------------
// CURVE key helpers

/// Generates a CURVE key pair. Not available yet: -1 with ENOTSUP, as libzmq built without
/// CURVE answers.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_keypair(
    _z85_public_key: *mut c_char,
    _z85_secret_key: *mut c_char,
) -> c_int {
    set_errno(Error::ENOTSUP);
    -1
}

/// Derives a CURVE public key from a secret key. Not available yet: -1 with ENOTSUP.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_public(
    _z85_public_key: *mut c_char,
    _z85_secret_key: *const c_char,
) -> c_int {
    set_errno(Error::ENOTSUP);
    -1
}

// ---------------------------------------------------------------------------------------------
// Atomic counters

impl Tagged for AtomicI32 {
    const TAG: u32 = 0xC0A7_0001;
}

/// A new counter, set to zero.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    Handle::into_raw(AtomicI32::new(0))
}

/// Sets the counter to `value`.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_set(counter: *mut c_void, value: c_int) {
    guard((), || {
        Handle::<AtomicI32>::get(counter)?.store(value, Ordering::SeqCst);
        Ok(())
    })
}

/// Increments the counter; returns its value before the increment.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_inc(counter: *mut c_void) -> c_int {
    guard_int(|| Ok(Handle::<AtomicI32>::get(counter)?.fetch_add(1, Ordering::SeqCst)))
}

/// Decrements the counter; returns 0 if it reached zero, else 1.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_dec(counter: *mut c_void) -> c_int {
    guard_int(|| {
        let before = Handle::<AtomicI32>::get(counter)?.fetch_sub(1, Ordering::SeqCst);
        Ok(c_int::from(before.wrapping_sub(1) != 0))
    })
}

/// The counter's current value.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_value(counter: *mut c_void) -> c_int {
    guard_int(|| Ok(Handle::<AtomicI32>::get(counter)?.load(Ordering::SeqCst)))
}

/// Frees the counter at `*counter_p` and sets `*counter_p` to NULL. A NULL `*counter_p` is a
/// no-op, like C++'s `delete NULL` in libzmq.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_destroy(counter_p: *mut *mut c_void) {
    guard((), || {
        if counter_p.is_null() {
            return Err(Error::EFAULT);
        }
        if !(*counter_p).is_null() {
            Handle::<AtomicI32>::free(*counter_p)?;
            *counter_p = ptr::null_mut();
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Stopwatch, sleep, threads

impl Tagged for Instant {
    const TAG: u32 = 0xC0A7_0002;
}

/// Starts a stopwatch; read it with `zmq_stopwatch_intermediate`, free it with
/// `zmq_stopwatch_stop`.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    Handle::into_raw(Instant::now())
}

fn micros_since(start: Instant) -> c_ulong {
    c_ulong::try_from(start.elapsed().as_micros()).unwrap_or(c_ulong::MAX)
}

/// Microseconds since the stopwatch started (0 with EFAULT for a bad handle).
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    guard(0, || Ok(micros_since(*Handle::<Instant>::get(watch)?)))
}

/// Microseconds since the stopwatch started; frees it.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    guard(0, || Ok(micros_since(Handle::<Instant>::free(watch)?)))
}

/// Sleeps for `seconds` (nothing for zero or less).
#[no_mangle]
pub unsafe extern "C" fn zmq_sleep(seconds: c_int) {
    let seconds = u64::try_from(seconds).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(seconds));
}

impl Tagged for JoinHandle<()> {
    const TAG: u32 = 0xC0A7_0003;
}

/// The C argument moved into the new thread; C owns what it points to.
struct ThreadArg(*mut c_void);
// SAFETY: passing `arg` to another thread is exactly what `zmq_threadstart`'s caller asks for.
unsafe impl Send for ThreadArg {}

impl ThreadArg {
    // A method, so the closure captures the whole (Send) wrapper, not its raw-pointer field.
    fn get(self) -> *mut c_void {
        self.0
    }
}

/// Runs `func(arg)` on a new thread; returns a handle for `zmq_threadclose`, or NULL (EFAULT
/// for a NULL `func`, or the OS error if no thread could be started).
#[no_mangle]
pub unsafe extern "C" fn zmq_threadstart(func: Option<ThreadFn>, arg: *mut c_void) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let func = func.ok_or(Error::EFAULT)?;
        let arg = ThreadArg(arg);
        let thread = std::thread::Builder::new()
            .name("ZMQapp".into())
            .spawn(move || {
                crate::core::threads::block_signals();
                // SAFETY: the caller promises `func` may be called with `arg`.
                unsafe { func(arg.get()) }
            })?;
        Ok(Handle::into_raw(thread))
    })
}

/// Waits for the thread to finish and frees its handle.
#[no_mangle]
pub unsafe extern "C" fn zmq_threadclose(thread: *mut c_void) {
    guard((), || {
        // A C function cannot unwind, so join cannot report a panic worth passing on.
        let _ = Handle::<JoinHandle<()>>::free(thread)?.join();
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Timers

/// A `zmq_timers_new` object: the timer set and the clock it is read against.
struct TimerSet {
    origin: Instant,
    /// Borrowed only for the length of one set operation, never across a handler call: a
    /// handler may call `zmq_timers_*` on this same set.
    timers: RefCell<Timers<(TimerFn, *mut c_void)>>,
}

impl Tagged for TimerSet {
    // libzmq's own tag value for timers.
    const TAG: u32 = 0xCAFE_DADA;
}

impl TimerSet {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

fn ms(interval: usize) -> u64 {
    u64::try_from(interval).unwrap_or(u64::MAX)
}

/// A new, empty timer set.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_new() -> *mut c_void {
    Handle::into_raw(TimerSet {
        origin: Instant::now(),
        timers: RefCell::new(Timers::new()),
    })
}

/// Frees the timer set at `*timers_p` and sets `*timers_p` to NULL; EFAULT if it is not one.
/// Must not be called from one of the set's own handlers.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
    guard_int(|| {
        if timers_p.is_null() {
            return Err(Error::EFAULT);
        }
        Handle::<TimerSet>::free(*timers_p)?;
        *timers_p = ptr::null_mut();
        Ok(0)
    })
}

/// Adds a timer calling `handler(id, arg)` every `interval` ms; returns its id (> 0).
/// EFAULT for a bad set or a NULL handler.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_add(
    timers: *mut c_void,
    interval: usize,
    handler: Option<TimerFn>,
    arg: *mut c_void,
) -> c_int {
    guard_int(|| {
        let set = Handle::<TimerSet>::get(timers)?;
        let handler = handler.ok_or(Error::EFAULT)?;
        let now = set.now_ms();
        Ok(set
            .timers
            .borrow_mut()
            .add(now, ms(interval), (handler, arg)))
    })
}

/// Cancels a timer; EINVAL if it does not exist or was already cancelled.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_cancel(timers: *mut c_void, timer_id: c_int) -> c_int {
    guard_int(|| {
        let set = Handle::<TimerSet>::get(timers)?;
        set.timers.borrow_mut().cancel(timer_id)?;
        Ok(0)
    })
}

/// Sets a timer's interval and restarts it from now; EINVAL for an unknown id.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_set_interval(
    timers: *mut c_void,
    timer_id: c_int,
    interval: usize,
) -> c_int {
    guard_int(|| {
        let set = Handle::<TimerSet>::get(timers)?;
        let now = set.now_ms();
        set.timers
            .borrow_mut()
            .set_interval(now, timer_id, ms(interval))?;
        Ok(0)
    })
}

/// Restarts a timer from now; EINVAL for an unknown id.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_reset(timers: *mut c_void, timer_id: c_int) -> c_int {
    guard_int(|| {
        let set = Handle::<TimerSet>::get(timers)?;
        let now = set.now_ms();
        set.timers.borrow_mut().reset(now, timer_id)?;
        Ok(0)
    })
}

/// Milliseconds until the next timer expires (0 if one is overdue), or -1 when there is none.
/// The man page lists EINVAL for that case, so errno is set to it (libzmq leaves errno alone).
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_timeout(timers: *mut c_void) -> c_long {
    guard(-1, || {
        let set = Handle::<TimerSet>::get(timers)?;
        let now = set.now_ms();
        let left = set.timers.borrow().timeout(now).ok_or(Error::EINVAL)?;
        Ok(c_long::try_from(left).unwrap_or(c_long::MAX))
    })
}

/// Runs the handler of every expired timer, each at most once, and reschedules it.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_execute(timers: *mut c_void) -> c_int {
    guard_int(|| {
        let set = Handle::<TimerSet>::get(timers)?;
        let now = set.now_ms();
        let due = set.timers.borrow().due(now);
        for id in due {
            let fired = set.timers.borrow_mut().fire(now, id);
            if let Some((handler, arg)) = fired {
                handler(id, arg);
            }
        }
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn errno() -> c_int {
        unsafe { zmq_errno() }
    }

    fn clear_errno() {
        set_errno(Error(0));
    }

    #[test]
    fn version_is_4_3_5_and_null_tolerant() {
        let (mut a, mut b, mut c) = (0, 0, 0);
        unsafe {
            zmq_version(&mut a, &mut b, &mut c);
            zmq_version(ptr::null_mut(), &mut b, ptr::null_mut());
        }
        assert_eq!((a, b, c), (4, 3, 5));
    }

    #[test]
    fn errno_and_strerror() {
        set_errno(Error::EAGAIN);
        assert_eq!(errno(), libc::EAGAIN);
        let text = unsafe { CStr::from_ptr(zmq_strerror(crate::core::error::ETERM)) };
        assert_eq!(text, c"Context was terminated");
        let text = unsafe { CStr::from_ptr(zmq_strerror(-7)) };
        assert!(!text.to_bytes().is_empty());
    }

    #[test]
    fn capabilities() {
        unsafe {
            assert_eq!(zmq_has(c"ipc".as_ptr()), 1);
            for cap in [
                c"pgm", c"tipc", c"norm", c"curve", c"gssapi", c"draft", c"vmci", c"",
            ] {
                assert_eq!(zmq_has(cap.as_ptr()), 0, "{cap:?}");
            }
            assert_eq!(zmq_has(c"IPC".as_ptr()), 0);
            assert_eq!(zmq_has(ptr::null()), 0);
        }
    }

    const HELLO: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    #[test]
    fn z85_spec_vector() {
        assert_eq!(z85_encode(&HELLO).unwrap(), "HelloWorld");
        assert_eq!(z85_decode(b"HelloWorld").unwrap(), HELLO);
    }

    #[test]
    fn z85_round_trips_every_byte_and_extremes() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(
            z85_decode(z85_encode(&data).unwrap().as_bytes()).unwrap(),
            data
        );
        assert_eq!(z85_encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(z85_encode(&[0; 4]).unwrap(), "00000");
        assert_eq!(z85_encode(&[]).unwrap(), "");
    }

    #[test]
    fn z85_rejects_bad_input() {
        assert_eq!(z85_encode(&[1, 2, 3]), Err(Error::EINVAL));
        assert_eq!(z85_decode(b""), Err(Error::EINVAL));
        assert_eq!(z85_decode(b"Hello1"), Err(Error::EINVAL));
        assert_eq!(z85_decode(b"Hell\""), Err(Error::EINVAL)); // '"' is not a Z85 digit
        assert_eq!(z85_decode(b"Hell~"), Err(Error::EINVAL));
        assert_eq!(z85_decode(b"Hell\xC3"), Err(Error::EINVAL));
        // "%nSc0" is 0xFFFFFFFF; "%nSc1" is one more.
        assert_eq!(z85_decode(b"%nSc1"), Err(Error::EINVAL));
        assert_eq!(z85_decode(b"#####"), Err(Error::EINVAL));
    }

    #[test]
    fn z85_ffi() {
        unsafe {
            let mut text = [0x55 as c_char; 11];
            let out = zmq_z85_encode(text.as_mut_ptr(), HELLO.as_ptr(), HELLO.len());
            assert_eq!(out, text.as_mut_ptr());
            assert_eq!(CStr::from_ptr(out), c"HelloWorld");

            let mut data = [0u8; 8];
            let out = zmq_z85_decode(data.as_mut_ptr(), text.as_ptr());
            assert_eq!(out, data.as_mut_ptr());
            assert_eq!(data, HELLO);

            let mut empty = [0x55 as c_char; 1];
            assert!(!zmq_z85_encode(empty.as_mut_ptr(), ptr::null(), 0).is_null());
            assert_eq!(empty[0], 0);
        }
    }

    #[test]
    fn z85_ffi_errors() {
        unsafe {
            let mut text = [0 as c_char; 16];
            let mut data = [0u8; 16];
            clear_errno();
            assert!(zmq_z85_encode(text.as_mut_ptr(), HELLO.as_ptr(), 7).is_null());
            assert_eq!(errno(), libc::EINVAL);
            assert!(zmq_z85_encode(ptr::null_mut(), HELLO.as_ptr(), 8).is_null());
            assert_eq!(errno(), libc::EFAULT);
            assert!(zmq_z85_encode(text.as_mut_ptr(), ptr::null(), 8).is_null());
            assert_eq!(errno(), libc::EFAULT);

            clear_errno();
            assert!(zmq_z85_decode(data.as_mut_ptr(), c"Hello".as_ptr().add(1)).is_null());
            assert_eq!(errno(), libc::EINVAL);
            assert!(zmq_z85_decode(data.as_mut_ptr(), c"".as_ptr()).is_null());
            assert_eq!(errno(), libc::EINVAL);
            assert!(zmq_z85_decode(data.as_mut_ptr(), c"Hell\x7f".as_ptr()).is_null());
            assert_eq!(errno(), libc::EINVAL);
            assert!(zmq_z85_decode(ptr::null_mut(), c"Hello".as_ptr()).is_null());
            assert_eq!(errno(), libc::EFAULT);
            assert!(zmq_z85_decode(data.as_mut_ptr(), ptr::null()).is_null());
            assert_eq!(errno(), libc::EFAULT);
        }
    }

    #[test]
    fn curve_helpers_are_not_supported_yet() {
        let mut public = [0 as c_char; 41];
        let mut secret = [0 as c_char; 41];
        unsafe {
            assert_eq!(
                zmq_curve_keypair(public.as_mut_ptr(), secret.as_mut_ptr()),
                -1
            );
            assert_eq!(errno(), libc::ENOTSUP);
            clear_errno();
            assert_eq!(zmq_curve_public(public.as_mut_ptr(), secret.as_ptr()), -1);
            assert_eq!(errno(), libc::ENOTSUP);
        }
    }

    #[test]
    fn atomic_counter_follows_the_man_page_example() {
        unsafe {
            let mut counter = zmq_atomic_counter_new();
            assert!(!counter.is_null());
            assert_eq!(zmq_atomic_counter_value(counter), 0);
            assert_eq!(zmq_atomic_counter_inc(counter), 0);
            assert_eq!(zmq_atomic_counter_inc(counter), 1);
            assert_eq!(zmq_atomic_counter_inc(counter), 2);
            assert_eq!(zmq_atomic_counter_value(counter), 3);
            assert_eq!(zmq_atomic_counter_dec(counter), 1);
            assert_eq!(zmq_atomic_counter_dec(counter), 1);
            assert_eq!(zmq_atomic_counter_dec(counter), 0);
            zmq_atomic_counter_set(counter, 2);
            assert_eq!(zmq_atomic_counter_dec(counter), 1);
            assert_eq!(zmq_atomic_counter_dec(counter), 0);
            // Below zero is "not zero", as in libzmq.
            assert_eq!(zmq_atomic_counter_dec(counter), 1);
            assert_eq!(zmq_atomic_counter_value(counter), -1);
            zmq_atomic_counter_destroy(&mut counter);
            assert!(counter.is_null());
            zmq_atomic_counter_destroy(&mut counter); // NULL *counter_p: no-op
        }
    }

    #[test]
    fn atomic_counter_is_atomic_across_threads() {
        struct Shared(*mut c_void);
        unsafe impl Sync for Shared {}
        impl Shared {
            fn get(&self) -> *mut c_void {
                self.0
            }
        }
        let counter = Shared(unsafe { zmq_atomic_counter_new() });
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        unsafe { zmq_atomic_counter_inc(counter.get()) };
                    }
                });
            }
        });
        let mut counter = counter.get();
        unsafe {
            assert_eq!(zmq_atomic_counter_value(counter), 4000);
            zmq_atomic_counter_destroy(&mut counter);
        }
    }

    #[test]
    fn atomic_counter_refuses_bad_handles() {
        let mut not_ours = [0u64; 2];
        let foreign = not_ours.as_mut_ptr().cast::<c_void>();
        unsafe {
            for p in [ptr::null_mut(), foreign] {
                clear_errno();
                assert_eq!(zmq_atomic_counter_inc(p), -1);
                assert_eq!(errno(), libc::EFAULT);
                assert_eq!(zmq_atomic_counter_dec(p), -1);
                assert_eq!(zmq_atomic_counter_value(p), -1);
                clear_errno();
                zmq_atomic_counter_set(p, 1);
                assert_eq!(errno(), libc::EFAULT);
            }
            clear_errno();
            zmq_atomic_counter_destroy(ptr::null_mut());
            assert_eq!(errno(), libc::EFAULT);
            let mut p = foreign;
            zmq_atomic_counter_destroy(&mut p);
            assert_eq!(p, foreign, "a pointer that is not a counter is left alone");
            // A stopwatch is not a counter.
            let watch = zmq_stopwatch_start();
            assert_eq!(zmq_atomic_counter_value(watch), -1);
            zmq_stopwatch_stop(watch);
        }
        assert_eq!(not_ours, [0; 2]);
    }

    #[test]
    fn stopwatch_counts_microseconds() {
        unsafe {
            let watch = zmq_stopwatch_start();
            assert!(!watch.is_null());
            std::thread::sleep(Duration::from_millis(5));
            let mid = zmq_stopwatch_intermediate(watch);
            assert!(mid >= 5_000, "{mid}");
            let end = zmq_stopwatch_stop(watch);
            assert!(end >= mid);
            clear_errno();
            assert_eq!(zmq_stopwatch_intermediate(ptr::null_mut()), 0);
            assert_eq!(errno(), libc::EFAULT);
            assert_eq!(zmq_stopwatch_stop(ptr::null_mut()), 0);
        }
    }

    #[test]
    fn sleep_of_zero_or_less_returns_at_once() {
        let start = Instant::now();
        unsafe {
            zmq_sleep(0);
            zmq_sleep(-5);
        }
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    unsafe extern "C" fn set_flag(arg: *mut c_void) {
        std::thread::sleep(Duration::from_millis(10));
        (*arg.cast::<AtomicBool>()).store(true, Ordering::SeqCst);
    }

    #[test]
    fn threadstart_runs_and_threadclose_joins() {
        let flag = AtomicBool::new(false);
        unsafe {
            let thread = zmq_threadstart(Some(set_flag), ptr::from_ref(&flag).cast_mut().cast());
            assert!(!thread.is_null());
            zmq_threadclose(thread);
        }
        assert!(flag.load(Ordering::SeqCst));
    }

    #[test]
    fn thread_bad_arguments() {
        unsafe {
            clear_errno();
            assert!(zmq_threadstart(None, ptr::null_mut()).is_null());
            assert_eq!(errno(), libc::EFAULT);
            clear_errno();
            zmq_threadclose(ptr::null_mut());
            assert_eq!(errno(), libc::EFAULT);
        }
    }

    unsafe extern "C" fn count_calls(_id: c_int, arg: *mut c_void) {
        (*arg.cast::<AtomicI32>()).fetch_add(1, Ordering::SeqCst);
    }

    /// Mirrors libzmq's test_null_timer_pointers.
    #[test]
    fn timers_refuse_null_and_foreign_handles() {
        let mut timers: *mut c_void = ptr::null_mut();
        let not_ours = ptr::from_mut(&mut timers).cast::<c_void>();
        unsafe {
            clear_errno();
            assert_eq!(zmq_timers_destroy(&mut timers), -1);
            assert_eq!(errno(), libc::EFAULT);
            clear_errno();
            assert_eq!(zmq_timers_destroy(ptr::null_mut()), -1);
            assert_eq!(errno(), libc::EFAULT);
            for p in [ptr::null_mut(), not_ours] {
                clear_errno();
                assert_eq!(
                    zmq_timers_add(p, 100, Some(count_calls), ptr::null_mut()),
                    -1
                );
                assert_eq!(errno(), libc::EFAULT);
                clear_errno();
                assert_eq!(zmq_timers_cancel(p, 1), -1);
                assert_eq!(errno(), libc::EFAULT);
                clear_errno();
                assert_eq!(zmq_timers_set_interval(p, 1, 100), -1);
                assert_eq!(errno(), libc::EFAULT);
                clear_errno();
                assert_eq!(zmq_timers_reset(p, 1), -1);
                assert_eq!(errno(), libc::EFAULT);
                clear_errno();
                assert_eq!(zmq_timers_timeout(p), -1);
                assert_eq!(errno(), libc::EFAULT);
                clear_errno();
                assert_eq!(zmq_timers_execute(p), -1);
                assert_eq!(errno(), libc::EFAULT);
            }
        }
    }

    /// Mirrors libzmq's test_corner_cases.
    #[test]
    fn timers_corner_cases() {
        unsafe {
            let mut timers = zmq_timers_new();
            assert!(!timers.is_null());
            clear_errno();
            assert_eq!(zmq_timers_cancel(timers, 1), -1);
            assert_eq!(errno(), libc::EINVAL);
            clear_errno();
            assert_eq!(zmq_timers_set_interval(timers, 1, usize::MAX), -1);
            assert_eq!(errno(), libc::EINVAL);
            clear_errno();
            assert_eq!(zmq_timers_reset(timers, 1), -1);
            assert_eq!(errno(), libc::EINVAL);
            clear_errno();
            assert_eq!(
                zmq_timers_add(timers, usize::MAX, None, ptr::null_mut()),
                -1
            );
            assert_eq!(errno(), libc::EFAULT);

            let id = zmq_timers_add(timers, usize::MAX, Some(count_calls), ptr::null_mut());
            assert!(id > 0);
            assert_eq!(zmq_timers_timeout(timers), c_long::MAX);
            assert_eq!(zmq_timers_cancel(timers, id), 0);
            clear_errno();
            assert_eq!(zmq_timers_cancel(timers, id), -1);
            assert_eq!(errno(), libc::EINVAL);
            clear_errno();
            assert_eq!(zmq_timers_timeout(timers), -1);
            assert_eq!(errno(), libc::EINVAL);

            assert_eq!(zmq_timers_destroy(&mut timers), 0);
            assert!(timers.is_null());
        }
    }

    #[test]
    fn timers_fire_repeatedly_and_stop_when_cancelled() {
        let calls = AtomicI32::new(0);
        let arg = ptr::from_ref(&calls).cast_mut().cast::<c_void>();
        unsafe {
            let mut timers = zmq_timers_new();
            let id = zmq_timers_add(timers, 20, Some(count_calls), arg);
            assert_eq!(id, 1);
            assert_eq!(zmq_timers_execute(timers), 0);
            assert_eq!(calls.load(Ordering::SeqCst), 0);
            let timeout = zmq_timers_timeout(timers);
            assert!((0..=20).contains(&timeout), "{timeout}");

            for round in 1..=2 {
                std::thread::sleep(Duration::from_millis(zmq_timers_timeout(timers) as u64 + 1));
                assert_eq!(zmq_timers_execute(timers), 0);
                assert_eq!(calls.load(Ordering::SeqCst), round);
            }

            assert_eq!(zmq_timers_set_interval(timers, id, 5), 0);
            assert!(zmq_timers_timeout(timers) <= 5);
            assert_eq!(zmq_timers_reset(timers, id), 0);
            assert_eq!(zmq_timers_cancel(timers, id), 0);
            std::thread::sleep(Duration::from_millis(10));
            assert_eq!(zmq_timers_execute(timers), 0);
            assert_eq!(calls.load(Ordering::SeqCst), 2);
            assert_eq!(zmq_timers_destroy(&mut timers), 0);
        }
    }

    /// A handler's arg: the set it belongs to and how often it ran.
    struct SelfCancel {
        timers: *mut c_void,
        calls: i32,
        cancel_rc: c_int,
    }

    unsafe extern "C" fn cancel_self(id: c_int, arg: *mut c_void) {
        let state = &mut *arg.cast::<SelfCancel>();
        state.calls += 1;
        state.cancel_rc = zmq_timers_cancel(state.timers, id);
    }

    #[test]
    fn handlers_may_call_back_into_their_timer_set() {
        unsafe {
            let mut timers = zmq_timers_new();
            let mut state = SelfCancel {
                timers,
                calls: 0,
                cancel_rc: -1,
            };
            let arg = ptr::from_mut(&mut state).cast::<c_void>();
            zmq_timers_add(timers, 0, Some(cancel_self), arg);
            assert_eq!(zmq_timers_execute(timers), 0);
            assert_eq!((state.calls, state.cancel_rc), (1, 0));
            assert_eq!(zmq_timers_timeout(timers), -1);
            assert_eq!(zmq_timers_execute(timers), 0);
            assert_eq!(state.calls, 1);
            assert_eq!(zmq_timers_destroy(&mut timers), 0);
        }
    }
}

//! `getrusage` and `wait4`, which `std` does not expose. The only module allowed to use
//! `unsafe`; every block is a single FFI call on plain-data arguments.
#![allow(unsafe_code)]

/// Peak RSS of this process so far, KiB.
pub fn maxrss_self_kb() -> i64 {
    // SAFETY: `rusage` is plain data; zeroed is valid; `getrusage` writes only into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc == 0 { usage.ru_maxrss } else { -1 }
}

/// Reaps child `pid` with `wait4`: its peak RSS in KiB once it has exited, `None` while it
/// runs (with `block == false`) or on error.
pub fn reap(pid: u32, block: bool) -> Option<i64> {
    let flags = if block { 0 } else { libc::WNOHANG };
    let mut status: libc::c_int = 0;
    // SAFETY: as above; `wait4` writes only into the two out-parameters we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, flags, &mut usage) };
    (rc > 0).then_some(usage.ru_maxrss)
}

/// CPU time consumed by the calling thread, nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): unlike
/// wall time it does not count time spent waiting for a CPU on a busy machine.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes only into the `timespec` we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc == 0 { ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64 } else { 0 }
}

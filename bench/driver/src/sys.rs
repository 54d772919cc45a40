//! The few Linux system calls the driver needs that `std` does not expose:
//! CPU pinning, killing by pid, and reaping a child with its resource usage.
//!
//! This is the only module allowed to use `unsafe`; every block is a single
//! FFI call on plain-data arguments.
#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Pin the calling thread (and the threads it spawns afterwards) to `cpu`.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: `cpu_set_t` is plain data for which all-zero is the empty set;
    // `sched_setaffinity` only reads the set we pass with its exact size.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Make the process spawned by `cmd` run on `cpu` only, from before `exec`.
///
/// Unlike wrapping the command in `taskset`, this adds no extra program whose
/// memory would show up in the server's peak RSS or its cold start.
pub fn pin_child(cmd: &mut Command, cpu: usize) {
    // SAFETY: the hook runs between fork and exec; it makes one
    // async-signal-safe system call and allocates nothing (an OS error is a
    // plain code).
    unsafe {
        cmd.pre_exec(move || pin_current_thread(cpu));
    }
}

/// Send SIGKILL to `pid`. Errors (e.g. the process is already gone) are ignored.
pub fn kill(pid: u32) {
    // SAFETY: plain system call; the caller guarantees `pid` is its own child
    // that has not been reaped yet, so the pid cannot have been reused.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// How a reaped child ended, and its peak resident set size.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    /// Exit status, if it exited normally.
    pub code: Option<i32>,
    /// Terminating signal, if it was killed by one.
    pub signal: Option<i32>,
    /// `ru_maxrss` of the child: its peak RSS in KiB over its whole life.
    pub maxrss_kb: u64,
}

/// Reap `pid` with `wait4`. With `block == false` returns `Ok(None)` while
/// the child is still running.
pub fn wait4(pid: u32, block: bool) -> io::Result<Option<Reaped>> {
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `rusage` is plain data; zeroed is valid, and `wait4` writes
        // only into the two out-parameters we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, flags, &mut usage) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if rc == 0 {
            return Ok(None);
        }
        return Ok(Some(Reaped {
            code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            maxrss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        }));
    }
}

/// CPU time (user + system, µs) this process has used so far, all threads
/// including those that have ended.
pub fn self_cpu_us() -> u64 {
    // SAFETY: `rusage` is plain data; zeroed is valid, and `getrusage` only
    // writes into the out-parameter we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return 0;
    }
    let us = |t: libc::timeval| u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0);
    us(usage.ru_utime) + us(usage.ru_stime)
}

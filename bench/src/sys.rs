//! Readings from the operating system: this thread's CPU time, resident memory, the open-file limit.

use std::time::Duration;

/// The CPU time (user + system) this thread has used, or `None` where it cannot be read.
///
/// Read from `CLOCK_THREAD_CPUTIME_ID`, the nanosecond clock behind `getrusage(RUSAGE_THREAD)`;
/// it must be called on the thread being measured.
pub fn thread_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(now.tv_sec).ok()?;
        let nanos = u32::try_from(now.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Pins the calling thread to CPU `cpu`; `false` where that is not possible.
pub fn pin_to_cpu(cpu: usize) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpu);
        rustix::thread::sched_setaffinity(None, &set).is_ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = cpu;
        false
    }
}

/// The process's resident set size in bytes, from `VmRSS` in `/proc/self/status`.
pub fn rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|err| format!("cannot read /proc/self/status: {err}"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or("/proc/self/status has no VmRSS line")?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|err| format!("/proc/self/status: cannot parse {line:?}: {err}"))?;
    Ok(kib * 1024)
}

/// Raises the soft open-file limit to at least `wanted` (and the hard limit too, where this
/// process may); returns the soft limit now in force.
pub fn raise_nofile(wanted: u64) -> Result<u64, String> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        let current = limit.current.unwrap_or(u64::MAX);
        if current >= wanted {
            return Ok(current);
        }
        let hard = limit.maximum.unwrap_or(u64::MAX);
        let raised = Rlimit {
            current: Some(wanted),
            maximum: Some(hard.max(wanted)),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Ok(wanted);
        }
        // Not allowed to raise the hard limit: go as far as it lets.
        let capped = Rlimit {
            current: Some(hard),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, capped)
            .map_err(|err| format!("cannot raise RLIMIT_NOFILE to {hard}: {err}"))?;
        Ok(hard)
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        Err("raising the open-file limit is only done on unix".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_advances_with_work() {
        let Some(before) = thread_cpu() else { return };
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let after = thread_cpu().unwrap_or_default();
        assert!(after > before, "{after:?} <= {before:?}");
    }

    #[test]
    fn rss_is_read() {
        if cfg!(target_os = "linux") {
            let rss = rss_bytes().unwrap_or(0);
            assert!(rss > 1024 * 1024, "implausible RSS {rss}");
        }
    }
}

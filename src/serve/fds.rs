//! How many connections the preview may hold open: the soft limit on open
//! files is raised to the hard one (as Go's runtime does at start), and
//! connections are capped well below it so that rebuilds, which open the
//! site's files, still can.

/// Most connections served at once, whatever the limit: a browser opens
/// six to one host.
pub(super) const MAX_CONNECTIONS: usize = 256;
/// Descriptors kept for everything but connections: standard streams,
/// the listener, the watcher, and the files a rebuild opens at once.
const RESERVED: u64 = 32;
/// Fewest connections allowed, so that a tiny limit still serves pages.
const MIN_CONNECTIONS: usize = 4;

/// The soft limit before it was raised, for the programs `serve` starts.
#[cfg(unix)]
static ORIGINAL_SOFT: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Raises the soft limit on open files towards the hard one; the limit in
/// force afterwards, or `None` where it cannot be known.
#[cfg(unix)]
// rlim_t is u64 here, narrower on some targets.
#[allow(clippy::unnecessary_cast)]
pub(super) fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let _ = ORIGINAL_SOFT.set(limit);
    // macOS refuses a soft limit above OPEN_MAX.
    let wanted = if cfg!(target_vendor = "apple") {
        limit.rlim_max.min(10240)
    } else {
        limit.rlim_max
    };
    if wanted > limit.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct; on failure the old limit stays.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(wanted as u64);
        }
    }
    Some(limit.rlim_cur as u64)
}

/// Raises the soft limit on open files; elsewhere than Unix there is none
/// to raise.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

/// Gives a program started from the preview the limit `serve` started
/// with: some programs still use `select`, which breaks on descriptors
/// past 1024.
#[cfg(unix)]
pub(super) fn restore_for_child(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let Some(original) = ORIGINAL_SOFT.get().copied() else {
        return;
    };
    // SAFETY: the closure runs between fork and exec and calls only
    // setrlimit, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            libc::setrlimit(libc::RLIMIT_NOFILE, &original);
            Ok(())
        });
    }
}

/// Nothing to restore elsewhere than Unix.
#[cfg(not(unix))]
pub fn restore_for_child(_command: &mut std::process::Command) {}

/// How many connections to serve at once under a limit of `open_files`.
pub(super) fn connection_cap(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return MAX_CONNECTIONS;
    };
    let spare = limit.saturating_sub(RESERVED + limit / 8);
    usize::try_from(spare)
        .unwrap_or(usize::MAX)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_limit() {
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(1 << 20)), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(64)), 24);
        assert_eq!(connection_cap(Some(16)), MIN_CONNECTIONS);
        assert_eq!(connection_cap(Some(0)), MIN_CONNECTIONS);
        for limit in 48..2048 {
            assert!((connection_cap(Some(limit)) as u64) < limit - RESERVED);
        }
    }
}

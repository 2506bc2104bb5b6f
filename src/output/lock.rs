//! One writer at a time: a build holds a lock on its output folder and one
//! on the cache folder until it ends. The locks are the operating system's
//! (`flock` and its kin), so a process that dies, even by SIGKILL, lets go
//! of them; a second build waits for the first, saying so.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock at `path` (created if need be), waiting for the
    /// process that holds it; `what` says what it guards, for the message.
    pub fn acquire(path: &Path, what: &str) -> Result<Lock, Error> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        // A link in the lock's place (a pull request can commit one) is
        // never followed: the pid written below would land in its target.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let mut file = options.open(path).map_err(|e| {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                Error::Usage(format!(
                    "the lock file {} is a symbolic link; errdocs follows none in its own files. Remove it",
                    path.display()
                ))
            } else {
                Error::io(path, e)
            }
        })?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(Error::Usage(format!(
                "the lock file {} is not a regular file; remove it",
                path.display()
            )));
        }
        if !has_one_name(&file) {
            return Err(Error::Usage(format!(
                "the lock file {} is a hard link to another file; errdocs writes none of its files through one. Remove it",
                path.display()
            )));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                let holder = holder.trim();
                let by = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                crate::terminal::note(&format!(
                    "waiting for another errdocs process{by} to finish with {what} (lock {})\n",
                    path.display()
                ));
                file.lock().map_err(|e| Error::io(path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        // Who holds it, for the message of the next one to wait.
        let _ = file.set_len(0);
        let _ = write!(file, "{}", std::process::id());
        Ok(Lock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether `file` has no other name: a hard link planted where errdocs
/// keeps a file of its own would make its writes land in the other file.
pub(crate) fn has_one_name(file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        file.metadata().is_ok_and(|m| m.nlink() <= 1)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = Lock::acquire(&path, "the test").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let second = Lock::acquire(&p, "the test").unwrap();
            tx.send(()).unwrap();
            drop(second);
        });
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the second holder got the lock");
        waiter.join().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_linked_lock_file_is_refused_and_its_other_name_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("precious");
        std::fs::write(&other, "keep me").unwrap();
        let path = dir.path().join("lock");
        std::fs::hard_link(&other, &path).unwrap();
        let err = Lock::acquire(&path, "the test").unwrap_err().to_string();
        assert!(err.contains("hard link"), "{err}");
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
    }
}

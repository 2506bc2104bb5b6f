//! Putting a new output folder in place of the old one in one step.
//!
//! On Linux `renameat2(RENAME_EXCHANGE)` and on macOS
//! `renamex_np(RENAME_SWAP)` exchange the two names atomically: at every
//! instant the output's path names either the old tree or the new one.
//! Elsewhere, and on file systems without an exchange, two renames do it
//! (old folder aside, new folder in): killed between them, the output's
//! path names nothing for a moment, and the next build puts the old folder
//! back before anything else ([`recover`]).

use std::path::Path;

/// Exchanges the folders `new` and `target`: afterwards `target` names the
/// new tree and `new` the old one.
pub fn exchange(new: &Path, target: &Path) -> std::io::Result<()> {
    match exchange_atomic(new, target) {
        Ok(()) => Ok(()),
        Err(e) if unsupported(&e) => exchange_by_renames(new, target),
        Err(e) => Err(e),
    }
}

fn unsupported(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP)
        )
    }
    #[cfg(not(unix))]
    {
        e.kind() == std::io::ErrorKind::Unsupported
    }
}

fn exchange_by_renames(new: &Path, target: &Path) -> std::io::Result<()> {
    let aside = crate::paths::aside_tree(target);
    std::fs::rename(target, &aside)?;
    if let Err(e) = std::fs::rename(new, target) {
        let _ = std::fs::rename(&aside, target);
        return Err(e);
    }
    std::fs::rename(&aside, new)
}

/// Puts back an old output that the two-rename fallback left aside when a
/// build was stopped between its renames; true when it did.
pub fn recover(target: &Path) -> std::io::Result<bool> {
    let aside = crate::paths::aside_tree(target);
    if std::fs::symlink_metadata(&aside).is_err() {
        return Ok(false);
    }
    if std::fs::symlink_metadata(target).is_ok() {
        // The new tree went in; what is aside is the old one, to remove.
        return Ok(false);
    }
    std::fs::rename(&aside, target)?;
    Ok(true)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange_atomic(new: &Path, target: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(new.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: two valid C strings; the call only reads them.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(target_vendor = "apple")]
fn exchange_atomic(new: &Path, target: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(new.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: two valid C strings; the call only reads them.
    let r = unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_SWAP) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange_atomic(_new: &Path, _target: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path, file: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(file), file).unwrap();
    }

    #[test]
    fn exchanges_two_folders() {
        let d = tempfile::tempdir().unwrap();
        let (new, out) = (d.path().join("new"), d.path().join("out"));
        tree(&new, "b");
        tree(&out, "a");
        exchange(&new, &out).unwrap();
        assert!(out.join("b").is_file() && !out.join("a").exists());
        assert!(new.join("a").is_file());
    }

    #[test]
    fn the_fallback_exchanges_too_and_an_interrupted_one_is_put_back() {
        let d = tempfile::tempdir().unwrap();
        let (new, out) = (d.path().join("new"), d.path().join("out"));
        tree(&new, "b");
        tree(&out, "a");
        exchange_by_renames(&new, &out).unwrap();
        assert!(out.join("b").is_file() && new.join("a").is_file());
        assert!(!crate::paths::aside_tree(&out).exists());
        // Stopped after its first rename: the old tree is aside, no output.
        std::fs::rename(&out, crate::paths::aside_tree(&out)).unwrap();
        assert!(recover(&out).unwrap());
        assert!(out.join("b").is_file());
        assert!(!recover(&out).unwrap());
    }
}

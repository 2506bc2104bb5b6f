//! Where `export -o PATH` writes, whatever PATH is.
//!
//! A regular file (or a link to one, which stays a link) is replaced whole
//! or not at all: a temporary file beside it is renamed over it. A
//! character device, a FIFO or `/dev/stdout` is written through, never
//! replaced: renaming over `/dev/null` as root would break the machine.
//! Standard output is known by the file it is, not by how its name is
//! spelled, so a redirected `> file` is written through its descriptor.
//! A path among the site's own sources is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// Writes `bytes` to `path` as described above; `sources` are the files and
/// folders of the site that an export may not overwrite.
pub fn write(path: &Path, bytes: &[u8], sources: &[PathBuf]) -> Result<(), Error> {
    let resolved = super::normalize(path);
    for source in sources {
        let source = super::normalize(source);
        if resolved.starts_with(&source) {
            return Err(Error::Usage(format!(
                "refusing to write to {}: it is the site's own {}; choose a path outside the site's sources",
                path.display(),
                source.display()
            )));
        }
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!(
            "cannot write to {}: it is a folder",
            path.display()
        ))),
        // `/dev/stdout`, `/dev/fd/N`: the descriptor this process was
        // given, as the shell opened it (appending, a pipe, a terminal).
        Ok(meta) => match inherited_fd(path, &meta) {
            Some(fd) => write_fd(fd, path, bytes),
            // Through a link, the file it names is replaced; the link stays.
            None if meta.is_file() => write_atomic(&resolved, bytes, Some(meta.permissions())),
            None => write_through(path, bytes),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::Usage(format!(
                    "cannot write to {}: it is a symbolic link to `{}`, which does not exist",
                    path.display(),
                    std::fs::read_link(path).unwrap_or_default().display()
                )));
            }
            write_atomic(path, bytes, None)
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes into a device, FIFO or terminal as it is.
fn write_through(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| Error::io(path, e))
}

/// The descriptor of this process that `path` (with `meta`, what it
/// resolves to) stands for: one it names, however spelled (`/dev/fd//3`,
/// `/proc/thread-self/fd/3`), or standard output or error when the path
/// reaches the same file as they do (`/dev/./stdout`, the file the shell
/// redirected them to). Decided by the file itself, not by its spelling.
#[cfg(unix)]
fn inherited_fd(path: &Path, meta: &std::fs::Metadata) -> Option<i32> {
    use std::os::unix::fs::MetadataExt;
    let same = |fd: i32| {
        // SAFETY: fstat writes into the zeroed struct, nothing else; a
        // closed descriptor only makes it fail.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstat(fd, &mut st) } == 0)
            && st.st_dev as u64 == meta.dev()
            && st.st_ino as u64 == meta.ino()
    };
    let clean = super::lexical(path);
    let text = clean.to_str()?;
    let pid = format!("/proc/{}/fd/", std::process::id());
    let named = ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", &pid]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .and_then(|n| n.parse::<i32>().ok())
        .filter(|n| *n >= 1);
    named.into_iter().chain([1, 2]).find(|fd| same(*fd))
}

#[cfg(not(unix))]
fn inherited_fd(_path: &Path, _meta: &std::fs::Metadata) -> Option<i32> {
    None
}

/// Writes to the inherited descriptor `path` names, without closing it.
fn write_fd(fd: i32, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: the descriptor is open (fstat succeeded on it),
        // and ManuallyDrop leaves it open for its owner.
        let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        file.write_all(bytes)
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(path, e))
    }
    #[cfg(not(unix))]
    {
        let _ = fd;
        write_through(path, bytes)
    }
}

/// Writes `bytes` to the regular file `path` whole or not at all: into a
/// new temporary file beside it (a fresh name, never a link in its
/// place), renamed over it when complete.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".errdocs-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let written = (|| {
        tmp.write_all(bytes)?;
        match permissions {
            Some(p) => tmp.as_file().set_permissions(p)?,
            // As a new file would be made: readable by all, as a
            // published file must be.
            #[cfg(unix)]
            None => {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?
            }
            #[cfg(not(unix))]
            None => {}
        }
        tmp.as_file().sync_all()
    })();
    written.map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_to_a_file_stays_a_link_and_the_file_is_replaced() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("real.json"), "old").unwrap();
        std::os::unix::fs::symlink("real.json", d.path().join("link.json")).unwrap();
        write(&d.path().join("link.json"), b"new", &[]).unwrap();
        assert!(std::fs::symlink_metadata(d.path().join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(d.path().join("real.json")).unwrap(), b"new");
    }

    #[test]
    fn a_fifo_is_written_through_and_stays_a_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid C string and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write(&fifo, b"through", &[]).unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo());
    }

    #[test]
    fn sources_and_folders_and_dangling_links_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let site = d.path().join("site.yaml");
        std::fs::write(&site, "title: x\n").unwrap();
        std::fs::create_dir(d.path().join("content")).unwrap();
        let sources = [site.clone(), d.path().join("content")];
        assert!(write(&site, b"{}", &sources).is_err());
        assert!(write(&d.path().join("content/x.json"), b"{}", &sources).is_err());
        assert!(write(&d.path().join("content"), b"{}", &[]).is_err());
        std::os::unix::fs::symlink("site.yaml", d.path().join("alias")).unwrap();
        assert!(write(&d.path().join("alias"), b"{}", &sources).is_err());
        std::os::unix::fs::symlink("nothing", d.path().join("dangling")).unwrap();
        assert!(write(&d.path().join("dangling"), b"{}", &[]).is_err());
        assert_eq!(std::fs::read_to_string(&site).unwrap(), "title: x\n");
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_a_hard_link_to_it_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("spec.json");
        std::fs::write(&out, "x".repeat(10_000)).unwrap();
        std::fs::hard_link(&out, d.path().join("other")).unwrap();
        write(&out, b"{}", &[]).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"{}");
        assert_eq!(std::fs::read(d.path().join("other")).unwrap().len(), 10_000);
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file is left");
    }
}

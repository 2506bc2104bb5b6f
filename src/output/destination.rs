//! Where `export -o PATH` writes, whatever PATH is.
//!
//! A regular file (or a link to one, which stays a link) is replaced whole
//! or not at all: a temporary file beside it is renamed over it. A
//! character device, a FIFO or `/dev/stdout` is written through, never
//! replaced: renaming over `/dev/null` as root would break the machine.
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
        // `/dev/stdout` and `/proc/self/fd/N` name an open file: written
        // through, as a shell redirect expects.
        Ok(_) if path.starts_with("/dev") || path.starts_with("/proc") => {
            write_through(path, bytes)
        }
        // Through a link, the file it names is replaced; the link stays.
        Ok(meta) if meta.is_file() => write_atomic(&resolved, bytes, Some(meta.permissions())),
        Ok(_) => write_through(path, bytes),
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

/// Writes `bytes` to the regular file `path` whole or not at all: into a
/// temporary file beside it, renamed over it when complete.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
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
}

//! The output file: staged under a name of its own and renamed into place when the run
//! succeeds, and written a batch at a time, so that whatever ends a run, the output holds whole
//! records only.
//!
//! A regular file (or a new path) is written to `FILE.PID-K.partial` in the same directory,
//! created exclusively (an existing file or a link planted under that name is never opened),
//! with the mode of the `FILE` it will replace, and renamed onto `FILE` by
//! [`Output::commit`]: a failed run never leaves a truncated `FILE`, and two runs never share a
//! staging file. A link to a file is followed: the file is replaced and the link stays.
//! Anything else (`/dev/null`, a named pipe) is written in place, since renaming over it would
//! replace the device or the pipe with a file. An output that is one of the inputs (by any
//! name) is refused.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Taken for every write of a batch's records: see [`lock`].
static OUTPUT: Mutex<()> = Mutex::new(());

/// Waits until no batch is being written and keeps it so: a process that exits while holding
/// this leaves every output of [`Output::open`] with whole batches only.
pub fn lock() -> MutexGuard<'static, ()> {
    OUTPUT.lock().unwrap_or_else(|p| p.into_inner())
}

/// The output stream: what is written gathers in memory and goes out in one write under
/// [`lock`] at each flush, which the pipeline makes after every batch.
struct BatchSink {
    inner: Box<dyn Write + Send>,
    pending: Vec<u8>,
}

impl Write for BatchSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _whole = lock();
        self.inner.write_all(&self.pending)?;
        self.pending.clear();
        self.inner.flush()
    }
}

/// Whether two paths name one existing file (through links, whatever the spelling; `-` is
/// standard input).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (a, b) = (stdin_as_path(a), stdin_as_path(b));
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        id(a).is_some_and(|a| id(b) == Some(a))
    }
    #[cfg(not(unix))]
    {
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        canonical(a).is_some_and(|a| canonical(b) == Some(a))
    }
}

/// `-` (standard input) as a path that names it.
fn stdin_as_path(p: &Path) -> &Path {
    if p == Path::new("-") {
        Path::new("/dev/stdin")
    } else {
        p
    }
}

/// Whether `path` is a regular file (through links), which can be read twice; standard input
/// (`-`), pipes, FIFOs (process substitution) and devices can be read once only.
pub fn regular_file(path: &Path) -> bool {
    path != Path::new("-") && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Where the records of a run go: standard output, a file written in place, or a staged file.
#[derive(Debug)]
pub struct Output {
    /// The file the records end up in (a link's target), `None` for standard output.
    path: Option<PathBuf>,
    /// The staging file, once opened.
    staging: Option<PathBuf>,
    staged: bool,
}

impl Output {
    /// The output `path` (`None`: standard output); refused when it is one of `inputs`.
    ///
    /// ```
    /// let out = swgpu::io::Output::new(None, &[]).unwrap();
    /// assert_eq!(out.name(), "standard output");
    /// ```
    pub fn new(path: Option<&Path>, inputs: &[&Path]) -> Result<Output> {
        let Some(path) = path else {
            return Ok(Output {
                path: None,
                staging: None,
                staged: false,
            });
        };
        // Only a regular file can be destroyed: `-o /dev/null` with input from `/dev/null` is
        // harmless.
        if let Some(input) = inputs.iter().find(|i| regular_file(path) && same_file(path, i)) {
            return Err(Error::OutputIsInput {
                output: path.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
        // A new path or a regular file; not a device, a pipe, or a link to one.
        let staged = std::fs::metadata(path).map_or(true, |m| m.is_file());
        let path = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() && staged => {
                std::fs::canonicalize(path).map_err(|source| Error::Write {
                    path: path.to_path_buf(),
                    source,
                })?
            }
            _ => path.to_path_buf(),
        };
        Ok(Output {
            path: Some(path),
            staging: None,
            staged,
        })
    }

    /// How messages name the output.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "standard output".to_string(), |p| p.display().to_string())
    }

    /// The staging file, once [`Output::open`] made one.
    pub fn staging(&self) -> Option<&Path> {
        self.staging.as_deref()
    }

    /// The file that holds the records while the run goes on, `None` for standard output.
    pub fn writing_to(&self) -> Option<&Path> {
        self.staging.as_deref().or(self.path.as_deref())
    }

    /// The stream to write to; every flush writes what came before it whole (see [`lock`]).
    pub fn open(&mut self) -> Result<Box<dyn Write + Send>> {
        let create_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Write { path, source }
        };
        let inner: Box<dyn Write + Send> = match &self.path {
            None => Box::new(std::io::stdout()),
            Some(path) if !self.staged => Box::new(std::fs::File::create(path).map_err(create_error(path))?),
            Some(path) => {
                let (file, staging) = create_staging(path)?;
                self.staging = Some(staging);
                Box::new(file)
            }
        };
        Ok(Box::new(BatchSink {
            inner,
            pending: Vec::new(),
        }))
    }

    /// The staging file itself, for a writer that must seek (an index): only a regular file
    /// (or a new path) can take one.
    pub fn open_file(&mut self) -> Result<std::fs::File> {
        match &self.path {
            Some(path) if self.staged => {
                let (file, staging) = create_staging(path)?;
                self.staging = Some(staging);
                Ok(file)
            }
            _ => Err(Error::Output(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "only a regular file can take it",
            ))),
        }
    }

    /// Renames the staging file onto the output file: the run succeeded.
    pub fn commit(&self) -> Result<()> {
        if let (Some(staging), Some(path)) = (&self.staging, &self.path) {
            std::fs::rename(staging, path).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Removes the staging file: the run failed and kept nothing.
    pub fn discard(&self) {
        if let Some(staging) = &self.staging {
            let _ = std::fs::remove_file(staging);
        }
    }
}

/// A new file `PATH.PID-K.partial` beside `path`, created exclusively (an existing file or
/// link of that name is never opened: the next `K` is tried), with the mode of `path` if it
/// exists.
fn create_staging(path: &Path) -> Result<(std::fs::File, PathBuf)> {
    for k in 0u64.. {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{}-{k}.partial", std::process::id()));
        let staging = PathBuf::from(name);
        let io_error = |source| Error::Write {
            path: staging.clone(),
            source,
        };
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&staging) {
            Ok(file) => {
                if let Ok(meta) = std::fs::metadata(path) {
                    file.set_permissions(meta.permissions()).map_err(io_error)?;
                }
                return Ok((file, staging));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(e)),
        }
    }
    unreachable!("a free staging name exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link planted under the staging name is left alone, and so is the file it points to.
    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let out = dir.path().join("out.sam");
        let planted = dir.path().join(format!("out.sam.{}-0.partial", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let mut output = Output::new(Some(&out), &[]).unwrap();
        let mut w = output.open().unwrap();
        writeln!(w, "record").unwrap();
        w.flush().unwrap();
        assert_ne!(output.staging(), Some(planted.as_path()));
        output.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "record\n");
        assert!(std::fs::symlink_metadata(&planted).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.paf");
        std::fs::write(&out, "old\n").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut output = Output::new(Some(&out), &[]).unwrap();
        let mut w = output.open().unwrap();
        writeln!(w, "new").unwrap();
        w.flush().unwrap();
        output.commit().unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new\n");
    }

    #[test]
    fn an_input_is_never_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("reads.fa");
        std::fs::write(&input, ">a\nACGT\n").unwrap();
        let link = dir.path().join("link.fa");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        for out in [&input, &link, &dir.path().join(".").join("reads.fa")] {
            let refused = Output::new(Some(out), &[Path::new("-"), &input]);
            assert!(matches!(refused, Err(Error::OutputIsInput { .. })), "{out:?}");
        }
        assert!(Output::new(Some(&dir.path().join("new.sam")), &[&input]).is_ok());
    }
}

//! Atomic output files: rows go to `.<name>.tmp` in the output folder through
//! a buffered writer, and the file takes its real name only once every file
//! has been written. A temporary file left by a failed run is removed.

use super::GenerateError;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One output file being written.
struct Sink {
    tmp: PathBuf,
    dest: PathBuf,
    out: Option<BufWriter<File>>,
}

impl Sink {
    fn create(dir: &Path, name: &str) -> Result<Self, GenerateError> {
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).map_err(|source| GenerateError::Io { path: tmp.clone(), source })?;
        let out = Some(BufWriter::with_capacity(1 << 20, file));
        Ok(Sink { tmp, dest: dir.join(name), out })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), GenerateError> {
        match &mut self.out {
            Some(out) => out.write_all(bytes).map_err(|source| self.error(source)),
            None => Ok(()),
        }
    }

    /// Flush and close the temporary file.
    fn close(&mut self) -> Result<(), GenerateError> {
        match self.out.take() {
            Some(out) => out.into_inner().map(drop).map_err(|e| self.error(e.into_error())),
            None => Ok(()),
        }
    }

    fn rename(&self) -> Result<(), GenerateError> {
        fs::rename(&self.tmp, &self.dest).map_err(|source| GenerateError::Io { path: self.dest.clone(), source })
    }

    fn error(&self, source: std::io::Error) -> GenerateError {
        GenerateError::Io { path: self.tmp.clone(), source }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // After a successful rename the temporary file is gone and this fails quietly.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// The output files of one ledger, written in step.
pub struct Sinks(Vec<Sink>);

impl Sinks {
    /// Create a temporary file per name in `dir` (created if missing), each
    /// starting with its header row.
    pub fn create(dir: &Path, files: &[(&str, &str)]) -> Result<Self, GenerateError> {
        fs::create_dir_all(dir).map_err(|source| GenerateError::Io { path: dir.to_path_buf(), source })?;
        let mut sinks = Vec::with_capacity(files.len());
        for (name, header) in files {
            let mut sink = Sink::create(dir, name)?;
            sink.write(header.as_bytes())?;
            sink.write(b"\n")?;
            sinks.push(sink);
        }
        Ok(Sinks(sinks))
    }

    /// Append one buffer to each file, in order.
    pub fn write(&mut self, buffers: &[Vec<u8>]) -> Result<(), GenerateError> {
        self.0.iter_mut().zip(buffers).try_for_each(|(sink, buf)| sink.write(buf))
    }

    /// Close every file, then give each its real name.
    pub fn commit(mut self) -> Result<(), GenerateError> {
        self.0.iter_mut().try_for_each(Sink::close)?;
        self.0.iter().try_for_each(Sink::rename)
    }
}

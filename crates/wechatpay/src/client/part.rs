//! Where downloads are written: a temporary file beside the destination, renamed over it
//! once the file verified.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt as _;

use crate::error::DownloadError;

/// A hidden temporary file next to its destination, renamed to it once verified: created
/// exclusively under a random name, so never through a link another user planted, readable
/// by its owner only, and removed when dropped unless persisted.
pub(super) struct PartFile {
    tmp: tempfile::NamedTempFile,
    file: tokio::fs::File,
}

impl PartFile {
    pub(super) async fn create(dest: &Path) -> std::result::Result<Self, DownloadError> {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let prefix = format!(
            ".{}.",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let io = |source| DownloadError::Io {
            path: dest.to_path_buf(),
            source,
        };
        let tmp = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(".part")
                .tempfile_in(dir)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(io)?;
        let file = tmp.as_file().try_clone().map_err(io)?;
        Ok(Self {
            tmp,
            file: tokio::fs::File::from_std(file),
        })
    }

    pub(super) async fn write(&mut self, bytes: &[u8]) -> std::result::Result<(), DownloadError> {
        self.file
            .write_all(bytes)
            .await
            .map_err(|source| DownloadError::Io {
                path: self.tmp.path().to_path_buf(),
                source,
            })
    }

    /// Flushes the file to disk and renames it to `dest`.
    pub(super) async fn persist(
        mut self,
        dest: &Path,
    ) -> std::result::Result<PathBuf, DownloadError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DownloadError::Io { path, source }
        };
        self.file.flush().await.map_err(io(self.tmp.path()))?;
        self.file.sync_all().await.map_err(io(self.tmp.path()))?;
        drop(self.file);
        let dest = dest.to_path_buf();
        let tmp = self.tmp;
        tokio::task::spawn_blocking({
            let dest = dest.clone();
            move || tmp.persist(&dest).map(drop).map_err(|e| e.error)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(io(&dest))?;
        Ok(dest)
    }
}

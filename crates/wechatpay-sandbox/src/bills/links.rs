//! Bill files waiting to be downloaded: the bills room's own state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Bill files waiting to be downloaded, by token.
#[derive(Debug)]
pub(crate) struct Links {
    dir: tempfile::TempDir,
    map: Mutex<HashMap<String, Link>>,
}

#[derive(Debug)]
pub(super) struct Link {
    pub(super) path: PathBuf,
    pub(super) mchid: String,
    pub(super) expires_ms: i64,
    pub(super) gzip: bool,
}

impl Links {
    /// A new folder for bill files, created exclusively under a random name and open to
    /// its owner only (never a folder planted in the shared temporary directory).
    pub(crate) fn new() -> Result<Self, crate::SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("wxpay-sandbox-bills-")
            .tempdir()
            .map_err(|e| crate::SandboxError::io("cannot create a folder for bill files", e))?;
        Ok(Self {
            dir,
            map: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Link>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets links expired at `now_ms` and removes their files.
    pub(crate) fn prune(&self, now_ms: i64) {
        self.lock().retain(|_, l| {
            let keep = l.expires_ms > now_ms;
            if !keep {
                let _ = std::fs::remove_file(&l.path);
            }
            keep
        });
    }
}

//! A real S3 server for tests, this crate's and others': `s3s-fs` (it checks SigV4
//! signatures) on a free port, over a temporary folder, stopped when dropped. The test command
//! installs it and names it in `CALLVAULT_TEST_S3S_FS`; without that the S3 tests are skipped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::BlobStore;

pub const S3S_FS_VAR: &str = "CALLVAULT_TEST_S3S_FS";
const BUCKET: &str = "recordings";
const ACCESS_KEY: &str = "callvault-test";
const SECRET_KEY: &str = "callvault-test-secret";

pub struct S3Server {
    child: Child,
    address: SocketAddr,
    _root: tempfile::TempDir,
}

impl S3Server {
    /// Starts a server with one empty bucket; `None` (with a note) when none is installed.
    pub fn start() -> Option<Self> {
        let Ok(binary) = std::env::var(S3S_FS_VAR) else {
            eprintln!("skipped: set {S3S_FS_VAR} to an s3s-fs binary to run this on S3");
            return None;
        };
        let root = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket's folder");
        // A port the system just gave out and took back; s3s-fs binds it at once.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            _root: root,
        };
        for _ in 0..200 {
            if TcpStream::connect_timeout(&server.address, Duration::from_millis(100)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("s3s-fs did not start listening on {}", server.address);
    }

    pub fn store(&self, prefix: &str) -> BlobStore {
        self.store_with_secret(prefix, SECRET_KEY)
    }

    pub fn store_with_secret(&self, prefix: &str, secret: &str) -> BlobStore {
        let secret = secret.to_owned();
        BlobStore::open_with_env(&self.url(prefix), &move |name| match name {
            "AWS_ACCESS_KEY_ID" => Some(ACCESS_KEY.to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some(secret.clone()),
            _ => None,
        })
        .expect("opens")
    }

    /// The `--blob-url` of the bucket, objects under `prefix`.
    #[must_use]
    pub fn url(&self, prefix: &str) -> String {
        format!(
            "s3://{BUCKET}/{prefix}?endpoint=http://{}&region=us-east-1",
            self.address
        )
    }

    /// The variables a process needs to reach the bucket.
    #[must_use]
    pub fn credentials(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, however deep (a folder store's objects and leftovers).
#[must_use]
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                dirs.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

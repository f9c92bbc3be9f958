//! Audio objects: where recordings' MP3 files live. A local folder by default; the same
//! interface fronts object storage (the `object_store` crate speaks both), so the server
//! never knows which.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such object")]
    NotFound,
    #[error("blob store configuration: {0}")]
    Config(String),
    #[error("blob store: {0}")]
    Backend(#[from] object_store::Error),
    #[error("reading the file to store: {0}")]
    Io(#[from] std::io::Error),
}

pub type BlobResult<T> = Result<T, BlobError>;

/// A stored object's bytes, or part of them.
pub struct BlobRead {
    /// The whole object's size.
    pub size: u64,
    /// The bytes returned.
    pub range: Range<u64>,
    pub body: BoxStream<'static, BlobResult<Bytes>>,
}

#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.description)
    }
}

/// Size of the parts an object is written in; object stores want at least 5 MiB per part.
const PART_SIZE: usize = 8 * 1024 * 1024;

impl BlobStore {
    /// Opens the store a URL names: `file://PATH` (created if missing).
    pub fn open(url: &str) -> BlobResult<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(BlobError::Config("file:// needs a folder".into()));
            }
            std::fs::create_dir_all(path)?;
            // Empty folders left by deletions are removed too: nothing is left behind.
            let local = LocalFileSystem::new_with_prefix(path)?.with_automatic_cleanup(true);
            Ok(Self {
                inner: Arc::new(local),
                description: format!("folder {path}"),
            })
        } else {
            Err(BlobError::Config(format!(
                "the blob URL must start with file:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    fn path(key: &str) -> BlobResult<ObjectPath> {
        ObjectPath::parse(key)
            .map_err(|e| BlobError::Config(format!("bad object key {key:?}: {e}")))
    }

    /// Answers once the store does.
    pub async fn ping(&self) -> BlobResult<()> {
        self.inner.list_with_delimiter(None).await?;
        Ok(())
    }

    /// Writes a file as an object, in parts, without holding it in memory. Returns its size.
    pub async fn put_file(&self, key: &str, file: &Path) -> BlobResult<u64> {
        let path = Self::path(key)?;
        let mut source = tokio::fs::File::open(file).await?;
        let mut upload =
            WriteMultipart::new_with_chunk_size(self.inner.put_multipart(&path).await?, PART_SIZE);
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        let copied: BlobResult<()> = async {
            loop {
                let n = source.read(&mut buf).await?;
                if n == 0 {
                    break Ok(());
                }
                upload.wait_for_capacity(2).await?;
                upload.write(&buf[..n]);
                total += n as u64;
            }
        }
        .await;
        match copied {
            Ok(()) => {
                upload.finish().await?;
                Ok(total)
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// Reads an object, or the byte range of it, as a stream.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> BlobResult<BlobRead> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .inner
            .get_opts(&Self::path(key)?, options)
            .await
            .map_err(not_found)?;
        let size = result.meta.size;
        let range = result.range.clone();
        let body = result
            .into_stream()
            .map(|chunk| chunk.map_err(BlobError::from))
            .boxed();
        Ok(BlobRead { size, range, body })
    }

    /// Copies an object into a local file (for tools that need a path), streaming.
    pub async fn get_to_file(&self, key: &str, file: &Path) -> BlobResult<u64> {
        use tokio::io::AsyncWriteExt;
        let mut read = self.get(key, None).await?;
        let mut out = tokio::fs::File::create(file).await?;
        let mut total = 0u64;
        while let Some(chunk) = read.body.next().await {
            let chunk = chunk?;
            out.write_all(&chunk).await?;
            total += chunk.len() as u64;
        }
        out.flush().await?;
        Ok(total)
    }

    /// The object's size, or `None` if there is no such object.
    pub async fn size(&self, key: &str) -> BlobResult<Option<u64>> {
        match self.inner.head(&Self::path(key)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes an object; removing one that is already gone succeeds.
    pub async fn delete(&self, key: &str) -> BlobResult<()> {
        match self.inner.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn not_found(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        e => BlobError::Backend(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(read: BlobRead) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    #[tokio::test]
    async fn files_go_in_ranges_come_out_and_deletion_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("recordings");
        let store = BlobStore::open(&format!("file://{}", root.display())).expect("opens");
        store.ping().await.expect("answers");

        let content: Vec<u8> = (0..(PART_SIZE + 12_345)).map(|i| (i % 251) as u8).collect();
        let source = dir.path().join("in.mp3");
        std::fs::write(&source, &content).expect("write");
        let size = store.put_file("a/b.mp3", &source).await.expect("stored");
        assert_eq!(size, content.len() as u64);
        assert_eq!(store.size("a/b.mp3").await.ok().flatten(), Some(size));

        let whole = store.get("a/b.mp3", None).await.expect("whole");
        assert_eq!(whole.size, size);
        assert_eq!(collect(whole).await, content);
        let copy = dir.path().join("copy.mp3");
        assert_eq!(
            store.get_to_file("a/b.mp3", &copy).await.expect("copied"),
            size
        );
        assert_eq!(std::fs::read(&copy).expect("read"), content);
        assert!(matches!(
            store.get_to_file("a/missing.mp3", &copy).await,
            Err(BlobError::NotFound)
        ));
        let part = store.get("a/b.mp3", Some(100..200)).await.expect("part");
        assert_eq!(part.range, 100..200);
        assert_eq!(collect(part).await, content[100..200].to_vec());

        store.delete("a/b.mp3").await.expect("deleted");
        store
            .delete("a/b.mp3")
            .await
            .expect("deleting twice is fine");
        assert_eq!(store.size("a/b.mp3").await.ok().flatten(), None);
        assert!(matches!(
            store.get("a/b.mp3", None).await,
            Err(BlobError::NotFound)
        ));
        let left: Vec<_> = std::fs::read_dir(&root).expect("root").collect();
        assert!(
            left.is_empty(),
            "no empty folders or staging files remain: {left:?}"
        );
    }

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(matches!(
            BlobStore::open("ftp://x"),
            Err(BlobError::Config(_))
        ));
        assert!(matches!(
            BlobStore::open("file://"),
            Err(BlobError::Config(_))
        ));
    }
}

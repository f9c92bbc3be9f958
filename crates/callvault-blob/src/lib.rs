//! Audio objects: where recordings' MP3 files live. A local folder by default; the same
//! interface fronts object storage (the `object_store` crate speaks both), so the server
//! never knows which.

use std::ops::Range;
use std::path::{Path, PathBuf};
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
    /// The folder, when the objects are files in one.
    folder: Option<PathBuf>,
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
                folder: Some(PathBuf::from(path)),
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

    /// Removes an object, and whatever an upload of it that never finished left behind;
    /// removing one that is already gone succeeds.
    pub async fn delete(&self, key: &str) -> BlobResult<()> {
        let path = Self::path(key)?;
        if let Some(folder) = &self.folder {
            remove_staged_uploads(folder, &path).await?;
        }
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A folder upload is written to `<name>#<n>` beside its object and renamed into place when
/// finished; a process killed before then leaves that file, which no listing shows. Removes
/// any for `object`.
async fn remove_staged_uploads(folder: &Path, object: &ObjectPath) -> BlobResult<()> {
    let Some(name) = object.filename() else {
        return Ok(());
    };
    let dir = object
        .parts()
        .collect::<Vec<_>>()
        .split_last()
        .map(|(_, parents)| {
            parents
                .iter()
                .fold(folder.to_owned(), |dir, part| dir.join(part.as_ref()))
        })
        .unwrap_or_else(|| folder.to_owned());
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut removed = false;
    while let Some(entry) = entries.next_entry().await? {
        let file = entry.file_name();
        let staged = file
            .to_str()
            .and_then(|f| f.strip_prefix(name))
            .and_then(|f| f.strip_prefix('#'));
        if staged.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => {
                    removed = true;
                    tracing::info!(file = %entry.path().display(), "removed an unfinished upload");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if removed && dir != folder {
        // Left empty, it goes too, as the folder store does after deletions; one still in
        // use is not empty and stays.
        let _ = tokio::fs::remove_dir(&dir).await;
    }
    Ok(())
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

    #[tokio::test]
    async fn deleting_an_object_removes_an_upload_of_it_cut_off_by_a_crash() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("recordings");
        let store = BlobStore::open(&format!("file://{}", root.display())).expect("opens");
        let path = BlobStore::path("recordings/r1.mp3").expect("key");
        let mut upload = store.inner.put_multipart(&path).await.expect("starts");
        upload
            .put_part(vec![7u8; 1024].into())
            .await
            .expect("a part is written");
        // The process dies here: nothing finishes, aborts or drops the upload.
        std::mem::forget(upload);
        let files = |dir: &Path| -> Vec<PathBuf> {
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
        };
        assert_eq!(files(&root).len(), 1, "the cut-off upload's file is there");
        assert_eq!(store.size("recordings/r1.mp3").await.ok().flatten(), None);

        // Its guard job deletes the object it was to become.
        store.delete("recordings/r1.mp3").await.expect("deleted");
        assert_eq!(files(&root), Vec::<PathBuf>::new());
        let left: Vec<_> = std::fs::read_dir(&root).expect("root").collect();
        assert!(left.is_empty(), "nor its folder: {left:?}");
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

//! Audio objects: where recordings' MP3 files live. A local folder by default; the same
//! interface fronts object storage (the `object_store` crate speaks both), so the server
//! never knows which.

/// The S3 server tests run against; compiled always (it is small) so that tests of other
/// crates use it without a feature that would make test builds differ from the binary's.
#[doc(hidden)]
pub mod testing;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt,
};
use tokio::io::AsyncWriteExt;

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
    /// The folder store itself, when the objects are files (for what its interface hides:
    /// the staging files of uploads a crash cut off).
    folder: Option<Arc<LocalFileSystem>>,
    description: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.description)
    }
}

/// Size of the parts an object is written in; object stores want at least 5 MiB per part. A
/// smaller object goes in one PUT.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// The key readiness asks about: one cheap request whose answer (found or not) says the store
/// answers with our credentials.
const READY_PROBE: &str = ".callvault-ready";

/// The environment variables an S3 store reads, each also from a file named by `<NAME>_FILE`.
const S3_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
];

impl BlobStore {
    /// Opens the store a URL names, with S3 credentials from the process environment:
    /// `file://PATH` (created if missing) or `s3://BUCKET[/PREFIX]?endpoint=…&region=…`.
    pub fn open(url: &str) -> BlobResult<Self> {
        Self::open_with_env(url, &|name| std::env::var(name).ok())
    }

    /// [`BlobStore::open`], reading the environment through `env`.
    pub fn open_with_env(url: &str, env: &dyn Fn(&str) -> Option<String>) -> BlobResult<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            Self::open_folder(path)
        } else if let Some(rest) = url.strip_prefix("s3://") {
            Self::open_s3(rest, env)
        } else {
            Err(BlobError::Config(format!(
                "the blob URL must start with file:// or s3:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    fn open_folder(path: &str) -> BlobResult<Self> {
        if path.is_empty() {
            return Err(BlobError::Config("file:// needs a folder".into()));
        }
        std::fs::create_dir_all(path)?;
        // Empty folders left by deletions are removed too: nothing is left behind.
        let local = Arc::new(LocalFileSystem::new_with_prefix(path)?.with_automatic_cleanup(true));
        Ok(Self {
            inner: local.clone(),
            folder: Some(local),
            description: format!("folder {path}"),
        })
    }

    fn open_s3(rest: &str, env: &dyn Fn(&str) -> Option<String>) -> BlobResult<Self> {
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(BlobError::Config(
                "s3:// needs a bucket: s3://BUCKET?region=…".into(),
            ));
        }
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
        for name in S3_VARIABLES {
            if let Some(value) = variable(name, env)? {
                let key: AmazonS3ConfigKey = name
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|e| BlobError::Config(format!("{name}: {e}")))?;
                builder = builder.with_config(key, value);
            }
        }
        let mut endpoint = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "endpoint" => endpoint = Some(value.into_owned()),
                "region" => builder = builder.with_region(value.as_ref()),
                other => {
                    return Err(BlobError::Config(format!(
                        "unknown setting {other:?} in the s3:// URL (known: endpoint, region)"
                    )));
                }
            }
        }
        if let Some(endpoint) = &endpoint {
            // A server of one's own (MinIO, Garage, …) is addressed by path, often over http.
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let s3 = builder
            .build()
            .map_err(|e| BlobError::Config(format!("S3: {e}")))?;
        let inner: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
        };
        Ok(Self {
            inner,
            folder: None,
            description: match endpoint {
                Some(endpoint) => format!("S3 bucket {bucket} at {endpoint}"),
                None => format!("S3 bucket {bucket}"),
            },
        })
    }

    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    fn path(key: &str) -> BlobResult<ObjectPath> {
        ObjectPath::parse(key)
            .map_err(|e| BlobError::Config(format!("bad object key {key:?}: {e}")))
    }

    /// Answers once the store does, with one small request.
    pub async fn ping(&self) -> BlobResult<()> {
        match self.inner.head(&Self::path(READY_PROBE)?).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a file as an MP3 object without holding it in memory: one PUT when it is small,
    /// in parts when not. Returns its size. An upload that fails is aborted.
    pub async fn put_file(&self, key: &str, file: &Path) -> BlobResult<u64> {
        let path = Self::path(key)?;
        let mut source = tokio::fs::File::open(file).await?;
        let mut upload = BufWriter::with_capacity(self.inner.clone(), path, PART_SIZE);
        // A folder keeps no attributes (and refuses them); object storage serves them back.
        if self.folder.is_none() {
            upload = upload.with_attributes(Attributes::from_iter([(
                Attribute::ContentType,
                "audio/mpeg",
            )]));
        }
        let total = match tokio::io::copy(&mut source, &mut upload).await {
            Ok(total) => total,
            Err(e) => {
                let _ = upload.abort().await;
                return Err(e.into());
            }
        };
        // Finishing is the last request (the PUT, or the multipart's completion); the writer
        // cannot be aborted after it, and parts of a completion that failed are the bucket's
        // lifecycle rule's to remove (see docs/DEPLOY.md).
        upload.shutdown().await?;
        Ok(total)
    }

    /// Reads an object, or the byte range of it, as a stream.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> BlobResult<BlobRead> {
        if let Some(folder) = &self.folder {
            return read_file(&folder.path_to_filesystem(&Self::path(key)?)?, range);
        }
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
        let body = match result.payload {
            GetResultPayload::File(file, _) => file_chunks(file, range.clone()),
            GetResultPayload::Stream(stream) => {
                stream.map(|chunk| chunk.map_err(BlobError::from)).boxed()
            }
        };
        Ok(BlobRead { size, range, body })
    }

    /// Copies an object into a local file (for tools that need a path), streaming.
    pub async fn get_to_file(&self, key: &str, file: &Path) -> BlobResult<u64> {
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

    /// Every object's key (a whole listing: for tools and tests, never on a request's path).
    pub async fn list_keys(&self) -> BlobResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut listing = self.inner.list(None);
        while let Some(meta) = listing.next().await {
            keys.push(meta?.location.to_string());
        }
        Ok(keys)
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

/// Bytes of a file read per trip to a blocking thread. object_store reads a file in 8 KiB
/// chunks, each its own trip: a 10-minute call took 300 of them, and streaming cost ten times
/// nginx's CPU per file. 256 KiB answers a player's range in one trip.
const FILE_CHUNK: usize = 256 * 1024;

/// A folder object's `range`. The file is opened, and as much of the first chunk as is in the
/// page cache read, on the calling thread, as nginx serves files from its event loop: a trip
/// to a blocking thread cost more than the read (a third of the CPU of a 64 KiB range). What
/// would wait for the disk is read on a blocking thread.
fn read_file(path: &Path, range: Option<Range<u64>>) -> BlobResult<BlobRead> {
    let missing = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => BlobError::NotFound,
        _ => BlobError::Io(e),
    };
    let file = std::fs::File::open(path).map_err(missing)?;
    let meta = file.metadata().map_err(missing)?;
    if meta.is_dir() {
        return Err(BlobError::NotFound);
    }
    let size = meta.len();
    let range = match range {
        Some(r) => GetRange::Bounded(r)
            .as_range(size)
            .map_err(|e| BlobError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?,
        None => 0..size,
    };
    let len = usize::try_from(range.end - range.start).map_or(FILE_CHUNK, |n| n.min(FILE_CHUNK));
    let mut first = vec![0; len];
    let cached = read_cached(&file, &mut first, range.start);
    first.truncate(cached);
    let rest = file_chunks(file, range.start + cached as u64..range.end);
    let body = futures::stream::iter((cached > 0).then(|| Ok(Bytes::from(first))))
        .chain(rest)
        .boxed();
    Ok(BlobRead { size, range, body })
}

/// Fills `buf` from `file` at `at` with what the page cache holds, without waiting for the
/// disk (`RWF_NOWAIT`); how many bytes it read. Errors read nothing: the blocking read that
/// follows meets them again.
#[cfg(target_os = "linux")]
fn read_cached(file: &std::fs::File, buf: &mut [u8], at: u64) -> usize {
    use rustix::io::{ReadWriteFlags, preadv2};
    let mut done = 0;
    while done < buf.len() {
        let slice = &mut [std::io::IoSliceMut::new(&mut buf[done..])];
        match preadv2(file, slice, at + done as u64, ReadWriteFlags::NOWAIT) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n,
        }
    }
    done
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_file: &std::fs::File, _buf: &mut [u8], _at: u64) -> usize {
    0
}

/// A file's `range`, as a stream of chunks read off the async threads.
fn file_chunks(file: std::fs::File, range: Range<u64>) -> BoxStream<'static, BlobResult<Bytes>> {
    use std::os::unix::fs::FileExt;
    let file = Arc::new(file);
    futures::stream::try_unfold(range.start, move |at| {
        let file = file.clone();
        let end = range.end;
        async move {
            if at >= end {
                return Ok(None);
            }
            let len = usize::try_from(end - at).map_or(FILE_CHUNK, |left| left.min(FILE_CHUNK));
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0; len];
                file.read_exact_at(&mut buf, at).map(|()| Bytes::from(buf))
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(Some((chunk, at + len as u64)))
        }
    })
    .boxed()
}

/// A folder upload is written to `<file>#<n>` beside its object's file and renamed into place
/// when finished; a process killed before then leaves that file, which no listing shows.
/// Removes any for `object`.
async fn remove_staged_uploads(folder: &LocalFileSystem, object: &ObjectPath) -> BlobResult<()> {
    let file = folder.path_to_filesystem(object)?;
    let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str())) else {
        return Ok(());
    };
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut removed = false;
    while let Some(entry) = entries.next_entry().await? {
        let entry_name = entry.file_name();
        let staged = entry_name
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
    // An object in a subfolder (the store's own folder stays).
    if removed && object.parts().count() > 1 {
        // Left empty, it goes too, as the folder store does after deletions; one still in
        // use is not empty and stays.
        let _ = tokio::fs::remove_dir(dir).await;
    }
    Ok(())
}

/// `name` from the environment, or the contents of the file `<name>_FILE` names.
fn variable(name: &str, env: &dyn Fn(&str) -> Option<String>) -> BlobResult<Option<String>> {
    if let Some(value) = env(name) {
        return Ok(Some(value));
    }
    let Some(file) = env(&format!("{name}_FILE")) else {
        return Ok(None);
    };
    let value = std::fs::read_to_string(&file)
        .map_err(|e| BlobError::Config(format!("reading {name}_FILE ({file}): {e}")))?;
    Ok(Some(value.trim_end_matches(['\n', '\r']).to_owned()))
}

fn not_found(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        e => BlobError::Backend(e),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::testing as s3_server;

    async fn collect(read: BlobRead) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    /// Stores, reads whole and in ranges, copies out and deletes, on `store`; `scratch` is a
    /// folder for the files going in and out.
    async fn round_trip(store: &BlobStore, scratch: &Path) {
        store.ping().await.expect("answers");
        for len in [1_000, PART_SIZE + 12_345] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let source = scratch.join("in.mp3");
            std::fs::write(&source, &content).expect("write");
            let size = store.put_file("a/b.mp3", &source).await.expect("stored");
            assert_eq!(size, content.len() as u64);
            assert_eq!(store.size("a/b.mp3").await.ok().flatten(), Some(size));

            let whole = store.get("a/b.mp3", None).await.expect("whole");
            assert_eq!(whole.size, size);
            assert_eq!(collect(whole).await, content);
            let copy = scratch.join("copy.mp3");
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
            assert_eq!(part.size, size, "the whole object's size, with a part");
            assert_eq!(collect(part).await, content[100..200].to_vec());
            // A middle third: in the big object it starts and ends inside a file read.
            let third = len / 3..len / 3 * 2;
            let part = store
                .get("a/b.mp3", Some(third.start as u64..third.end as u64))
                .await
                .expect("part");
            assert_eq!(collect(part).await, content[third].to_vec());
            // A range past the end is cut at the end; one starting past it is refused.
            let tail = store
                .get("a/b.mp3", Some(size - 10..size + 100))
                .await
                .expect("tail");
            assert_eq!(tail.range, size - 10..size);
            assert_eq!(collect(tail).await, content[len - 10..].to_vec());
            assert!(
                store
                    .get("a/b.mp3", Some(size + 1..size + 5))
                    .await
                    .is_err()
            );

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
        }
        let listed: Vec<_> = store.inner.list(None).collect().await;
        assert!(listed.is_empty(), "nothing is left: {listed:?}");
    }

    /// The part of a range the page cache does not hold is read on a blocking thread, and
    /// the two parts join up.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_folder_reads_what_is_not_in_memory_from_the_disk() {
        let dir = tempfile::tempdir().expect("tmp");
        let store =
            BlobStore::open(&format!("file://{}", dir.path().join("r").display())).expect("opens");
        let content: Vec<u8> = (0..3 * FILE_CHUNK).map(|i| (i % 253) as u8).collect();
        let source = dir.path().join("in.mp3");
        std::fs::write(&source, &content).expect("write");
        store.put_file("x.mp3", &source).await.expect("stored");
        let path = store
            .folder
            .as_ref()
            .expect("a folder")
            .path_to_filesystem(&ObjectPath::from("x.mp3"))
            .expect("path");
        let evict = || {
            let file = std::fs::File::open(&path).expect("open");
            file.sync_all().expect("sync");
            rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
        };
        evict();
        let file = std::fs::File::open(&path).expect("open");
        let mut buf = vec![0; 1000];
        assert_eq!(
            read_cached(&file, &mut buf, 5000),
            0,
            "evicted pages are not read"
        );

        // Nothing in memory, then only the range's first pages (read the ordinary way).
        for warm in [false, true] {
            evict();
            if warm {
                use std::os::unix::fs::FileExt;
                let mut head = vec![0; 8192];
                file.read_exact_at(&mut head, 5000).expect("read");
            }
            let range = 5000..5000 + FILE_CHUNK as u64 + 10;
            let read = store.get("x.mp3", Some(range.clone())).await.expect("read");
            assert_eq!(read.range, range);
            assert_eq!(
                collect(read).await,
                content[5000..5000 + FILE_CHUNK + 10].to_vec()
            );
        }
    }

    #[tokio::test]
    async fn a_folder_stores_reads_ranges_and_deletes_leaving_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("recordings");
        let store = BlobStore::open(&format!("file://{}", root.display())).expect("opens");
        round_trip(&store, dir.path()).await;
        let left: Vec<_> = std::fs::read_dir(&root).expect("root").collect();
        assert!(
            left.is_empty(),
            "no empty folders or staging files remain: {left:?}"
        );
    }

    #[tokio::test]
    async fn s3_stores_reads_ranges_and_deletes_leaving_nothing() {
        let Some(server) = s3_server::S3Server::start() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tmp");
        let store = server.store("");
        round_trip(&store, dir.path()).await;
        // Under a prefix, too, and the objects are served as MP3.
        let prefixed = server.store("team-a/");
        std::fs::write(dir.path().join("x.mp3"), b"ID3 not really").expect("write");
        prefixed
            .put_file("r/1.mp3", &dir.path().join("x.mp3"))
            .await
            .expect("stored");
        let head = store
            .inner
            .get_opts(
                &BlobStore::path("team-a/r/1.mp3").expect("key"),
                GetOptions {
                    head: true,
                    ..GetOptions::default()
                },
            )
            .await
            .expect("the object is under the prefix");
        assert_eq!(
            head.attributes
                .get(&Attribute::ContentType)
                .map(|v| v.as_ref()),
            Some("audio/mpeg")
        );
        prefixed.delete("r/1.mp3").await.expect("deleted");
    }

    #[tokio::test]
    async fn s3_refuses_wrong_credentials_and_says_so_when_not_ready() {
        let Some(server) = s3_server::S3Server::start() else {
            return;
        };
        let wrong = server.store_with_secret("", "not the secret");
        assert!(
            wrong.ping().await.is_err(),
            "a signature the server rejects"
        );
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("x.mp3"), b"x").expect("write");
        assert!(
            wrong
                .put_file("r/1.mp3", &dir.path().join("x.mp3"))
                .await
                .is_err()
        );
        assert!(server.store("").ping().await.is_ok());
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
        let files = s3_server::files_under;
        assert_eq!(files(&root).len(), 1, "the cut-off upload's file is there");
        assert_eq!(store.size("recordings/r1.mp3").await.ok().flatten(), None);

        // Its guard job deletes the object it was to become.
        store.delete("recordings/r1.mp3").await.expect("deleted");
        assert_eq!(files(&root), Vec::<PathBuf>::new());
        let left: Vec<_> = std::fs::read_dir(&root).expect("root").collect();
        assert!(left.is_empty(), "nor its folder: {left:?}");
    }

    #[test]
    fn unknown_schemes_and_settings_are_refused() {
        assert!(matches!(
            BlobStore::open("ftp://x"),
            Err(BlobError::Config(_))
        ));
        assert!(matches!(
            BlobStore::open("s3://?region=x"),
            Err(BlobError::Config(_))
        ));
        assert!(matches!(
            BlobStore::open("s3://bucket?regoin=x"),
            Err(BlobError::Config(_))
        ));
        assert!(matches!(
            BlobStore::open("file://"),
            Err(BlobError::Config(_))
        ));
    }
}

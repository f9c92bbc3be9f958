//! Installs Intel's prebuilt oneDNN 3 (the `onednn-cpu-gomp` wheel: GNU OpenMP, as CTranslate2
//! is built here) and its headers (`onednn-devel-cpu-gomp`) once per machine, fetched with pip and
//! checked against pinned sha256 sums, then tells cargo to link it.
//!
//! Where: `CALLVAULT_ONEDNN_DIR` if set, else `~/.cache/callvault/onednn-<version>`. The folder
//! holds `include/` and `lib/libdnnl.so.3`; binaries find the library there at run time through
//! the run path their own build scripts record.

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// oneDNN 3.2, as Intel publishes it in wheels.
const VERSION: &str = "2023.2.0";

/// The wheels and their sha256 sums.
const WHEELS: [(&str, &str); 2] = [
    (
        "onednn_cpu_gomp",
        "2f22a54d6a890ed14bfa185d42a4be65d8b5b1df85dc1f0f3a9abe31620416fb",
    ),
    (
        "onednn_devel_cpu_gomp",
        "9763c69e8c907e119056bd52ad918ca84ac9ba939d130a99dfa95ccca3e5e284",
    ),
];

const LIBRARY: &str = "libdnnl.so.3";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CALLVAULT_ONEDNN_DIR");
    let dir = install_dir();
    if !is_installed(&dir)
        && let Err(e) = install(&dir)
    {
        panic!(
            "could not install oneDNN {VERSION} into {}: {e}\n\
                 It is fetched with `python3 -m pip download` (install python3-pip), or set \
                 CALLVAULT_ONEDNN_DIR to a folder holding include/ and lib/{LIBRARY}.",
            dir.display()
        );
    }
    let lib = dir.join("lib");
    // Built again if the library goes (binaries load it from there).
    println!("cargo::rerun-if-changed={}", lib.join(LIBRARY).display());
    println!("cargo::rustc-link-search=native={}", lib.display());
    println!("cargo::rustc-link-lib=dylib=dnnl");
    println!("cargo::metadata=ROOT={}", dir.display());
    println!(
        "cargo::metadata=INCLUDE_PATH={}",
        dir.join("include").display()
    );
    println!("cargo::metadata=LIBRARY_PATH={}", lib.display());
}

fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CALLVAULT_ONEDNN_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("HOME").map_or_else(
        || PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")),
        |home| PathBuf::from(home).join(".cache/callvault"),
    );
    base.join(format!("onednn-{VERSION}"))
}

fn is_installed(dir: &Path) -> bool {
    dir.join("lib").join(LIBRARY).is_file()
        && dir.join("lib/libdnnl.so").exists()
        && dir.join("include/oneapi/dnnl/dnnl.hpp").is_file()
}

fn install(dir: &Path) -> Result<(), String> {
    let parent = dir.parent().ok_or("the folder has no parent")?;
    fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    // Unpacked beside the destination and renamed into place, so a build stopped halfway leaves
    // nothing that looks installed; another build racing this one may win the rename.
    let staging = parent.join(format!(".onednn-{VERSION}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = download_and_unpack(&staging);
    if result.is_ok() && !is_installed(dir) {
        let _ = fs::remove_dir_all(dir);
        fs::rename(&staging, dir).map_err(|e| e.to_string())?;
    }
    let _ = fs::remove_dir_all(&staging);
    result
}

fn download_and_unpack(staging: &Path) -> Result<(), String> {
    let wheels = staging.join("wheels");
    fs::create_dir_all(&wheels).map_err(|e| e.to_string())?;
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--dest",
        ])
        .arg(&wheels)
        .args(
            WHEELS
                .iter()
                .map(|(name, _)| format!("{}=={VERSION}", name.replace('_', "-"))),
        )
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running python3: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "pip failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    for (name, sha256) in WHEELS {
        let wheel = fs::read_dir(&wheels)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}-")))
            })
            .ok_or_else(|| format!("pip left no {name} wheel"))?;
        let found = sha256_of(&wheel)?;
        if found != sha256 {
            return Err(format!(
                "{} has sha256 {found}, not {sha256}: refusing it",
                wheel.display()
            ));
        }
        unpack(&wheel, staging)?;
    }
    fs::remove_dir_all(&wheels).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(LIBRARY, staging.join("lib/libdnnl.so")).map_err(|e| e.to_string())
}

fn sha256_of(path: &Path) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(hex::encode(hasher.finalize()))
}

/// Writes the wheel's headers and the library (by its soname; the wheel also holds two copies
/// under other names) into `into`.
fn unpack(wheel: &Path, into: &Path) -> Result<(), String> {
    let bad = |e: zip::result::ZipError| format!("{}: {e}", wheel.display());
    let file = File::open(wheel).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(bad)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        let Some(name) = entry.enclosed_name() else {
            continue;
        };
        // Wheels keep installed files under `<name>-<version>.data/data/`.
        let inside: PathBuf = name
            .components()
            .skip_while(|c| *c != Component::Normal("data".as_ref()))
            .skip(1)
            .collect();
        let keep = inside.starts_with("include") && !entry.is_dir()
            || inside == Path::new("lib").join(LIBRARY);
        if !keep {
            continue;
        }
        let dest = into.join(&inside);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        File::create(&dest)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(())
}

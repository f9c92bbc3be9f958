//! Installs Intel's prebuilt oneDNN 3 (the `onednn-cpu-gomp` wheel: GNU OpenMP, as CTranslate2
//! is built here) and its headers (`onednn-devel-cpu-gomp`) once per machine, with
//! `callvault_wheel` (pip, pinned sha256, one rename), then tells cargo to link it.
//!
//! Where: `CALLVAULT_ONEDNN_DIR` if set, else `~/.cache/callvault/onednn-<version>`. The folder
//! holds `include/` and `lib/libdnnl.so.3`; binaries find the library there at run time through
//! the run path their own build scripts record (`run_path.rs`).

use std::path::{Path, PathBuf};

use callvault_wheel::{Pinned, WheelError};

/// oneDNN 3.2, as Intel publishes it in wheels.
const VERSION: &str = "2023.2.0";

const WHEELS: [Pinned<'static>; 2] = [
    Pinned {
        requirement: "onednn-cpu-gomp==2023.2.0",
        sha256: "2f22a54d6a890ed14bfa185d42a4be65d8b5b1df85dc1f0f3a9abe31620416fb",
    },
    Pinned {
        requirement: "onednn-devel-cpu-gomp==2023.2.0",
        sha256: "9763c69e8c907e119056bd52ad918ca84ac9ba939d130a99dfa95ccca3e5e284",
    },
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

fn install(dir: &Path) -> Result<(), WheelError> {
    callvault_wheel::install(dir, ".onednn-fetch-", |work| {
        let unpacked = work.join("onednn");
        for wheel in callvault_wheel::fetch(&WHEELS, work, false)? {
            // Wheels keep installed files under `<name>-<version>.data/data/`; of the library,
            // which the wheel holds under three names, only the soname is kept.
            callvault_wheel::unpack(&wheel, &unpacked, |name| {
                let inside = name.split_once(".data/data/")?.1;
                let keep = inside.starts_with("include/") || inside == format!("lib/{LIBRARY}");
                keep.then(|| PathBuf::from(inside))
            })?;
        }
        std::os::unix::fs::symlink(LIBRARY, unpacked.join("lib/libdnnl.so"))?;
        Ok(unpacked)
    })
}

//! Links Intel's prebuilt oneDNN 3 library for CTranslate2; see `build.rs`.
//!
//! Packages with binaries or tests that link CTranslate2 depend on this crate directly, so their
//! build scripts can read `DEP_DNNL_LIBRARY_PATH` and record it as the binaries' run path.

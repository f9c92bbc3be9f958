//! The build script of each package whose binaries or tests link CTranslate2: they load oneDNN
//! at run time from where this crate installed it, so that folder becomes their run path.

fn main() {
    if let Ok(dir) = std::env::var("DEP_DNNL_LIBRARY_PATH") {
        println!("cargo::rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

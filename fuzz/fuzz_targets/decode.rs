//! Any bytes at all through the decoder: it must answer with audio or an error, never panic,
//! and never allocate what a header merely claims.
#![no_main]

use callvault_audio::AudioReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(mut reader) = AudioReader::open(source, None) {
        while let Ok(Some(block)) = reader.next_block() {
            std::hint::black_box(block.frames());
        }
    }
});

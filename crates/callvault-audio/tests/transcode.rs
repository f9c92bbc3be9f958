//! Real audio through the real codecs: every format phone systems and softphones produce goes
//! in (fixtures made with espeak-ng, sox and ffmpeg; see fixtures/make-fixtures.sh), and
//! ffprobe checks the MP3 that comes out.

use std::path::{Path, PathBuf};
use std::process::Command;

use callvault_audio::{AudioError, AudioReader, transcode_file};

fn fixtures() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
}

/// (codec, channels, duration in seconds) as ffprobe reads a file.
fn ffprobe(path: &Path) -> (String, u16, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,channels:format=duration",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (the test command installs ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    };
    (
        field("codec_name"),
        field("channels").parse().unwrap_or(0),
        field("duration").parse().unwrap_or(0.0),
    )
}

/// Loudest sample of each channel in a time window, decoding the MP3 back.
fn loudness(path: &Path, from_s: f64, to_s: f64) -> Vec<f32> {
    let file = std::fs::File::open(path).expect("open");
    let mut reader = AudioReader::open(Box::new(file), Some("mp3")).expect("the MP3 decodes");
    let mut loud: Vec<f32> = Vec::new();
    let mut at = 0usize;
    while let Some(block) = reader.next_block().expect("block") {
        let rate = f64::from(block.sample_rate);
        loud.resize(block.planes.len(), 0.0);
        for (ch, plane) in block.planes.iter().enumerate() {
            for (i, s) in plane.iter().enumerate() {
                #[allow(clippy::cast_precision_loss)]
                let t = (at + i) as f64 / rate;
                if t >= from_s && t < to_s {
                    loud[ch] = loud[ch].max(s.abs());
                }
            }
        }
        at += block.frames();
    }
    loud
}

#[test]
fn every_format_becomes_an_mp3_of_the_same_length_and_channels() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures().join("formats")).expect("fixtures") {
        let src = entry.expect("entry").path();
        let name = src
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let dst = dir.path().join(format!("{name}.mp3"));
        let done = transcode_file(&src, &dst).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (_, in_channels, in_seconds) = ffprobe(&src);
        let (codec, out_channels, out_seconds) = ffprobe(&dst);
        assert_eq!(codec, "mp3", "{name}");
        assert_eq!(out_channels, in_channels, "{name}: channels kept");
        assert_eq!(done.source_channels, in_channels, "{name}");
        assert!(
            !done.truncated,
            "{name}: a whole file is not said to be cut short"
        );
        assert!(
            (out_seconds - in_seconds).abs() <= 0.25,
            "{name}: ffprobe {in_seconds} s in, {out_seconds} s out"
        );
        #[allow(clippy::cast_precision_loss)]
        let ours = done.duration_ms() as f64 / 1000.0;
        assert!(
            (ours - in_seconds).abs() <= 0.25,
            "{name}: {ours} s measured, {in_seconds} s by ffprobe"
        );
        assert_eq!(
            done.bytes,
            std::fs::metadata(&dst).map(|m| m.len()).unwrap_or(0)
        );
        assert_eq!(done.peaks.channels.len(), usize::from(in_channels));

        if in_channels == 2 {
            // The contact speaks first on the left; the agent answers later on the right.
            let early = loudness(&dst, 0.1, 1.3);
            let late = loudness(&dst, 2.0, 3.0);
            assert!(
                early[0] > 0.05 && early[1] < 0.02,
                "{name}: early {early:?}"
            );
            assert!(late[1] > 0.05 && late[0] < 0.02, "{name}: late {late:?}");
        }
        seen += 1;
    }
    assert!(seen >= 14, "{seen} fixtures");
}

#[test]
fn the_voice_profile_follows_the_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let dst = dir.path().join("out.mp3");
    let ulaw =
        transcode_file(&fixtures().join("formats/ulaw-2ch-8k.wav"), &dst).expect("transcodes");
    assert_eq!(
        (
            ulaw.source_codec,
            ulaw.profile.sample_rate,
            ulaw.profile.kbps()
        ),
        ("pcm_mulaw", 8000, 48)
    );
    let opus =
        transcode_file(&fixtures().join("formats/opus-2ch-48k.opus"), &dst).expect("transcodes");
    assert_eq!(
        (
            opus.source_codec,
            opus.profile.sample_rate,
            opus.profile.kbps()
        ),
        ("opus", 16000, 64)
    );
}

#[test]
fn damaged_and_lying_files_get_a_clear_answer_and_leave_no_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let wav = std::fs::read(fixtures().join("formats/pcm16-2ch-8k.wav")).expect("fixture");
    let flac = std::fs::read(fixtures().join("formats/flac-2ch-16k.flac")).expect("fixture");
    // A WAV header that claims 2 GB of samples, followed by a few hundred bytes.
    let data = wav
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let mut lying = wav[..data].to_vec();
    lying[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    lying[data - 4..data].copy_from_slice(&0x7fff_ffc0u32.to_le_bytes());
    lying.extend_from_slice(&wav[data..data + 1000]);
    // A WAV header that claims 0 Hz and 300 channels.
    let mut absurd = wav.clone();
    absurd[22..24].copy_from_slice(&300u16.to_le_bytes());
    absurd[24..28].copy_from_slice(&0u32.to_le_bytes());
    // A header that claims 1 Hz.
    let mut one_hertz = wav.clone();
    one_hertz[24..28].copy_from_slice(&1u32.to_le_bytes());
    let noise: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("noise", noise),
        ("text", b"this is not audio at all, just words".repeat(100)),
        ("absurd header", absurd),
        // Found by the fuzzer: an extensible WAV header claiming 4096 channels.
        (
            "4096 channels",
            std::fs::read(fixtures().join("fuzz-wav-4096-channels.wav")).expect("fixture"),
        ),
        ("one hertz", one_hertz),
        ("truncated header", wav[..30].to_vec()),
    ];
    for (name, bytes) in cases {
        let src = dir.path().join(name);
        let dst = dir.path().join(format!("{name}.mp3"));
        std::fs::write(&src, bytes).expect("write");
        let result = transcode_file(&src, &dst);
        assert!(
            matches!(
                result,
                Err(AudioError::Unsupported(_) | AudioError::Corrupt(_))
            ),
            "{name}: {result:?}"
        );
        assert!(!dst.exists(), "{name}: no half-written MP3 is left");
    }

    // Cut short or lying about its length: what is really there comes through.
    for (name, bytes, max_s) in [
        ("lying length", lying, 0.1),
        ("half a WAV", wav[..wav.len() / 2].to_vec(), 1.7),
        ("half a FLAC", flac[..flac.len() / 2].to_vec(), 1.8),
    ] {
        let src = dir.path().join(name);
        let dst = dir.path().join(format!("{name}.mp3"));
        std::fs::write(&src, bytes).expect("write");
        let done = transcode_file(&src, &dst).unwrap_or_else(|e| panic!("{name}: {e}"));
        #[allow(clippy::cast_precision_loss)]
        let seconds = done.duration_ms() as f64 / 1000.0;
        assert!(seconds > 0.0 && seconds <= max_s, "{name}: {seconds} s");
        assert!(done.truncated, "{name}: said to be cut short");
    }
}

/// Bytes that are there but do not decode are damage, whichever container: an MP3 whose
/// second half is random bytes was once stored as good at half its length (the MP3 reader
/// skips garbage looking for the next frame, so no packet failed). A file merely cut short
/// keeps what is there and says so.
#[test]
fn damage_a_reader_skips_is_still_damage_and_a_cut_file_is_still_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let noise = |len: usize, seed: u32| -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect()
    };
    for file in [
        "mp3-2ch-22k.mp3",
        "vorbis-2ch-44k.ogg",
        "flac-2ch-16k.flac",
        "opus-2ch-48k.opus",
    ] {
        let good = std::fs::read(fixtures().join("formats").join(file)).expect("fixture");
        let half = good.len() / 2;
        let mut damaged = good[..half].to_vec();
        damaged.extend(noise(good.len() - half, 7));
        let src = dir.path().join(format!("damaged-{file}"));
        let dst = dir.path().join(format!("damaged-{file}.mp3"));
        std::fs::write(&src, &damaged).expect("write");
        match transcode_file(&src, &dst) {
            Err(AudioError::Corrupt(why)) => {
                assert!(!dst.exists(), "{file}: no half-written MP3 is left");
                eprintln!("{file}: {why}");
            }
            Ok(done) => {
                // Readers that keep their own length (Ogg finds it on the last page, which is
                // gone) may take the damage for the end of the file: it must then say so.
                assert!(
                    done.truncated || done.duration_ms() < 2600,
                    "{file}: stored as good: {done:?}"
                );
            }
            Err(other) => panic!("{file}: {other}"),
        }
    }
    let mp3 = std::fs::read(fixtures().join("formats/mp3-2ch-22k.mp3")).expect("fixture");
    let mut damaged = mp3[..mp3.len() / 2].to_vec();
    damaged.extend(noise(mp3.len() - mp3.len() / 2, 11));
    let src = dir.path().join("half-noise.mp3");
    std::fs::write(&src, &damaged).expect("write");
    let said = transcode_file(&src, &dir.path().join("out.mp3"));
    assert!(
        matches!(&said, Err(AudioError::Corrupt(why)) if why.contains("could not be decoded")),
        "{said:?}"
    );

    // Cut to 5,000 bytes: kept, short, and said to be cut.
    let src = dir.path().join("cut.mp3");
    std::fs::write(&src, &mp3[..5000]).expect("write");
    let cut = transcode_file(&src, &dir.path().join("cut-out.mp3")).expect("kept");
    assert!(cut.truncated && cut.duration_ms() < 1500, "{cut:?}");
    // Whole files are not.
    let whole = transcode_file(
        &fixtures().join("formats/mp3-2ch-22k.mp3"),
        &dir.path().join("whole.mp3"),
    )
    .expect("whole");
    assert!(!whole.truncated);
}

#[test]
fn speech_comes_out_at_16_khz_one_signal_per_party() {
    for (name, rate) in [
        ("pcm16-2ch-8k.wav", 8000u32),
        ("opus-2ch-48k.opus", 48000),
        ("flac-2ch-16k.flac", 16000),
    ] {
        let (source, planes) =
            callvault_audio::load_16k(&fixtures().join("formats").join(name)).expect("decodes");
        assert_eq!((source.sample_rate, source.channels), (rate, 2), "{name}");
        assert_eq!(planes.len(), 2);
        #[allow(clippy::cast_precision_loss)]
        let seconds = planes[0].len() as f64 / 16_000.0;
        assert!((seconds - 3.2).abs() < 0.05, "{name}: {seconds} s");
        let peak = |plane: &[f32], from: f64, to: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let (a, b) = ((from * 16_000.0) as usize, (to * 16_000.0) as usize);
            plane[a..b].iter().fold(0f32, |m, s| m.max(s.abs()))
        };
        assert!(
            peak(&planes[0], 0.1, 1.3) > 0.05 && peak(&planes[1], 0.1, 1.3) < 0.02,
            "{name}: contact first, on the left"
        );
        assert!(
            peak(&planes[1], 2.0, 3.0) > 0.05 && peak(&planes[0], 2.0, 3.0) < 0.02,
            "{name}: agent later, on the right"
        );
    }
}

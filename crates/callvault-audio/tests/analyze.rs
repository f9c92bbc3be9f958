//! Real audio through the real decoder: the fixture is a two-channel call made with espeak-ng
//! and LAME (see fixtures/make-fixtures.sh).

use std::path::PathBuf;

use callvault_audio::{AudioError, analyze_file};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn loudness(values: &[i8]) -> u32 {
    values
        .iter()
        .map(|v| u32::from(v.unsigned_abs()))
        .max()
        .unwrap_or(0)
}

#[test]
fn a_two_channel_call_keeps_both_channels_and_its_length() {
    let a = analyze_file(&fixture("call-2ch.mp3")).expect("decodes");
    assert_eq!(a.codec, "mp3");
    assert_eq!(a.channels, 2);
    assert_eq!(a.sample_rate, 8000);
    // ffprobe reports 7.632 s for this file.
    assert!(
        a.duration_ms().abs_diff(7632) <= 250,
        "{} ms",
        a.duration_ms()
    );

    // The contact speaks first on the left; the team member answers later on the right.
    let per_bucket = a.peaks.bucket_ms as usize;
    let first_3s = 3000 / per_bucket;
    let [left, right] = &a.peaks.channels[..] else {
        panic!("two channels")
    };
    assert!(
        loudness(&left.max[..first_3s]) > 20,
        "contact audible at the start"
    );
    assert!(
        loudness(&right.max[..first_3s]) < 5,
        "agent silent at the start"
    );
    let tail = left.max.len() - 2000 / per_bucket;
    assert!(
        loudness(&right.max[tail..]) > 20,
        "agent audible at the end"
    );
    assert!(loudness(&left.max[tail..]) < 5, "contact silent at the end");
}

#[test]
fn a_file_cut_short_decodes_what_is_there() {
    let whole = std::fs::read(fixture("call-2ch.mp3")).expect("fixture");
    let dir = tempfile::tempdir().expect("tmp");
    let half = dir.path().join("half.mp3");
    std::fs::write(&half, &whole[..whole.len() / 2]).expect("write");
    let a = analyze_file(&half).expect("decodes the first half");
    assert!(
        (3000..4700).contains(&a.duration_ms()),
        "{} ms",
        a.duration_ms()
    );
}

#[test]
fn nonsense_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases: [(&str, Vec<u8>); 3] = [
        ("empty.mp3", Vec::new()),
        (
            "noise.mp3",
            (0..50_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
        (
            "text.mp3",
            b"this is not audio at all, just words".repeat(100),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let result = analyze_file(&path);
        assert!(
            matches!(
                result,
                Err(AudioError::Unsupported(_) | AudioError::Corrupt(_))
            ),
            "{name}: {result:?}"
        );
    }
}

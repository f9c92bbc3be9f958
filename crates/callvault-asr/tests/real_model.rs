//! The real model on real speech: espeak-ng voices (fixtures/make-fixtures.sh). The test
//! command installs the default model and names it in `CALLVAULT_TEST_MODEL`.

use std::path::{Path, PathBuf};

use callvault_asr::{Engine, EngineOptions, Options, transcribe};

fn model() -> PathBuf {
    let dir = std::env::var("CALLVAULT_TEST_MODEL")
        .expect("CALLVAULT_TEST_MODEL names a Whisper model folder (the test command sets it)");
    PathBuf::from(dir)
}

/// The model on two threads, as the test machine has.
fn engine() -> Engine {
    Engine::load(
        &model(),
        &EngineOptions {
            threads: 2,
            ..EngineOptions::default()
        },
    )
    .expect("the model loads")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect()
}

#[test]
fn a_two_channel_call_comes_back_with_its_words_times_and_parties() {
    let engine = engine();
    let mut last = 0.0;
    let t = transcribe(
        &engine,
        &fixture("call-2ch.mp3"),
        Options::default(),
        &mut |s| {
            last = s;
            true
        },
    )
    .expect("transcribes");
    println!("{t:#?}");
    assert_eq!(t.language, "en");
    assert_eq!(t.channels, 2);
    assert!((t.duration - 7.6).abs() < 0.3, "{}", t.duration);
    assert!(last > 7.0, "progress reached the end: {last}");
    let contact: Vec<_> = t.segments.iter().filter(|s| s.channel == 0).collect();
    let agent: Vec<_> = t.segments.iter().filter(|s| s.channel == 1).collect();
    let contact_text = words(
        &contact
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let agent_text = words(
        &agent
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    for w in ["hello", "calling", "invoice", "march"] {
        assert!(
            contact_text.contains(w),
            "the contact said {w:?}: {contact_text}"
        );
    }
    for w in ["thanks", "calling", "account"] {
        assert!(agent_text.contains(w), "the agent said {w:?}: {agent_text}");
    }
    // The contact speaks from the start; the agent from 3.5 s (make-fixtures.sh).
    assert!(contact[0].start < 2.0, "{:?}", contact[0]);
    assert!((agent[0].start - 3.5).abs() < 2.0, "{:?}", agent[0]);
    assert!(
        t.segments.windows(2).all(|p| p[0].start <= p[1].start),
        "merged by time"
    );
}

/// Words spoken at known times (fixtures/words-timed.tsv) come back timed where they were
/// said: the bar is 0.3 s. Words the model heard differently (digits it wrote as
/// "41") are skipped; the words it did hear are matched in order.
#[test]
fn word_times_land_where_the_words_were_said() {
    let engine = engine();
    let t = transcribe(
        &engine,
        &fixture("words-timed.mp3"),
        Options { words: true },
        &mut |_| true,
    )
    .expect("transcribes");
    let known: Vec<(String, f64, f64)> = std::fs::read_to_string(fixture("words-timed.tsv"))
        .expect("the word list")
        .lines()
        .map(|line| {
            let parts: Vec<&str> = line.split('\t').collect();
            let time = |i: usize| parts[i].parse::<f64>().expect("seconds");
            (parts[0].to_lowercase(), time(1), time(2))
        })
        .collect();
    for s in &t.segments {
        let joined: String = s.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(joined.trim(), s.text, "a segment's words make its text");
    }
    let mut errors: Vec<f64> = Vec::new();
    let mut next = 0;
    for word in t.segments.iter().flat_map(|s| &s.words) {
        let heard = words(&word.text);
        let heard = heard.trim();
        if let Some(k) = (next..known.len()).find(|&k| known[k].0 == heard) {
            errors.push((word.start - known[k].1).abs());
            errors.push((word.end - known[k].2).abs());
            next = k + 1;
        }
    }
    errors.sort_by(f64::total_cmp);
    let within = errors.iter().filter(|e| **e <= 0.3).count();
    println!(
        "{} word edges; median error {:.3} s; {} within 0.3 s; worst {:.3} s",
        errors.len(),
        errors[errors.len() / 2],
        within,
        errors.last().copied().unwrap_or(0.0)
    );
    assert!(
        errors.len() >= 40,
        "most words were heard: {}",
        errors.len()
    );
    assert!(errors[errors.len() / 2] <= 0.1, "median {errors:?}");
    assert!(
        within * 10 >= errors.len() * 9,
        "nine edges in ten within 0.3 s: {errors:?}"
    );
}

/// Digits read one by one make the model loop ("6, 6, 6, …"); read again at a higher
/// temperature, the window gives the digits.
#[test]
fn a_window_the_model_loops_on_is_read_again() {
    let engine = engine();
    let t = transcribe(
        &engine,
        &fixture("call-digits-2ch.mp3"),
        Options::default(),
        &mut |_| true,
    )
    .expect("transcribes");
    let contact: String = t
        .segments
        .iter()
        .filter(|s| s.channel == 0)
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    println!("{contact}");
    let digits: String = contact.chars().filter(char::is_ascii_digit).collect();
    assert!(
        digits.contains("4532"),
        "the card's digits were read, not dropped as a loop: {contact}"
    );
}

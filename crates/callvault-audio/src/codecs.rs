//! Which codecs callvault decodes: everything symphonia is built with here (PCM in all its
//! widths and float, G.711 µ-law and A-law, IMA and MS ADPCM, MP3, FLAC, Vorbis, AAC), plus
//! Opus through libopus.

use std::sync::LazyLock;

use symphonia::core::codecs::audio::{AudioCodecId, well_known as ids};
use symphonia::core::codecs::registry::CodecRegistry;

static REGISTRY: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    registry
});

pub fn registry() -> &'static CodecRegistry {
    &REGISTRY
}

/// A short, stable name for a codec, as recorded and reported.
#[must_use]
pub fn name(id: AudioCodecId) -> &'static str {
    match id {
        ids::CODEC_ID_PCM_MULAW => "pcm_mulaw",
        ids::CODEC_ID_PCM_ALAW => "pcm_alaw",
        ids::CODEC_ID_ADPCM_IMA_WAV | ids::CODEC_ID_ADPCM_IMA_QT => "adpcm_ima",
        ids::CODEC_ID_ADPCM_MS => "adpcm_ms",
        ids::CODEC_ID_MP3 => "mp3",
        ids::CODEC_ID_MP2 => "mp2",
        ids::CODEC_ID_FLAC => "flac",
        ids::CODEC_ID_VORBIS => "vorbis",
        ids::CODEC_ID_OPUS => "opus",
        ids::CODEC_ID_AAC => "aac",
        id if (ids::CODEC_ID_PCM_S32LE..=ids::CODEC_ID_PCM_F64BE_PLANAR).contains(&id) => "pcm",
        _ => "other",
    }
}

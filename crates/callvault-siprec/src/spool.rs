//! A call's audio on disk while it is being recorded, so a killed server loses only what was
//! still in the jitter window. Each session has a folder under `<data-dir>/siprec/`: its call
//! and rate in `session.json`, and one file of 16-bit samples per channel (the contact's,
//! then the team member's). At the end the two become one stereo WAV, which the ingest reads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use callvault_core::CallId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Channels of every recording: the contact on the left, the team member on the right.
pub const CHANNELS: usize = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    pub call_id: CallId,
    pub rate: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

/// The folder sessions are spooled in.
#[must_use]
pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join("siprec")
}

/// One session's folder.
#[derive(Debug)]
pub struct SessionSpool {
    dir: PathBuf,
    pub info: SessionInfo,
}

fn channel_file(dir: &Path, channel: usize) -> PathBuf {
    dir.join(format!("{channel}.pcm"))
}

impl SessionSpool {
    /// Makes the session's folder; its description is written last, so a folder without one
    /// was never a session and is removed on recovery.
    pub fn create(root: &Path, info: SessionInfo) -> io::Result<Self> {
        let dir = root.join(info.call_id.to_string());
        fs::create_dir_all(root)?;
        // Never another session's folder or files.
        fs::create_dir(&dir)?;
        for channel in 0..CHANNELS {
            File::create_new(channel_file(&dir, channel))?;
        }
        let json = serde_json::to_vec(&info).map_err(io::Error::other)?;
        let temporary = dir.join("session.json.tmp");
        fs::write(&temporary, json)?;
        fs::rename(temporary, dir.join("session.json"))?;
        Ok(Self { dir, info })
    }

    /// Where a channel's samples are appended.
    pub fn channel_writer(&self, channel: usize) -> io::Result<ChannelWriter> {
        let file = OpenOptions::new()
            .append(true)
            .open(channel_file(&self.dir, channel))?;
        Ok(ChannelWriter(BufWriter::new(file)))
    }

    /// The stereo WAV of everything spooled; the shorter channel is padded with silence.
    /// Returns its path and length in samples per channel.
    pub fn to_wav(&self) -> io::Result<(PathBuf, u64)> {
        let lengths: Vec<u64> = (0..CHANNELS)
            .map(|c| Ok(fs::metadata(channel_file(&self.dir, c))?.len() / 2))
            .collect::<io::Result<_>>()?;
        let frames = lengths.iter().copied().max().unwrap_or(0);
        let path = self.dir.join("call.wav");
        let mut out = BufWriter::new(File::create(&path)?);
        write_wav_header(&mut out, self.info.rate, frames)?;
        let mut inputs: Vec<BufReader<File>> = (0..CHANNELS)
            .map(|c| Ok(BufReader::new(File::open(channel_file(&self.dir, c))?)))
            .collect::<io::Result<_>>()?;
        let mut sample = [0u8; 2];
        for _ in 0..frames {
            for input in &mut inputs {
                match input.read_exact(&mut sample) {
                    Ok(()) => out.write_all(&sample)?,
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => out.write_all(&[0, 0])?,
                    Err(e) => return Err(e),
                }
            }
        }
        out.flush()?;
        Ok((path, frames))
    }

    /// Removes the folder: the call is stored.
    pub fn remove(self) -> io::Result<()> {
        fs::remove_dir_all(&self.dir)
    }

    /// Every session a stopped server left, oldest first. Folders without a readable
    /// description are removed: they were never sessions.
    pub fn left_behind(root: &Path) -> Vec<SessionSpool> {
        let Ok(entries) = fs::read_dir(root) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let dir = entry.path();
            let info = fs::read(dir.join("session.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<SessionInfo>(&bytes).ok());
            match info {
                Some(info) => found.push(SessionSpool { dir, info }),
                None => {
                    let _ = fs::remove_dir_all(&dir);
                }
            }
        }
        found.sort_by_key(|s| s.info.started_at);
        found
    }
}

/// Appends one channel's samples, little-endian.
#[derive(Debug)]
pub struct ChannelWriter(BufWriter<File>);

impl ChannelWriter {
    pub fn append(&mut self, samples: &[i16]) -> io::Result<()> {
        for sample in samples {
            self.0.write_all(&sample.to_le_bytes())?;
        }
        // Out of our buffer, so a killed process keeps it.
        self.0.flush()
    }
}

fn write_wav_header(out: &mut impl Write, rate: u32, frames: u64) -> io::Result<()> {
    let block = (CHANNELS * 2) as u32;
    let data = u32::try_from(frames * u64::from(block))
        .map_err(|_| io::Error::other("a call too long for one WAV file"))?;
    out.write_all(b"RIFF")?;
    out.write_all(&(36 + data).to_le_bytes())?;
    out.write_all(b"WAVEfmt ")?;
    out.write_all(&16u32.to_le_bytes())?;
    out.write_all(&1u16.to_le_bytes())?; // PCM
    out.write_all(&(CHANNELS as u16).to_le_bytes())?;
    out.write_all(&rate.to_le_bytes())?;
    out.write_all(&(rate * block).to_le_bytes())?;
    out.write_all(&(block as u16).to_le_bytes())?;
    out.write_all(&16u16.to_le_bytes())?;
    out.write_all(b"data")?;
    out.write_all(&data.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_channels_become_one_stereo_wav_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let info = SessionInfo {
            call_id: CallId::new(),
            rate: 8000,
            started_at: OffsetDateTime::UNIX_EPOCH,
        };
        let spool = SessionSpool::create(dir.path(), info).expect("created");
        spool
            .channel_writer(0)
            .expect("writer")
            .append(&[1, 2, 3])
            .expect("appended");
        spool
            .channel_writer(1)
            .expect("writer")
            .append(&[-1])
            .expect("appended");
        // A folder a crash left before its description was written is not a session.
        fs::create_dir_all(dir.path().join("half-made")).expect("dir");

        let mut found = SessionSpool::left_behind(dir.path());
        assert_eq!(found.len(), 1);
        assert!(!dir.path().join("half-made").exists());
        let spool = found.remove(0);
        let (wav, frames) = spool.to_wav().expect("wav");
        assert_eq!(frames, 3);
        let bytes = fs::read(wav).expect("read");
        assert_eq!(&bytes[..4], b"RIFF");
        let samples: Vec<i16> = bytes[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples, vec![1, -1, 2, 0, 3, 0]);
        spool.remove().expect("removed");
        assert!(SessionSpool::left_behind(dir.path()).is_empty());
    }
}

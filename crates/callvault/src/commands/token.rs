//! `callvault token create`.

use anyhow::Context;
use callvault_core::contact::clean_name;
use callvault_core::user::normalise_email;

use super::open_app;
use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as a user; it is printed once.
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub async fn run(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let state = open_app(&config, false).await?;
    match command {
        TokenCommand::Create { email, name } => {
            let email = normalise_email(&email).context("that is not an email address")?;
            let name = clean_name(&name).context("give the token a short name")?;
            let user = state
                .store
                .user_by_email(&email)
                .await?
                .context("no user has that email")?;
            let token = callvault_app::secrets::new_api_token();
            state
                .store
                .create_token(
                    user.id,
                    &name,
                    &callvault_app::secrets::hash_secret(&token),
                    state.now(),
                )
                .await?;
            eprintln!(
                "token {name:?} for {} (shown once; keep it secret):",
                user.email
            );
            println!("{token}");
        }
    }
    Ok(())
}

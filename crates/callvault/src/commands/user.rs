//! `callvault user add|list|passwd`.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use callvault_core::contact::clean_name;
use callvault_core::user::{Role, Scope, normalise_email};
use callvault_store::NewUser;

use super::open_app;
use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the user an admin (configures numbers and users, sees everything).
        #[arg(long)]
        admin: bool,
        /// Which contacts the user sees.
        #[arg(long, value_enum, default_value = "all")]
        scope: ScopeArg,
        /// The user may play recordings but not download them.
        #[arg(long)]
        no_download: bool,
        /// The user may delete conversations and their recordings.
        #[arg(long)]
        allow_delete: bool,
    },
    /// List users.
    List,
    /// Set a user's password, read from standard input; their sessions end.
    Passwd {
        #[arg(long)]
        email: String,
        /// Also revoke every API token of theirs (when the old password may have been known).
        #[arg(long)]
        revoke_tokens: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ScopeArg {
    All,
    Assigned,
}

/// Reads a password from standard input: hidden at a terminal, the first line otherwise.
/// `about` are whose it is (email, name): a password built on them is refused.
fn read_password(about: &[&str]) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if let Some(problem) = callvault_app::passwords::password_problem(&password, about) {
        bail!("{problem} (give it on standard input)");
    }
    Ok(password)
}

pub async fn run(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let state = open_app(&config, false).await?;
    match command {
        UserCommand::Add {
            email,
            name,
            admin,
            scope,
            no_download,
            allow_delete,
        } => {
            let email = normalise_email(&email).context("that is not an email address")?;
            let name = clean_name(&name).context("a name must be 1 to 200 characters")?;
            let password = read_password(&[&email, &name])?;
            let hash = callvault_app::passwords::hash_blocking(&password)
                .map_err(|e| anyhow::anyhow!(e))?;
            let user = state
                .store
                .create_user(
                    NewUser {
                        email,
                        name,
                        role: if admin { Role::Admin } else { Role::User },
                        scope: match scope {
                            ScopeArg::All => Scope::All,
                            ScopeArg::Assigned => Scope::Assigned,
                        },
                        can_download: !no_download,
                        can_delete: allow_delete,
                        extension: None,
                        password_hash: Some(hash),
                    },
                    state.now(),
                )
                .await
                .map_err(|e| match e {
                    callvault_store::StoreError::Conflict(c) => anyhow::anyhow!(c.message()),
                    other => anyhow::Error::new(other),
                })?;
            println!(
                "added {} ({}) id {}",
                user.email,
                user.role.as_str(),
                user.id
            );
        }
        UserCommand::List => {
            println!(
                "{:<36}  {:<30}  {:<20}  {:<5}  {:<8}  flags",
                "id", "email", "name", "role", "scope"
            );
            for u in state.store.users().await? {
                let mut flags = Vec::new();
                if u.can_download {
                    flags.push("download")
                }
                if u.can_delete {
                    flags.push("delete")
                }
                if u.disabled {
                    flags.push("disabled")
                }
                println!(
                    "{:<36}  {:<30}  {:<20}  {:<5}  {:<8}  {}",
                    u.id,
                    u.email,
                    u.name,
                    u.role.as_str(),
                    u.scope.as_str(),
                    flags.join(",")
                );
            }
        }
        UserCommand::Passwd {
            email,
            revoke_tokens,
        } => {
            let email = normalise_email(&email).context("that is not an email address")?;
            let user = state
                .store
                .user_by_email(&email)
                .await?
                .context("no user has that email")?;
            let password = read_password(&[&user.email, &user.name])?;
            let hash = callvault_app::passwords::hash_blocking(&password)
                .map_err(|e| anyhow::anyhow!(e))?;
            state.store.set_password(user.id, &hash).await?;
            if revoke_tokens {
                let revoked = state.store.delete_tokens(user.id).await?;
                println!(
                    "password changed for {}; their sessions have ended and {revoked} API token(s) were revoked",
                    user.email
                );
            } else {
                println!(
                    "password changed for {}; their sessions have ended",
                    user.email
                );
            }
        }
    }
    Ok(())
}

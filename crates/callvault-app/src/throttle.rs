//! Throttling what guessing would abuse: signing in (per account and per client address),
//! checking the current password to change it, and making API tokens. Each key has a few
//! free failures, then waits that double with every further one (1 s, 2 s, 4 s, … up to 15
//! minutes), forgotten an hour after the last. Counted in the database, so replicas count
//! together; a refused attempt changes nothing, so waiting `Retry-After` always works.

use callvault_store::AuditAction;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::error::{AppError, AppResult};
use crate::{App, audit};

/// How many failures a kind of key may have free, and how its waits grow.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub free: u32,
    pub longest_wait: Duration,
    pub forget_after: Duration,
}

impl Rule {
    /// The wait after `failures` in a row: none while they are free.
    #[must_use]
    pub fn wait_after(self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free).filter(|n| *n > 0)?;
        // 2^30 s is decades: past that the longest wait applies anyway.
        let seconds = if over > 30 {
            i64::MAX
        } else {
            1i64 << (over - 1)
        };
        Some(Duration::seconds(seconds).min(self.longest_wait))
    }
}

/// An account: five wrong passwords, then waits.
pub const ACCOUNT: Rule = Rule {
    free: 5,
    longest_wait: Duration::minutes(15),
    forget_after: Duration::hours(1),
};

/// A client address: more, as an office's people share one.
pub const CLIENT: Rule = Rule {
    free: 20,
    longest_wait: Duration::minutes(15),
    forget_after: Duration::hours(1),
};

/// Tokens one person makes: ten an hour, then waits.
pub const TOKENS: Rule = Rule {
    free: 10,
    longest_wait: Duration::minutes(15),
    forget_after: Duration::hours(1),
};

/// What is counted.
#[derive(Debug, Clone)]
pub enum Key {
    /// Sign-ins to an email, whether or not it has an account (so the answer says nothing of
    /// which do).
    Account(String),
    /// Sign-ins from a client address; IPv6 by its /64, which one client can change at will.
    Client(IpAddr),
    /// Tokens made by a user.
    Tokens(callvault_core::UserId),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Self::Account(email) => format!("account:{email}"),
            Self::Client(IpAddr::V4(ip)) => format!("client:{ip}"),
            Self::Client(IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("client:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Self::Tokens(user) => format!("tokens:{user}"),
        }
    }

    fn rule(&self) -> Rule {
        match self {
            Self::Account(_) => ACCOUNT,
            Self::Client(_) => CLIENT,
            Self::Tokens(_) => TOKENS,
        }
    }

    fn scope(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Client(_) => "client",
            Self::Tokens(_) => "tokens",
        }
    }
}

/// Refuses (`AppError::Throttled`, with the wait) when any key is waiting; changes nothing.
pub async fn check(app: &App, keys: &[Key]) -> AppResult<()> {
    let now = app.now();
    let mut until: Option<OffsetDateTime> = None;
    for key in keys {
        if let Some(t) = app.store.blocked_until(&key.text(), now).await? {
            until = Some(until.map_or(t, |u| u.max(t)));
        }
    }
    match until {
        Some(until) => Err(AppError::Throttled(
            (until - now).try_into().unwrap_or_default(),
        )),
        None => Ok(()),
    }
}

/// Counts one more under `key` (a failed attempt; for tokens, one made); past the free ones
/// the key waits, and the lockout is audited when it begins. `user` is whose account it is,
/// if any.
pub async fn count(app: &App, key: &Key, user: Option<callvault_core::UserId>) -> AppResult<()> {
    let now = app.now();
    let rule = key.rule();
    let failures = app
        .store
        .add_failure(&key.text(), now, rule.forget_after)
        .await?;
    if let Some(wait) = rule.wait_after(failures) {
        app.store.block(&key.text(), now + wait).await?;
        if failures == rule.free + 1 {
            let mut detail = serde_json::json!({
                "scope": key.scope(),
                "failures": failures,
                "wait_seconds": wait.whole_seconds(),
            });
            if let Key::Client(ip) = key {
                detail["client"] = serde_json::json!(ip.to_string());
            }
            tracing::warn!(
                scope = key.scope(),
                failures,
                "throttled after repeated failures"
            );
            audit::record(
                app,
                None,
                AuditAction::Lockout,
                "user",
                user.map(|u| u.to_string()),
                detail,
            )
            .await;
        }
    }
    Ok(())
}

/// Forgets `key`'s failures (a successful sign-in resets the account's count).
pub async fn succeeded(app: &App, key: &Key) -> AppResult<()> {
    Ok(app.store.clear_failures(&key.text()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_longest() {
        let waits: Vec<Option<i64>> = (1..=8)
            .map(|n| ACCOUNT.wait_after(n).map(Duration::whole_seconds))
            .collect();
        assert_eq!(
            waits,
            [None, None, None, None, None, Some(1), Some(2), Some(4)]
        );
        assert_eq!(ACCOUNT.wait_after(20), Some(Duration::minutes(15)));
        assert_eq!(ACCOUNT.wait_after(u32::MAX), Some(Duration::minutes(15)));
        assert_eq!(CLIENT.wait_after(20), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(Key::Client(a).text(), Key::Client(b).text());
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(Key::Client(v4).text(), "client:192.0.2.7");
    }
}

//! The SIPREC recording server (RFC 7866): phone systems fork each call to it, and it lands
//! the call in the contact's conversation as a two-channel recording. SIP over UDP and TCP
//! (rsipstack), RTP on sockets from a port range, the call's audio spooled to disk while it
//! lasts; the services (`callvault_app::siprec`) decide who the call is with and store it.

mod allow;
mod digest;
mod invite;
mod media;
mod ports;
mod recovery;
mod session;
mod signaling;
mod spool;

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;

use callvault_app::App;
use rsipstack::dialog::dialog_layer::DialogLayer;
use tokio_util::sync::CancellationToken;

pub use allow::AllowList;
pub use digest::Credentials;
pub use recovery::recover;

/// How the recording server is set up.
#[derive(Debug, Clone)]
pub struct SiprecConfig {
    /// Where SIP is received, on UDP and TCP both.
    pub listen: SocketAddr,
    /// The addresses clients may record from; anyone else gets 403. Empty: any address, if
    /// `credentials` are set (else no one).
    pub allow: AllowList,
    /// The user and password clients must authenticate a new session with (SIP digest).
    pub credentials: Option<(String, String)>,
    /// Ports RTP is received on.
    pub rtp_ports: RangeInclusive<u16>,
    /// The address written into SDP answers (the listen address when it is not a wildcard).
    pub media_address: Option<IpAddr>,
    /// SIP over TLS as well.
    pub tls: Option<SiprecTls>,
}

/// SIP over TLS: where, and the certificate chain and key (PEM) it is served with.
#[derive(Clone)]
pub struct SiprecTls {
    pub listen: SocketAddr,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for SiprecTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiprecTls")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

/// Default range for RTP.
pub const DEFAULT_RTP_PORTS: RangeInclusive<u16> = 20000..=29999;

#[derive(Debug, thiserror::Error)]
pub enum SiprecServerError {
    #[error("listening for SIP on {0}: {1}")]
    Listen(SocketAddr, String),
    #[error("the SIP TLS certificate or key: {0}")]
    Certificate(String),
}

/// What the sessions share.
pub(crate) struct Context {
    pub app: App,
    pub dialogs: Arc<DialogLayer>,
    pub ports: ports::RtpPorts,
    pub allow: AllowList,
    pub credentials: Option<Credentials>,
    pub media_address: IpAddr,
    /// Our SIP URI for each transport, for Contact, with the recording server's feature tag
    /// (RFC 7866): in-dialog requests must come back the way the INVITE came.
    pub contacts: signaling::Contacts,
    pub spool_root: PathBuf,
    pub shutdown: CancellationToken,
}

/// A running recording server.
pub struct SiprecServer {
    /// Where it listens (the port chosen, when the configuration said 0).
    pub local_addr: SocketAddr,
    /// Where it takes SIP over TLS, when it does.
    pub tls_addr: Option<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for SiprecServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiprecServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl SiprecServer {
    /// Starts listening. Sessions a killed server left in the spool are not touched here;
    /// `recover` stores them.
    pub async fn start(app: App, config: SiprecConfig) -> Result<Self, SiprecServerError> {
        if config.allow.is_empty() && config.credentials.is_none() {
            tracing::warn!(
                "SIPREC: neither --siprec-allow nor --siprec-user is set, so every recording client is refused (403)"
            );
        }
        let shutdown = CancellationToken::new();
        let (local_addr, tls_addr, task) = signaling::start(app, config, shutdown.clone()).await?;
        Ok(Self {
            local_addr,
            tls_addr,
            task,
            shutdown,
        })
    }

    /// Ends every session (BYE; what was recorded is stored, marked cut short) and stops.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

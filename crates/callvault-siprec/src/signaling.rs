//! SIP in and out: the UDP and TCP transports on one address, the transaction layer, and each
//! request sent where it belongs. Requests from outside the allow-list get 403 before anything
//! is read; an INVITE outside a dialog starts a session; OPTIONS outside one is answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use callvault_app::App;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::Uri;
use rsipstack::sip::transport::Transport;
use rsipstack::sip::{HasHeaders, Header, Method, SipMessage, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TlsConfig, TlsListenerConnection};
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use tokio_util::sync::CancellationToken;

use crate::digest::{Credentials, Verdict};
use crate::ports::RtpPorts;
use crate::{Context, SiprecConfig, SiprecServerError, SiprecTls, session, spool};

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";

/// Binds UDP and TCP on the same port (one is chosen when the configuration says 0). Returns
/// the transports, the port, and the address of this machine the stack reports (an
/// interface's, when listening on every one).
async fn bind(
    listen: SocketAddr,
    token: &CancellationToken,
) -> Result<(TransportLayer, u16, IpAddr), SiprecServerError> {
    let failed = |e: String| SiprecServerError::Listen(listen, e);
    // A port the system picks for UDP may be taken for TCP: pick again, a few times.
    let mut tries = if listen.port() == 0 { 20 } else { 1 };
    let (udp, reported, tcp_addr) = loop {
        let udp = UdpConnection::create_connection(listen, None, Some(token.child_token()))
            .await
            .map_err(|e| failed(e.to_string()))?;
        let reported = udp
            .get_addr()
            .get_socketaddr()
            .map_err(|e| failed(e.to_string()))?;
        let tcp_addr = SocketAddr::new(listen.ip(), reported.port());
        // The stack binds TCP only when it starts serving, and only logs a failure then: find
        // out now whether the port is free, so a server never says TCP while it has none.
        match std::net::TcpListener::bind(tcp_addr) {
            Ok(_) => break (udp, reported, tcp_addr),
            Err(e) => {
                tries -= 1;
                if tries == 0 {
                    return Err(failed(format!("TCP: {e}")));
                }
            }
        }
    };
    let tcp = TcpListenerConnection::new(tcp_addr, None)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let layer = TransportLayer::new(token.clone());
    layer.add_transport(udp.into());
    layer.add_transport(tcp.into());
    Ok((layer, reported.port(), reported.ip()))
}

/// Adds SIP over TLS to the transports. Returns where it listens.
async fn bind_tls(
    layer: &TransportLayer,
    tls: &SiprecTls,
) -> Result<SocketAddr, SiprecServerError> {
    // rsipstack builds its TLS server from the process's default provider; with ring and
    // aws-lc-rs both in the build, one must be named (a second install is refused, harmlessly).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    check_certificate(tls)?;
    // Bound now (the stack binds when it serves, and only logs a failure): the port is known,
    // and a port in use is an error at start.
    let probe = std::net::TcpListener::bind(tls.listen)
        .map_err(|e| SiprecServerError::Listen(tls.listen, format!("TLS: {e}")))?;
    let addr = probe
        .local_addr()
        .map_err(|e| SiprecServerError::Listen(tls.listen, e.to_string()))?;
    drop(probe);
    let config = TlsConfig {
        cert: Some(tls.cert_pem.clone()),
        key: Some(tls.key_pem.clone()),
        ..TlsConfig::default()
    };
    let listener = TlsListenerConnection::new(addr, None, config)
        .await
        .map_err(|e| SiprecServerError::Listen(addr, e.to_string()))?;
    layer.add_transport(listener.into());
    Ok(addr)
}

/// The chain and key read, and belonging together, before anything listens.
fn check_certificate(tls: &SiprecTls) -> Result<(), SiprecServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: String| SiprecServerError::Certificate(e);
    let chain = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("the certificate: {e}")))?;
    if chain.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(&tls.key_pem).map_err(|e| bad(format!("the key: {e}")))?;
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| bad(e.to_string()))?;
    Ok(())
}

/// Our Contact for each transport, so in-dialog requests come back the way the INVITE came.
pub(crate) struct Contacts {
    udp: Uri,
    tcp: Uri,
    tls: Option<Uri>,
}

impl Contacts {
    fn new(address: IpAddr, port: u16, tls_port: Option<u16>) -> Result<Self, String> {
        let uri = |port: u16, transport: &str| {
            Uri::try_from(
                format!(
                    "sip:srs@{}{transport};+sip.srs",
                    SocketAddr::new(address, port)
                )
                .as_str(),
            )
            .map_err(|e| e.to_string())
        };
        Ok(Self {
            udp: uri(port, "")?,
            tcp: uri(port, ";transport=tcp")?,
            tls: tls_port.map(|p| uri(p, ";transport=tls")).transpose()?,
        })
    }

    /// The Contact for a request that came over `transport`.
    pub(crate) fn for_transport(&self, transport: Option<Transport>) -> Uri {
        match transport {
            Some(Transport::Tcp) => self.tcp.clone(),
            Some(Transport::Tls) => self.tls.clone().unwrap_or_else(|| self.tcp.clone()),
            _ => self.udp.clone(),
        }
    }
}

/// Writes the address a request really came from into a header of our own, after dropping
/// any the sender wrote: the allow-list must not trust what a sender says about itself (a
/// `received` it puts in its own Via survives when its sent-by matches).
struct SourceStamp;

pub(crate) const SOURCE_HEADER: &str = "X-Callvault-Source";

impl MessageInspector for SourceStamp {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        msg
    }

    fn after_received(&self, msg: SipMessage, from: Option<&SipAddr>) -> SipMessage {
        let SipMessage::Request(mut request) = msg else {
            return msg;
        };
        request
            .headers
            .retain(|h| !h.name().eq_ignore_ascii_case(SOURCE_HEADER));
        if let Some(from) = from.and_then(|a| a.get_socketaddr().ok()) {
            request
                .headers
                .push(Header::Other(SOURCE_HEADER.into(), from.ip().to_string()));
        }
        SipMessage::Request(request)
    }
}

/// The address a request came from, as `SourceStamp` wrote it.
fn source_of(request: &rsipstack::sip::Request) -> Option<IpAddr> {
    request
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(SOURCE_HEADER))
        .and_then(|h| h.value().trim().parse().ok())
}

pub(crate) async fn start(
    app: App,
    config: SiprecConfig,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, Option<SocketAddr>, tokio::task::JoinHandle<()>), SiprecServerError> {
    let token = CancellationToken::new();
    let (transport, port, reported_ip) = bind(config.listen, &token).await?;
    let tls_addr = match &config.tls {
        Some(tls) => Some(bind_tls(&transport, tls).await?),
        None => None,
    };
    let local_addr = SocketAddr::new(config.listen.ip(), port);
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(token.clone())
        .with_transport_layer(transport)
        .with_user_agent("callvault")
        .with_inspector(Box::new(SourceStamp))
        .build();
    let mut incoming = endpoint
        .incoming_transactions()
        .map_err(|e| SiprecServerError::Listen(local_addr, e.to_string()))?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    // Where clients send RTP: as configured, else the address SIP was reached on (an
    // interface's, when listening on all of them).
    let media_address = config.media_address.unwrap_or(reported_ip);
    let ctx = Arc::new(Context {
        spool_root: spool::root(&app.settings.data_dir),
        app,
        dialogs,
        // RTP is received on the address SIP listens on (every interface for a wildcard),
        // whatever address the answer names (it may be a NAT's).
        ports: RtpPorts::new(config.listen.ip(), config.rtp_ports.clone()),
        allow: config.allow.clone(),
        credentials: config
            .credentials
            .clone()
            .map(|(user, password)| Credentials::new(user, password)),
        media_address,
        contacts: Contacts::new(media_address, port, tls_addr.map(|a| a.port()))
            .map_err(|e| SiprecServerError::Listen(local_addr, e))?,
        shutdown: shutdown.clone(),
    });
    let task = tokio::spawn(async move {
        let serving = tokio::spawn(async move { endpoint.serve().await });
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                tx = incoming.recv() => match tx {
                    Some(tx) => dispatch(&ctx, tx, &mut sessions).await,
                    None => break,
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
        // Sessions see the same shutdown: each sends BYE and stores what it has.
        while sessions.join_next().await.is_some() {}
        token.cancel();
        let _ = serving.await;
    });
    Ok((local_addr, tls_addr, task))
}

async fn dispatch(
    ctx: &Arc<Context>,
    mut tx: Transaction,
    sessions: &mut tokio::task::JoinSet<()>,
) {
    let source = source_of(&tx.original);
    // An allow-list, when there is one, must pass; without one, credentials decide.
    let allowed = if ctx.allow.is_empty() {
        ctx.credentials.is_some()
    } else {
        source.is_some_and(|ip| ctx.allow.allows(ip))
    };
    if tx.original.method == Method::Ack {
        return;
    }
    if !allowed {
        tracing::info!(?source, method = %tx.original.method, "refused a SIP request from outside --siprec-allow");
        // Answered apart from the loop, so a peer that does not read cannot stall it.
        sessions.spawn(async move {
            let _ = tx.reply(StatusCode::Forbidden).await;
        });
        return;
    }
    if let Some(mut dialog) = ctx.dialogs.match_dialog(&tx) {
        sessions.spawn(async move {
            if let Err(e) = dialog.handle(&mut tx).await {
                tracing::debug!(error = %e, "an in-dialog request ended with an error");
            }
        });
        return;
    }
    if tx.original.method == Method::Invite {
        // A new session must also authenticate, when credentials are set. Requests within
        // a session are bound to it by its dialog and are not challenged (nor are ACK and
        // CANCEL ever, RFC 3261 22.1).
        let now = time::OffsetDateTime::now_utc()
            .unix_timestamp()
            .unsigned_abs();
        match ctx.credentials.as_ref().map(|c| c.check(&tx.original, now)) {
            None | Some(Verdict::Allowed) => {
                sessions.spawn(session::run(ctx.clone(), tx));
            }
            Some(Verdict::Challenge(headers)) => {
                sessions.spawn(async move {
                    let _ = tx.reply_with(StatusCode::Unauthorized, headers, None).await;
                });
            }
            Some(Verdict::Refused) => {
                tracing::info!(?source, "refused a SIPREC INVITE with wrong credentials");
                sessions.spawn(async move {
                    let _ = tx.reply(StatusCode::Forbidden).await;
                });
            }
        }
        return;
    }
    sessions.spawn(answer_outside_dialog(tx));
}

/// OPTIONS, and requests for dialogs we do not have.
async fn answer_outside_dialog(mut tx: Transaction) {
    match tx.original.method {
        Method::Options => {
            let headers = vec![
                Header::Other("Allow".into(), ALLOW.into()),
                Header::Other(
                    "Accept".into(),
                    "application/sdp, multipart/mixed, application/rs-metadata+xml".into(),
                ),
                Header::Other("Supported".into(), "siprec, timer".into()),
            ];
            let _ = tx.reply_with(StatusCode::OK, headers, None).await;
        }
        Method::Bye | Method::Update | Method::Cancel => {
            let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
        }
        _ => {
            let headers = vec![Header::Other("Allow".into(), ALLOW.into())];
            let _ = tx
                .reply_with(StatusCode::MethodNotAllowed, headers, None)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_that_cannot_be_served_is_refused_at_start() {
        let tls = |cert: &str, key: &str| SiprecTls {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cert_pem: cert.as_bytes().to_vec(),
            key_pem: key.as_bytes().to_vec(),
        };
        for (cert, key) in [
            ("", ""),
            ("not PEM at all", "nor this"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            ),
        ] {
            assert!(
                matches!(
                    check_certificate(&tls(cert, key)),
                    Err(SiprecServerError::Certificate(_))
                ),
                "{cert:?}"
            );
        }
    }

    #[test]
    fn the_source_is_where_the_packet_came_from_whatever_the_request_claims() {
        // A Via whose received names an allowed address, and our own header, forged.
        let forged = "OPTIONS sip:srs@192.0.2.9 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 203.0.113.9:5060;received=10.0.0.5;branch=z9hG4bK1\r\n\
            X-Callvault-Source: 10.0.0.6\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n\
            Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let message = SipMessage::try_from(forged).expect("a SIP message");
        let from = SipAddr::from(SocketAddr::from(([203, 0, 113, 9], 5060)));
        let SipMessage::Request(request) = SourceStamp.after_received(message, Some(&from)) else {
            panic!("still a request");
        };
        assert_eq!(source_of(&request), Some(IpAddr::from([203, 0, 113, 9])));
        let stamps = request
            .headers()
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case(SOURCE_HEADER))
            .count();
        assert_eq!(stamps, 1, "the forged one is gone");
    }
}

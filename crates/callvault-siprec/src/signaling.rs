//! SIP in and out: the UDP and TCP transports on one address, the transaction layer, and each
//! request sent where it belongs. Requests from outside the allow-list get 403 before anything
//! is read; an INVITE outside a dialog starts a session; OPTIONS outside one is answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use callvault_app::App;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{HasHeaders, Header, Method, SipMessage, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use tokio_util::sync::CancellationToken;

use crate::digest::{Credentials, Verdict};
use crate::ports::RtpPorts;
use crate::{Context, SiprecConfig, SiprecServerError, session, spool};

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
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), SiprecServerError> {
    let token = CancellationToken::new();
    let (transport, port, reported_ip) = bind(config.listen, &token).await?;
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
        contact: rsipstack::sip::Uri::try_from(
            format!(
                "sip:srs@{};+sip.srs",
                SocketAddr::new(media_address, local_addr.port())
            )
            .as_str(),
        )
        .map_err(|e| SiprecServerError::Listen(local_addr, e.to_string()))?,
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
    Ok((local_addr, task))
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

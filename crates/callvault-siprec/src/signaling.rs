//! SIP in and out: the UDP and TCP transports on one address, the transaction layer, and each
//! request sent where it belongs. Requests from outside the allow-list get 403 before anything
//! is read; an INVITE outside a dialog starts a session; OPTIONS outside one is answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use callvault_app::App;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{HasHeaders, Header, Method, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};
use tokio_util::sync::CancellationToken;

use crate::allow::via_source;
use crate::ports::RtpPorts;
use crate::{Context, SiprecConfig, SiprecServerError, session, spool};

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";

/// Binds UDP and TCP on the same port (one is chosen when the configuration says 0).
async fn bind(
    listen: SocketAddr,
    token: &CancellationToken,
) -> Result<(TransportLayer, SocketAddr), SiprecServerError> {
    let failed = |e: rsipstack::Error| SiprecServerError::Listen(listen, e.to_string());
    let mut tries = if listen.port() == 0 { 20 } else { 1 };
    loop {
        let udp = UdpConnection::create_connection(listen, None, Some(token.child_token()))
            .await
            .map_err(failed)?;
        let bound: SocketAddr = udp
            .get_addr()
            .addr
            .to_string()
            .parse()
            .map_err(|_| SiprecServerError::Listen(listen, "no UDP address".into()))?;
        match TcpListenerConnection::new(bound, None).await {
            Ok(tcp) => {
                let layer = TransportLayer::new(token.clone());
                layer.add_transport(udp.into());
                layer.add_transport(tcp.into());
                return Ok((layer, bound));
            }
            Err(e) => {
                tries -= 1;
                if tries == 0 {
                    return Err(failed(e));
                }
            }
        }
    }
}

pub(crate) async fn start(
    app: App,
    config: SiprecConfig,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), SiprecServerError> {
    let token = CancellationToken::new();
    let (transport, local_addr) = bind(config.listen, &token).await?;
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(token.clone())
        .with_transport_layer(transport)
        .with_user_agent("callvault")
        .build();
    let mut incoming = endpoint
        .incoming_transactions()
        .map_err(|e| SiprecServerError::Listen(local_addr, e.to_string()))?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let media_address = config
        .media_address
        .unwrap_or_else(|| match local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            ip => ip,
        });
    let ctx = Arc::new(Context {
        spool_root: spool::root(&app.settings.data_dir),
        app,
        dialogs,
        ports: RtpPorts::new(
            if local_addr.ip().is_unspecified() {
                local_addr.ip()
            } else {
                media_address
            },
            config.rtp_ports.clone(),
        ),
        allow: config.allow.clone(),
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
    let source = tx
        .original
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Via") || h.name() == "v")
        .and_then(|h| via_source(h.value()));
    let allowed = source.is_some_and(|ip| ctx.allow.allows(ip));
    if tx.original.method == Method::Ack {
        return;
    }
    if !allowed {
        tracing::info!(?source, method = %tx.original.method, "refused a SIP request from outside --siprec-allow");
        let _ = tx.reply(StatusCode::Forbidden).await;
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
    match tx.original.method {
        Method::Invite => {
            sessions.spawn(session::run(ctx.clone(), tx));
        }
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

//! [`probe_tls`]: the MySQL greeting and a TLS handshake checked against a CA bundle, without logging in.
//!
//! `rds-iam doctor` uses it to show what the server presents (the chain, the names, the protocol) and to check
//! the certificate against the *endpoint* name even when the connection goes through a tunnel. No credentials or
//! token are involved: the probe stops after the handshake.

use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{HandshakePacket, SslRequest};
use mysql_common::proto::MySerialize;
use mysql_common::proto::sync_framed::MySyncFramed;
use rds_iam_token::sync::lock;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Context, ErrorSource, message_source, tls};
use crate::{BundleProblem, ConnectError, TlsCheck};

/// What the server showed before any login.
#[derive(Debug)]
#[non_exhaustive]
pub struct TlsProbe {
    /// The server version from the greeting (`8.0.36`, `10.11.6-MariaDB-0+deb12u1`).
    pub server_version: String,
    /// The certificates the server presented, leaf first, DER (also when verification failed).
    pub chain: Vec<Vec<u8>>,
    /// The negotiated protocol (`TLSv1_3`), when the handshake completed.
    pub protocol: Option<String>,
    /// The negotiated cipher suite, when the handshake completed.
    pub cipher_suite: Option<String>,
    /// When the name check was waived ([`crate::TlsCheck::DangerSkipHostname`]) and the name did not match: what
    /// rustls said.
    pub waived_name_error: Option<String>,
    /// The verdict: `Ok` when the chain leads to a root in the bundle and the name matched (or was waived);
    /// otherwise the classified TLS error ([`ConnectError::UntrustedCertificate`], [`ConnectError::HostnameMismatch`],
    /// [`ConnectError::CertificateTime`], [`ConnectError::Tls`]).
    pub verdict: Result<(), ConnectError>,
}

/// [`probe_tls`] for `host:port`: the name resolved and its addresses tried in order, like the driver does, until
/// one accepts the connection. Returns that address too, so a login that follows can dial the very address that
/// was checked.
pub fn probe_tls_host(
    host: &str,
    port: u16,
    server_name: &str,
    ca_bundle: &Path,
    check: TlsCheck,
    timeout: Duration,
) -> Result<(SocketAddr, TlsProbe), ConnectError> {
    let unreachable = |source: ErrorSource| ConnectError::Unreachable {
        host: host.to_owned(),
        port,
        source,
    };
    let mut last = unreachable(message_source("the name has no address".to_owned()));
    for addr in (host, port).to_socket_addrs().map_err(|e| unreachable(Arc::new(e)))? {
        match probe_tls(addr, server_name, ca_bundle, check, timeout) {
            Err(e @ ConnectError::Unreachable { .. }) => last = e,
            other => return other.map(|probe| (addr, probe)),
        }
    }
    Err(last)
}

/// Connects to `addr`, reads the MySQL greeting, asks for TLS and runs the handshake, checking the server's
/// certificate against the roots in the PEM file `ca_bundle` and against `server_name`, unless `check` is
/// [`TlsCheck::DangerSkipHostname`] (the chain is then still checked, and a name mismatch is reported in
/// [`TlsProbe::waived_name_error`]).
///
/// `Err` when there is nothing to check: the server is unreachable, is not a MySQL server, or does not offer TLS
/// ([`ConnectError::ServerWithoutTls`]); or the bundle cannot be read. [`TlsCheck::DangerAcceptAnyCertificate`]
/// is refused before anything is dialed: the probe exists to judge the certificate, and a verdict that accepts
/// anything would say nothing (nor would quietly checking more than was asked).
pub fn probe_tls(
    addr: SocketAddr,
    server_name: &str,
    ca_bundle: &Path,
    check: TlsCheck,
    timeout: Duration,
) -> Result<TlsProbe, ConnectError> {
    let skip_name = name_check_waived(check)?;
    rds_iam_credentials::install_crypto_provider();
    let ctx = Context {
        user: String::new(),
        signing_host: server_name.to_owned(),
        port: addr.port(),
        signing_port: addr.port(),
        region: String::new(),
        dial_host: server_name.to_owned(),
        bundle: ca_bundle.to_owned(),
    };
    let verifier = Arc::new(Recorder::new(ca_bundle, skip_name)?);
    let name = ServerName::try_from(server_name.to_owned()).map_err(|_| ConnectError::InvalidServerName {
        name: server_name.to_owned(),
    })?;
    let unreachable = |e: std::io::Error| ConnectError::Unreachable {
        host: addr.ip().to_string(),
        port: addr.port(),
        source: Arc::new(e),
    };
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(unreachable)?;

    let mut framed = MySyncFramed::new(&stream);
    let mut packet = Vec::new();
    let not_mysql = |detail: String| ConnectError::NotMysql {
        address: addr.to_string(),
        source: message_source(detail),
    };
    match framed.next_packet(&mut packet) {
        Ok(true) => {}
        Ok(false) => return Err(not_mysql("it closed the connection".into())),
        Err(e) => return Err(not_mysql(e.to_string())),
    }
    let greeting: HandshakePacket<'_> = ParseBuf(&packet).parse(()).map_err(|e| not_mysql(e.to_string()))?;
    let server_version = String::from_utf8_lossy(greeting.server_version_ref()).into_owned();
    if !greeting.capabilities().contains(CapabilityFlags::CLIENT_SSL) {
        return Err(ConnectError::ServerWithoutTls);
    }
    let capabilities = CapabilityFlags::CLIENT_SSL
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH;
    let mut request = Vec::new();
    // utf8mb4_general_ci: any collation will do, the probe never gets as far as a query.
    SslRequest::new(capabilities, 16 * 1024 * 1024, 45).serialize(&mut request);
    framed
        .write(&mut &request[..])
        .map_err(|e| ConnectError::Tls { source: Arc::new(e) })?;
    drop(framed);

    let config = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let mut conn =
        ClientConnection::new(Arc::new(config), name).map_err(|e| ConnectError::Tls { source: Arc::new(e) })?;
    let mut socket = &stream;
    let mut handshake = || -> Result<(), std::io::Error> {
        while conn.is_handshaking() {
            conn.complete_io(&mut socket)?;
        }
        Ok(())
    };
    let verdict = match handshake() {
        Ok(()) => {
            conn.send_close_notify();
            let _ = conn.complete_io(&mut socket);
            let _ = socket.flush();
            Ok(())
        }
        Err(e) => {
            let rustls_error = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            match rustls_error {
                Some(err) => Err(tls(Arc::new(err.clone()), Some(&err), &ctx)),
                None => Err(ConnectError::Tls { source: Arc::new(e) }),
            }
        }
    };
    let seen = verifier.seen();
    Ok(TlsProbe {
        server_version,
        chain: seen.chain,
        protocol: conn.protocol_version().map(|v| format!("{v:?}")),
        cipher_suite: conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
        waived_name_error: seen.waived_name_error,
        verdict,
    })
}

/// A rustls client configuration for a login that does its own TLS (the `rds-iam-proxy` crate): it trusts the
/// roots in the PEM file `ca_bundle` **alone** — unlike the MySQL driver, which always adds Mozilla's public roots
/// — and checks the name the connection is opened for unless `check` is [`TlsCheck::DangerSkipHostname`] (the
/// chain is then still checked against the bundle). [`TlsCheck::DangerAcceptAnyCertificate`] is refused: code
/// that does its own TLS has no reason to turn verification off.
pub fn tls_client_config(ca_bundle: &Path, check: TlsCheck) -> Result<Arc<ClientConfig>, ConnectError> {
    let skip_name = name_check_waived(check)?;
    rds_iam_credentials::install_crypto_provider();
    let verifier = Arc::new(Recorder::new(ca_bundle, skip_name)?);
    Ok(Arc::new(
        ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// Whether `check` waives the name check; [`TlsCheck::DangerAcceptAnyCertificate`] is refused, since [`Recorder`]
/// always checks the chain against the bundle.
fn name_check_waived(check: TlsCheck) -> Result<bool, ConnectError> {
    match check {
        TlsCheck::Full => Ok(false),
        TlsCheck::DangerSkipHostname => Ok(true),
        TlsCheck::DangerAcceptAnyCertificate => Err(ConnectError::UnsupportedTlsCheck { check }),
    }
}

#[derive(Clone, Debug, Default)]
struct Seen {
    chain: Vec<Vec<u8>>,
    waived_name_error: Option<String>,
}

/// WebPKI verification against the bundle's roots that also records what the server presented, and can waive the
/// name check.
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    skip_name: bool,
    seen: Mutex<Seen>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("skip_name", &self.skip_name)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    fn new(ca_bundle: &Path, skip_name: bool) -> Result<Recorder, ConnectError> {
        let bundle = |problem: BundleProblem, source: Option<ErrorSource>| ConnectError::CaBundle {
            path: ca_bundle.to_owned(),
            problem,
            source,
        };
        let unreadable = |e: ErrorSource| bundle(BundleProblem::Unreadable, Some(e));
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca_bundle).map_err(|e| match e {
            rustls::pki_types::pem::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                bundle(BundleProblem::Missing, Some(Arc::new(io)))
            }
            other => unreadable(message_source(format!("{other:?}"))),
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| unreadable(message_source(format!("{e:?}"))))?;
            roots.add(cert).map_err(|e| unreadable(Arc::new(e)))?;
        }
        if roots.is_empty() {
            return Err(bundle(BundleProblem::NoCertificate, None));
        }
        let inner = WebPkiServerVerifier::builder(Arc::new(roots))
            .build()
            .map_err(|e| unreadable(Arc::new(e)))?;
        Ok(Recorder {
            inner,
            skip_name,
            seen: Mutex::new(Seen::default()),
        })
    }

    fn seen(&self) -> Seen {
        lock(&self.seen).clone()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = lock(&self.seen);
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                e @ (CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }),
            )) if self.skip_name => {
                seen.waived_name_error = Some(rustls::Error::InvalidCertificate(e).to_string());
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

//! Whether a port speaks TLS, asked the way a TLS client asks: send a ClientHello and read the
//! header of the first record that comes back. An http:// URL that reaches an HTTPS server gets
//! a 400 (demo_server, nginx) or a closed connection (openssl s_server), and neither says, in a
//! form a program can rely on, that the scheme was the problem; the server's own answer to a
//! ClientHello does.

use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection, RootCertStore};
use tls_parser::TlsRecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::target::Target;

/// True when the server at `target` answers a ClientHello with a TLS record (its ServerHello,
/// or an alert). The handshake goes no further: nothing is verified, so the configuration trusts
/// no CA at all.
pub async fn speaks_tls(target: &Target, limit: Duration) -> bool {
    let probe = async {
        let config = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        let name = target.server_name().ok()?;
        let mut conn = ClientConnection::new(Arc::new(config), name).ok()?;
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).ok()?;
        let mut tcp = TcpStream::connect((target.name.as_str(), target.port))
            .await
            .ok()?;
        tcp.write_all(&hello).await.ok()?;
        let mut header = [0u8; 5];
        tcp.read_exact(&mut header).await.ok()?;
        let (_, header) = tls_parser::parse_tls_record_header(&header).ok()?;
        Some(
            matches!(
                header.record_type,
                TlsRecordType::Handshake | TlsRecordType::Alert
            ) && header.version.0 >> 8 == 3,
        )
    };
    matches!(tokio::time::timeout(limit, probe).await, Ok(Some(true)))
}

//! TLS for PostgreSQL connections, as libpq means it: the URL's `sslmode`
//! (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and
//! `sslrootcert` (a PEM file of CA certificates, or `system`), with rustls
//! (the ring provider). Also what a failed connection means for the user:
//! the help line under a TLS or `pg_hba.conf` refusal (docs/postgres.md, "TLS").

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

/// libpq's `sslmode`: how much TLS a connection requires and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is checked against the root
    /// certificate only when one is given (libpq: then as `verify-ca`).
    Require,
    /// TLS, and the server's certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, a certificate signed by a trusted CA and issued for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq's `allow` tries without TLS first: recoup has no such mode.
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// The name libpq gives the mode.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted CA certificates come from (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The system's trusted roots (`sslrootcert=system`, as libpq 16).
    System,
}

/// The TLS settings of a connection string, taken out of it (the client
/// library knows only `disable`, `prefer` and `require`, and no `sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    pub mode: SslMode,
    /// Given in the URL or `PGSSLROOTCERT`; `None`: libpq's default file
    /// `~/.postgresql/root.crt` when it exists, else the system's roots.
    pub root: Option<RootCert>,
}

/// The connection string without its TLS settings, and those settings.
/// The URL wins over `PGSSLMODE` and `PGSSLROOTCERT`, as in libpq.
pub fn split(conn: &str) -> Result<(String, Tls), String> {
    let (rest, mut mode, mut root) = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        split_url(conn)?
    } else {
        split_key_values(conn)?
    };
    if mode.is_none() {
        mode = std::env::var("PGSSLMODE").ok().filter(|s| !s.is_empty());
    }
    if root.is_none() {
        root = std::env::var("PGSSLROOTCERT").ok().filter(|s| !s.is_empty());
    }
    let mode = mode.as_deref().map(SslMode::parse).transpose()?.unwrap_or_default();
    let root = root.map(|r| if r == "system" { RootCert::System } else { RootCert::File(PathBuf::from(r)) });
    Ok((rest, Tls { mode, root }))
}

/// Options recoup refuses by name (the client library would say only
/// "unknown option").
const REFUSED: [&str; 5] = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

fn refused(key: &str) -> Result<(), String> {
    match REFUSED.contains(&key) {
        true => Err(format!(
            "`{key}` is not supported: recoup checks the server's certificate (sslmode, sslrootcert) but logs in with a password, not a client certificate"
        )),
        false => Ok(()),
    }
}

type Split = (String, Option<String>, Option<String>);

/// `postgres://…?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=10`.
fn split_url(url: &str) -> Result<Split, String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None, None));
    };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let key = decode(k);
        refused(&key)?;
        match key.as_str() {
            "sslmode" => mode = Some(decode(v)),
            "sslrootcert" => root = Some(decode(v)),
            _ => kept.push(pair),
        }
    }
    let rest = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((rest, mode, root))
}

/// `host=db user=recoup sslmode=verify-full sslrootcert='/etc/ca.pem'`:
/// libpq's key=value form, values bare or single-quoted (`\'`, `\\`).
fn split_key_values(conn: &str) -> Result<Split, String> {
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    let mut chars = conn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("`{key}` has no value: expected KEY=VALUE"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of `{key}` has no closing `'`")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        refused(&key)?;
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root = Some(value),
            _ => kept.push(format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))),
        }
    }
    Ok((kept.join(" "), mode, root))
}

/// Why a TLS setting could not be put in place (before connecting).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the root certificate `{}` (sslrootcert): {message}", path.display())]
    RootFile { path: PathBuf, message: String },
    #[error("no trusted root certificates found on this system (sslrootcert=system): {message}")]
    NoSystemRoots { message: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

impl TlsError {
    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            TlsError::RootFile { .. } => {
                "give the PEM file of the CA that signed the server's certificate: ?sslrootcert=/path/to/ca.pem (docs/postgres.md, \"TLS\")"
            }
            TlsError::NoSystemRoots { .. } => {
                "install the system's CA bundle (Debian: ca-certificates) or give the CA as ?sslrootcert=/path/to/ca.pem"
            }
            TlsError::Setup(_) => "docs/postgres.md, \"TLS\"",
        }
    }
}

impl Tls {
    /// libpq's default root certificate file, `~/.postgresql/root.crt`.
    fn default_root() -> Option<PathBuf> {
        let home = std::env::var_os("HOME")?;
        let path = PathBuf::from(home).join(".postgresql/root.crt");
        path.is_file().then_some(path)
    }

    /// The roots a connection checks the server against, or `None` when
    /// the mode checks nothing (`prefer`, `require` without a root file).
    fn roots(&self) -> Result<Option<(RootCertStore, Option<RootCert>)>, TlsError> {
        let root = self.root.clone().or_else(|| Tls::default_root().map(RootCert::File));
        let root = match (self.mode, root) {
            (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => return Ok(None),
            (SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull, r) => r,
        };
        let mut store = RootCertStore::empty();
        match &root {
            Some(RootCert::File(path)) => {
                let fail = |message: String| TlsError::RootFile { path: path.clone(), message };
                let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
                let certs = CertificateDer::pem_slice_iter(&bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(format!("not a PEM certificate file ({e})")))?;
                if certs.is_empty() {
                    return Err(fail("it holds no `BEGIN CERTIFICATE` block".into()));
                }
                for c in certs {
                    store.add(c).map_err(|e| fail(format!("a certificate in it is not a CA certificate: {e}")))?;
                }
            }
            // No root file given and none at libpq's default place: the
            // system's roots (libpq would refuse; a check is better than none).
            Some(RootCert::System) | None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = store.add_parsable_certificates(found.certs);
                if added == 0 {
                    let message = match found.errors.first() {
                        Some(e) => e.to_string(),
                        None => "the system's certificate store is empty".into(),
                    };
                    return Err(TlsError::NoSystemRoots { message });
                }
            }
        }
        Ok(Some((store, root)))
    }

    /// The client library's connector for these settings.
    pub fn connector(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, TlsError> {
        let provider = Arc::new(ring_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.roots()? {
            None => Arc::new(Check { roots: None, algs: provider.signature_verification_algorithms }),
            Some((store, _)) if self.mode == SslMode::VerifyFull => {
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Setup(e.to_string()))?
            }
            Some((store, _)) => {
                Arc::new(Check { roots: Some(Arc::new(store)), algs: provider.signature_verification_algorithms })
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// The mode for the client library, which knows three.
    pub fn library_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        }
    }

    /// `sslmode=verify-full with sslrootcert=ca.pem`: what was checked, for messages.
    fn shown(&self) -> String {
        let root = match &self.root {
            Some(RootCert::File(p)) => format!(" with sslrootcert `{}`", p.display()),
            Some(RootCert::System) => " with the system's roots".into(),
            None => match Tls::default_root() {
                Some(p) => format!(" with `{}`", p.display()),
                None => " with the system's roots".into(),
            },
        };
        match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => format!("sslmode={}{root}", self.mode.name()),
            SslMode::Require if self.root.is_some() || Tls::default_root().is_some() => {
                format!("sslmode=require{root}, checked as verify-ca")
            }
            m => format!("sslmode={}", m.name()),
        }
    }
}

/// rustls with ring, as `recoup send` (lettre) uses it: aws-lc-rs, rustls's
/// other provider, needs cmake and a C toolchain to build.
#[expect(
    deprecated,
    reason = "rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange; \
              PostgreSQL's TLS 1.2/1.3 handshakes use the classical groups it has"
)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificate check of `prefer` and `require` (none: the channel is
/// encrypted, the server not authenticated, as libpq) and of `verify-ca`
/// (the chain to a trusted root, any host name). The handshake's own
/// signatures are always checked.
#[derive(Debug)]
struct Check {
    roots: Option<Arc<RootCertStore>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Check {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algs.all)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Why a connection failed, in the user's words: the server's or the TLS
/// layer's message, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub help: String,
}

/// The message and help of a failed connection with `tls`.
pub fn failure(e: &postgres::Error, tls: &Tls) -> Failure {
    let described = crate::ledger::postgres::describe(e);
    let generic = "check the host, port, database, user and password of the URL (docs/postgres.md, \"Connecting\")";
    if let Some(db) = e.as_db_error() {
        // pg_hba.conf has only `hostssl` lines for this client.
        if db.code() == &postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("no encryption")
        {
            return Failure {
                message: described,
                help: format!(
                    "the server accepts this connection only over TLS (a `hostssl` line in pg_hba.conf){}; \
                     use sslmode=verify-full with the server's CA as sslrootcert (docs/postgres.md, \"TLS\")",
                    if tls.mode == SslMode::Disable { ", and the URL says sslmode=disable" } else { "" }
                ),
            };
        }
        return Failure { message: described, help: generic.into() };
    }
    let Some(rustls_error) = rustls_error(e) else {
        if described.contains("server does not support TLS") {
            return Failure {
                message: described,
                help: format!(
                    "the server does not offer TLS (`ssl = off` in postgresql.conf) and {} requires it: \
                     turn TLS on at the server, or connect over the server's Unix socket or a trusted network with sslmode=disable",
                    tls.shown()
                ),
            };
        }
        return Failure { message: described, help: generic.into() };
    };
    let checked = tls.shown();
    let (message, help) = match rustls_error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => (
            format!("the server's certificate is not signed by a trusted CA ({checked})"),
            "give the CA certificate that signed the server's as sslrootcert=/path/to/ca.pem (ask the database's owners for it); \
             without sslrootcert, sslmode=require encrypts without checking the server"
                .to_string(),
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            let what = match rustls_error {
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { expected, presented }) => {
                    let names: Vec<String> = presented.iter().map(|n| format!("`{}`", name_of(n))).collect();
                    match names.is_empty() {
                        true => format!("is not issued for `{}`", expected.to_str()),
                        false => format!("is for {}, not for `{}`", names.join(", "), expected.to_str()),
                    }
                }
                _ => "is not issued for the host connected to".to_string(),
            };
            (
                format!("the server's certificate {what} ({checked})"),
                "connect with a host name the certificate names (with ?hostaddr=IP when that name does not resolve here), \
                 or sslmode=verify-ca to check the CA and not the name"
                    .to_string(),
            )
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => (
            format!("the server's certificate is out of its validity period: {rustls_error} ({checked})"),
            "renew the server's certificate (or check this machine's clock)".to_string(),
        ),
        other => (
            format!("TLS handshake failed: {other} ({checked})"),
            "check the server's certificate and TLS settings (docs/postgres.md, \"TLS\")".to_string(),
        ),
    };
    Failure { message, help }
}

/// `db.internal` from webpki's `DnsName("db.internal")` (the names a
/// certificate presents, as rustls reports them).
fn name_of(presented: &str) -> &str {
    match (presented.find("(\""), presented.rfind("\")")) {
        (Some(a), Some(b)) if a + 2 <= b => &presented[a + 2..b],
        _ => presented,
    }
}

/// The rustls error under a client error, when the handshake failed.
fn rustls_error(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // io::Error hides the error it wraps from `source`.
        if let Some(r) = c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()?.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_s_tls_settings_are_taken_out_and_the_rest_is_kept() {
        let (rest, tls) =
            split("postgres://u@db:5433/erp?connect_timeout=10&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
                .unwrap();
        assert_eq!(rest, "postgres://u@db:5433/erp?connect_timeout=10");
        assert_eq!(tls, Tls { mode: SslMode::VerifyFull, root: Some(RootCert::File("/etc/ca.pem".into())) });
        let (rest, tls) = split("postgresql://u@db/erp?sslmode=verify-ca&sslrootcert=system").unwrap();
        assert_eq!(rest, "postgresql://u@db/erp");
        assert_eq!(tls, Tls { mode: SslMode::VerifyCa, root: Some(RootCert::System) });
        let err = split("postgres://u@db/erp?sslmode=allow").unwrap_err();
        assert!(err.contains("sslmode `allow` is not one of"), "{err}");
        let err = split("postgres://u@db/erp?sslcert=/c.pem").unwrap_err();
        assert!(err.contains("`sslcert` is not supported"), "{err}");
    }

    #[test]
    fn key_value_strings_are_split_with_quotes_and_escapes() {
        let (rest, tls) = split("host=db  user = u sslmode=require sslrootcert='/a b/ca.pem' dbname=erp").unwrap();
        assert_eq!(rest, "host='db' user='u' dbname='erp'");
        assert_eq!(tls, Tls { mode: SslMode::Require, root: Some(RootCert::File("/a b/ca.pem".into())) });
        let (rest, _) = split(r"host=db password='a\'b\\c'").unwrap();
        assert_eq!(rest, r"host='db' password='a\'b\\c'");
        assert!(split("host=db password='open").unwrap_err().contains("no closing"));
        assert!(split("host").unwrap_err().contains("has no value"));
    }

    #[test]
    fn modes_map_to_the_client_library_s_three() {
        for (mode, lib) in [
            ("disable", postgres::config::SslMode::Disable),
            ("prefer", postgres::config::SslMode::Prefer),
            ("require", postgres::config::SslMode::Require),
            ("verify-ca", postgres::config::SslMode::Require),
            ("verify-full", postgres::config::SslMode::Require),
        ] {
            let (_, tls) = split(&format!("postgres://u@db/erp?sslmode={mode}")).unwrap();
            assert_eq!(tls.library_mode(), lib, "{mode}");
            assert_eq!(tls.mode.name(), mode);
        }
    }

    #[test]
    fn presented_names_are_shown_as_written() {
        assert_eq!(name_of("DnsName(\"db.internal\")"), "db.internal");
        assert_eq!(name_of("db.internal"), "db.internal");
    }

    #[test]
    fn a_root_file_that_is_missing_or_not_pem_is_named() {
        let tls = Tls { mode: SslMode::VerifyFull, root: Some(RootCert::File("/nonexistent/ca.pem".into())) };
        let e = tls.connector().err().unwrap();
        assert!(
            e.to_string().starts_with("cannot read the root certificate `/nonexistent/ca.pem` (sslrootcert)"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let tls = Tls { mode: SslMode::VerifyCa, root: Some(RootCert::File(path)) };
        let e = tls.connector().err().unwrap();
        assert!(e.to_string().contains("holds no `BEGIN CERTIFICATE` block"), "{e}");
    }
}

//! Who a certificate is for: the subject's distinguished name and its subjectAltNames.

use std::fmt;
use std::net::IpAddr;

use anyhow::{Result, anyhow, bail};
use rcgen::{CidrSubnet, DistinguishedName, DnType, DnValue, GeneralSubtree, SanType};

/// Subject fields, as in the tutorial: country, state, locality, organisation, common name.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub country: Option<String>,
    pub state: Option<String>,
    pub locality: Option<String>,
    pub organization: Option<String>,
    pub common_name: String,
}

impl Subject {
    pub fn to_dn(&self) -> Result<DistinguishedName> {
        let mut dn = DistinguishedName::new();
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                bail!("country {c:?} must be a two-letter ISO 3166 code, such as US or FR");
            }
            let c = c
                .to_ascii_uppercase()
                .try_into()
                .map_err(|_| anyhow!("bad country {c:?}"))?;
            dn.push(DnType::CountryName, DnValue::PrintableString(c));
        }
        if let Some(s) = &self.state {
            dn.push(DnType::StateOrProvinceName, s.as_str());
        }
        if let Some(l) = &self.locality {
            dn.push(DnType::LocalityName, l.as_str());
        }
        if let Some(o) = &self.organization {
            dn.push(DnType::OrganizationName, o.as_str());
        }
        if self.common_name.trim().is_empty() {
            bail!("the common name (--cn) must not be empty");
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        Ok(dn)
    }
}

/// A name a certificate is for, or that a CA may vouch for, typed once when it is read (from the
/// command line, a certificate or a CSR). A DNS name and an IP address are different things: an
/// IP address is never sent as SNI and matches only an IP SAN. Shown plain (`localhost`, `::1`);
/// [`Name::labelled`] gives the `DNS:`/`IP:` form openssl prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    Dns(String),
    Ip(IpAddr),
    /// An address range, as name constraints give them: 127.0.0.0/8.
    IpRange(IpAddr, u8),
    /// A certificate without subjectAltName: its common name stands in (clients do not check it).
    CommonName(String),
    /// Another kind (an email address, a URI, ...), as x509-parser writes it.
    Other(String),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Dns(name) | Name::CommonName(name) | Name::Other(name) => f.write_str(name),
            Name::Ip(ip) => write!(f, "{ip}"),
            Name::IpRange(ip, prefix) => write!(f, "{ip}/{prefix}"),
        }
    }
}

impl Name {
    /// Types a name the way mkcert does: an IP address is an IP address, anything else must be a
    /// valid DNS name (a leading `*.` wildcard allowed).
    pub fn parse(name: &str) -> Result<Name> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(Name::Ip(ip));
        }
        let dns = name.trim_end_matches('.').to_ascii_lowercase();
        check_dns_name(&dns).map_err(|why| {
            anyhow!("{name:?} is neither an IP address nor a valid DNS name: {why}")
        })?;
        Ok(Name::Dns(dns))
    }

    /// As openssl prints a subjectAltName: `DNS:localhost`, `IP:127.0.0.1`.
    pub fn labelled(&self) -> String {
        match self {
            Name::Dns(name) => format!("DNS:{name}"),
            Name::Ip(_) | Name::IpRange(..) => format!("IP:{self}"),
            Name::CommonName(name) => format!("CN={name}"),
            Name::Other(name) => name.clone(),
        }
    }

    /// As a URL's host: an IPv6 address in brackets.
    pub fn url_host(&self) -> String {
        match self {
            Name::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            other => other.to_string(),
        }
    }

    fn to_san(&self) -> Result<SanType> {
        match self {
            Name::Ip(ip) => Ok(SanType::IpAddress(*ip)),
            Name::Dns(dns) => Ok(SanType::DnsName(
                dns.clone()
                    .try_into()
                    .map_err(|_| anyhow!("{dns:?} is not ASCII"))?,
            )),
            other => bail!("{other} cannot be a subjectAltName: give a DNS name or an IP address"),
        }
    }
}

impl From<&SanType> for Name {
    fn from(san: &SanType) -> Name {
        match san {
            SanType::DnsName(n) => Name::Dns(n.as_str().to_string()),
            SanType::IpAddress(ip) => Name::Ip(*ip),
            SanType::Rfc822Name(n) => Name::Other(format!("email:{}", n.as_str())),
            SanType::URI(n) => Name::Other(format!("URI:{}", n.as_str())),
            _ => Name::Other("another kind of name".into()),
        }
    }
}

/// The certificate's subjectAltName for `name`, typed the way [`Name::parse`] types it.
pub fn parse_san(name: &str) -> Result<SanType> {
    Name::parse(name)?.to_san()
}

fn check_dns_name(name: &str) -> Result<(), &'static str> {
    let body = name.strip_prefix("*.").unwrap_or(name);
    if body.is_empty() || name.len() > 253 {
        return Err("it is empty or longer than 253 characters");
    }
    for label in body.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated part must have 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(
                "only letters, digits and hyphens are allowed (a wildcard only as the leading \"*.\")",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part may not start or end with a hyphen");
        }
    }
    Ok(())
}

pub fn parse_sans(names: &[String]) -> Result<Vec<SanType>> {
    if names.is_empty() {
        bail!(
            "give at least one name the certificate is for, e.g. --name localhost --name 127.0.0.1 --name ::1 \
             (modern clients ignore the common name and check only these)"
        );
    }
    names.iter().map(|n| parse_san(n)).collect()
}

/// What a constrained CA may vouch for: `localhost` style DNS names, or `ADDR/PREFIX` ranges.
pub fn parse_permitted(entry: &str) -> Result<GeneralSubtree> {
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| anyhow!("{entry:?}: {addr:?} is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| anyhow!("{entry:?}: the prefix length must be a number"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            bail!("{entry:?}: the prefix length must be at most {max}");
        }
        return Ok(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            addr, prefix,
        )));
    }
    if let Ok(addr) = entry.parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Ok(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            addr, prefix,
        )));
    }
    check_dns_name(entry)
        .map_err(|why| anyhow!("{entry:?} is not a DNS name or ADDR/PREFIX range: {why}"))?;
    Ok(GeneralSubtree::DnsName(entry.to_ascii_lowercase()))
}

/// The demo CA's constraints: loopback only, so that the CA cannot vouch for any real site even
/// if its key leaked.
pub const LOCAL_ONLY: [&str; 3] = ["localhost", "127.0.0.0/8", "::1/128"];

/// Whether `san` falls inside one of the permitted subtrees (RFC 5280 4.2.1.10 matching:
/// a DNS constraint covers the name and its subdomains; IP constraints are ranges).
pub fn is_permitted(san: &SanType, permitted: &[GeneralSubtree]) -> bool {
    let has_kind = |dns: bool| {
        permitted.iter().any(|p| {
            matches!(
                (p, dns),
                (GeneralSubtree::DnsName(_), true) | (GeneralSubtree::IpAddress(_), false)
            )
        })
    };
    match san {
        SanType::DnsName(name) => {
            let name = name.as_str().trim_start_matches("*.");
            !has_kind(true)
                || permitted.iter().any(|p| match p {
                    GeneralSubtree::DnsName(c) => {
                        let c = c.trim_start_matches('.');
                        name == c || name.ends_with(&format!(".{c}"))
                    }
                    _ => false,
                })
        }
        SanType::IpAddress(ip) => {
            !has_kind(false)
                || permitted.iter().any(|p| match (p, ip) {
                    (GeneralSubtree::IpAddress(CidrSubnet::V4(net, mask)), IpAddr::V4(a)) => a
                        .octets()
                        .iter()
                        .zip(net)
                        .zip(mask)
                        .all(|((a, n), m)| a & m == n & m),
                    (GeneralSubtree::IpAddress(CidrSubnet::V6(net, mask)), IpAddr::V6(a)) => a
                        .octets()
                        .iter()
                        .zip(net)
                        .zip(mask)
                        .all(|((a, n), m)| a & m == n & m),
                    _ => false,
                })
        }
        _ => true,
    }
}

/// A SAN as people write it: `DNS:localhost`, `IP:127.0.0.1`.
pub fn show_san(san: &SanType) -> String {
    Name::from(san).labelled()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_typed_like_mkcert() {
        assert!(matches!(
            parse_san("127.0.0.1").unwrap(),
            SanType::IpAddress(_)
        ));
        assert!(matches!(parse_san("::1").unwrap(), SanType::IpAddress(_)));
        assert!(matches!(
            parse_san("localhost").unwrap(),
            SanType::DnsName(_)
        ));
        assert!(matches!(
            parse_san("*.example.test").unwrap(),
            SanType::DnsName(_)
        ));
        for bad in ["exa mple.com", "-a.com", "a..b", "*", "foo.*.com", ""] {
            assert!(parse_san(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_name_is_typed_once_and_shown_plain_or_labelled() {
        let ip = Name::parse("::1").unwrap();
        assert_eq!(ip, Name::Ip("::1".parse().unwrap()));
        assert_eq!(
            (ip.to_string(), ip.labelled()),
            ("::1".into(), "IP:::1".into())
        );
        assert_eq!(ip.url_host(), "[::1]");
        let dns = Name::parse("LocalHost.").unwrap();
        assert_eq!(dns, Name::Dns("localhost".into()));
        assert_eq!(dns.labelled(), "DNS:localhost");
        assert_eq!(
            Name::from(&parse_san("127.0.0.1").unwrap()).labelled(),
            "IP:127.0.0.1"
        );
    }

    #[test]
    fn local_only_constraints_admit_loopback_and_nothing_else() {
        let permitted: Vec<_> = LOCAL_ONLY
            .iter()
            .map(|e| parse_permitted(e).unwrap())
            .collect();
        for ok in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
        ] {
            assert!(is_permitted(&parse_san(ok).unwrap(), &permitted), "{ok}");
        }
        for bad in ["example.com", "notlocalhost", "10.0.0.1", "::2"] {
            assert!(!is_permitted(&parse_san(bad).unwrap(), &permitted), "{bad}");
        }
    }
}

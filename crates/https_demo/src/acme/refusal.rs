//! The CA's "no", in words: what it could not verify, what it means, and what to do next.
//! The CA's problem document (RFC 8555 §6.7) carries a type (a URN, which we classify) and a
//! detail written by the CA (which we quote, never interpret, except to name the port it tried).

use instant_acme::Problem;

use super::ChallengeKind;

/// What went wrong with a challenge, by the CA's problem type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `connection`: its validator could not connect to us at all.
    Unreachable,
    /// `unauthorized` / `incorrectResponse`: it connected, and our answer was not the one it
    /// expected (another server on that port, or an old token).
    WrongAnswer,
    /// `tls`: the TLS handshake with its validator failed.
    Tls,
    /// `dns`: it could not resolve the name.
    Dns,
    /// Any other problem.
    Other,
}

impl Refusal {
    /// `reached`: whether our listener saw the validator during this challenge. If it did not,
    /// the CA could not reach us, whatever type the CA gave (pebble says `unauthorized` for a
    /// refused tls-alpn-01 connection).
    pub fn of(problem: &Problem, reached: bool) -> Refusal {
        if !reached {
            return Refusal::Unreachable;
        }
        let kind = problem
            .r#type
            .as_deref()
            .and_then(|t| t.strip_prefix("urn:ietf:params:acme:error:"));
        match kind {
            Some("connection") => Refusal::Unreachable,
            Some("unauthorized" | "incorrectResponse") => Refusal::WrongAnswer,
            Some("tls") => Refusal::Tls,
            Some("dns") => Refusal::Dns,
            _ => Refusal::Other,
        }
    }
}

/// The port the CA's validator tried, when its detail names `HOST:PORT` (pebble's does: "Failed
/// to connect to 127.0.0.1:5001 for the tls-alpn-01 challenge"). Real CAs always use 80
/// (http-01) and 443 (tls-alpn-01).
fn port_tried(detail: &str) -> Option<u16> {
    detail.match_indices(':').find_map(|(at, _)| {
        let digits: String = detail[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let after = detail[at + 1 + digits.len()..].chars().next();
        let before = detail[..at].chars().next_back();
        let host_before = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == ']');
        (host_before
            && (1..=5).contains(&digits.len())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric()))
        .then(|| digits.parse().ok())
        .flatten()
    })
}

/// The whole message for a challenge the CA refused: outcome, the CA's own words, next step.
pub fn words(
    problem: &Problem,
    reached: bool,
    name: &str,
    kind: ChallengeKind,
    our_port: u16,
) -> String {
    let detail = problem.detail.as_deref().unwrap_or("no detail given");
    let port = port_tried(detail)
        .map(|p| format!("port {p}"))
        .unwrap_or_else(|| format!("the port its validator uses for {}", kind.name()));
    let outcome = match Refusal::of(problem, reached) {
        Refusal::Unreachable => format!("the CA could not reach us on {port}"),
        Refusal::WrongAnswer => format!(
            "the CA reached {name} on {port}, but what answered there was not our answer to its challenge"
        ),
        Refusal::Tls => format!("the CA's TLS handshake with {name} on {port} failed"),
        Refusal::Dns => format!("the CA could not find the address of {name}"),
        Refusal::Other => "the CA refused the challenge".to_string(),
    };
    format!(
        "{outcome}: it could not verify that we control {name}, so it will not vouch for us. \
         The CA said: \"{detail}\". Next: the CA's validator must reach this server where it \
         listens (port {our_port}): for pebble, set \"{}\" in its config to {our_port}; for a real CA, \
         serve {} on port {}.",
        kind.pebble_setting(),
        kind.name(),
        kind.standard_port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str, detail: &str) -> Problem {
        serde_json::from_value(serde_json::json!({
            "type": format!("urn:ietf:params:acme:error:{kind}"),
            "detail": detail,
            "status": 400
        }))
        .unwrap()
    }

    #[test]
    fn an_unreachable_validator_is_worded_with_the_port_it_tried() {
        let p = problem(
            "connection",
            "127.0.0.1: Fetching http://localhost:5002/.well-known/acme-challenge/x: Connection refused",
        );
        assert_eq!(Refusal::of(&p, true), Refusal::Unreachable);
        let said = words(&p, true, "localhost", ChallengeKind::Http01, 43210);
        assert!(
            said.starts_with(
                "the CA could not reach us on port 5002: it could not verify that we control localhost, \
                 so it will not vouch for us."
            ),
            "{said}"
        );
        assert!(
            said.contains("\"httpPort\"") && said.contains("43210"),
            "{said}"
        );
    }

    #[test]
    fn an_unknown_problem_is_still_quoted() {
        let p = problem("serverInternal", "oops");
        assert_eq!(Refusal::of(&p, true), Refusal::Other);
        assert!(words(&p, true, "localhost", ChallengeKind::TlsAlpn01, 1).contains("\"oops\""));
    }

    #[test]
    fn a_validator_we_never_saw_could_not_reach_us_whatever_the_type() {
        // pebble 2.4's words for a refused tls-alpn-01 connection.
        let p = problem(
            "unauthorized",
            "Failed to connect to 127.0.0.1:5001 for the tls-alpn-01 challenge",
        );
        assert_eq!(Refusal::of(&p, false), Refusal::Unreachable);
        assert_eq!(Refusal::of(&p, true), Refusal::WrongAnswer);
        assert!(
            words(&p, false, "localhost", ChallengeKind::TlsAlpn01, 1)
                .starts_with("the CA could not reach us on port 5001: ")
        );
        assert_eq!(port_tried("urn:ietf:params no port"), None);
        assert_eq!(port_tried("dial tcp [::1]:443: refused"), Some(443));
    }
}

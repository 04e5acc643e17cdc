//! Tencent Cloud API 3.0 signature (TC3-HMAC-SHA256), as a pure function of the request, the
//! credentials and the time.

use chrono::DateTime;

use crate::signing::{
    header_value, hmac_sha256, percent_encode, sha256_hex, RequestParts, Signature,
};

/// Algorithm name: first word of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// Who signs and for which service (`cam`, `sts`, …: the first label of the endpoint host).
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    /// Session token of temporary credentials: sent as `X-TC-Token`, never signed.
    pub token: Option<&'a str>,
    pub service: &'a str,
}

/// `YYYY-MM-DD` (UTC) of a Unix timestamp: the day in the credential scope.
/// A timestamp chrono cannot represent gives an empty string (the server will reject it).
pub fn scope_date(timestamp: i64) -> String {
    DateTime::from_timestamp(timestamp, 0)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Builds a GET query string the way the SDK does (Python `urlencode`): pairs kept in the
/// given order, RFC 3986 encoding except that a space travels as `+` (so `*` is `%2A`, `~` stays).
/// The result is both what goes after `?` and, unchanged, the canonical query string.
pub fn form_query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_encode(value: &str) -> String {
    // A literal '%' is itself encoded as %25, so every %20 left here came from a space.
    percent_encode(value).replace("%20", "+")
}

/// Signs a request for sending. Signs `content-type` (from `request.headers`; an absent one is
/// signed as empty) and `host`, like the SDK. Returns the headers to add: `X-TC-Timestamp`,
/// `X-TC-Token` when a token is used (sent, not signed) and `Authorization`. `X-TC-Action`,
/// `X-TC-Version`, `X-TC-Region` and `Content-Type` are the caller's; the HTTP client sends `Host`.
pub fn sign(
    key: &SigningKey<'_>,
    request: &RequestParts<'_>,
    timestamp: i64,
) -> (Vec<(String, String)>, Signature) {
    let content_type = header_value(request.headers, "content-type").unwrap_or("");
    let signed_headers = vec![
        ("content-type".to_string(), content_type.to_string()),
        ("host".to_string(), request.host.to_string()),
    ];
    let signature = compute(
        key,
        &RequestParts {
            headers: &signed_headers,
            ..*request
        },
        timestamp,
    );
    let mut added = vec![("X-TC-Timestamp".to_string(), timestamp.to_string())];
    if let Some(token) = key.token {
        added.push(("X-TC-Token".to_string(), token.to_string()));
    }
    added.push(("Authorization".to_string(), signature.authorization.clone()));
    (added, signature)
}

/// Computes the signature over exactly the headers given (`content-type` and `host` at least),
/// which is also how the sandbox checks a request it received: it passes the headers named in
/// `SignedHeaders` and the `X-TC-Timestamp` value.
pub fn compute(key: &SigningKey<'_>, request: &RequestParts<'_>, timestamp: i64) -> Signature {
    let (header_block, signed_headers) = canonical_headers(request.headers);
    // POST carries its parameters in the body; GET signs the query exactly as sent (no re-encoding).
    let canonical_query = if request.method.eq_ignore_ascii_case("POST") {
        ""
    } else {
        request.query
    };
    let canonical_request = format!(
        "{}\n/\n{canonical_query}\n{header_block}\n{signed_headers}\n{}",
        request.method.to_ascii_uppercase(),
        sha256_hex(request.body),
    );
    let date = scope_date(timestamp);
    let scope = format!("{date}/{}/tc3_request", key.service);
    let secret_date = hmac_sha256(format!("TC3{}", key.secret_key).as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, key.service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let prefix = format!("{ALGORITHM}\n{timestamp}\n{scope}");
    Signature::new(canonical_request, &prefix, &secret_signing, |signature| {
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            key.secret_id
        )
    })
}

/// Canonical header block and signed-header list. The API 3.0 documentation lower-cases both
/// names and values and trims values (no folding of inner spaces, unlike SigV4); the SDK only
/// signs `content-type` and `host`, whose values are lower case anyway.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    crate::signing::lowered_block(headers, |value| value.trim().to_ascii_lowercase())
}

/// The parts of a TC3 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub secret_id: String,
    /// `YYYY-MM-DD` of the credential scope.
    pub date: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=…, Signature=…`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let params = crate::signing::parse_authorization(value, ALGORITHM, "Credential")?;
    let ([secret_id, date, service], mut rest) =
        crate::signing::credential_scope(params.credential, "tc3_request")?;
    if rest.next().is_some() {
        return None;
    }
    Some(ParsedAuthorization {
        secret_id,
        date,
        service,
        signed_headers: params.signed_headers,
        signature: params.signature.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::parse_query;
    use crate::signing::vectors::{self as v, text};
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let text = include_str!("../../../tests/vectors/tencent-tc3.json");
        // Each case keeps what was sent under `inputs`; flatten it so a case reads as one
        // object (name, inputs' fields with the payload as `body`, expected).
        v::cases(text, 19)
            .iter()
            .map(|case| {
                let mut flat = case["inputs"].clone();
                flat["name"] = case["name"].clone();
                flat["body"] = flat["payload"].clone();
                flat["expected"] = case["expected"].clone();
                flat
            })
            .collect()
    }

    /// Headers the signer (or the HTTP client, for Host) sets; the rest come from the caller.
    const SIGNER_HEADERS: [&str; 4] = ["host", "x-tc-timestamp", "x-tc-token", "authorization"];

    fn key_of(case: &Value) -> SigningKey<'_> {
        SigningKey {
            secret_id: text(case, "secret_id"),
            secret_key: text(case, "secret_key"),
            token: case["token"].as_str(),
            service: text(case, "service"),
        }
    }

    #[test]
    fn every_shared_tc3_vector_passes() {
        for case in &vectors() {
            let name = text(case, "name");
            let sent = v::header_pairs(&case["headers"]);
            let caller = v::without(&sent, &SIGNER_HEADERS);
            let timestamp = case["timestamp"].as_i64().unwrap();
            assert_eq!(scope_date(timestamp), case["date"], "{name}");
            let request = v::request(case, text(case, "path"), text(case, "query"), &caller);
            let (added, signature) = sign(&key_of(case), &request, timestamp);
            v::assert_signature(&signature, &case["expected"], name);
            // Every header the SDK sent is one we (or the caller, or the HTTP client) set, same value.
            let ours = v::ours(&added, &caller, Some(request.host));
            v::assert_sent(&ours, &sent, name);
            // And nothing more: X-TC-Token only with a token.
            assert_eq!(
                added.len(),
                2 + usize::from(case["token"].is_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn the_sandbox_path_verifies_every_vector() {
        for case in &vectors() {
            let name = text(case, "name");
            let sent = v::header_pairs(&case["headers"]);
            let auth = sent.iter().find(|(n, _)| n == "Authorization").unwrap();
            let parsed = parse_authorization(&auth.1).unwrap();
            let timestamp: i64 = sent
                .iter()
                .find(|(n, _)| n == "X-TC-Timestamp")
                .unwrap()
                .1
                .parse()
                .unwrap();
            let signed = v::signed_subset(&sent, &parsed.signed_headers, name);
            let key = SigningKey {
                service: &parsed.service,
                ..key_of(case)
            };
            let request = v::request(case, "/", text(case, "query"), &signed);
            let signature = compute(&key, &request, timestamp);
            assert_eq!(signature.signature, parsed.signature, "{name}");
            assert_eq!(parsed.date, case["date"], "{name}");
        }
    }

    #[test]
    fn form_query_matches_what_the_sdk_sent() {
        for case in &vectors() {
            let query = case["query"].as_str().unwrap();
            if !query.is_empty() {
                assert_eq!(form_query(&parse_query(query)), query);
            }
        }
        let pairs = vec![
            ("Name".to_string(), "ops team*~/é".to_string()),
            ("Pct".to_string(), "100% +".to_string()),
        ];
        assert_eq!(
            form_query(&pairs),
            "Name=ops+team%2A~%2F%C3%A9&Pct=100%25+%2B"
        );
        assert_eq!(form_query(&[]), "");
    }

    #[test]
    fn scope_date_is_the_utc_day() {
        assert_eq!(scope_date(1_736_929_800), "2025-01-15");
        // 2025-01-15T23:59:59Z and one second later.
        assert_eq!(scope_date(1_736_985_599), "2025-01-15");
        assert_eq!(scope_date(1_736_985_600), "2025-01-16");
        assert_eq!(scope_date(i64::MAX), "");
    }

    #[test]
    fn parses_its_own_authorization_header() {
        let parsed = parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-01-15/cam/tc3_request, SignedHeaders=content-type;host, Signature=abc",
        )
        .unwrap();
        assert_eq!(parsed.secret_id, "AKIDEXAMPLE");
        assert_eq!(parsed.date, "2025-01-15");
        assert_eq!(parsed.service, "cam");
        assert_eq!(parsed.signed_headers, vec!["content-type", "host"]);
        assert_eq!(parsed.signature, "abc");
        assert!(parse_authorization("TC3-HMAC-SHA256 Credential=AKID").is_none());
        assert!(parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKID/2025-01-15/cam/aws4_request, SignedHeaders=host, Signature=abc"
        )
        .is_none());
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request").is_none());
    }
}

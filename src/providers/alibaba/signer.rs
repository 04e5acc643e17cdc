//! Alibaba Cloud OpenAPI signature V3 (ACS3-HMAC-SHA256), as a pure function of the request,
//! the credentials, the time and the nonce.

use chrono::{DateTime, Utc};

use crate::signing::{
    canonical_path, canonical_query, parse_query, sha256_hex, RequestParts, Signature,
};

/// Algorithm name: first word of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Who signs. V3 has no scope: the secret is the HMAC key as is.
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub access_key_secret: &'a str,
    /// STS token: sent and signed as `x-acs-security-token`.
    pub security_token: Option<&'a str>,
}

/// `yyyy-MM-ddTHH:mm:ssZ` (UTC), the form of `x-acs-date`.
pub fn acs_date(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Signs a request for sending. Every header in `request.headers` is signed (the caller passes
/// `x-acs-action`, `x-acs-version` and anything else it sends, e.g. `content-type`), plus `host`
/// and the headers added here. Returns the headers to add: `x-acs-date`, `x-acs-signature-nonce`,
/// `x-acs-content-sha256`, `x-acs-security-token` when a token is used, and `Authorization`.
/// `host` is signed with `request.host` but left to the HTTP client to send.
pub fn sign(
    key: &SigningKey<'_>,
    request: &RequestParts<'_>,
    time: DateTime<Utc>,
    nonce: &str,
) -> (Vec<(String, String)>, Signature) {
    let mut added = vec![
        ("x-acs-date".to_string(), acs_date(time)),
        ("x-acs-signature-nonce".to_string(), nonce.to_string()),
        ("x-acs-content-sha256".to_string(), sha256_hex(request.body)),
    ];
    if let Some(token) = key.security_token {
        added.push(("x-acs-security-token".to_string(), token.to_string()));
    }
    crate::signing::sign_adding(request, added, |signed| compute(key, signed))
}

/// Computes the signature over exactly the headers given (host and the `x-acs-*` ones included),
/// which is also how the sandbox checks a request it received: it passes the headers named in
/// `SignedHeaders`. The date and nonce are signed only as those headers.
pub fn compute(key: &SigningKey<'_>, request: &RequestParts<'_>) -> Signature {
    let (header_block, signed_headers) = canonical_headers(request.headers);
    let canonical_request = format!(
        "{}\n{}\n{}\n{header_block}\n{signed_headers}\n{}",
        request.method.to_ascii_uppercase(),
        // `/` for RPC-style calls; a ROA path has each segment RFC 3986-encoded.
        canonical_path(request.path),
        canonical_query_string(request.query),
        sha256_hex(request.body),
    );
    let secret = key.access_key_secret.as_bytes();
    Signature::new(canonical_request, ALGORITHM, secret, |signature| {
        format!(
            "{ALGORITHM} Credential={},SignedHeaders={signed_headers},Signature={signature}",
            key.access_key_id
        )
    })
}

/// Canonical query string from the raw query as sent (form-style `+` or `%20` both decode to a
/// space): URL parameters only, RFC 3986-encoded, sorted, `Name=` for an empty value.
pub fn canonical_query_string(raw_query: &str) -> String {
    canonical_query(&parse_query(raw_query))
}

/// Canonical header block and signed-header list: names lower-cased, values trimmed at both
/// ends only (inner spaces kept, as the SDK does), sorted by name; several values of one name are
/// trimmed, sorted and joined by `,`. Returns (`name:value\n`…, `a;b;c`).
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut lowered: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    lowered.sort();
    let mut merged: Vec<(String, String)> = Vec::with_capacity(lowered.len());
    for (name, value) in lowered {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(value);
            }
            _ => merged.push((name, value.to_string())),
        }
    }
    crate::signing::header_block(merged)
}

/// The parts of an ACS3 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key_id: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=hex` (spaces after the
/// commas tolerated).
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let params = crate::signing::parse_authorization(value, ALGORITHM, "Credential")?;
    Some(ParsedAuthorization {
        access_key_id: params.credential.to_string(),
        signed_headers: params.signed_headers,
        signature: params.signature.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::vectors::{self as v, text};
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        v::cases(include_str!("../../../tests/vectors/alibaba-acs3.json"), 14)
    }

    /// Headers `sign()` sets itself (host is signed from `RequestParts::host`).
    const SIGNER_HEADERS: [&str; 5] = [
        "host",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-security-token",
    ];

    fn key_of(case: &Value) -> SigningKey<'_> {
        SigningKey {
            access_key_id: text(case, "access_key_id"),
            access_key_secret: text(case, "access_key_secret"),
            security_token: case["security_token"].as_str(),
        }
    }

    #[test]
    fn every_shared_acs3_vector_passes() {
        for case in &vectors() {
            let name = text(case, "name");
            let expected = &case["expected"];
            let all = v::header_pairs(&case["headers"]);
            let caller = v::without(&all, &SIGNER_HEADERS);
            let date = text(case, "date");
            let time = v::utc(date, "%Y-%m-%dT%H:%M:%SZ");
            assert_eq!(acs_date(time), date, "{name}");
            let query_sent = text(case, "query_string_sent");
            // The decoded pairs and the string the SDK sent give the same canonical query.
            assert_eq!(
                canonical_query(&v::pairs(&case["query"])),
                expected["canonical_query_string"],
                "{name}"
            );
            assert_eq!(
                canonical_query_string(query_sent),
                expected["canonical_query_string"],
                "{name}"
            );
            let request = v::request(case, text(case, "pathname"), query_sent, &caller);
            let (added, signature) = sign(&key_of(case), &request, time, text(case, "nonce"));
            assert_eq!(
                sha256_hex(request.body),
                expected["hashed_payload"],
                "{name}"
            );
            let (block, signed) = canonical_headers(&all);
            assert_eq!(block, expected["canonical_headers"], "{name}");
            assert_eq!(signed, expected["signed_headers"], "{name}");
            v::assert_signature(&signature, expected, name);
            // Every header the SDK signed is one we (or the caller, or the HTTP client) send, same value.
            let ours = v::ours(&added, &caller, Some(request.host));
            v::assert_sent(&ours, &all, name);
            assert_eq!(
                added.len(),
                4 + usize::from(case["security_token"].is_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn the_sandbox_path_verifies_every_vector() {
        for case in &vectors() {
            let name = text(case, "name");
            let parsed = parse_authorization(text(&case["expected"], "authorization")).unwrap();
            assert_eq!(parsed.access_key_id, case["access_key_id"], "{name}");
            let signed = v::signed_subset(
                &v::header_pairs(&case["headers"]),
                &parsed.signed_headers,
                name,
            );
            let (path, query) = (text(case, "pathname"), text(case, "query_string_sent"));
            let request = v::request(case, path, query, &signed);
            assert_eq!(
                compute(&key_of(case), &request).signature,
                parsed.signature,
                "{name}"
            );
        }
    }

    #[test]
    fn documented_example_signature() {
        let case = vectors()
            .into_iter()
            .find(|c| c["name"] == "doc-example-ecs-run-instances")
            .unwrap();
        assert_eq!(
            case["expected"]["signature"],
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn canonical_headers_trim_merge_and_keep_inner_spaces() {
        let headers = vec![
            ("X-Acs-B".to_string(), " two  words ".to_string()),
            ("x-acs-a".to_string(), "z".to_string()),
            ("X-ACS-A".to_string(), " y ".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        let (block, signed) = canonical_headers(&headers);
        assert_eq!(block, "host:h\nx-acs-a:y,z\nx-acs-b:two  words\n");
        assert_eq!(signed, "host;x-acs-a;x-acs-b");
    }

    #[test]
    fn canonical_query_keeps_empty_values_and_encodes_once() {
        assert_eq!(canonical_query_string(""), "");
        assert_eq!(canonical_query_string("b=1&a=&Flag"), "Flag=&a=&b=1");
        assert_eq!(canonical_query_string("v=a+b%2A%20c"), "v=a%20b%2A%20c");
    }

    #[test]
    fn parses_its_own_authorization_header() {
        let parsed = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=LTAIEXAMPLE,SignedHeaders=host;x-acs-action,Signature=abc",
        )
        .unwrap();
        assert_eq!(parsed.access_key_id, "LTAIEXAMPLE");
        assert_eq!(parsed.signed_headers, vec!["host", "x-acs-action"]);
        assert_eq!(parsed.signature, "abc");
        let spaced = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=LTAIEXAMPLE, SignedHeaders=host, Signature=abc",
        )
        .unwrap();
        assert_eq!(spaced.signed_headers, vec!["host"]);
        assert!(parse_authorization("ACS3-HMAC-SHA256 Credential=LTAIEXAMPLE").is_none());
        assert!(parse_authorization("ACS3-HMAC-SHA256 SignedHeaders=host,Signature=abc").is_none());
        assert!(
            parse_authorization("ACS3-HMAC-SHA256X Credential=a,SignedHeaders=h,Signature=s")
                .is_none()
        );
        assert!(parse_authorization("acs LTAI:abc").is_none());
    }
}

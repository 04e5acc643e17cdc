//! Huawei Cloud API Gateway signature SDK-HMAC-SHA256, as a pure function of the request, the
//! credentials and the time. Follows huaweicloudsdkcore's `Signer`.

use chrono::{DateTime, Utc};

use crate::signing::{
    canonical_query, header_value, parse_query, percent_encode, sha256_hex, RequestParts, Signature,
};

/// Algorithm name: first word of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Value of `X-Sdk-Content-Sha256` that the SDK sends for a non-JSON body, and signs instead of
/// the body hash.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Who signs. No scope and no key derivation: the SK is the HMAC key.
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// Temporary credentials' token: sent and signed as `X-Security-Token`.
    pub security_token: Option<&'a str>,
}

/// `YYYYMMDDTHHMMSSZ` (UTC), the form of `X-Sdk-Date`.
pub fn sdk_date(time: DateTime<Utc>) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The query string to send: the SDK sends exactly the canonical form (names and values
/// RFC 3986-encoded, space as `%20`, sorted), so the URL and the signature always agree.
pub fn canonical_query_for_url(pairs: &[(String, String)]) -> String {
    canonical_query(pairs)
}

/// Signs a request for sending. Every header in `request.headers` is signed (except names with
/// `_`), plus `host` and the headers added here. Returns the headers to add: `X-Sdk-Date`,
/// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` when a `Content-Type` other than `application/json…`
/// is sent (as the SDK does), `X-Security-Token` when a token is used, and `Authorization`.
/// `host` is signed with `request.host` but left to the HTTP client to send.
pub fn sign(
    key: &SigningKey<'_>,
    request: &RequestParts<'_>,
    time: DateTime<Utc>,
) -> (Vec<(String, String)>, Signature) {
    let mut added = vec![("X-Sdk-Date".to_string(), sdk_date(time))];
    let non_json = header_value(request.headers, "content-type")
        .is_some_and(|content_type| !content_type.starts_with("application/json"));
    if non_json && header_value(request.headers, "x-sdk-content-sha256").is_none() {
        added.push((
            "X-Sdk-Content-Sha256".to_string(),
            UNSIGNED_PAYLOAD.to_string(),
        ));
    }
    if let Some(token) = key.security_token {
        added.push(("X-Security-Token".to_string(), token.to_string()));
    }
    crate::signing::sign_adding(request, added, |signed| compute(key, signed))
}

/// Computes the signature over exactly the headers given (`host` and `x-sdk-date` included;
/// names containing `_` are skipped, as the SDK skips them), which is also how the sandbox checks
/// a request it received: it passes the headers named in `SignedHeaders`. The date in the
/// string to sign is the `X-Sdk-Date` header's value.
pub fn compute(key: &SigningKey<'_>, request: &RequestParts<'_>) -> Signature {
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !name.contains('_'))
        .cloned()
        .collect();
    let (header_block, signed_headers) = canonical_headers(&headers);
    let canonical_request = format!(
        "{}\n{}\n{}\n{header_block}\n{signed_headers}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.path),
        canonical_query(&parse_query(request.query)),
        payload_hash(&headers, request.body),
    );
    let date = header_value(&headers, "x-sdk-date").unwrap_or("");
    let prefix = format!("{ALGORITHM}\n{date}");
    Signature::new(
        canonical_request,
        &prefix,
        key.secret_key.as_bytes(),
        |signature| {
            format!(
                "{ALGORITHM} Access={}, SignedHeaders={signed_headers}, Signature={signature}",
                key.access_key
            )
        },
    )
}

/// The SDK's payload hash: an empty body always hashes as empty (even with
/// `X-Sdk-Content-Sha256` set); otherwise that header's value, when present, is used literally
/// (in practice `UNSIGNED-PAYLOAD`); otherwise hex(sha256(body)).
fn payload_hash(headers: &[(String, String)], body: &[u8]) -> String {
    if body.is_empty() {
        return sha256_hex(b"");
    }
    match header_value(headers, "x-sdk-content-sha256") {
        Some(value) if !value.is_empty() => value.to_string(),
        _ => sha256_hex(body),
    }
}

/// The SDK's CanonicalURI: the whole path percent-decoded first, then split on `/` and each
/// segment RFC 3986-encoded (so an encoded `%2F` becomes a literal `/`), always ending in `/`
/// (the request itself is sent without that extra slash).
fn canonical_uri(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut uri = if decoded.is_empty() {
        "/".to_string()
    } else {
        decoded
            .split('/')
            .map(percent_encode)
            .collect::<Vec<_>>()
            .join("/")
    };
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Canonical header block and signed-header list: names lower-cased, values trimmed at both
/// ends only (inner spaces kept, as the SDK does), sorted by name.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    crate::signing::lowered_block(headers, |value| value.trim().to_string())
}

/// The parts of an SDK-HMAC-SHA256 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let params = crate::signing::parse_authorization(value, ALGORITHM, "Access")?;
    Some(ParsedAuthorization {
        access_key: params.credential.to_string(),
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
        v::cases(
            include_str!("../../../tests/vectors/huawei-sdk-hmac-sha256.json"),
            17,
        )
    }

    fn key_of(case: &Value) -> SigningKey<'_> {
        SigningKey {
            access_key: text(case, "ak"),
            secret_key: text(case, "sk"),
            security_token: case["security_token"].as_str(),
        }
    }

    /// The path and query the SDK put on the wire.
    fn url_sent(case: &Value) -> (&str, &str) {
        let uri = text(&case["expected"], "url_sent");
        uri.split_once('?').unwrap_or((uri, ""))
    }

    #[test]
    fn every_shared_sdk_hmac_vector_passes() {
        for case in &vectors() {
            let name = text(case, "name");
            let expected = &case["expected"];
            // headers is what the SDK's client handed its signer: drop what sign() adds.
            let caller = v::without(
                &v::header_pairs(&case["headers"]),
                &["x-sdk-date", "x-security-token"],
            );
            let date = text(case, "x_sdk_date");
            let time = v::utc(date, "%Y%m%dT%H%M%SZ");
            assert_eq!(sdk_date(time), date, "{name}");
            let (path_sent, query_sent) = url_sent(case);
            assert_eq!(path_sent, case["path"], "{name}");
            // Query values as the SDK stringifies them: ints as digits, booleans in lower case.
            assert_eq!(
                canonical_query_for_url(&v::pairs(&case["query_params"])),
                query_sent,
                "{name}"
            );
            let request = v::request(case, text(case, "path"), query_sent, &caller);
            let (added, signature) = sign(&key_of(case), &request, time);
            v::assert_signature(&signature, expected, name);
            assert!(
                signature.authorization.contains(&format!(
                    "SignedHeaders={}, ",
                    text(expected, "signed_headers")
                )),
                "{name}"
            );
            // Every header the SDK sent is one we (or the caller, or the HTTP client) send, same value,
            // and we send nothing it did not. Surrounding spaces of a header value are not part
            // of it on the wire (HTTP OWS); the SDK strips them in place, we leave that to the
            // HTTP layer.
            let ours: Vec<(String, String)> = v::ours(&added, &caller, Some(request.host))
                .into_iter()
                .map(|(n, value)| (n, value.trim().to_string()))
                .collect();
            let sent = v::header_pairs(&expected["headers_sent"]);
            v::assert_sent(&ours, &sent, name);
            assert_eq!(ours.len(), sent.len(), "{name}");
        }
    }

    #[test]
    fn the_sandbox_path_verifies_every_vector() {
        for case in &vectors() {
            let name = text(case, "name");
            let sent = v::header_pairs(&case["expected"]["headers_sent"]);
            let auth = header_value(&sent, "authorization").unwrap();
            let parsed = parse_authorization(auth).unwrap();
            assert_eq!(parsed.access_key, case["ak"], "{name}");
            let signed = v::signed_subset(&sent, &parsed.signed_headers, name);
            let (path, query) = url_sent(case);
            let request = v::request(case, path, query, &signed);
            let computed = compute(&key_of(case), &request).signature;
            assert_eq!(computed, parsed.signature, "{name}");
        }
    }

    #[test]
    fn unsigned_payload_rules() {
        let form = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        let request = RequestParts {
            method: "POST",
            host: "iam.myhuaweicloud.com",
            path: "/v5/users",
            query: "",
            headers: &form,
            body: b"a=1",
        };
        let key = SigningKey {
            access_key: "AK",
            secret_key: "SK",
            security_token: None,
        };
        let time = DateTime::from_timestamp(1_736_929_800, 0).unwrap();
        let (added, signature) = sign(&key, &request, time);
        assert_eq!(
            header_value(&added, "x-sdk-content-sha256"),
            Some(UNSIGNED_PAYLOAD)
        );
        assert!(signature.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
        // An empty body hashes as empty even though the header is still sent and signed.
        let (added, signature) = sign(
            &key,
            &RequestParts {
                body: b"",
                ..request
            },
            time,
        );
        assert_eq!(
            header_value(&added, "x-sdk-content-sha256"),
            Some(UNSIGNED_PAYLOAD)
        );
        assert!(signature
            .canonical_request
            .contains("x-sdk-content-sha256:UNSIGNED-PAYLOAD\n"));
        assert!(signature
            .canonical_request
            .ends_with(&format!("\n{}", sha256_hex(b""))));
        // JSON (with or without parameters) and no Content-Type at all hash the body.
        for headers in [
            vec![(
                "Content-Type".to_string(),
                "application/json;charset=UTF-8".to_string(),
            )],
            vec![],
        ] {
            let (added, signature) = sign(
                &key,
                &RequestParts {
                    headers: &headers,
                    ..request
                },
                time,
            );
            assert_eq!(header_value(&added, "x-sdk-content-sha256"), None);
            assert!(signature
                .canonical_request
                .ends_with(&format!("\n{}", sha256_hex(b"a=1"))));
        }
    }

    #[test]
    fn underscored_headers_and_paths() {
        let headers = vec![
            ("X_Custom".to_string(), "skip".to_string()),
            ("X-Sdk-Date".to_string(), "20250115T083000Z".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        let key = SigningKey {
            access_key: "AK",
            secret_key: "SK",
            security_token: None,
        };
        let signature = compute(
            &key,
            &RequestParts {
                method: "get",
                host: "h",
                path: "/v5/users/a b/",
                query: "b=2&a=x%20y",
                headers: &headers,
                body: b"",
            },
        );
        assert!(signature
            .canonical_request
            .starts_with("GET\n/v5/users/a%20b/\na=x%20y&b=2\nhost:h\nx-sdk-date:20250115T083000Z\n\nhost;x-sdk-date\n"));
        assert!(signature
            .string_to_sign
            .starts_with("SDK-HMAC-SHA256\n20250115T083000Z\n"));
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
    }

    #[test]
    fn parses_its_own_authorization_header() {
        let parsed = parse_authorization(
            "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=host;x-sdk-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(parsed.access_key, "QTWAOYTTINDUT2QVKYUC");
        assert_eq!(parsed.signed_headers, vec!["host", "x-sdk-date"]);
        assert_eq!(parsed.signature, "abc");
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=AK").is_none());
        assert!(parse_authorization("SDK-HMAC-SHA256 SignedHeaders=host, Signature=abc").is_none());
        assert!(
            parse_authorization("SDK-HMAC-SHA256X Access=a, SignedHeaders=h, Signature=s")
                .is_none()
        );
        assert!(parse_authorization(
            "V11-HMAC-SHA256 Credential=a/b, SignedHeaders=h, Signature=s"
        )
        .is_none());
    }
}

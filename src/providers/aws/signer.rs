//! AWS Signature Version 4, as a pure function of the request, the credentials and the time.

use chrono::{DateTime, Utc};

use crate::signing::{
    canonical_headers, canonical_path, canonical_query, hmac_sha256, parse_query, sha256_hex,
    RequestParts, Signature,
};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Who signs and for which scope.
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

/// `YYYYMMDDTHHMMSSZ`, the form of `X-Amz-Date`.
pub fn amz_date(time: DateTime<Utc>) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Signs a request for sending: returns the headers to add (`X-Amz-Date`,
/// `X-Amz-Security-Token` when a session token is used, and `Authorization`).
pub fn sign(
    key: &SigningKey<'_>,
    request: &RequestParts<'_>,
    time: DateTime<Utc>,
) -> (Vec<(String, String)>, Signature) {
    let date = amz_date(time);
    let mut added = vec![("X-Amz-Date".to_string(), date.clone())];
    if let Some(token) = key.session_token {
        added.push(("X-Amz-Security-Token".to_string(), token.to_string()));
    }
    crate::signing::sign_adding(request, added, |signed| compute(key, signed, &date))
}

/// Computes the signature over exactly the headers given (host and `x-amz-date` included),
/// which is also how the sandbox checks a request it received.
pub fn compute(key: &SigningKey<'_>, request: &RequestParts<'_>, amz_date: &str) -> Signature {
    let (header_block, signed_headers) = canonical_headers(request.headers);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_path(request.path),
        canonical_query(&parse_query(request.query)),
        header_block,
        signed_headers,
        sha256_hex(request.body),
    );
    let day = amz_date.get(..8).unwrap_or(amz_date);
    let scope = format!("{day}/{}/{}/aws4_request", key.region, key.service);
    let k_date = hmac_sha256(
        format!("AWS4{}", key.secret_access_key).as_bytes(),
        day.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, key.region.as_bytes());
    let k_service = hmac_sha256(&k_region, key.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let prefix = format!("{ALGORITHM}\n{amz_date}\n{scope}");
    Signature::new(canonical_request, &prefix, &k_signing, |signature| {
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            key.access_key_id
        )
    })
}

/// The parts of a SigV4 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…, Signature=…`.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let params = crate::signing::parse_authorization(value, ALGORITHM, "Credential")?;
    let ([access_key_id, date, region, service], _) =
        crate::signing::credential_scope(params.credential, "aws4_request")?;
    Some(ParsedAuthorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: params.signed_headers,
        signature: params.signature.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::vectors::{self as v, text};
    use serde_json::Value;

    fn key_of<'a>(case: &'a Value, session_token: Option<&'a str>) -> SigningKey<'a> {
        SigningKey {
            access_key_id: text(case, "access_key_id"),
            secret_access_key: text(case, "secret_access_key"),
            session_token,
            region: text(case, "region"),
            service: text(case, "service"),
        }
    }

    #[test]
    fn every_shared_sigv4_vector_passes() {
        let cases = v::cases(include_str!("../../../tests/vectors/aws-sigv4.json"), 18);
        for case in &cases {
            let name = text(case, "name");
            let headers = v::header_pairs(&case["headers_in"]);
            let key = key_of(case, case["session_token"].as_str());
            let time = v::utc(text(case, "amz_date"), "%Y%m%dT%H%M%SZ");
            let request = v::request(
                case,
                text(case, "path"),
                text(case, "query_string"),
                &headers,
            );
            let (added, signature) = sign(&key, &request, time);
            let expected = &case["expected"];
            v::assert_signature(&signature, expected, name);
            // Every header botocore set (Host aside) is one we set, with the same value.
            let ours = v::ours(&added, &headers, None);
            v::assert_sent(&ours, &v::header_pairs(&expected["headers_sent"]), name);
        }
    }

    /// Cases of AWS's own test suite that exercise requests an IAM/STS client never makes,
    /// each with the reason; every other case must pass.
    const SUITE_NOT_APPLICABLE: &[(&str, &str)] = &[
        (
            "get-header-key-duplicate",
            "a header sent more than once: we send each header once",
        ),
        (
            "get-header-value-order",
            "a header sent more than once: we send each header once",
        ),
        (
            "get-header-value-multiline",
            "an obsolete folded (multi-line) header value: we never fold headers",
        ),
        (
            "normalize-path/get-relative",
            "a `..` segment: IAM and STS are called at the endpoint's own path, never with dot segments",
        ),
        (
            "normalize-path/get-relative-relative",
            "`..` segments: IAM and STS are called at the endpoint's own path, never with dot segments",
        ),
        (
            "normalize-path/get-slash",
            "a doubled slash: IAM and STS are called at `/` (or the endpoint's own path)",
        ),
        (
            "normalize-path/get-slash-dot-slash",
            "a `.` segment: IAM and STS are called at the endpoint's own path, never with dot segments",
        ),
        (
            "normalize-path/get-slash-pointless-dot",
            "a `.` segment: IAM and STS are called at the endpoint's own path, never with dot segments",
        ),
        (
            "normalize-path/get-slashes",
            "doubled slashes: IAM and STS are called at `/` (or the endpoint's own path)",
        ),
    ];

    #[test]
    fn every_case_of_the_official_sigv4_suite_passes() {
        let text_ = include_str!("../../../tests/vectors/aws-sigv4-testsuite.json");
        let mut failed = Vec::new();
        for case in &v::cases(text_, 34) {
            let name = text(case, "name");
            if SUITE_NOT_APPLICABLE.iter().any(|(n, _)| *n == name) {
                continue;
            }
            // The suite signs every header of the request as given (Host and X-Amz-Date
            // included, repeats kept): that is `compute`, the sandbox's path.
            let mut headers = v::pairs(&case["headers_in_list"]);
            let token = case["session_token"].as_str();
            // The suite lists the token among the headers only when it was set before
            // signing; "with-session-token" signs it without listing it (as our `sign` does).
            if let Some(token) = token.filter(|_| case["expected"]["security_token_signed"] == true)
            {
                if crate::signing::header_value(&headers, "x-amz-security-token").is_none() {
                    headers.push(("X-Amz-Security-Token".to_string(), token.to_string()));
                }
            }
            let request = v::request(
                case,
                text(case, "path"),
                text(case, "query_string"),
                &headers,
            );
            let signature = compute(&key_of(case, token), &request, text(case, "amz_date"));
            let expected = &case["expected"];
            let ok = signature.canonical_request == expected["canonical_request"]
                && signature.string_to_sign == expected["string_to_sign"]
                && signature.signature == expected["signature"]
                && signature.authorization == expected["authorization"];
            if !ok {
                failed.push(format!(
                    "{name}:\n  ours:     {:?}\n  expected: {}",
                    signature.canonical_request, expected["canonical_request"]
                ));
            }
        }
        assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    }

    #[test]
    fn parses_its_own_authorization_header() {
        let parsed = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20250115/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(parsed.access_key_id, "AKID");
        assert_eq!(parsed.service, "iam");
        assert_eq!(parsed.signed_headers, vec!["host", "x-amz-date"]);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AKID").is_none());
        assert!(parse_authorization("Bearer x").is_none());
    }
}

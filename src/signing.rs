//! What the four request signers share: hashing, HMAC and the RFC 3986 encoding rules.
//! Each cloud's own canonicalisation lives in its `providers/<cloud>/signer.rs`.

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// A request as the signers see it, before it is sent.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Upper-case HTTP method.
    pub method: &'a str,
    /// `Host` header value: the port is kept when it is not the scheme's default.
    pub host: &'a str,
    /// Path as sent, e.g. `/` or `/v5/users/abc/access-keys`.
    pub path: &'a str,
    /// Raw query string as sent, without the `?`.
    pub query: &'a str,
    /// Headers to sign besides those the signer adds itself (host, date, token).
    pub headers: &'a [(String, String)],
    /// Exact body bytes.
    pub body: &'a [u8],
}

/// A computed signature with its intermediate values, which the vector tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
}

/// The `sign` step SigV4, ACS3 and SDK-HMAC-SHA256 share: the caller's headers, `host` and the
/// signer's `added` ones are all signed by `compute`; returns `added` with `Authorization` last.
pub fn sign_adding(
    request: &RequestParts<'_>,
    mut added: Vec<(String, String)>,
    compute: impl FnOnce(&RequestParts<'_>) -> Signature,
) -> (Vec<(String, String)>, Signature) {
    let mut signed_headers: Vec<(String, String)> = request.headers.to_vec();
    signed_headers.push(("host".to_string(), request.host.to_string()));
    signed_headers.extend(added.iter().cloned());
    let signature = compute(&RequestParts {
        headers: &signed_headers,
        ..*request
    });
    added.push(("Authorization".to_string(), signature.authorization.clone()));
    (added, signature)
}

impl Signature {
    /// Signs `canonical_request` as every scheme here does: the string to sign is `prefix` (the
    /// algorithm and the scheme's date and scope lines), a newline and the request's SHA-256;
    /// the signature its hex HMAC-SHA256 under `key`; `authorization` writes the header from it.
    pub fn new(
        canonical_request: String,
        prefix: &str,
        key: &[u8],
        authorization: impl FnOnce(&str) -> String,
    ) -> Signature {
        let string_to_sign = format!("{prefix}\n{}", sha256_hex(canonical_request.as_bytes()));
        let signature = hex::encode(hmac_sha256(key, string_to_sign.as_bytes()));
        Signature {
            authorization: authorization(&signature),
            canonical_request,
            string_to_sign,
            signature,
        }
    }
}

/// RFC 3986 unreserved characters (`A-Za-z0-9-_.~`) stay, everything else is `%XX` (upper-case hex).
pub const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a string by RFC 3986 (space is `%20`, never `+`).
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Decodes a raw query string (`a=1&b=x%20y`, `+` as space) into name/value pairs.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Canonical query string shared by SigV4, ACS3 and SDK-HMAC-SHA256: names and values
/// RFC 3986-encoded, sorted by encoded name then value, joined by `&`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Encodes each segment of a path by RFC 3986, keeping the `/` separators.
pub fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(|segment| {
            // The path as sent may already be encoded: decode first so we encode exactly once.
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            percent_encode(&decoded)
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Canonical header block and signed-header list: names lower-cased, values trimmed
/// (inner runs of spaces folded), sorted by name. Returns (`name:value\n`…, `a;b;c`).
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    lowered_block(headers, |value| fold_spaces(value.trim()))
}

/// The block and signed list of `headers`, names lower-cased and values as `value` makes them
/// (each scheme trims, folds or lower-cases its own way).
pub fn lowered_block(
    headers: &[(String, String)],
    value: impl Fn(&str) -> String,
) -> (String, String) {
    header_block(
        headers
            .iter()
            .map(|(name, v)| (name.to_ascii_lowercase(), value(v)))
            .collect(),
    )
}

/// The block and signed list of already-normalized (lower-case name, value) pairs, sorted here:
/// each scheme normalizes values its own way, then they all join alike.
pub fn header_block(mut pairs: Vec<(String, String)>) -> (String, String) {
    pairs.sort();
    let mut block = String::new();
    for (name, value) in &pairs {
        block.push_str(name);
        block.push(':');
        block.push_str(value);
        block.push('\n');
    }
    let signed = pairs
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

fn fold_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut last_space = false;
    for ch in value.chars() {
        if ch == ' ' {
            if !last_space {
                out.push(ch);
            }
            last_space = true;
        } else {
            out.push(ch);
            last_space = false;
        }
    }
    out
}

/// Picks `name`'s value (case-insensitive) out of a header list.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Compares two signatures in constant time, so the sandbox leaks nothing through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What every scheme here puts after its algorithm name in `Authorization`:
/// `ALGO Credential=…, SignedHeaders=a;b, Signature=hex` (Huawei calls the first `Access`).
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizationParams<'a> {
    pub credential: &'a str,
    pub signed_headers: Vec<String>,
    pub signature: &'a str,
}

/// Parses an `Authorization` value of scheme `algorithm`; `None` when it is another scheme or
/// malformed. Spaces after the commas are tolerated.
pub fn parse_authorization<'a>(
    value: &'a str,
    algorithm: &str,
    credential_name: &str,
) -> Option<AuthorizationParams<'a>> {
    let rest = value.strip_prefix(algorithm)?;
    // The algorithm must be a whole word: `AWS4-HMAC-SHA256X …` is not ours.
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.trim().split(',') {
        let (name, val) = part.trim().split_once('=')?;
        match name {
            "SignedHeaders" => signed = Some(val),
            "Signature" => signature = Some(val),
            _ if name == credential_name => credential = Some(val),
            _ => {}
        }
    }
    Some(AuthorizationParams {
        credential: credential.filter(|c| !c.is_empty())?,
        signed_headers: signed?.split(';').map(str::to_string).collect(),
        signature: signature?,
    })
}

/// The `N` parts of a scoped credential (`ID/DATE/…/terminator`, SigV4 and TC3) before its
/// `terminator`, and what follows it (each scheme decides whether anything may).
pub fn credential_scope<'a, const N: usize>(
    credential: &'a str,
    terminator: &str,
) -> Option<([String; N], std::str::Split<'a, char>)> {
    let mut scope = credential.split('/');
    let mut parts: [String; N] = std::array::from_fn(|_| String::new());
    for part in &mut parts {
        *part = scope.next()?.to_string();
    }
    (scope.next()? == terminator).then_some((parts, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_by_rfc3986() {
        assert_eq!(percent_encode("a b*c~d+e/é"), "a%20b%2Ac~d%2Be%2F%C3%A9");
        assert_eq!(percent_encode("张"), "%E5%BC%A0");
    }

    #[test]
    fn canonical_query_sorts_encoded_pairs() {
        let pairs = parse_query("b=2&a=x+y&a=%2A&c=");
        assert_eq!(canonical_query(&pairs), "a=%2A&a=x%20y&b=2&c=");
    }

    #[test]
    fn canonical_path_encodes_segments_once() {
        assert_eq!(canonical_path("/v5/users/a b/keys"), "/v5/users/a%20b/keys");
        assert_eq!(canonical_path("/v5/users/a%20b"), "/v5/users/a%20b");
        assert_eq!(canonical_path(""), "/");
    }

    #[test]
    fn canonical_headers_lowercase_sort_and_trim() {
        let headers = vec![
            ("X-B".to_string(), "  two  words ".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        let (block, signed) = canonical_headers(&headers);
        assert_eq!(block, "host:h\nx-b:two words\n");
        assert_eq!(signed, "host;x-b");
    }
}

/// What the four signers' vector tests share: reading a shared vector file and comparing our
/// values with the ones the cloud's SDK computed.
#[cfg(test)]
pub(crate) mod vectors {
    use super::{RequestParts, Signature};
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde_json::Value;

    /// The cases of a shared vector file (`{"cases": [...]}`); it must hold `count` of them.
    pub fn cases(text: &str, count: usize) -> Vec<Value> {
        let doc: Value = serde_json::from_str(text).unwrap();
        let cases = doc["cases"].as_array().unwrap().clone();
        assert_eq!(cases.len(), count, "every case of the shared file");
        cases
    }

    pub fn text<'a>(case: &'a Value, field: &str) -> &'a str {
        case[field]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no string {field}", case["name"]))
    }

    /// A UTC time written as `format`.
    pub fn utc(time: &str, format: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(time, format)
            .unwrap()
            .and_utc()
    }

    /// An object of header name → value, as pairs.
    pub fn header_pairs(value: &Value) -> Vec<(String, String)> {
        value
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }

    /// A list of `[name, value]`, as pairs; other values as the SDKs stringify them (ints as
    /// digits, booleans in lower case).
    pub fn pairs(value: &Value) -> Vec<(String, String)> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let value = match &pair[1] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (pair[0].as_str().unwrap().to_string(), value)
            })
            .collect()
    }

    /// The headers the caller hands the signer: all sent but those named (any case).
    pub fn without(headers: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
        headers
            .iter()
            .filter(|(n, _)| !names.iter().any(|s| n.eq_ignore_ascii_case(s)))
            .cloned()
            .collect()
    }

    /// The case's request (its `method`, `host` and `body`) at `path?query` with `headers`.
    pub fn request<'a>(
        case: &'a Value,
        path: &'a str,
        query: &'a str,
        headers: &'a [(String, String)],
    ) -> RequestParts<'a> {
        RequestParts {
            method: text(case, "method"),
            host: text(case, "host"),
            path,
            query,
            headers,
            body: text(case, "body").as_bytes(),
        }
    }

    /// Our four computed values are the SDK's.
    pub fn assert_signature(signature: &Signature, expected: &Value, name: &str) {
        assert_eq!(
            signature.canonical_request, expected["canonical_request"],
            "{name}"
        );
        assert_eq!(
            signature.string_to_sign, expected["string_to_sign"],
            "{name}"
        );
        assert_eq!(signature.signature, expected["signature"], "{name}");
        assert_eq!(signature.authorization, expected["authorization"], "{name}");
    }

    /// What we send: the signer's headers, the caller's, and the HTTP client's Host if given.
    pub fn ours(
        added: &[(String, String)],
        caller: &[(String, String)],
        host: Option<&str>,
    ) -> Vec<(String, String)> {
        let host = host.map(|h| ("Host".to_string(), h.to_string()));
        added.iter().chain(caller).chain(&host).cloned().collect()
    }

    /// Every header the SDK sent is one of `ours`, with the same value.
    pub fn assert_sent(ours: &[(String, String)], sent: &[(String, String)], name: &str) {
        for (sent_name, sent_value) in sent {
            let value = super::header_value(ours, sent_name);
            assert_eq!(
                value,
                Some(sent_value.as_str()),
                "{name}: header {sent_name}"
            );
        }
    }

    /// The sandbox's path: the headers of `sent` that `signed` names (lower case), each there.
    pub fn signed_subset(
        sent: &[(String, String)],
        signed: &[String],
        name: &str,
    ) -> Vec<(String, String)> {
        let subset: Vec<(String, String)> = sent
            .iter()
            .filter(|(n, _)| signed.contains(&n.to_ascii_lowercase()))
            .cloned()
            .collect();
        assert_eq!(subset.len(), signed.len(), "{name}");
        subset
    }
}

//! Property tests of every parser of outside input: the clouds' answers (AWS XML; Tencent,
//! Alibaba and Huawei JSON), our TOML config, the native CLI files (INI and JSON), key ids and
//! the time parsers. Each runs 256 cases by default (`PROPTEST_CASES=N` for more). The
//! `target_*` calls run exactly the bodies of the cargo-fuzz targets in `fuzz/`.
//!
//! Two kinds of property: nothing panics on arbitrary (or arbitrary but shaped) input, and
//! well-formed input reads back as what was written.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use cloudkeys::error::ErrorKind;
use cloudkeys::fuzzing::{self, ConfigFile, ConfigHome, STATUSES};
use cloudkeys::model::{KeyStatus, ProviderKind};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures are turned into named regression tests below instead of files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `[status index] ++ body`, as the answer fuzz targets take it.
fn with_status(status: usize, body: &[u8]) -> Vec<u8> {
    let mut data = vec![status as u8];
    data.extend_from_slice(body);
    data
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------------
// Shaped input: the vocabularies of the real answers and files, in random arrangements.
// ---------------------------------------------------------------------------------------------

/// Times in every format the clouds use, with out-of-range and boundary parts.
fn time_text() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        1900i64..2100,
        -300_000i64..300_000,
        Just(262_143),
        Just(-262_144)
    ];
    let part = |max: u32| prop_oneof![0..max, Just(0), Just(max)];
    let frac = prop_oneof![Just(String::new()), "\\.[0-9]{1,12}"];
    let zone = prop_oneof![
        Just("Z".to_string()),
        Just(String::new()),
        "[+-][0-9]{2}:[0-9]{2}",
        "[+-][0-9]{4}"
    ];
    (
        year,
        part(13),
        part(32),
        part(25),
        part(61),
        part(61),
        frac,
        zone,
        0..5usize,
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone, style)| match style {
            0 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}"),
            1 => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            2 => format!("{y:04}-{mo:02}-{d:02}"),
            3 => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac} {zone} UTC"),
            _ => format!("{y}-{mo}-{d}T{h}:{mi}:{s}{zone}"),
        })
}

const XML_NAMES: &[&str] = &[
    "ListAccessKeysResponse",
    "ListAccessKeysResult",
    "AccessKeyMetadata",
    "member",
    "UserName",
    "AccessKeyId",
    "Status",
    "CreateDate",
    "IsTruncated",
    "Marker",
    "ListUsersResponse",
    "ListUsersResult",
    "Users",
    "UserId",
    "CreateAccessKeyResponse",
    "CreateAccessKeyResult",
    "AccessKey",
    "SecretAccessKey",
    "GetAccessKeyLastUsedResponse",
    "GetAccessKeyLastUsedResult",
    "AccessKeyLastUsed",
    "LastUsedDate",
    "ServiceName",
    "Region",
    "GetCallerIdentityResponse",
    "GetCallerIdentityResult",
    "Account",
    "Arn",
    "GetAccessKeyInfoResult",
    "ErrorResponse",
    "Errors",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "Type",
    "ResponseMetadata",
];

fn xml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| escape_xml(&s)),
        "&(amp|lt|gt|quot|apos|nbsp|x);",
        "&#[0-9]{1,8};",
        "&#x[0-9a-fA-F]{1,7};",
        select(&["Active", "Inactive", "true", "false", "N/A", ""][..]).prop_map(str::to_string),
        "arn:aws:(iam|sts)::[0-9]{12}:(root|user/[a-z/]{0,12}|assumed-role/[a-z]{1,5}/[a-z]{1,5})",
        time_text(),
        "<!\\[CDATA\\[[a-z<>&]{0,10}\\]\\]>",
        "<\\?xml version=\"1\\.0\"\\?>",
        "[ \\t\\r\\n]{0,3}",
    ]
}

fn xml_node() -> BoxedStrategy<String> {
    let leaf =
        (select(XML_NAMES), xml_text()).prop_map(|(name, text)| format!("<{name}>{text}</{name}>"));
    leaf.prop_recursive(5, 64, 6, |inner| {
        (
            select(XML_NAMES),
            vec(inner, 0..6),
            prop::bool::weighted(0.05),
            "( xmlns=\"[a-z:/.]{0,10}\")?",
        )
            .prop_map(|(name, children, unclosed, attr)| {
                let body = children.concat();
                if unclosed {
                    format!("<{name}{attr}>{body}")
                } else {
                    format!("<{name}{attr}>{body}</{name}>")
                }
            })
    })
    .boxed()
}

/// An AWS answer: a root and result element of a real answer around random content.
fn xml_answer() -> impl Strategy<Value = String> {
    const ROOTS: &[(&str, &str)] = &[
        ("ListAccessKeysResponse", "ListAccessKeysResult"),
        ("ListUsersResponse", "ListUsersResult"),
        ("CreateAccessKeyResponse", "CreateAccessKeyResult"),
        ("GetAccessKeyLastUsedResponse", "GetAccessKeyLastUsedResult"),
        ("GetCallerIdentityResponse", "GetCallerIdentityResult"),
        ("ErrorResponse", "Error"),
        ("ErrorResponse", "Errors"),
    ];
    (select(ROOTS), vec(xml_node(), 0..5)).prop_map(|((root, result), children)| {
        format!(
            "<{root}><{result}>{}</{result}></{root}>",
            children.concat()
        )
    })
}

const JSON_KEYS: &[&str] = &[
    "Response",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "AccessKeys",
    "AccessKey",
    "AccessKeyId",
    "SecretAccessKey",
    "AccessKeySecret",
    "Status",
    "CreateTime",
    "CreateDate",
    "Data",
    "Uin",
    "Name",
    "SecretIdLastUsedRows",
    "SecretId",
    "LastUsedDate",
    "LastSecretUsedDate",
    "AccountId",
    "UserId",
    "PrincipalId",
    "Type",
    "Arn",
    "IdentityType",
    "RoleId",
    "Users",
    "User",
    "UserName",
    "IsTruncated",
    "Marker",
    "AccessKeyLastUsed",
    "Recommend",
    "AccessDeniedDetail",
    "users",
    "user_id",
    "user_name",
    "is_root_user",
    "urn",
    "created_at",
    "access_keys",
    "access_key_id",
    "status",
    "secret_access_key",
    "access_key",
    "page_info",
    "next_marker",
    "access_key_last_used",
    "last_used_at",
    "credential",
    "error_code",
    "error_msg",
    "request_id",
    "errorCode",
    "errorMessage",
    "error",
    "code",
    "message",
    "title",
    "encoded_authorization_message",
    "akskUpload",
    "expired",
    "expiredTime",
    "expired_date",
    "create_time",
    "update_time",
];

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        time_text(),
        select(&["Active", "Inactive", "active", "true", "", "null", "APIGW.0301"][..])
            .prop_map(str::to_string),
        "[0-9]{1,25}",
        "-?[0-9]{1,3}(\\.[0-9]+)?(e[0-9]{1,3})?",
        "(qcs::cam::uin/[0-9]{1,12}:(uin|roleName)/[0-9a-z]{1,12}|acs:ram::[0-9]{1,16}:(root|user/[a-z]{0,8}|assumed-role/[a-z]{1,4}/[a-z]{1,4})|iam::[0-9a-f]{0,32}:user:[a-z]{0,8})",
    ]
}

/// Null, booleans and integers: the JSON leaves every reader meets.
fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
    ]
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        3 => json_scalar(),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        1 => json_string().prop_map(Value::String),
    ];
    json_tree(leaf, JSON_KEYS, (5, 96, 8), 5)
}

/// JSON trees over `leaf`, objects keyed from `keys`: `(depth, size, branch)` as
/// `prop_recursive` takes them, lists shorter than `list`.
fn json_tree(
    leaf: impl Strategy<Value = Value> + 'static,
    keys: &'static [&'static str],
    (depth, size, branch): (u32, u32, u32),
    list: usize,
) -> BoxedStrategy<Value> {
    leaf.prop_recursive(depth, size, branch, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..list).prop_map(Value::Array),
            vec((select(keys), inner), 0..8).prop_map(|fields| Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect()
            )),
        ]
    })
    .boxed()
}

/// A JSON answer of `kind`: Tencent's wrapped in `{"Response": …}`, the others bare objects.
fn json_answer(kind: ProviderKind) -> impl Strategy<Value = Vec<u8>> {
    let object = vec((select(JSON_KEYS), json_value()), 0..8).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    });
    (object, prop::bool::weighted(0.9)).prop_map(move |(value, wrap)| {
        let value = if kind == ProviderKind::Tencent && wrap {
            json!({ "Response": value })
        } else {
            value
        };
        serde_json::to_vec(&value).unwrap_or_default()
    })
}

/// Cuts a well-formed answer short, as a dropped connection would.
fn maybe_truncated(body: Vec<u8>, cut: Option<usize>) -> Vec<u8> {
    match cut {
        Some(cut) if !body.is_empty() => body[..cut % body.len()].to_vec(),
        _ => body,
    }
}

// ---------------------------------------------------------------------------------------------
// Answers: nothing panics, every error is one clean line.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn answers_of_random_bytes(data in vec(any::<u8>(), 0..2048)) {
        fuzzing::target_aws_answer(&data);
        fuzzing::target_tencent_answer(&data);
        fuzzing::target_alibaba_answer(&data);
        fuzzing::target_huawei_answer(&data);
    }

    #[test]
    fn aws_answers_of_random_xml(
        status in 0..STATUSES.len(),
        doc in xml_answer(),
        cut in prop::option::weighted(0.1, any::<usize>()),
    ) {
        fuzzing::target_aws_answer(&with_status(status, &maybe_truncated(doc.into_bytes(), cut)));
    }

    /// Each JSON cloud's reader on an answer made for it.
    #[test]
    fn answers_of_random_json(
        status in 0..STATUSES.len(),
        tencent in json_answer(ProviderKind::Tencent),
        alibaba in json_answer(ProviderKind::Alibaba),
        huawei in json_answer(ProviderKind::Huawei),
        cut in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let answer = |body| with_status(status, &maybe_truncated(body, cut));
        fuzzing::target_tencent_answer(&answer(tencent));
        fuzzing::target_alibaba_answer(&answer(alibaba));
        fuzzing::target_huawei_answer(&answer(huawei));
    }
}

// ---------------------------------------------------------------------------------------------
// Answers: well-formed ones read back as written.
// ---------------------------------------------------------------------------------------------

/// A key as a cloud would list it.
#[derive(Debug, Clone)]
struct WireKey {
    id: String,
    active: bool,
    created: DateTime<Utc>,
}

fn wire_key() -> impl Strategy<Value = WireKey> {
    // 2000-01-01 .. 2099-12-31, whole seconds (what every cloud but Huawei sends).
    (
        "[A-Z0-9]{16,24}",
        any::<bool>(),
        946_684_800i64..4_102_444_799,
    )
        .prop_map(|(id, active, secs)| WireKey {
            id,
            active,
            created: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
        })
}

fn status_word(active: bool) -> &'static str {
    if active {
        "Active"
    } else {
        "Inactive"
    }
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// The records read must be the keys written, in order.
fn assert_records(parsed: &fuzzing::Parsed, keys: &[WireKey]) -> Result<(), TestCaseError> {
    let records = parsed
        .keys
        .as_ref()
        .map_err(|err| TestCaseError::fail(format!("not read: {err}")))?;
    prop_assert_eq!(records.len(), keys.len());
    for (record, key) in records.iter().zip(keys) {
        prop_assert_eq!(&record.access_key_id, &key.id);
        let status = if key.active {
            KeyStatus::Active
        } else {
            KeyStatus::Inactive
        };
        prop_assert_eq!(record.status, status);
        prop_assert_eq!(record.created_at, Some(key.created));
    }
    Ok(())
}

/// Text that survives each format's escaping: printable, not blank at either end.
fn message_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 .,:;'/()<>&\"é中-]{0,60}[A-Za-z0-9.]"
}

fn assert_cloud_error(
    parsed: &fuzzing::Parsed,
    code: &str,
    message: &str,
    request_id: &str,
) -> Result<(), TestCaseError> {
    let err = parsed
        .keys
        .as_ref()
        .err()
        .ok_or_else(|| TestCaseError::fail("an error answer was read as keys"))?;
    prop_assert_eq!(err.code.as_deref(), Some(code));
    prop_assert_eq!(err.message.as_str(), message);
    prop_assert_eq!(err.request_id.as_deref(), Some(request_id));
    prop_assert!(matches!(err.exit_code(), 3 | 4), "{err}");
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn aws_key_lists_round_trip(keys in vec(wire_key(), 0..4), user in message_text()) {
        let members: String = keys
            .iter()
            .map(|k| {
                format!(
                    "<member><UserName>{}</UserName><AccessKeyId>{}</AccessKeyId><Status>{}</Status><CreateDate>{}</CreateDate></member>",
                    escape_xml(&user),
                    k.id,
                    status_word(k.active),
                    k.created.format("%Y-%m-%dT%H:%M:%SZ"),
                )
            })
            .collect();
        let body = format!(
            r#"<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>"#
        );
        let parsed = fuzzing::answer(ProviderKind::Aws, 200, body.as_bytes());
        assert_records(&parsed, &keys)?;
        for record in parsed.keys.as_ref().into_iter().flatten() {
            prop_assert_eq!(record.user.as_deref(), Some(user.as_str()));
        }
    }

    #[test]
    fn aws_errors_round_trip(
        code in "[A-Z][A-Za-z.]{0,30}",
        message in message_text(),
        request_id in "[a-f0-9-]{8,36}",
        status in select(&[400u16, 403, 404, 409, 429, 500, 503][..]),
    ) {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            escape_xml(&message)
        );
        let parsed = fuzzing::answer(ProviderKind::Aws, status, body.as_bytes());
        assert_cloud_error(&parsed, &code, &message, &request_id)?;
    }

    #[test]
    fn tencent_key_lists_round_trip(keys in vec(wire_key(), 0..4)) {
        // Tencent writes Beijing time without a zone.
        let listed: Vec<Value> = keys
            .iter()
            .map(|k| json!({
                "AccessKeyId": k.id,
                "Status": status_word(k.active),
                "CreateTime": k.created.with_timezone(&beijing()).format("%Y-%m-%d %H:%M:%S").to_string(),
            }))
            .collect();
        let body = json!({ "Response": { "AccessKeys": listed, "RequestId": "r" } });
        let parsed = fuzzing::answer(ProviderKind::Tencent, 200, body.to_string().as_bytes());
        assert_records(&parsed, &keys)?;
    }

    #[test]
    fn tencent_errors_round_trip(
        code in "[A-Z][A-Za-z]{0,20}(\\.[A-Za-z]{1,20})?",
        message in message_text(),
        request_id in "[a-f0-9-]{8,36}",
    ) {
        // API 3.0 answers HTTP 200 with the error inside.
        let body = json!({ "Response": { "Error": { "Code": code, "Message": message }, "RequestId": request_id } });
        let parsed = fuzzing::answer(ProviderKind::Tencent, 200, body.to_string().as_bytes());
        assert_cloud_error(&parsed, &code, &message, &request_id)?;
    }

    #[test]
    fn alibaba_key_lists_round_trip(keys in vec(wire_key(), 0..4), wrapped in any::<bool>()) {
        let listed: Vec<Value> = keys
            .iter()
            .map(|k| json!({
                "AccessKeyId": k.id,
                "Status": status_word(k.active),
                "CreateDate": k.created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            }))
            .collect();
        // Both the documented wrapped list and a bare array are read.
        let access_keys = if wrapped { json!({ "AccessKey": listed }) } else { json!(listed) };
        let body = json!({ "RequestId": "r", "AccessKeys": access_keys });
        let parsed = fuzzing::answer(ProviderKind::Alibaba, 200, body.to_string().as_bytes());
        assert_records(&parsed, &keys)?;
    }

    #[test]
    fn alibaba_errors_round_trip(
        code in "[A-Z][A-Za-z]{0,20}(\\.[A-Za-z]{1,20})?",
        message in message_text(),
        request_id in "[A-F0-9-]{8,36}",
        status in select(&[400u16, 403, 404, 409, 429, 500, 503][..]),
    ) {
        let body = json!({ "RequestId": request_id, "HostId": "ram.aliyuncs.com", "Code": code, "Message": message });
        let parsed = fuzzing::answer(ProviderKind::Alibaba, status, body.to_string().as_bytes());
        assert_cloud_error(&parsed, &code, &message, &request_id)?;
    }

    #[test]
    fn huawei_key_lists_round_trip(keys in vec(wire_key(), 0..4), millis in any::<bool>()) {
        let listed: Vec<Value> = keys
            .iter()
            .map(|k| {
                let created = if millis {
                    k.created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
                } else {
                    k.created.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                };
                json!({
                    "user_id": "0123456789abcdef0123456789abcdef",
                    "access_key_id": k.id,
                    "status": status_word(k.active).to_ascii_lowercase(),
                    "created_at": created,
                })
            })
            .collect();
        let body = json!({ "access_keys": listed, "page_info": { "current_count": keys.len() } });
        let parsed = fuzzing::answer(ProviderKind::Huawei, 200, body.to_string().as_bytes());
        assert_records(&parsed, &keys)?;
    }

    #[test]
    fn huawei_errors_round_trip(
        code in "(IAM|APIGW|PAP5)\\.[0-9]{4}",
        message in message_text(),
        request_id in "[a-f0-9]{32}",
        status in select(&[400u16, 401, 403, 404, 409, 429, 500, 503][..]),
    ) {
        let body = json!({ "error_code": code, "error_msg": message, "request_id": request_id });
        let parsed = fuzzing::answer(ProviderKind::Huawei, status, body.to_string().as_bytes());
        assert_cloud_error(&parsed, &code, &message, &request_id)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Times.
// ---------------------------------------------------------------------------------------------

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 1..9999: what four-digit formats can carry.
    (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap_or_default())
}

fn offset() -> impl Strategy<Value = FixedOffset> {
    (-23 * 60i32..=23 * 60).prop_map(|minutes| FixedOffset::east_opt(minutes * 60).unwrap())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn time_parsers_take_any_text(text in any::<String>()) {
        fuzzing::target_time(text.as_bytes());
    }

    #[test]
    fn time_parsers_take_odd_times(text in time_text()) {
        fuzzing::target_time(text.as_bytes());
    }

    #[test]
    fn rfc3339_round_trips(at in instant(), zone in offset(), no_zone in any::<bool>()) {
        if no_zone {
            // A missing zone means UTC.
            let text = at.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
            prop_assert_eq!(fuzzing::parse_rfc3339(&text), Some(at));
        } else {
            let text = at.with_timezone(&zone).to_rfc3339();
            prop_assert_eq!(fuzzing::parse_rfc3339(&text), Some(at));
        }
    }

    #[test]
    fn beijing_times_round_trip(at in instant()) {
        let whole = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or_default();
        let local = whole.with_timezone(&beijing());
        let text = local.format("%Y-%m-%d %H:%M:%S").to_string();
        prop_assert_eq!(fuzzing::parse_beijing(&text), Some(whole));
        let day = local.format("%Y-%m-%d").to_string();
        let midnight = beijing()
            .from_local_datetime(&local.date_naive().and_hms_opt(0, 0, 0).unwrap())
            .single()
            .map(|t| t.with_timezone(&Utc));
        prop_assert_eq!(fuzzing::parse_beijing_date(&day), midnight);
    }

    #[test]
    fn go_times_round_trip(at in instant(), zone in offset()) {
        let text = at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S%.f %z UTC")
            .to_string();
        prop_assert_eq!(fuzzing::parse_go_time(&text), Some(at));
    }
}

// ---------------------------------------------------------------------------------------------
// Key ids.
// ---------------------------------------------------------------------------------------------

/// An AWS key id that encodes `account` the way AWS does (base32 after the 4-letter prefix).
fn aws_key_id(account: u64, low_bits: u64, prefix: &str, tail: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let value = (account << 9) | (low_bits & 0x1FF);
    let mut id = prefix.to_string();
    for i in (0..10).rev() {
        id.push(char::from(ALPHABET[((value >> (i * 5)) & 31) as usize]));
    }
    id.push_str(tail);
    id
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn key_id_checks_take_any_text(text in any::<String>()) {
        fuzzing::target_key_id(text.as_bytes());
    }

    #[test]
    fn key_id_checks_take_any_bytes(data in vec(any::<u8>(), 0..200)) {
        fuzzing::target_key_id(&data);
    }

    #[test]
    fn key_id_prefixes_name_their_cloud(
        prefix in select(&["AKIA", "ASIA", "LTAI", "STS.", "AKID", "IKID", "HPUA", ""][..]),
        rest in "[A-Za-z0-9]{0,40}",
    ) {
        let id = format!("{prefix}{rest}");
        let expected = match prefix {
            "AKIA" | "ASIA" => Some(ProviderKind::Aws),
            "LTAI" | "STS." => Some(ProviderKind::Alibaba),
            "AKID" | "IKID" => Some(ProviderKind::Tencent),
            _ => None,
        };
        prop_assert_eq!(ProviderKind::from_key_id(&id), expected);
        // Only the shapes the clouds hand out (see check_key_id): never a secret's shape.
        let upper = |t: &str| t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let tail = id.get(4..).unwrap_or("");
        let shaped = match expected {
            Some(ProviderKind::Aws) => tail.len() == 16 && upper(tail),
            Some(ProviderKind::Tencent) => (16..=124).contains(&tail.len()),
            Some(ProviderKind::Alibaba) if prefix == "STS." => (16..=124).contains(&tail.len()),
            Some(ProviderKind::Alibaba) => (12..=28).contains(&tail.len()),
            _ => id.len() == 20 && upper(&id),
        };
        match fuzzing::check_key_id(&id) {
            Ok(kind) => {
                prop_assert!(shaped, "{id} accepted");
                prop_assert_eq!(kind, expected);
            }
            Err(err) => {
                prop_assert!(!shaped, "{id} refused");
                prop_assert_eq!(err.kind, ErrorKind::Usage);
            }
        }
    }

    #[test]
    fn key_ids_with_other_characters_are_refused(
        head in "[A-Za-z0-9]{0,10}",
        bad in "[^A-Za-z0-9.]",
        tail in "[A-Za-z0-9]{0,10}",
    ) {
        let id = format!("{head}{bad}{tail}");
        let err = fuzzing::check_key_id(&id).err();
        prop_assert!(err.is_some(), "{id:?} accepted");
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        prop_assert!(id.len() < 3 || !message.contains(&id));
    }

    #[test]
    fn aws_account_ids_decode_offline(
        account in prop_oneof![0u64..1_000_000_000_000, 1_000_000_000_000u64..1 << 40],
        low_bits in any::<u64>(),
        prefix in select(&["AKIA", "ASIA"][..]),
        tail in "[A-Z2-7]{6}",
    ) {
        let id = aws_key_id(account, low_bits, prefix, &tail);
        let decoded = fuzzing::account_from_key_id(&id);
        if id.starts_with("AKIAI") || id.starts_with("AKIAJ") {
            // The oldest ids encode no account.
            prop_assert_eq!(decoded, None);
        } else if account >= 1_000_000_000_000 {
            // Forty bits reach past the twelve digits of an account id: not an AWS id.
            prop_assert_eq!(decoded, None);
        } else {
            prop_assert_eq!(decoded, Some(format!("{account:012}")));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Config files: nothing panics; written profiles read back.
// ---------------------------------------------------------------------------------------------

const TOML_KEYS: &[&str] = &[
    "default_profile",
    "provider",
    "access_key_id",
    "secret_access_key",
    "secret_access_key_env",
    "session_token",
    "session_token_env",
    "region",
    "endpoint",
    "project_id",
    "max_age_days",
    "max_idle_days",
    "never_used_days",
    "cce_warn_days",
    "reason",
    "until",
    "aws",
    "tencent",
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| format!("{s:?}")),
        select(
            &[
                "\"aws\"",
                "\"tencent\"",
                "\"alibaba\"",
                "\"huawei\"",
                "\"HOME\"",
                "\"http://127.0.0.1:1\"",
                "\"not a url\""
            ][..]
        )
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?",
        "\\[[0-9, \"a-z]{0,12}\\]",
        "\\{ ?([a-z_]{1,8} = [0-9\"a-z]{1,5})? ?\\}",
        "'''[^']{0,10}'''",
        "\"[^\"]{0,10}",
    ]
}

fn toml_doc() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        "\\[profiles\\.[a-z\". -]{1,10}\\]",
        Just("[audit]".to_string()),
        Just("[[audit.allow]]".to_string()),
        Just("[rate_limits]".to_string()),
        Just("[profiles]".to_string()),
        "\\[[a-z.]{1,10}\\]",
    ];
    let line = prop_oneof![
        3 => (select(TOML_KEYS), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => header,
        1 => "#[^\n]{0,20}",
        1 => any::<String>(),
    ];
    vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

const INI_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region",
    "output",
    "sso_session",
];

fn ini_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => (select(INI_KEYS), "[^\n]{0,30}", select(&[" = ", "=", ": ", " "][..]))
            .prop_map(|(k, v, sep)| format!("{k}{sep}{v}")),
        1 => "\\[(profile )?[a-z -]{0,10}\\]?",
        1 => Just("[default]".to_string()),
        1 => "[#;][^\n]{0,20}",
        1 => "[ \\t]+[a-z=]{0,10}",
        1 => any::<String>(),
    ];
    vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

const NATIVE_JSON_KEYS: &[&str] = &[
    "profiles",
    "current",
    "name",
    "mode",
    "access_key_id",
    "access_key_secret",
    "sts_token",
    "region_id",
    "accessKeyId",
    "secretAccessKey",
    "securityToken",
    "region",
    "projectId",
    "secretId",
    "secretKey",
    "token",
    "_sys_param",
];

fn native_json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        3 => json_scalar(),
        1 => prop_oneof![
            any::<String>(),
            select(&["AK", "StsToken", "AKSK", "RamRoleArn", "default", ""][..])
                .prop_map(str::to_string),
        ]
        .prop_map(Value::String),
    ];
    json_tree(leaf, NATIVE_JSON_KEYS, (4, 64, 6), 4)
}

fn config_target(file: ConfigFile, content: &[u8]) {
    let index = ConfigFile::ALL
        .iter()
        .position(|f| *f == file)
        .unwrap_or_default();
    HOME.with(|home| fuzzing::target_config(home, &with_status(index, content)));
}

thread_local! {
    /// One temporary home per test thread, reused by every case.
    static HOME: ConfigHome = ConfigHome::new().expect("temp home");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_files_of_random_bytes(data in vec(any::<u8>(), 0..1024)) {
        HOME.with(|home| fuzzing::target_config(home, &data));
    }

    #[test]
    fn toml_configs_of_random_lines(doc in toml_doc()) {
        config_target(ConfigFile::CloudkeysToml, doc.as_bytes());
    }

    #[test]
    fn aws_files_of_random_lines(doc in ini_doc(), credentials in any::<bool>()) {
        let file = if credentials { ConfigFile::AwsCredentials } else { ConfigFile::AwsConfig };
        config_target(file, doc.as_bytes());
    }

    #[test]
    fn native_json_files_of_random_values(
        value in native_json_value(),
        file in select(&[ConfigFile::TccliConfigure, ConfigFile::Aliyun, ConfigFile::Hcloud][..]),
    ) {
        config_target(file, value.to_string().as_bytes());
    }
}

/// A profile as written to a file, and what must be read back.
#[derive(Debug, Clone)]
struct WrittenProfile {
    name: String,
    id: String,
    secret: String,
    token: Option<String>,
    region: Option<String>,
}

/// Ids, secrets and regions as the native files hold them: no blanks, no quotes, no `=`
/// (INI) issues; our TOML file gets any text for secrets and names.
fn native_profiles(prefix: &'static str) -> impl Strategy<Value = Vec<WrittenProfile>> {
    vec(
        (
            "[a-z][a-z0-9_-]{0,12}",
            "[A-Z0-9]{8,20}",
            "[A-Za-z0-9/+]{8,40}=?",
            prop::option::of("[A-Za-z0-9/+]{8,60}"),
            prop::option::of("[a-z]{2}-[a-z]{4,9}-[1-9]"),
        )
            .prop_map(move |(name, id, secret, token, region)| WrittenProfile {
                name,
                id: format!("{prefix}{id}"),
                secret,
                token,
                region,
            }),
        1..4,
    )
    .prop_map(|mut profiles| {
        // One profile per name, as each file holds them.
        let mut seen = std::collections::HashSet::new();
        profiles.retain(|p| seen.insert(p.name.clone()));
        profiles
    })
}

fn assert_profiles_read(
    config: &cloudkeys::config::Config,
    written: &[WrittenProfile],
    provider: ProviderKind,
    prefix: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        config.profiles.len(),
        written.len(),
        "{:?}",
        config.profiles
    );
    for profile in written {
        let name = format!("{prefix}{}", profile.name);
        let read = config
            .profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| TestCaseError::fail(format!("profile {name} not read")))?;
        prop_assert_eq!(read.provider, provider);
        prop_assert_eq!(&read.access_key_id, &profile.id);
        prop_assert_eq!(read.secret_access_key.expose(), profile.secret.as_str());
        prop_assert_eq!(
            read.session_token.as_ref().map(|t| t.expose().to_string()),
            profile.token.clone()
        );
        prop_assert_eq!(&read.region, &profile.region);
    }
    Ok(())
}

fn load(files: &[(ConfigFile, &[u8])]) -> Result<cloudkeys::config::Config, TestCaseError> {
    HOME.with(|home| home.load(files, &[]))
        .map_err(|err| TestCaseError::fail(format!("not loaded: {err}")))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn toml_profiles_round_trip(
        profiles in vec(
            (
                any::<String>(),
                select(&["aws", "tencent", "alibaba", "huawei"][..]),
                "[A-Za-z0-9]{4,24}",
                any::<String>().prop_filter("secret", |s| !s.is_empty()),
                prop::option::of(any::<String>()),
                prop::option::of(any::<String>()),
            ),
            1..4,
        ),
    ) {
        let mut table = toml::Table::new();
        let mut expected = Vec::new();
        for (name, provider, id, secret, token, region) in profiles {
            if table.contains_key(&name) {
                continue;
            }
            let mut entry = toml::Table::new();
            entry.insert("provider".into(), provider.into());
            entry.insert("access_key_id".into(), id.clone().into());
            entry.insert("secret_access_key".into(), secret.clone().into());
            if let Some(token) = &token {
                entry.insert("session_token".into(), token.clone().into());
            }
            if let Some(region) = &region {
                entry.insert("region".into(), region.clone().into());
            }
            table.insert(name.clone(), entry.into());
            expected.push((name, ProviderKind::parse(provider), WrittenProfile { name: String::new(), id, secret, token, region }));
        }
        let mut doc = toml::Table::new();
        doc.insert("profiles".into(), table.into());
        let text = toml::to_string(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let config = load(&[(ConfigFile::CloudkeysToml, text.as_bytes())])?;
        prop_assert_eq!(config.profiles.len(), expected.len());
        for (name, provider, profile) in expected {
            let read = config
                .profiles
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| TestCaseError::fail(format!("profile {name:?} not read")))?;
            prop_assert_eq!(Some(read.provider), provider);
            prop_assert_eq!(&read.access_key_id, &profile.id);
            prop_assert_eq!(read.secret_access_key.expose(), profile.secret.as_str());
            prop_assert_eq!(read.session_token.as_ref().map(|t| t.expose().to_string()), profile.token);
            prop_assert_eq!(&read.region, &profile.region);
        }
    }

    #[test]
    fn aws_credentials_round_trip(profiles in native_profiles("AKIA"), in_config in any::<bool>()) {
        let mut text = String::new();
        for p in &profiles {
            if in_config {
                let section = if p.name == "default" { "default".to_string() } else { format!("profile {}", p.name) };
                text.push_str(&format!("[{section}]\n"));
            } else {
                text.push_str(&format!("[{}]\n", p.name));
            }
            text.push_str(&format!("aws_access_key_id = {}\naws_secret_access_key={}\n", p.id, p.secret));
            if let Some(token) = &p.token {
                text.push_str(&format!("aws_session_token = {token}\n"));
            }
            if let Some(region) = &p.region {
                text.push_str(&format!("region = {region}\n"));
            }
            text.push_str("# a comment\n\n");
        }
        let file = if in_config { ConfigFile::AwsConfig } else { ConfigFile::AwsCredentials };
        let config = load(&[(file, text.as_bytes())])?;
        assert_profiles_read(&config, &profiles, ProviderKind::Aws, "aws:")?;
    }

    #[test]
    fn tccli_credentials_round_trip(profile in native_profiles("AKID")) {
        let p = &profile[0];
        let mut credential = json!({ "secretId": p.id, "secretKey": p.secret });
        if let Some(token) = &p.token {
            credential["token"] = json!(token);
        }
        let configure = json!({ "_sys_param": { "region": p.region } });
        let config = load(&[
            (ConfigFile::TccliCredential, credential.to_string().as_bytes()),
            (ConfigFile::TccliConfigure, configure.to_string().as_bytes()),
        ])?;
        let mut written = p.clone();
        written.name = "default".into();
        assert_profiles_read(&config, &[written], ProviderKind::Tencent, "tencent:")?;
    }

    #[test]
    fn aliyun_profiles_round_trip(profiles in native_profiles("LTAI")) {
        let entries: Vec<Value> = profiles
            .iter()
            .map(|p| json!({
                "name": p.name,
                "mode": if p.token.is_some() { "StsToken" } else { "AK" },
                "access_key_id": p.id,
                "access_key_secret": p.secret,
                "sts_token": p.token,
                "region_id": p.region,
            }))
            .collect();
        let doc = json!({ "current": profiles[0].name, "profiles": entries });
        let config = load(&[(ConfigFile::Aliyun, doc.to_string().as_bytes())])?;
        assert_profiles_read(&config, &profiles, ProviderKind::Alibaba, "alibaba:")?;
    }

    #[test]
    fn hcloud_profiles_round_trip(profiles in native_profiles("")) {
        let entries: Vec<Value> = profiles
            .iter()
            .map(|p| json!({
                "name": p.name,
                "mode": "AKSK",
                "accessKeyId": p.id,
                "secretAccessKey": p.secret,
                "securityToken": p.token,
                "region": p.region,
                "projectId": "0123456789abcdef0123456789abcdef",
            }))
            .collect();
        let doc = json!({ "current": profiles[0].name, "profiles": entries });
        let config = load(&[(ConfigFile::Hcloud, doc.to_string().as_bytes())])?;
        assert_profiles_read(&config, &profiles, ProviderKind::Huawei, "huawei:")?;
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: the inputs the properties above found, kept as they were found.
// ---------------------------------------------------------------------------------------------

/// `aws_answers_of_random_xml`: a control character in an error code reached the one-line
/// report (fixed in `Error`'s `Display`).
#[test]
fn regression_control_character_in_an_aws_error_code() {
    let doc = "<ListAccessKeysResponse><ListAccessKeysResult><ListAccessKeysResponse><ListAccessKeysResponse><Code>&#1;</Code></ListAccessKeysResponse><ErrorResponse></ErrorResponse></ListAccessKeysResponse></ListAccessKeysResult></ListAccessKeysResponse>";
    // Status index 2 is HTTP 400.
    fuzzing::target_aws_answer(&with_status(2, doc.as_bytes()));
    let parsed = fuzzing::answer(ProviderKind::Aws, 400, doc.as_bytes());
    let err = parsed.keys.expect_err("an error answer");
    assert_eq!(err.to_string(), "ListAccessKeys failed with HTTP 400");
}

/// The `key_id` libFuzzer target: any text with base32 after its fourth byte was decoded as
/// an AWS id, into as many as 13 digits (fixed in `account_from_key_id`).
#[test]
fn regression_account_decoded_from_a_non_aws_id() {
    let data = b"\x88I777777777ID\xb8{{{";
    fuzzing::target_key_id(data);
    assert_eq!(
        fuzzing::account_from_key_id(&String::from_utf8_lossy(data)),
        None
    );
}

/// `toml_profiles_round_trip`: a region that is no host-name label made building the AWS
/// provider panic (fixed in `provider::resolve`, which now refuses it).
#[test]
fn regression_region_that_is_no_host_name() {
    let toml = "[profiles.\"\"]\nprovider = \"aws\"\naccess_key_id = \"AaA0\"\nsecret_access_key = \"0\"\nregion = \"\u{10d69}a\"\n";
    config_target(ConfigFile::CloudkeysToml, toml.as_bytes());
    let config = HOME
        .with(|home| home.load(&[(ConfigFile::CloudkeysToml, toml.as_bytes())], &[]))
        .expect("the file itself is fine");
    let options = cloudkeys::provider::ProviderOptions {
        http: std::sync::Arc::new(
            cloudkeys::http::HttpClient::new(cloudkeys::http::HttpSettings::default())
                .expect("client"),
        ),
        endpoint: None,
        region: None,
        allow_insecure_http: false,
        page_size: None,
    };
    let err = cloudkeys::providers::build(&config.profiles[0], &options)
        .err()
        .expect("refused");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("is not a region name"), "{err}");
}

//! Micro-benchmarks of the four request signers, each on the request cloudkeys sends most
//! (list one user's keys). Run: `cargo bench --bench signers`.

use chrono::{DateTime, Utc};
use cloudkeys::providers::{alibaba, aws, huawei, tencent};
use cloudkeys::signing::RequestParts;
use divan::black_box;

fn main() {
    divan::main();
}

fn time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_717_243_200, 0).unwrap_or_default()
}

/// The request `METHOD host/path?query` with `headers` and `body`.
fn request<'a>(line: &'a str, headers: &'a [(String, String)], body: &'a [u8]) -> RequestParts<'a> {
    let (method, url) = line.split_once(' ').expect("METHOD host/path");
    let slash = url.find('/').expect("a path");
    let (host, target) = url.split_at(slash);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    RequestParts {
        method,
        host,
        path,
        query,
        headers,
        body,
    }
}

/// `POST /` form body, as `AwsProvider::call` builds it for ListAccessKeys.
#[divan::bench]
fn aws_sigv4() -> usize {
    let headers = vec![(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let body = b"Action=ListAccessKeys&Version=2010-05-08&MaxItems=1000&UserName=alice";
    let key = aws::signer::SigningKey {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token: None,
        region: "us-east-1",
        service: "iam",
    };
    let parts = request("POST iam.amazonaws.com/", &headers, body);
    let (added, _) = aws::signer::sign(black_box(&key), black_box(&parts), time());
    added.len()
}

/// `POST /` JSON body with `X-TC-*` headers, as the Tencent provider sends ListAccessKeys.
#[divan::bench]
fn tencent_tc3() -> usize {
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let body = br#"{"TargetUin":100000546533}"#;
    let key = tencent::signer::SigningKey {
        secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        token: None,
        service: "cam",
    };
    let parts = request("POST cam.tencentcloudapi.com/", &headers, body);
    let (added, _) = tencent::signer::sign(black_box(&key), black_box(&parts), 1_717_243_200);
    added.len()
}

/// RPC-style `POST /?…` with an empty body, as the Alibaba provider sends ListAccessKeys.
#[divan::bench]
fn alibaba_acs3() -> usize {
    let headers = vec![
        ("x-acs-action".to_string(), "ListAccessKeys".to_string()),
        ("x-acs-version".to_string(), "2015-05-01".to_string()),
    ];
    let key = alibaba::signer::SigningKey {
        access_key_id: "LTAI5tEXAMPLEEXAMPLE1234",
        access_key_secret: "EXAMPLEsecretEXAMPLEsecret1234",
        security_token: None,
    };
    let parts = request("POST ram.aliyuncs.com/?UserName=alice", &headers, b"");
    let (added, _) = alibaba::signer::sign(
        black_box(&key),
        black_box(&parts),
        time(),
        "3156853299f313e23d1673dc12e1703d",
    );
    added.len()
}

/// `GET /v5/users/{id}/access-keys?limit=100`, as the Huawei provider lists a user's keys.
#[divan::bench]
fn huawei_sdk_hmac() -> usize {
    let headers = vec![("X-Project-Id".to_string(), "0a1b2c3d4e5f".to_string())];
    let key = huawei::signer::SigningKey {
        access_key: "HPUAEXAMPLEEXAMPLE12",
        secret_key: "EXAMPLEsecretEXAMPLEsecretEXAMPLEsecret1",
        security_token: None,
    };
    let parts = request(
        "GET iam.myhuaweicloud.com/v5/users/0a1b2c3d4e5f6a7b8c9d/access-keys?limit=100",
        &headers,
        b"",
    );
    let (added, _) = huawei::signer::sign(black_box(&key), black_box(&parts), time());
    added.len()
}

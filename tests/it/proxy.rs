//! Proxies from the environment, end to end: the binary against the sandbox through a tiny
//! HTTP proxy written here, which forwards absolute-form requests and records what it saw.
//! Loopback is never proxied, so the sandbox is named by a made-up host
//! (`sandbox.cloudkeys.invalid`) that only this proxy knows how to reach.

use std::sync::{Arc, Mutex};

use cloudkeys::model::ProviderKind;

use crate::common::{json_array, private, run, World, CLOUDS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A name only the test proxy resolves (to the sandbox on 127.0.0.1).
const REMOTE: &str = "sandbox.cloudkeys.invalid";

/// The sandbox's endpoint under the made-up host name.
fn remote_endpoint(world: &World) -> String {
    world.endpoint().replace("127.0.0.1", REMOTE)
}

/// `cloudkeys ARGS…` against the sandbox under its made-up name (plain http, not loopback).
fn remote_cmd(world: &World, args: &[&str]) -> assert_cmd::Command {
    let endpoint = remote_endpoint(world);
    let mut all = vec!["--endpoint", endpoint.as_str(), "--allow-insecure-http"];
    all.extend_from_slice(args);
    world.cmd(all)
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    proxy_authorization: Option<String>,
}

struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    fn start(world: &World) -> Proxy {
        let listener = world
            .runtime()
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("proxy binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        world.runtime().spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, record.clone()));
            }
        });
        Proxy { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Reads one request head (up to the blank line) and its body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((request_line, headers, body))
}

/// Forwards one absolute-form request to its (loopback) origin, answers, and closes.
async fn serve(mut client: TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    let Some((request_line, headers, body)) = read_request(&mut client).await else {
        return;
    };
    let mut parts = request_line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let proxy_authorization = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.clone());
    seen.lock().unwrap_or_else(|p| p.into_inner()).push(Seen {
        method: method.clone(),
        target: target.clone(),
        proxy_authorization,
    });
    // CONNECT (https) and any host but the made-up one is refused: this proxy reaches
    // nothing else.
    let origin = target.strip_prefix("http://").and_then(|rest| {
        rest.split_once('/').and_then(|(host, path)| {
            let port = host.strip_prefix(REMOTE)?.strip_prefix(':')?;
            Some((format!("127.0.0.1:{port}"), path))
        })
    });
    let Some((host, path)) = origin else {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(&host).await else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let mut forwarded = format!("{method} /{path} HTTP/1.1\r\n");
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower == "connection" {
            continue;
        }
        forwarded.push_str(&format!("{name}: {value}\r\n"));
    }
    forwarded.push_str("connection: close\r\n\r\n");
    let mut answer = Vec::new();
    let relayed = async {
        upstream.write_all(forwarded.as_bytes()).await?;
        upstream.write_all(&body).await?;
        upstream.read_to_end(&mut answer).await
    };
    if relayed.await.is_ok() {
        let _ = client.write_all(&answer).await;
    }
    let _ = client.shutdown().await;
}

#[test]
fn http_proxy_carries_every_call_and_no_proxy_bypasses_it() {
    for profile in CLOUDS.map(|c| c.admin) {
        let world = World::new();
        let proxy = Proxy::start(&world);
        let (stdout, stderr) = run(
            remote_cmd(&world, &["-vv", "-p", profile, "list", "-a", "-o", "json"])
                .env("HTTP_PROXY", &proxy.url),
            0,
        );
        assert_eq!(json_array(&stdout).len(), 4, "{profile}: {stderr}");
        let seen = proxy.seen();
        assert!(!seen.is_empty(), "{profile}: the proxy saw nothing");
        let sandbox = remote_endpoint(&world);
        for request in &seen {
            assert!(request.target.starts_with(&sandbox), "{request:?}");
        }
        // The debug log says which proxy each call went through.
        assert!(
            stderr.contains(&format!("via proxy {}", proxy.url)),
            "{stderr}"
        );

        // NO_PROXY naming the host (or a suffix, or everything): the binary goes there
        // directly — and as the name exists nowhere, fails — while the proxy sees nothing.
        for no_proxy in [REMOTE, "cloudkeys.invalid", "*"] {
            let before = proxy.seen().len();
            run(
                remote_cmd(&world, &["-p", profile, "--retries", "0", "whoami"])
                    .env("HTTP_PROXY", &proxy.url)
                    .env("NO_PROXY", no_proxy),
                4,
            );
            assert_eq!(proxy.seen().len(), before, "{profile}, NO_PROXY={no_proxy}");
        }
    }
}

#[test]
fn loopback_never_goes_through_a_proxy() {
    // A new secret from a local endpoint would cross the proxy in clear: loopback is always
    // reached directly, whatever the variables say (as Go's net/http does).
    let world = World::new();
    let proxy = Proxy::start(&world);
    for vars in [
        [("HTTP_PROXY", proxy.url.as_str()), ("NO_PROXY", "")],
        [
            ("ALL_PROXY", proxy.url.as_str()),
            ("no_proxy", "example.com"),
        ],
    ] {
        let mut cmd = world.as_profile("aws-admin", &["create", "--user", "carol", "-o", "json"]);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let (stdout, _) = run(&mut cmd, 0);
        assert!(stdout.contains("secret_access_key"));
        run(
            world
                .cmd(["-p", "aws-admin", "list", "--user", "carol"])
                .env("ALL_PROXY", &proxy.url),
            0,
        );
        world.clear_keys(ProviderKind::Aws, "carol");
    }
    // The same endpoint under localhost: direct too.
    let localhost = world.endpoint().replace("127.0.0.1", "localhost");
    run(
        world
            .cmd(["--endpoint", &localhost, "-p", "aws-admin", "whoami"])
            .env("HTTP_PROXY", &proxy.url),
        0,
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[test]
fn proxy_variables_follow_the_usual_rules() {
    let world = World::new();
    let proxy = Proxy::start(&world);
    let whoami = |vars: &[(&str, &str)]| {
        let mut cmd = remote_cmd(&world, &["-p", "aws-admin", "whoami", "-o", "json"]);
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let (stdout, _) = run(&mut cmd, 0);
        assert_eq!(json_array(&stdout).len(), 1);
    };
    let count = || proxy.seen().len();

    // Lower-case names and ALL_PROXY count too.
    whoami(&[("http_proxy", &proxy.url)]);
    assert_eq!(count(), 1);
    whoami(&[("ALL_PROXY", &proxy.url)]);
    assert_eq!(count(), 2);
    // NO_PROXY names hosts: "invalid.cloudkeys" does not cover sandbox.cloudkeys.invalid.
    whoami(&[
        ("HTTP_PROXY", &proxy.url),
        ("NO_PROXY", "invalid.cloudkeys"),
    ]);
    assert_eq!(count(), 3);
    // HTTPS_PROXY is for https endpoints, and under CGI a request's `Proxy:` header would
    // arrive as HTTP_PROXY: both leave the call unproxied (it then finds no such host).
    for vars in [
        [("HTTPS_PROXY", proxy.url.as_str()), ("REQUEST_METHOD", "")],
        [
            ("HTTP_PROXY", proxy.url.as_str()),
            ("REQUEST_METHOD", "GET"),
        ],
    ] {
        let mut cmd = remote_cmd(&world, &["-p", "aws-admin", "--retries", "0", "whoami"]);
        for (name, value) in vars.iter().filter(|(_, v)| !v.is_empty()) {
            cmd.env(name, value);
        }
        run(&mut cmd, 4);
        assert_eq!(count(), 3);
    }
    // The demo's sandbox lives in the process: never proxied.
    let mut demo = world.bare_cmd();
    demo.arg("demo").env("HTTP_PROXY", &proxy.url);
    run(&mut demo, 0);
    assert_eq!(count(), 3);
}

#[test]
fn proxy_credentials_are_sent_to_the_proxy_and_never_printed() {
    let world = World::new();
    let proxy = Proxy::start(&world);
    let with_password = proxy
        .url
        .replace("http://", "http://ops:Pr0xy-Passw0rd-7d1c@");
    let (_, stderr) = run(
        remote_cmd(&world, &["-vvv", "-p", "aws-admin", "whoami"])
            .env("HTTP_PROXY", &with_password)
            .env("RUST_LOG", "trace"),
        0,
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    // Basic base64("ops:Pr0xy-Passw0rd-7d1c").
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some("Basic b3BzOlByMHh5LVBhc3N3MHJkLTdkMWM=")
    );
    assert!(!stderr.contains("Pr0xy-Passw0rd"), "{stderr}");

    // A proxy that cannot be reached: exit 4, the error names the proxy but not its password.
    let (_, stderr) = run(
        remote_cmd(&world, &["-p", "aws-admin", "--retries", "0", "whoami"])
            .env("HTTP_PROXY", "http://ops:Pr0xy-Passw0rd-7d1c@127.0.0.1:9"),
        4,
    );
    assert!(
        stderr.contains("through the proxy at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(!stderr.contains("Pr0xy-Passw0rd"), "{stderr}");

    // A proxy URL that is not one: exit 2, and the value (maybe a password) is not echoed.
    for bad in [
        "socks5://ops:Pr0xy-Passw0rd-7d1c@127.0.0.1:1080",
        "http://[::Pr0xy-Passw0rd",
    ] {
        let (_, stderr) = run(
            world
                .cmd(["-p", "aws-admin", "whoami"])
                .env("HTTP_PROXY", bad),
            2,
        );
        assert!(stderr.contains("HTTP_PROXY"), "{stderr}");
        assert!(!stderr.contains("Pr0xy-Passw0rd"), "{stderr}");
    }
}

#[test]
fn https_endpoints_tunnel_through_https_proxy() {
    let world = World::new();
    let proxy = Proxy::start(&world);
    let aws = world.profile("aws-admin");
    // An https endpoint under .invalid: only the proxy is ever contacted (it refuses CONNECT),
    // no name is looked up and nothing leaves the machine.
    let config = world.home().join("https.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.remote]\nprovider = \"aws\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nendpoint = \"https://iam.cloudkeys.invalid/\"\n",
            aws.access_key_id, aws.secret_access_key
        ),
    )
    .expect("config written");
    private(&config);
    let mut cmd = world.bare_cmd();
    cmd.arg("--config")
        .arg(&config)
        .args(["-p", "remote", "--retries", "0", "whoami"])
        .env("HTTPS_PROXY", &proxy.url)
        .env("HTTP_PROXY", "http://127.0.0.1:9");
    let (_, stderr) = run(&mut cmd, 4);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, "iam.cloudkeys.invalid:443");
    assert!(
        stderr.contains(&format!("through the proxy at {}", proxy.url)),
        "{stderr}"
    );
}

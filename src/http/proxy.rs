//! Proxies from the environment cloudkeys was given, never from the process's own variables.

use url::Url;

use crate::error::{Error, Result};

/// Proxies as most HTTP clients read them from the environment: `HTTPS_PROXY` for
/// https endpoints (every real cloud), `HTTP_PROXY` for http ones (a local sandbox or moto),
/// `ALL_PROXY` for both when the other is unset, lower-case names too, and `NO_PROXY` (a comma
/// list of hosts, domain suffixes, IPs, CIDR ranges, or `*`) for the hosts reached directly.
/// Loopback (127.0.0.0/8, ::1, localhost) is never proxied, as Go's net/http does: a new
/// secret from a local endpoint would cross the proxy in clear. Under CGI
/// (`REQUEST_METHOD` set) `HTTP_PROXY` is ignored, since a client's `Proxy:` header arrives
/// under that name.
///
/// They come from the [`Environment`](crate::config::Environment) cloudkeys was given, not the
/// process's own variables: `demo` and tests that build an empty one use no proxy.
#[derive(Clone, Default)]
pub struct Proxies {
    http: Option<String>,
    https: Option<String>,
    no: String,
}

impl Proxies {
    pub fn from_env(env: &crate::config::Environment) -> Self {
        let first = |names: &[&str]| names.iter().find_map(|n| env.var(n)).map(str::to_string);
        let all = first(&["ALL_PROXY", "all_proxy"]);
        let cgi = env.var("REQUEST_METHOD").is_some();
        let http = if cgi {
            first(&["http_proxy"])
        } else {
            first(&["HTTP_PROXY", "http_proxy"])
        };
        let no = first(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
        // `*` means no proxy for any host; the matcher alone would still proxy IP addresses.
        if no.split(',').any(|entry| entry.trim() == "*") {
            return Proxies::default();
        }
        Proxies {
            http: http.or_else(|| all.clone()),
            https: first(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no,
        }
    }

    fn matcher(&self) -> hyper_util::client::proxy::matcher::Matcher {
        let mut builder = hyper_util::client::proxy::matcher::Matcher::builder();
        if let Some(http) = &self.http {
            builder = builder.http(http.as_str());
        }
        if let Some(https) = &self.https {
            builder = builder.https(https.as_str());
        }
        builder.no(self.bypassed().as_str()).build()
    }

    /// `NO_PROXY` plus loopback, which no proxy may see.
    fn bypassed(&self) -> String {
        format!("{},{LOOPBACK}", self.no)
    }

    /// Adds the proxies to a client builder, with the same matching rules as [`Self::matcher`].
    pub(super) fn apply(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder> {
        // Never reqwest's own reading of the process environment.
        builder = builder.no_proxy();
        let no = reqwest::NoProxy::from_string(&self.bypassed());
        for (name, url) in [("HTTP_PROXY", &self.http), ("HTTPS_PROXY", &self.https)] {
            let Some(url) = url else { continue };
            let scheme = url
                .split_once("://")
                .map(|(scheme, _)| scheme.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), None | Some("http" | "https")) {
                return Err(Error::config(format!(
                    "{name} (or ALL_PROXY): only http:// and https:// proxies are supported"
                )));
            }
            let proxy = if name == "HTTP_PROXY" {
                reqwest::Proxy::http(url.as_str())
            } else {
                reqwest::Proxy::https(url.as_str())
            };
            // The value may hold a password: the message names the variable only.
            let proxy = proxy.map_err(|_| {
                Error::config(format!(
                    "{name} (or ALL_PROXY) is not a usable proxy URL: expected http://HOST:PORT"
                ))
            })?;
            builder = builder.proxy(proxy.no_proxy(no.clone()));
        }
        Ok(builder)
    }

    /// The proxy a request to `url` goes through, as `scheme://host:port` (no credentials).
    pub fn proxy_for(&self, url: &Url) -> Option<String> {
        if self.http.is_none() && self.https.is_none() {
            return None;
        }
        let uri = url.as_str().parse::<http::Uri>().ok()?;
        let intercept = self.matcher().intercept(&uri)?;
        let proxy = intercept.uri();
        Some(format!(
            "{}://{}",
            proxy.scheme_str().unwrap_or("http"),
            proxy.authority().map(|a| a.as_str()).unwrap_or_default()
        ))
    }
}

/// Never through a proxy, whatever `NO_PROXY` says.
const LOOPBACK: &str = "127.0.0.0/8,::1,localhost";

impl std::fmt::Debug for Proxies {
    /// Proxy URLs may hold a password: only their hosts are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |url: &Option<String>| {
            url.as_ref().map(|u| {
                let without_scheme = u.split_once("://").map_or(u.as_str(), |(_, rest)| rest);
                without_scheme
                    .rsplit_once('@')
                    .map_or(without_scheme, |(_, host)| host)
                    .trim_end_matches('/')
                    .to_string()
            })
        };
        f.debug_struct("Proxies")
            .field("http", &host(&self.http))
            .field("https", &host(&self.https))
            .field("no", &self.no)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpClient, HttpSettings};

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&crate::config::Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: None,
        })
    }

    #[test]
    fn proxies_follow_the_environment_as_curl_does() {
        let https = Url::parse("https://iam.amazonaws.com/").unwrap();
        let local = Url::parse("http://10.1.2.3:8790/").unwrap();
        assert_eq!(proxies(&[]).proxy_for(&https), None);

        let p = proxies(&[
            ("HTTPS_PROXY", "http://user:pw@proxy.corp:3128"),
            ("http_proxy", "proxy.local:8080"),
        ]);
        // Credentials never come back out, and a missing scheme means http.
        assert_eq!(
            p.proxy_for(&https).as_deref(),
            Some("http://proxy.corp:3128")
        );
        assert_eq!(
            p.proxy_for(&local).as_deref(),
            Some("http://proxy.local:8080")
        );
        assert!(!format!("{p:?}").contains("pw"), "{p:?}");

        // NO_PROXY: hosts, domain suffixes, addresses, ranges, or everything.
        for no in ["amazonaws.com", ".amazonaws.com", "iam.amazonaws.com", "*"] {
            let p = proxies(&[("HTTPS_PROXY", "http://proxy:1"), ("NO_PROXY", no)]);
            assert_eq!(p.proxy_for(&https), None, "{no}");
        }
        for (no, bypassed) in [
            ("10.1.2.3", true),
            ("*", true),
            ("example.com, *", true),
            ("10.0.0.0/8", true),
            ("localhost", false),
            ("192.168.0.0/16", false),
        ] {
            let p = proxies(&[("HTTP_PROXY", "http://proxy:1"), ("no_proxy", no)]);
            assert_eq!(p.proxy_for(&local).is_none(), bypassed, "{no}");
        }

        // ALL_PROXY fills in for either; an empty variable counts as unset.
        let p = proxies(&[("ALL_PROXY", "http://all:1"), ("HTTPS_PROXY", "")]);
        assert_eq!(p.proxy_for(&https).as_deref(), Some("http://all:1"));
        assert_eq!(p.proxy_for(&local).as_deref(), Some("http://all:1"));

        // Under CGI, HTTP_PROXY may come from a request header: ignored.
        let p = proxies(&[("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(p.proxy_for(&local), None);
    }

    #[test]
    fn loopback_is_never_proxied() {
        let p = proxies(&[("ALL_PROXY", "http://proxy:1")]);
        for url in [
            "http://127.0.0.1:8790/",
            "http://127.9.9.9/",
            "http://[::1]:5000/",
            "http://localhost:1/",
            "https://localhost/",
            "http://sandbox.localhost:1/",
        ] {
            assert_eq!(p.proxy_for(&Url::parse(url).unwrap()), None, "{url}");
        }
        let remote = Url::parse("http://128.0.0.1/").unwrap();
        assert!(p.proxy_for(&remote).is_some());
    }

    #[test]
    fn bad_proxy_urls_are_config_errors_that_hide_the_value() {
        for (name, value) in [
            ("HTTPS_PROXY", "socks5://u:secretpw@h:1"),
            ("HTTP_PROXY", "http://[::secretpw"),
            ("ALL_PROXY", "ftp://secretpw@h"),
        ] {
            let settings = HttpSettings {
                proxies: proxies(&[(name, value)]),
                ..HttpSettings::default()
            };
            let err = HttpClient::new(settings).err().expect(value);
            assert_eq!(err.exit_code(), 2);
            assert!(!err.to_string().contains("secretpw"), "{err}");
        }
    }
}

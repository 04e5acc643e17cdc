//! Fault injection: make chosen calls slow, throttled, failing, cut off or lost, so the tests
//! can prove how cloudkeys behaves when a cloud misbehaves.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderValue;
use axum::response::Response;

use crate::model::ProviderKind;

/// What happens to a request a fault matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Answer normally, this much later.
    Latency(Duration),
    /// The cloud's own throttling error; the call is not carried out.
    Throttle,
    /// A 5xx in the cloud's shape; the call is not carried out.
    ServerError,
    /// The connection drops before any answer; the call is not carried out.
    Drop,
    /// The call IS carried out, then the connection drops: the client can't know it worked.
    LoseAnswer,
    /// The call is carried out and a 200 comes back with half its body.
    Truncate,
}

/// A rule: requests of `provider` (any when `None`) for `action` (any when `None`) meet
/// `effect` — every `every`-th such request, at most `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub provider: Option<ProviderKind>,
    /// The cloud's action name: `CreateAccessKey`, `UpdateAccessKeyV5`, …
    pub action: Option<String>,
    pub effect: Effect,
    pub every: usize,
    pub times: usize,
    seen: usize,
}

impl Fault {
    /// Every matching request, forever.
    pub fn always(effect: Effect) -> Self {
        Fault {
            provider: None,
            action: None,
            effect,
            every: 1,
            times: usize::MAX,
            seen: 0,
        }
    }

    /// Only the next `times` matching requests.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    /// Only every `n`-th matching request (the n-th, 2n-th, …).
    pub fn every(mut self, n: usize) -> Self {
        self.every = n.max(1);
        self
    }

    pub fn on(mut self, action: &str) -> Self {
        self.action = Some(action.to_string());
        self
    }

    pub fn provider(mut self, provider: ProviderKind) -> Self {
        self.provider = Some(provider);
        self
    }

    fn matches(&self, provider: ProviderKind, action: &str) -> bool {
        self.times > 0
            && self.provider.is_none_or(|p| p == provider)
            && self.action.as_deref().is_none_or(|a| a == action)
    }
}

/// The effects that apply to this request, counting it against every matching rule.
pub fn take(faults: &mut [Fault], provider: ProviderKind, action: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for fault in faults.iter_mut().filter(|f| f.matches(provider, action)) {
        fault.seen += 1;
        if fault.seen % fault.every == 0 {
            fault.times -= 1;
            effects.push(fault.effect);
        }
    }
    effects
}

/// A response whose body fails mid-way: the server closes the connection without an answer.
pub fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox: connection dropped"))
    });
    Response::new(Body::from_stream(stream))
}

/// The same response with only the first half of its body (and a matching length).
pub async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        HeaderValue::from(half.len()),
    );
    Response::from_parts(parts, Body::from(half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_and_expire() {
        let mut faults = vec![
            Fault::always(Effect::Throttle).every(3),
            Fault::always(Effect::ServerError)
                .on("CreateAccessKey")
                .times(1),
        ];
        let aws = ProviderKind::Aws;
        let hits: Vec<Vec<Effect>> = (0..6)
            .map(|_| take(&mut faults, aws, "ListUsers"))
            .collect();
        assert_eq!(
            hits.iter()
                .filter(|h| h.contains(&Effect::Throttle))
                .count(),
            2
        );
        assert!(hits.iter().all(|h| !h.contains(&Effect::ServerError)));
        assert!(take(&mut faults, aws, "CreateAccessKey").contains(&Effect::ServerError));
        assert!(!take(&mut faults, aws, "CreateAccessKey").contains(&Effect::ServerError));
    }
}

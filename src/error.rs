//! The one error type every layer returns, with the exit code it maps to.

use std::fmt;
use std::sync::Arc;

use crate::model::ProviderKind;

/// Declares [`ErrorKind`] from one table: each kind with its JSON name and its exit code.
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident = $name:literal => $code:literal,)*) => {
        /// What went wrong, as far as the exit code and the retry policy care.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ErrorKind {
            /// Exit code of DESIGN.md: 2 usage/config, 3 cloud refusal, 4 network, 5 partial,
            /// 130 interrupt.
            pub fn exit_code(self) -> i32 {
                match self {
                    $(ErrorKind::$kind => $code,)*
                }
            }

            /// Stable lower-case name, used in JSON errors.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $name,)*
                }
            }
        }
    };
}

error_kinds! {
    /// Bad flag or argument, invalid key id, a refused local action.
    Usage = "usage" => 2,
    /// Malformed or inconsistent configuration, unknown profile, missing credentials.
    Config = "config" => 2,
    /// A local file could not be read or written.
    Io = "io" => 2,
    /// The cloud refused the credentials or the signature.
    Auth = "auth" => 3,
    /// The cloud says the caller may not do this.
    Permission = "permission" => 3,
    /// No such user or key.
    NotFound = "not-found" => 3,
    /// A quota, such as two keys per user.
    Limit = "limit" => 3,
    /// Any other refusal by the cloud (bad parameter, conflict).
    Refused = "refused" => 3,
    /// The cloud rate-limited us, after all retries.
    Throttled = "throttled" => 4,
    /// The server failed (5xx), after all retries.
    Server = "server" => 4,
    /// Connecting or sending failed.
    Network = "network" => 4,
    /// The call took longer than `--timeout`.
    Timeout = "timeout" => 4,
    /// The answer could not be understood.
    BadResponse = "bad-response" => 4,
    /// Our clock and the cloud's disagree.
    ClockSkew = "clock-skew" => 3,
    /// Some targets failed; the others' results were printed.
    Partial = "partial" => 5,
    /// The user pressed Ctrl-C.
    Interrupted = "interrupted" => 130,
}

/// What an error wraps (an I/O, JSON or HTTP error), for [`std::error::Error::source`]; shared
/// so that [`Error`] stays `Clone`.
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

/// An error with enough context for a one-line report: which cloud and profile, the cloud's
/// own code, its message and request id. Never holds a secret. Boxed so that `Result`s stay
/// one pointer wide on the happy path; fields are reached through `Deref`.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorInfo>);

/// One line: `aws (prod): NoSuchEntity: The user … cannot be found. (request id …)`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", line(self))]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
    pub provider: Option<ProviderKind>,
    pub profile: Option<String>,
    /// The cloud's error code, e.g. `NoSuchEntity`.
    pub code: Option<String>,
    pub request_id: Option<String>,
    /// Extra detail for `-v` (e.g. Huawei's encoded authorization message).
    pub detail: Option<String>,
    /// The error this one wraps, if any; never shown in the one-line report.
    pub source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::ops::Deref for Error {
    type Target = ErrorInfo;
    fn deref(&self) -> &ErrorInfo {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorInfo {
        &mut self.0
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorInfo {
            kind,
            message: message.into(),
            provider: None,
            profile: None,
            code: None,
            request_id: None,
            detail: None,
            source: None,
        }))
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub fn io(what: impl fmt::Display, err: &std::io::Error) -> Self {
        // io::Error is not Clone: the source keeps its kind and text.
        Self::new(ErrorKind::Io, format!("{what}: {err}"))
            .with_source(std::io::Error::new(err.kind(), err.to_string()))
    }

    pub fn bad_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadResponse, message)
    }

    /// An error reported by a cloud API.
    pub fn cloud(
        kind: ErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
        request_id: Option<String>,
    ) -> Self {
        let mut err = Self::new(kind, message);
        err.code = Some(code.into());
        err.request_id = request_id;
        err
    }

    pub fn with_provider(mut self, provider: ProviderKind) -> Self {
        self.provider.get_or_insert(provider);
        self
    }

    /// Adds the profile name unless an inner layer already did.
    pub fn with_profile(mut self, profile: &str) -> Self {
        if self.profile.is_none() {
            self.profile = Some(profile.to_string());
        }
        self
    }

    /// Records the error this one wraps, for `source()`.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// The JSON form printed on stderr with `-o json`/`ndjson`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.kind.as_str(),
            "provider": self.provider.map(|p| p.as_str()),
            "profile": self.profile,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "exit_code": self.exit_code(),
        })
    }
}

/// Text from a cloud's answer or a file, fit for a one-line report: every run of whitespace
/// and control characters (newlines, escape sequences a hostile answer might send to the
/// terminal) becomes one space.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one-line report of [`ErrorInfo`]'s `Display`.
fn line(e: &ErrorInfo) -> String {
    let mut line = match (&e.provider, &e.profile) {
        (Some(provider), Some(profile)) => format!("{provider} ({}): ", one_line(profile)),
        (Some(provider), None) => format!("{provider}: "),
        (None, Some(profile)) => format!("profile {}: ", one_line(profile)),
        (None, None) => String::new(),
    };
    if let Some(code) = e.code.as_deref().map(one_line).filter(|c| !c.is_empty()) {
        line.push_str(&format!("{code}: "));
    }
    // A cloud's message may span lines; the report must stay one line.
    line.push_str(&one_line(&e.message));
    if let Some(request_id) = &e.request_id {
        line.push_str(&format!(" (request id {})", one_line(request_id)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_everything_named() {
        let err = Error::cloud(
            ErrorKind::NotFound,
            "NoSuchEntity",
            "The user with name nobody\ncannot be found.",
            Some("req-1".into()),
        )
        .with_provider(ProviderKind::Aws)
        .with_profile("prod");
        assert_eq!(
            err.to_string(),
            "aws (prod): NoSuchEntity: The user with name nobody cannot be found. (request id req-1)"
        );
        assert_eq!(err.exit_code(), 3);
    }

    #[test]
    fn answers_cannot_break_the_line_or_reach_the_terminal() {
        // Found by the aws_answers_of_random_xml property: `<Code>&#1;</Code>` put a control
        // character into the report, and a code, request id or profile name could hold a
        // newline or an escape sequence too.
        let err = Error::cloud(
            ErrorKind::Refused,
            "\u{1}Bad\nCode",
            "a\u{1b}[2Jb\r\nc",
            Some("id\n1".into()),
        )
        .with_provider(ProviderKind::Aws)
        .with_profile("p\u{7}x");
        assert_eq!(
            err.to_string(),
            "aws (p x): Bad Code: a [2Jb c (request id id 1)"
        );
        let err = Error::cloud(ErrorKind::Refused, "\u{1}", "m", None);
        assert_eq!(err.to_string(), "m");
    }

    #[test]
    fn wrapped_errors_are_the_source_but_not_in_the_line() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let err = Error::io("/x/y", &io).with_profile("p");
        assert_eq!(err.to_string(), "profile p: /x/y: denied");
        let source = err.source().expect("the io error");
        assert_eq!(source.to_string(), "denied");
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let err = Error::config(format!("damaged ({json})")).with_source(json);
        assert!(err.source().unwrap().to_string().contains("EOF"));
        assert!(Error::usage("plain").source().is_none());
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(ErrorKind::Config.exit_code(), 2);
        assert_eq!(ErrorKind::Usage.exit_code(), 2);
        assert_eq!(ErrorKind::Limit.exit_code(), 3);
        assert_eq!(ErrorKind::Throttled.exit_code(), 4);
        assert_eq!(ErrorKind::Timeout.exit_code(), 4);
        assert_eq!(ErrorKind::Partial.exit_code(), 5);
        assert_eq!(ErrorKind::Interrupted.exit_code(), 130);
        assert_eq!(ErrorKind::ClockSkew.exit_code(), 3);
        assert_eq!(ErrorKind::NotFound.as_str(), "not-found");
        assert_eq!(ErrorKind::BadResponse.as_str(), "bad-response");
    }
}

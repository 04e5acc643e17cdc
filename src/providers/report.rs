//! Account credential reports (AWS IAM, Alibaba IMS): one CSV that tells, per user, whether each
//! key slot holds a key, whether it is active, when it was made and when it was last used.
//! An `--all-users` scan reads it once instead of one last-use call per key, and skips listing
//! the keys of users the report shows without any.
//!
//! The report names no key ids: a key is matched to its slot by creation time (and status),
//! and any key that does not match exactly one slot is asked about one by one.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{KeyRecord, KeyStatus, LastUsed};
use crate::provider::{fill_last_used_each, AccessKeyProvider};

/// How long a scan waits for the cloud to make a credential report before it asks every user
/// and key instead.
const REPORT_WAIT: Duration = Duration::from_secs(60);

/// Calls `generate` (the cloud's GenerateCredentialReport, true once it says the report is
/// complete) until the report is ready: the clouds make one at most every 4 hours and answer
/// "complete" at once while one is fresh. Waits 250 ms, doubling to 4 s, at most a minute.
pub async fn wait_until_generated<F, Fut>(mut generate: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let mut wait = Duration::from_millis(250);
    let deadline = tokio::time::Instant::now() + REPORT_WAIT;
    while !generate().await? {
        if tokio::time::Instant::now() + wait > deadline {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the credential report was not ready within {} s",
                    REPORT_WAIT.as_secs()
                ),
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(4));
    }
    Ok(())
}

/// A provider's credential report for one run: fetched once, when a scan begins; `None` inside
/// when it was refused or unreadable, so every user and key is asked instead.
#[derive(Default)]
pub struct ReportCell(OnceCell<Option<CredentialReport>>);

impl ReportCell {
    /// Fetches the report unless done already; a failure is one warning line, not an error.
    pub async fn fetch_once(&self, fetch: impl Future<Output = Result<CredentialReport>>) {
        self.0
            .get_or_init(|| async {
                fetch
                    .await
                    .map_err(|err| {
                        tracing::warn!(
                            "{err} (no credential report: asking every user and key instead)"
                        )
                    })
                    .ok()
            })
            .await;
    }

    /// The report, when a scan fetched one.
    pub fn get(&self) -> Option<&CredentialReport> {
        self.0.get().and_then(Option::as_ref)
    }

    /// Whether `user`'s keys need not be listed: the report shows it without any.
    pub fn shows_no_keys(&self, user: &str) -> bool {
        self.get().is_some_and(|report| report.shows_no_keys(user))
    }

    /// Fills last use from the report where it answers, and asks `provider` for the rest.
    pub async fn fill_last_used<P: AccessKeyProvider + ?Sized>(
        &self,
        provider: &P,
        records: &mut [KeyRecord],
        concurrency: usize,
    ) -> Result<()> {
        let mut rest = Vec::new();
        for record in records.iter_mut() {
            match self.get().and_then(|report| report.last_used(record)) {
                Some(used) => record.apply_last_used(used),
                None => rest.push(record),
            }
        }
        fill_last_used_each(provider, rest, concurrency).await
    }
}

/// What a report says of one key's last use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportUse {
    /// Never used (as of the report).
    Never,
    /// Used at this time; service and region where the report names them.
    At {
        at: DateTime<Utc>,
        service: Option<String>,
        region: Option<String>,
    },
    /// The report has no usable answer (a value it cannot give, or one we cannot read).
    Unknown,
}

/// One access-key slot of a user's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSlot {
    pub active: bool,
    /// When the key in this slot was made (AWS: `last_rotated`).
    pub created_at: DateTime<Utc>,
    pub last_used: ReportUse,
}

/// A parsed credential report.
#[derive(Debug, Clone, Default)]
pub struct CredentialReport {
    pub generated_at: Option<DateTime<Utc>>,
    /// Key slots that hold a key, by the user name the provider's records carry
    /// (the root identity under [`crate::model::ROOT_USER`]).
    pub users: HashMap<String, Vec<ReportSlot>>,
    /// The report also carries the service and region of last use (AWS); where it does not
    /// (Alibaba), a use it reports leaves them empty rather than asking each key.
    pub names_service: bool,
}

/// A report's key slots by the user names the provider's records carry.
pub type ReportUsers = HashMap<String, Vec<ReportSlot>>;

/// Decodes a report's base64 content (a page of it, for Alibaba).
pub fn decode_content(content: Option<&str>) -> std::result::Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(content.unwrap_or_default().trim())
        .map_err(|err| format!("content is not base64: {err}"))
}

/// A report row's cells by column name.
pub type Cells = HashMap<String, String>;

/// The rows of a report's CSV (a header line, then a row per user; a row may stop short): each
/// as its `user` cell and its cells by column name (the first column of a name), all trimmed.
pub fn read_rows(csv_text: &[u8]) -> std::result::Result<Vec<(String, Cells)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_text);
    let columns = reader.headers().map_err(|e| e.to_string())?.clone();
    if !columns.iter().any(|c| c.trim() == "user") {
        return Err("the report has no 'user' column".into());
    }
    let read = |row: csv::StringRecord| {
        let mut cells = HashMap::new();
        for (column, cell) in columns.iter().zip(&row) {
            cells
                .entry(column.trim().to_string())
                .or_insert_with(|| cell.trim().to_string());
        }
        (cells.get("user").cloned().unwrap_or_default(), cells)
    };
    reader
        .records()
        .map(|row| row.map(read).map_err(|e| e.to_string()))
        .collect()
}

impl CredentialReport {
    /// True when the report knows the user and shows no key: its keys need not be listed.
    pub fn shows_no_keys(&self, user: &str) -> bool {
        self.users.get(user).is_some_and(Vec::is_empty)
    }

    /// The last use of `record` when the slots of its user made in the same second all say
    /// the same (two keys made at once are told apart only when their answers agree), their
    /// status is the record's, and the answer is complete; `None` means "ask the key".
    pub fn last_used(&self, record: &KeyRecord) -> Option<LastUsed> {
        let slots = self.users.get(record.user.as_deref()?)?;
        let created = record.created_at?.timestamp();
        let mut matching = slots.iter().filter(|s| s.created_at.timestamp() == created);
        let slot = matching.next()?;
        if matching.any(|other| other != slot)
            || slot.active != (record.status == KeyStatus::Active)
        {
            return None;
        }
        let as_of = self.generated_at;
        match &slot.last_used {
            ReportUse::Never => Some(LastUsed {
                as_of,
                ..LastUsed::default()
            }),
            ReportUse::At { service: None, .. } if self.names_service => None,
            ReportUse::At {
                at,
                service,
                region,
            } => Some(LastUsed {
                at: Some(*at),
                service: service.clone(),
                region: region.clone(),
                date_only: false,
                as_of,
            }),
            ReportUse::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProviderKind;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, h, 0, 0).unwrap()
    }

    fn record(user: &str, created: DateTime<Utc>, status: KeyStatus) -> KeyRecord {
        let mut r = KeyRecord::new(ProviderKind::Aws, "p", "AKIA".into(), status);
        r.user = Some(user.into());
        r.created_at = Some(created);
        r
    }

    fn report(slots: Vec<ReportSlot>) -> CredentialReport {
        CredentialReport {
            generated_at: Some(t(20)),
            users: HashMap::from([("alice".to_string(), slots), ("bob".into(), vec![])]),
            names_service: true,
        }
    }

    fn used(h: u32, service: Option<&str>) -> ReportUse {
        ReportUse::At {
            at: t(h),
            service: service.map(str::to_string),
            region: service.map(|_| "us-east-1".to_string()),
        }
    }

    #[test]
    fn matches_one_slot_by_creation_time_and_status() {
        let r = report(vec![
            ReportSlot {
                active: true,
                created_at: t(1),
                last_used: used(5, Some("s3")),
            },
            ReportSlot {
                active: false,
                created_at: t(2),
                last_used: ReportUse::Never,
            },
        ]);
        let first = r
            .last_used(&record("alice", t(1), KeyStatus::Active))
            .unwrap();
        assert_eq!(first.at, Some(t(5)));
        assert_eq!(first.service.as_deref(), Some("s3"));
        assert_eq!(first.as_of, Some(t(20)));
        let second = r
            .last_used(&record("alice", t(2), KeyStatus::Inactive))
            .unwrap();
        assert_eq!(second.at, None);
        assert_eq!(second.as_of, Some(t(20)));
        // Status changed since the report, or a key the report does not know: ask the key.
        assert!(r
            .last_used(&record("alice", t(2), KeyStatus::Active))
            .is_none());
        assert!(r
            .last_used(&record("alice", t(3), KeyStatus::Active))
            .is_none());
        assert!(r
            .last_used(&record("carol", t(1), KeyStatus::Active))
            .is_none());
    }

    #[test]
    fn ambiguous_or_incomplete_slots_are_asked_about() {
        let slot = |last_used| ReportSlot {
            active: true,
            created_at: t(1),
            last_used,
        };
        let same_time = report(vec![slot(ReportUse::Never), slot(used(3, Some("s3")))]);
        assert!(same_time
            .last_used(&record("alice", t(1), KeyStatus::Active))
            .is_none());
        // Made in the same second and saying the same: either slot answers for both.
        let twins = report(vec![slot(ReportUse::Never), slot(ReportUse::Never)]);
        let found = twins
            .last_used(&record("alice", t(1), KeyStatus::Active))
            .unwrap();
        assert_eq!(found.at, None);
        let no_service = report(vec![ReportSlot {
            active: true,
            created_at: t(1),
            last_used: used(4, None),
        }]);
        assert!(no_service
            .last_used(&record("alice", t(1), KeyStatus::Active))
            .is_none());
        let mut alibaba = no_service.clone();
        alibaba.names_service = false;
        let found = alibaba
            .last_used(&record("alice", t(1), KeyStatus::Active))
            .unwrap();
        assert_eq!((found.at, found.service), (Some(t(4)), None));
    }

    #[test]
    fn users_without_keys_are_known_only_when_listed() {
        let r = report(vec![]);
        assert!(r.shows_no_keys("bob"));
        assert!(r.shows_no_keys("alice"));
        assert!(!r.shows_no_keys("carol"));
    }
}

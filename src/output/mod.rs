//! All printing happens here: tables for people, JSON/NDJSON/CSV/Markdown for scripts.

mod audit;
mod table;

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

pub use self::audit::AuditReport;
pub use crate::cli::OutputFormat;
use crate::error::Error;
use crate::model::{Identity, KeyRecord, NewKey};

/// One profile as `cloudkeys profiles` shows it (no secret).
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    pub name: String,
    pub provider: String,
    pub access_key_id: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub source: String,
}

/// How to print: format, colour, verbosity, and for tables the terminal and the time zone.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub color: bool,
    pub quiet: bool,
    /// The terminal's width when stdout is one and the format is `table`: tables are fitted
    /// to it. `None` (pipes, `-o wide`): every column, lines as long as they need.
    pub width: Option<usize>,
    pub zone: Zone,
}

/// The zone that table and Markdown times are shown in (JSON stays RFC 3339 UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    #[default]
    Utc,
    /// The system's zone (`--local`; chrono's `Local` honours `TZ`).
    Local,
}

impl Zone {
    /// The zone's name for column headers: `UTC`, or the local offset now, e.g. `UTC+1`.
    pub fn label(self) -> String {
        match self {
            Zone::Utc => "UTC".to_string(),
            Zone::Local => offset_label(chrono::Local::now().offset().local_minus_utc()),
        }
    }

    /// `2024-06-01 14:00:00` (or only the date) in this zone. A local time whose offset is not
    /// the header's (the other side of a DST change) names its own.
    pub fn time(self, time: &chrono::DateTime<chrono::Utc>, time_of_day: bool) -> String {
        let pattern = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"][usize::from(time_of_day)];
        match self {
            Zone::Utc => time.format(pattern).to_string(),
            Zone::Local => {
                let local = time.with_timezone(&chrono::Local);
                let text = local.format(pattern).to_string();
                let offset = local.offset().local_minus_utc();
                if offset == chrono::Local::now().offset().local_minus_utc() {
                    text
                } else {
                    format!("{text} ({})", offset_label(offset))
                }
            }
        }
    }

    /// A column header naming the zone: `CREATED (UTC)`.
    pub fn header(self, name: &str) -> String {
        format!("{name} ({})", self.label())
    }
}

/// `UTC`, `UTC+8`, `UTC-3:30`.
fn offset_label(seconds: i32) -> String {
    if seconds == 0 {
        return "UTC".to_string();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    match minutes % 60 {
        0 => format!("UTC{sign}{}", minutes / 60),
        m => format!("UTC{sign}{}:{m:02}", minutes / 60),
    }
}

/// A last use the cloud reports as a calendar day (Tencent: a Beijing day, stored as its
/// start): that day in its own zone, e.g. `2026-11-30 (UTC+8)`, since no other zone's
/// date would be true.
pub(crate) fn cloud_day(time: &chrono::DateTime<chrono::Utc>) -> String {
    const BEIJING: i32 = 8 * 3600;
    let zone = chrono::FixedOffset::east_opt(BEIJING).expect("valid offset");
    format!(
        "{} ({})",
        time.with_timezone(&zone).format("%Y-%m-%d"),
        offset_label(BEIJING)
    )
}

fn to_values<T: Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .map(|item| serde_json::to_value(item).unwrap_or(Value::Null))
        .collect()
}

/// Text for a terminal: names and ids come from the clouds' answers, and a hostile endpoint
/// could put escape sequences in them (to retitle the window, write the clipboard, hide or
/// rewrite lines). Every control character becomes U+FFFD, except line ends and the colour
/// sequences (`ESC [ digits ; m`) the table itself uses.
fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let colour = rest.strip_prefix("\u{1b}[").and_then(|after| {
            let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
            after[end..].starts_with('m').then_some(2 + end + 1)
        });
        let taken = match colour {
            Some(len) => {
                out.push_str(&rest[..len]);
                len
            }
            None => {
                out.push(safe_char(c, &rest[c.len_utf8()..]));
                c.len_utf8()
            }
        };
        rest = &rest[taken..];
    }
    out
}

/// The one rule for text from the clouds on its way to a terminal: every control character
/// (C0 with ESC and CR, DEL, C1 such as the one-byte CSI U+009B) becomes U+FFFD, except a line
/// end (`\n`, `\r\n`). `rest` is the text after `c`.
fn safe_char(c: char, rest: &str) -> char {
    let line_end = c == '\n' || (c == '\r' && rest.starts_with('\n'));
    if c.is_control() && !line_end {
        '\u{fffd}'
    } else {
        c
    }
}

/// Text made safe for a terminal (see [`safe_char`]): used for everything cloudkeys writes to
/// stderr (errors, notes, warnings, prompts), where cloud-sourced names and messages end up.
pub fn sanitize(text: &str) -> String {
    text.char_indices()
        .map(|(i, c)| safe_char(c, &text[i + c.len_utf8()..]))
        .collect()
}

/// Asks a question on stderr (no line end; the answer is read by the caller). Never panics.
pub fn prompt(question: &str) {
    to_stderr(&sanitize(question));
}

/// Writes to stderr, unless it is closed; a failure is ignored (nobody is left to tell).
fn to_stderr(text: &str) {
    if STDERR_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let _ = write_flush(io::stderr().lock(), text);
}

fn write_flush(mut to: impl Write, text: &str) -> io::Result<()> {
    to.write_all(text.as_bytes())?;
    to.flush()
}

/// A closed pipe (`| head`) is not an error on stdout, but for a secret.
fn unless_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes human-readable text (tables, CSV, Markdown) to stdout, made safe for a terminal.
fn emit_text(text: &str) -> io::Result<()> {
    emit(&for_terminal(text))
}

/// Set at start-up when fd 1 / fd 2 were closed (`>&-`, `2>&-`): they now point at
/// `/dev/null`, so nothing written there reaches anyone.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Call first thing in `main`. Rust's start-up puts `/dev/null` on a closed stdin, stdout or
/// stderr (so that the next `open` or socket cannot take its number); a secret "printed"
/// there reaches nobody, so stdout on the null device (`>&-`, `>/dev/null`) counts as closed.
pub fn guard_standard_streams() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let null = std::fs::metadata("/dev/null").ok().map(|m| m.rdev());
        let is_null = |fd: i32| {
            // SAFETY: fstat only fills the struct for an fd we own for the process's lifetime.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            let ok = unsafe { libc::fstat(fd, &mut stat) } == 0;
            !ok || ((stat.st_mode & libc::S_IFMT) == libc::S_IFCHR && Some(stat.st_rdev) == null)
        };
        STDOUT_CLOSED.store(is_null(1), Ordering::Relaxed);
        STDERR_CLOSED.store(is_null(2), Ordering::Relaxed);
    }
}

/// One line to stderr that never panics: `eprintln!` panics when stderr is gone (a closed
/// pipe, a full disk), and that must not happen after a key was made.
pub fn stderr_line(line: &str) {
    to_stderr(&format!("{}\n", sanitize(line)));
}

/// Writes a secret to stdout: every failure counts, a closed pipe and a closed stdout too,
/// since the secret would be lost.
fn emit_secret(text: &str) -> io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(io::Error::other("stdout is closed"));
    }
    write_flush(io::stdout().lock(), text)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> io::Result<()> {
    unless_broken_pipe(write_flush(io::stdout().lock(), text))
}

/// Serializes `items` to stdout as a pretty JSON array, or one compact object a line; the
/// same text as going through `serde_json::Value`. A closed pipe is not an error.
fn write_json<T: Serialize>(items: &[T], lines: bool) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut write = || -> io::Result<()> {
        if lines {
            for item in items {
                serde_json::to_writer(&mut out, item)?;
                out.write_all(b"\n")?;
            }
        } else {
            serde_json::to_writer_pretty(&mut out, items)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    unless_broken_pipe(write())
}

impl Printer {
    fn style(&self) -> table::Style {
        table::Style {
            color: self.color,
            width: self.width,
            zone: self.zone,
        }
    }

    /// A fitted table to stdout, and one line on stderr naming what fitting left out.
    fn emit_fitted(&self, fitted: table::Fitted) -> io::Result<()> {
        emit_text(&fitted.text)?;
        if !fitted.hidden.is_empty() && self.width.is_some() {
            // Short enough for an 80-column terminal with every step named.
            self.note(&format!(
                "note: hidden to fit: {} (-o wide shows all)",
                fitted.hidden.join(", ")
            ));
        }
        Ok(())
    }

    /// Prints key records.
    pub fn keys(&self, records: &[KeyRecord]) -> io::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                self.emit_fitted(table::keys(records, &self.style()))
            }
            OutputFormat::Markdown => emit_text(&markdown_keys(records, self.zone)),
            // Straight from the records to stdout: no JSON tree or text of the whole answer
            // in memory (with 10,000 keys that was most of the peak).
            OutputFormat::Json => write_json(records, false),
            OutputFormat::Ndjson => write_json(records, true),
            _ => self.structured(&to_values(records), &columns(KEY_COLUMNS)),
        }
    }

    /// Prints an audit's findings (JSON: the findings array, nothing else).
    pub fn audit(&self, report: &AuditReport<'_>) -> io::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                self.emit_fitted(audit::table(report, &self.style()))
            }
            OutputFormat::Markdown => emit_text(&audit::markdown(report, self.zone)),
            _ => self.structured(
                &to_values(report.findings),
                &columns(&(KEY_COLUMNS.to_owned() + FINDING_COLUMNS)),
            ),
        }
    }

    /// Prints a new key; the secret only when `show_secret` (it was not saved to a file).
    /// With the secret, any failure to write it (even a closed pipe) is an error: the caller
    /// must then not report success (see `commands::deliver_new_key`).
    pub fn new_key(&self, key: &NewKey, show_secret: bool) -> io::Result<()> {
        let mut value = serde_json::to_value(&key.record).unwrap_or(Value::Null);
        if show_secret {
            if let Value::Object(map) = &mut value {
                map.insert(
                    "secret_access_key".into(),
                    Value::String(key.secret.expose().to_string()),
                );
            }
        }
        let text = match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                for_terminal(&table::new_key(key, show_secret, &self.style()))
            }
            // The key's columns up to created_at, then the secret.
            _ => self.render(
                &[value],
                &[&columns(KEY_COLUMNS)[..8], &["secret_access_key"]].concat(),
            )?,
        };
        if show_secret {
            emit_secret(&text)
        } else {
            emit(&text)
        }
    }

    pub fn identities(&self, identities: &[Identity]) -> io::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                emit_text(&table::identities(identities, &self.style()))
            }
            _ => self.structured(&to_values(identities), &columns(IDENTITY_COLUMNS)),
        }
    }

    pub fn profiles(&self, rows: &[ProfileRow]) -> io::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                emit_text(&table::profiles(rows, &self.style()))
            }
            _ => self.structured(&to_values(rows), &columns(PROFILE_COLUMNS)),
        }
    }

    /// Prints records of another shape (e.g. the CCE AK/SK status): in table form one
    /// FIELD/VALUE table per record, otherwise like key records.
    pub fn records(&self, values: &[Value], columns: &[&str]) -> io::Result<()> {
        match self.format {
            OutputFormat::Table | OutputFormat::Wide => {
                emit_text(&table::fields(values, columns, &self.style()))
            }
            _ => self.structured(values, columns),
        }
    }

    /// Confirms a deletion on stdout.
    pub fn deleted(&self, record: &KeyRecord) -> io::Result<()> {
        let user = record.user.as_deref().unwrap_or("-");
        match self.format {
            OutputFormat::Json | OutputFormat::Ndjson => {
                let value = serde_json::json!({
                    "provider": record.provider,
                    "profile": record.profile,
                    "user": record.user,
                    "access_key_id": record.access_key_id,
                    "deleted": true,
                });
                emit(&format!("{value}\n"))
            }
            _ => emit_text(&format!(
                "deleted {} of user {user}\n",
                record.access_key_id
            )),
        }
    }

    /// Prints text meant for stdout as it is (a generated config, a completion script).
    pub fn raw(&self, text: &str) -> io::Result<()> {
        emit(text)
    }

    /// One line to stderr for each error: text, or a JSON object with `-o json`/`ndjson`.
    pub fn error(&self, err: &Error) {
        let line = match self.format {
            OutputFormat::Json | OutputFormat::Ndjson => err.to_json().to_string(),
            _ => format!("error: {err}"),
        };
        stderr_line(&line);
    }

    /// A note for people (stderr), silenced by `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            stderr_line(message);
        }
    }

    fn structured(&self, values: &[Value], columns: &[&str]) -> io::Result<()> {
        emit(&self.render(values, columns)?)
    }

    /// The text `structured` prints (terminal-safe for CSV and Markdown).
    fn render(&self, values: &[Value], columns: &[&str]) -> io::Result<String> {
        Ok(match self.format {
            OutputFormat::Json => {
                let mut text = serde_json::to_string_pretty(values).unwrap_or_default();
                text.push('\n');
                text
            }
            OutputFormat::Ndjson => values.iter().map(|v| format!("{v}\n")).collect::<String>(),
            OutputFormat::Csv => for_terminal(&csv_text(values, columns)?),
            OutputFormat::Markdown => for_terminal(&markdown(values, columns)),
            // Every caller handles tables itself before reaching here.
            OutputFormat::Table | OutputFormat::Wide => String::new(),
        })
    }
}

/// Column lists, space-separated (see [`columns`]).
const KEY_COLUMNS: &str = "provider profile account_id user user_id access_key_id status \
    created_at last_used_at last_used_service last_used_region last_used_precision age_days \
    idle_days";
/// What a finding adds to the columns of the key it is about.
const FINDING_COLUMNS: &str =
    " project_id expires_at rule message allowed allow_reason allow_until";
const IDENTITY_COLUMNS: &str = "provider profile account_id user user_id arn type access_key_id";
const PROFILE_COLUMNS: &str = "name provider access_key_id region endpoint source";

fn columns(names: &str) -> Vec<&str> {
    names.split_whitespace().collect()
}

fn cell(map: &Map<String, Value>, column: &str) -> String {
    match map.get(column) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The columns some row has (e.g. secret_access_key only when printed).
fn present<'a>(values: &[Value], columns: &[&'a str]) -> Vec<&'a str> {
    let has = |c: &&str| {
        values
            .iter()
            .any(|v| v.as_object().is_some_and(|m| m.contains_key(*c)))
    };
    columns.iter().copied().filter(has).collect()
}

fn csv_text(values: &[Value], columns: &[&str]) -> io::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let present = present(values, columns);
    writer.write_record(&present).map_err(io::Error::other)?;
    for value in values {
        let Some(map) = value.as_object() else {
            continue;
        };
        writer
            .write_record(present.iter().map(|c| cell(map, c)))
            .map_err(io::Error::other)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn markdown_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Key records as a Markdown table for people (CI summaries, issues): the columns of the
/// terminal table, key ids as code. `-o csv`/`json` keep every field.
fn markdown_keys(records: &[KeyRecord], zone: Zone) -> String {
    if records.is_empty() {
        return "No access keys found.\n".to_string();
    }
    let mut out = format!(
        "| Cloud | Profile | Account | User | Access key | Status | {} | Age (days) | {} | Idle (days) |\n",
        zone.header("Created"),
        zone.header("Last used"),
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | ---: | --- | ---: |\n");
    let opt = |v: &Option<String>| markdown_escape(v.as_deref().unwrap_or("-"));
    let num = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
    for r in records {
        let last_used = match &r.last_used_at {
            None => "never".to_string(),
            Some(at) if r.last_used_precision.is_some() => cloud_day(at),
            Some(at) => zone.time(at, true),
        };
        let cells = [
            r.provider.to_string(),
            markdown_escape(&r.profile),
            opt(&r.account_id),
            opt(&r.user),
            format!("`{}`", markdown_escape(&r.access_key_id)),
            r.status.to_string(),
            r.created_at
                .as_ref()
                .map(|t| zone.time(t, true))
                .unwrap_or_else(|| "-".into()),
            num(r.age_days),
            last_used,
            num(r.idle_days),
        ];
        out.push_str(&md_row(cells));
    }
    out
}

/// One Markdown table row of `cells`.
fn md_row(cells: impl IntoIterator<Item = String>) -> String {
    format!(
        "| {} |\n",
        cells.into_iter().collect::<Vec<_>>().join(" | ")
    )
}

/// A GitHub-flavoured Markdown table (for CI step summaries).
pub fn markdown(values: &[Value], columns: &[&str]) -> String {
    let present = present(values, columns);
    let mut out = md_row(present.iter().map(|c| c.to_string()));
    out.push_str(&format!("|{}\n", " --- |".repeat(present.len())));
    for value in values {
        let Some(map) = value.as_object() else {
            continue;
        };
        out.push_str(&md_row(
            present.iter().map(|c| markdown_escape(&cell(map, c))),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyStatus, ProviderKind};

    fn record() -> KeyRecord {
        let mut r = KeyRecord::new(ProviderKind::Aws, "prod", "AKIA1".into(), KeyStatus::Active);
        r.user = Some("a|b".into());
        r
    }

    #[test]
    fn csv_has_header_and_rows() {
        let text = csv_text(&to_values(&[record()]), &columns(KEY_COLUMNS)).unwrap();
        let mut lines = text.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("provider,profile,account_id,user"));
        assert!(lines
            .next()
            .unwrap()
            .starts_with("aws,prod,,a|b,,AKIA1,active"));
    }

    #[test]
    fn terminal_text_keeps_colours_and_line_ends_only() {
        // A user name from a hostile answer: set the window title, write the clipboard
        // (OSC 52), clear the screen, ring the bell.
        let hostile = "eve\u{1b}]0;owned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}31m\r";
        let cleaned = for_terminal(&format!("\u{1b}[31mred\u{1b}[0m {hostile}\r\nnext\n"));
        assert_eq!(
            cleaned,
            "\u{1b}[31mred\u{1b}[0m eve\u{fffd}]0;owned\u{fffd}\u{fffd}]52;c;ZXZpbA==\u{fffd}\u{fffd}[2J\u{fffd}31m\u{fffd}\r\nnext\n"
        );
        assert!(!cleaned.contains("\u{1b}]"));
        let mut record = record();
        record.user = Some(hostile.to_string());
        let style = table::Style {
            color: false,
            width: None,
            zone: Zone::Utc,
        };
        let table = for_terminal(&table::keys(&[record], &style).text);
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "{table:?}"
        );
    }

    #[test]
    fn markdown_escapes_pipes() {
        let text = markdown(&to_values(&[record()]), &columns(KEY_COLUMNS));
        assert!(text.starts_with("| provider | profile |"));
        assert!(text.contains("a\\|b"));
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn records_serialize_as_their_json_values() {
        // `keys` writes records directly; the text must be what the `Value` path gives.
        let mut used = record();
        used.last_used_precision = Some("date");
        let records = [record(), used];
        let values = to_values(&records);
        assert_eq!(
            serde_json::to_string_pretty(&records[..]).unwrap(),
            serde_json::to_string_pretty(&values).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&records[1]).unwrap(),
            values[1].to_string()
        );
    }

    /// Today's bytes of every text format, pinned before any refactor of this module:
    /// `GOLDEN_WRITE=1 cargo test --lib output::tests::golden` rewrites the file.
    #[test]
    fn every_format_keeps_its_bytes() {
        use crate::audit::{Finding, Rule};
        use crate::model::{IdentityType, Secret};
        use chrono::TimeZone;
        let at = |d: u32, h: u32| chrono::Utc.with_ymd_and_hms(2026, 3, d, h, 4, 5).unwrap();
        let mut a = record();
        (a.account_id, a.user_id) = (Some("111".into()), Some("AIDA1".into()));
        (a.created_at, a.age_days, a.idle_days) = (Some(at(1, 9)), Some(95), Some(70));
        a.last_used_at = Some(at(20, 23));
        a.last_used_service = Some("s3".into());
        a.last_used_region = Some("us-east-1".into());
        let mut b = KeyRecord::new(
            ProviderKind::Tencent,
            "tc \"q\", x",
            "AKIDlonglonglonglong2".into(),
            KeyStatus::Inactive,
        );
        (b.user, b.created_at, b.age_days) = (Some("bob\nnext".into()), Some(at(2, 1)), Some(3));
        (b.last_used_at, b.last_used_precision) = (Some(at(3, 16)), Some("date"));
        let records = [a.clone(), b];
        let mut out = String::new();
        let mut add = |name: &str, text: String| out.push_str(&format!("== {name}\n{text}"));
        for (color, width) in [
            (false, None),
            (true, None),
            (false, Some(100)),
            (false, Some(60)),
        ]
        .into_iter()
        .chain([(false, Some(40)), (true, Some(30))])
        {
            let style = table::Style {
                color,
                width,
                zone: Zone::Utc,
            };
            let name = format!("{color} {width:?}");
            let fitted = table::keys(&records, &style);
            add(&format!("keys {name} {:?}", fitted.hidden), fitted.text);
            add(
                &format!("keys1 {name}"),
                table::keys(&records[..1], &style).text,
            );
            let key = NewKey {
                record: a.clone(),
                secret: Secret::new("s3cr3t"),
            };
            add(&format!("new {name}"), table::new_key(&key, true, &style));
            add(
                &format!("new hidden {name}"),
                table::new_key(&key, false, &style),
            );
            let identity = Identity {
                provider: ProviderKind::Aws,
                profile: "prod".into(),
                account_id: Some("111".into()),
                user: None,
                user_id: None,
                arn: Some("arn:aws:iam::111:root".into()),
                identity_type: IdentityType::Root,
                access_key_id: "AKIA1".into(),
            };
            add(
                &format!("ids {name}"),
                table::identities(&[identity], &style),
            );
            let profile = ProfileRow {
                name: "prod".into(),
                provider: "aws".into(),
                access_key_id: "AKIA1".into(),
                region: None,
                endpoint: Some("http://x".into()),
                source: "/home/someone/.config/cloudkeys/config.toml and more".into(),
            };
            add(
                &format!("profiles {name}"),
                table::profiles(&[profile], &style),
            );
            add(&format!("profiles0 {name}"), table::profiles(&[], &style));
            add(
                &format!("fields {name}"),
                table::fields(&to_values(&records), &columns(KEY_COLUMNS)[..5], &style),
            );
            add(
                &format!("fields0 {name}"),
                table::fields(&[], &columns(KEY_COLUMNS), &style),
            );
            add(&format!("keys0 {name}"), table::keys(&[], &style).text);
            let mut findings = vec![
                Finding::for_key(
                    &records[0],
                    Rule::MaxAge,
                    "key is 95 days old (max 90)".into(),
                ),
                Finding::for_key(&records[1], Rule::InactiveUnused, "inactive".into()),
                Finding::for_key(&records[0], Rule::MaxIdle, "idle | 70 days".into()),
                Finding::for_key(&records[1], Rule::NeverUsed, "never".into()),
            ];
            findings[2].allowed = true;
            findings[2].allow_reason = Some("migration".into());
            findings[2].allow_until = chrono::NaiveDate::from_ymd_opt(2026, 12, 31);
            (findings[3].allowed, findings[3].last_used_at) = (true, None);
            let mut cce =
                Finding::for_key(&records[0], Rule::CceExpired, "CCE AK/SK expired".into());
            (cce.access_key_id, cce.project_id, cce.expires_at) =
                (None, Some("p1".into()), Some(at(4, 0)));
            findings.insert(0, cce);
            for (n, failed) in [(0, 0), (1, 0), (5, 2), (5, 0)] {
                let report = AuditReport {
                    findings: &findings[..n],
                    keys: n,
                    profiles: 1,
                    failed,
                };
                let fitted = audit::table(&report, &style);
                add(
                    &format!("audit {n} {failed} {name} {:?}", fitted.hidden),
                    fitted.text,
                );
                if !color && width.is_none() {
                    add(
                        &format!("audit md {n} {failed}"),
                        audit::markdown(&report, Zone::Utc),
                    );
                }
            }
        }
        add("md keys", markdown_keys(&records, Zone::Utc));
        add("md keys0", markdown_keys(&[], Zone::Utc));
        for format in [
            OutputFormat::Json,
            OutputFormat::Ndjson,
            OutputFormat::Csv,
            OutputFormat::Markdown,
        ] {
            let printer = Printer {
                format,
                color: false,
                quiet: false,
                width: None,
                zone: Zone::Utc,
            };
            let mut values = to_values(&records);
            values[0]["secret_access_key"] = "s3cr3t".into();
            add(
                &format!("{format:?}"),
                printer.render(&values, &columns(KEY_COLUMNS)).unwrap(),
            );
            add(
                &format!("{format:?} new"),
                printer
                    .render(
                        &values[..1],
                        &[&columns(KEY_COLUMNS)[..8], &["secret_access_key"]].concat(),
                    )
                    .unwrap(),
            );
            add(
                &format!("{format:?} empty"),
                printer.render(&[], &columns(KEY_COLUMNS)).unwrap(),
            );
        }
        add(
            "offsets",
            [0, 3600, -12600, 19800].map(offset_label).join(" ") + "\n",
        );
        add("day", cloud_day(&at(3, 16)) + "\n");
        add("sanitize", sanitize("a\u{1b}[31mb\r\nc\u{9b}\r") + "\n");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/output/golden.txt");
        if std::env::var_os("GOLDEN_WRITE").is_some() {
            std::fs::write(path, &out).unwrap();
        }
        let golden = std::fs::read_to_string(path).unwrap();
        for (line, (want, got)) in golden.lines().zip(out.lines()).enumerate() {
            assert_eq!(want, got, "golden.txt line {}", line + 1);
        }
        assert_eq!(golden, out);
    }
}

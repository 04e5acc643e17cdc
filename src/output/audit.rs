//! The audit report: a table per rule for people, one Markdown table for CI step summaries.

use comfy_table::Cell;

use super::table::{days, fit, last_used_text, Columns, Fitted, Shape, Step, Style};
use super::{markdown_escape, md_row, Zone};
use crate::audit::{Finding, Rule};

/// Findings (worst first, allowed last) and what was read to find them.
pub struct AuditReport<'a> {
    pub findings: &'a [Finding],
    /// Keys audited (each once, however many profiles see it).
    pub keys: usize,
    /// Profiles selected.
    pub profiles: usize,
    /// Targets (profiles, users, projects) that could not be read.
    pub failed: usize,
}

impl AuditReport<'_> {
    fn failing(&self) -> usize {
        self.findings.iter().filter(|f| !f.allowed).count()
    }

    /// One sentence: what was audited, what was found, what could not be read.
    pub fn summary(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let scope = format!(
            "{} of {}",
            plural(self.keys, "key", "keys"),
            plural(self.profiles, "profile", "profiles")
        );
        let allowed = self.findings.len() - self.failing();
        let found = plural(self.failing(), "finding", "findings");
        let mut text = match (self.findings.len(), allowed) {
            (0, _) => format!("no findings: {scope} audited"),
            (_, 0) => format!("{found} in {scope}"),
            _ => format!("{found} ({allowed} allowed) in {scope}"),
        };
        if self.failed > 0 {
            text.push_str(&format!(
                "; {} could not be read (see the errors), so this audit is incomplete",
                plural(self.failed, "target", "targets")
            ));
        }
        text
    }
}

/// What a rule's section lists, and what to do about it.
fn description(rule: Rule) -> &'static str {
    match rule {
        Rule::CceExpired => "CCE long-term AK/SK expired: upload a new one",
        Rule::MaxAge => "active keys past the maximum age: rotate them",
        Rule::MaxIdle => "active keys unused past the maximum idle time: deactivate them",
        Rule::TwoActive => {
            "users with two active keys: finish the rotation, deactivate the older key"
        }
        Rule::NeverUsed => {
            "active keys never used since their creation: deactivate them if nothing needs them"
        }
        Rule::CceExpiring => "CCE long-term AK/SK expiring soon: upload a new one",
        Rule::InactiveUnused => "inactive keys left lying around: delete them",
    }
}

/// The key id, or what the finding is about when it is no key.
fn subject(f: &Finding) -> String {
    match (&f.access_key_id, &f.project_id) {
        (Some(id), _) => id.clone(),
        (None, Some(project)) => format!("project {project}"),
        (None, None) => "-".to_string(),
    }
}

fn last_used(f: &Finding, zone: Zone, time_of_day: bool) -> String {
    let place = [&f.last_used_service, &f.last_used_region];
    let date_only = f.last_used_precision.is_some();
    match last_used_text(&f.last_used_at, date_only, place, zone, time_of_day, false) {
        Some(text) => text,
        None if f.access_key_id.is_some() => "never".to_string(),
        None => "-".to_string(),
    }
}

/// The finding's message says how old or idle the key is, so AGE and LAST USED go before
/// the columns that say where the key is; the finding wraps last.
const STEPS: [Step; 5] = [
    Step {
        name: "time of day",
        of: &["LAST USED"],
    },
    Step::column("AGE"),
    Step::column("LAST USED"),
    Step::column("PROFILE"),
    Step::column("CLOUD"),
];

/// Prose broken between words into lines of at most `width` characters (on a terminal).
fn wrap_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// A section per rule, worst first, then the allowed findings, then the summary.
pub fn table(report: &AuditReport<'_>, style: &Style) -> Fitted {
    let findings = report.findings;
    let shape = Shape::of_places(findings, |f| (f.provider, f.profile.as_str()));
    let zone = style.zone;
    // Bold headings, a red or green mark: raw SGR codes, outside the tables.
    let paint = |code: u8, text: &str| match style.color {
        true => format!("\x1b[{code}m{text}\x1b[0m"),
        false => text.to_string(),
    };

    let mut out = Fitted::default();
    let failing: Vec<&Finding> = findings.iter().filter(|f| !f.allowed).collect();
    for rule in Rule::ALL {
        let rows: Vec<&Finding> = failing.iter().copied().filter(|f| f.rule == rule).collect();
        if rows.is_empty() {
            continue;
        }
        let mut heading = format!("{rule} ({}): {}", rows.len(), description(rule));
        if let Some(width) = style.width {
            heading = wrap_words(&heading, width);
        }
        out.text.push_str(&format!("{}\n", paint(1, &heading)));
        let about_keys = rows.iter().all(|f| f.access_key_id.is_some());
        out.push(fit(style, shape.clone(), &STEPS, |shape| {
            let mut table = Columns::new(&rows, shape);
            table
                .add("CLOUD", |f| Cell::new(f.provider.as_str()))
                .add("PROFILE", |f| Cell::new(&f.profile));
            if about_keys {
                table
                    .add("USER", |f| Cell::new(f.user.as_deref().unwrap_or("-")))
                    .add("ACCESS KEY ID", |f| Cell::new(subject(f)))
                    .add("AGE", |f| Cell::new(days(f.age_days)))
                    .add_as("LAST USED", zone.header("LAST USED"), None, |f| {
                        Cell::new(last_used(f, zone, shape.has("time of day")))
                    });
            } else {
                table
                    .add("PROJECT", |f| {
                        Cell::new(f.project_id.as_deref().unwrap_or("-"))
                    })
                    .add_as("EXPIRES", zone.header("EXPIRES"), None, |f| {
                        Cell::new(
                            f.expires_at
                                .as_ref()
                                .map(|t| zone.time(t, shape.has("time of day")))
                                .unwrap_or_else(|| "-".into()),
                        )
                    });
            }
            table.add_as("FINDING", "FINDING".into(), Some(24), |f| {
                Cell::new(&f.message)
            });
            table.list
        }));
        out.text.push('\n');
    }
    let allowed: Vec<&Finding> = findings.iter().filter(|f| f.allowed).collect();
    if !allowed.is_empty() {
        out.text.push_str(&format!(
            "allowed: findings waived by the allow-list, not failures ({})\n",
            allowed.len()
        ));
        out.push(fit(style, shape.clone(), &STEPS, |shape| {
            let mut table = Columns::new(&allowed, shape);
            table
                .add("RULE", |f| Cell::new(f.rule.as_str()))
                .add("CLOUD", |f| Cell::new(f.provider.as_str()))
                .add("PROFILE", |f| Cell::new(&f.profile))
                .add("USER", |f| Cell::new(f.user.as_deref().unwrap_or("-")))
                .add("ACCESS KEY ID", |f| Cell::new(subject(f)))
                .add_as("REASON", "REASON".into(), Some(20), |f| {
                    Cell::new(f.allow_reason.as_deref().unwrap_or("-"))
                })
                // The allow-list's own date: the last day it holds, as written in the config.
                .add("UNTIL", |f| {
                    Cell::new(f.allow_until.map_or_else(|| "-".into(), |d| d.to_string()))
                });
            table.list
        }));
        out.text.push('\n');
    }
    let summary = report.summary();
    let failed = report.failing() > 0 || report.failed > 0;
    let mark = if failed {
        paint(31, "✗")
    } else {
        paint(32, "✓")
    };
    out.text.push_str(&format!("{mark} {summary}\n"));
    out
}

/// One GitHub-flavoured Markdown table, worst first, for `$GITHUB_STEP_SUMMARY`.
pub fn markdown(report: &AuditReport<'_>, zone: Zone) -> String {
    let failing = report.failing();
    let title = match (failing, report.failed) {
        (0, 0) => "✅ cloudkeys audit: no findings".to_string(),
        (0, _) => "⚠️ cloudkeys audit: incomplete".to_string(),
        (n, _) => format!(
            "❌ cloudkeys audit: {n} {}",
            if n == 1 { "finding" } else { "findings" }
        ),
    };
    let mut out = format!("### {title}\n\n");
    if !report.findings.is_empty() {
        out.push_str(&format!(
            "| Rule | Cloud | Profile | User | Access key | Status | Age (days) | {} | Finding | Allowed |\n",
            zone.header("Last used")
        ));
        out.push_str("| --- | --- | --- | --- | --- | --- | ---: | --- | --- | --- |\n");
        for f in report.findings {
            let allowed = if f.allowed {
                let reason = f.allow_reason.as_deref().unwrap_or("");
                match f.allow_until {
                    Some(until) => format!("yes: {reason} (until {until})"),
                    None => format!("yes: {reason}"),
                }
            } else {
                String::new()
            };
            let cells = [
                format!("`{}`", f.rule),
                f.provider.to_string(),
                markdown_escape(&f.profile),
                markdown_escape(f.user.as_deref().unwrap_or("-")),
                format!("`{}`", markdown_escape(&subject(f))),
                f.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.age_days
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                last_used(f, zone, true),
                markdown_escape(&f.message),
                markdown_escape(&allowed),
            ];
            out.push_str(&md_row(cells));
        }
        out.push('\n');
    }
    let mut summary = report.summary();
    if let Some(first) = summary.get(..1) {
        summary = format!("{}{}", first.to_uppercase(), &summary[1..]);
    }
    out.push_str(&format!("{summary}.\n"));
    out
}

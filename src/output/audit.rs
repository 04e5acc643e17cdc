//! The audit report: a table per rule for people, one Markdown table for CI step summaries.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{markdown_escape, short_time};
use crate::model::{Finding, Rule};

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
        let mut text = if self.findings.is_empty() {
            format!("no findings: {scope} audited")
        } else if allowed == 0 {
            format!(
                "{} in {scope}",
                plural(self.failing(), "finding", "findings")
            )
        } else {
            format!(
                "{} ({allowed} allowed) in {scope}",
                plural(self.failing(), "finding", "findings")
            )
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

fn last_used(f: &Finding) -> String {
    match (&f.last_used_at, &f.access_key_id) {
        (Some(at), _) if f.last_used_precision.is_some() => at
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
            .format("%Y-%m-%d")
            .to_string(),
        (Some(at), _) => short_time(at),
        (None, Some(_)) => "never".to_string(),
        (None, None) => "-".to_string(),
    }
}

fn days(value: Option<i64>) -> String {
    value.map(|d| format!("{d}d")).unwrap_or_else(|| "-".into())
}

fn new_table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().copied());
    table
}

/// A section per rule, worst first, then the allowed findings, then the summary.
pub fn table(report: &AuditReport<'_>, color: bool) -> String {
    let findings = report.findings;
    let first = findings.first();
    let many_providers = findings
        .iter()
        .any(|f| Some(f.provider) != first.map(|f| f.provider));
    let many_profiles = findings
        .iter()
        .any(|f| Some(&f.profile) != first.map(|f| &f.profile));
    let place = |f: &Finding, row: &mut Vec<Cell>| {
        if many_providers {
            row.push(Cell::new(f.provider.as_str()));
        }
        if many_profiles {
            row.push(Cell::new(&f.profile));
        }
        row.push(Cell::new(f.user.as_deref().unwrap_or("-")));
        row.push(Cell::new(subject(f)));
    };
    let mut headers: Vec<&str> = Vec::new();
    if many_providers {
        headers.push("CLOUD");
    }
    if many_profiles {
        headers.push("PROFILE");
    }
    headers.extend(["USER", "ACCESS KEY ID"]);

    let mut out = String::new();
    let failing: Vec<&Finding> = findings.iter().filter(|f| !f.allowed).collect();
    for rule in Rule::ALL {
        let rows: Vec<&&Finding> = failing.iter().filter(|f| f.rule == rule).collect();
        if rows.is_empty() {
            continue;
        }
        let heading = format!("{rule} ({}): {}", rows.len(), description(rule));
        if color {
            out.push_str(&format!("\x1b[1m{heading}\x1b[0m\n"));
        } else {
            out.push_str(&format!("{heading}\n"));
        }
        let about_keys = rows.iter().all(|f| f.access_key_id.is_some());
        let mut all: Vec<&str> = headers[..headers.len() - 2].to_vec();
        if about_keys {
            all.extend(["USER", "ACCESS KEY ID", "AGE", "LAST USED", "FINDING"]);
        } else {
            all.extend(["PROJECT", "EXPIRES", "FINDING"]);
        }
        let mut table = new_table(&all);
        for f in rows {
            let mut row = Vec::new();
            if about_keys {
                place(f, &mut row);
                row.push(Cell::new(days(f.age_days)));
                row.push(Cell::new(last_used(f)));
            } else {
                place(f, &mut row);
                row.truncate(row.len() - 2);
                row.push(Cell::new(f.project_id.as_deref().unwrap_or("-")));
                row.push(Cell::new(
                    f.expires_at
                        .as_ref()
                        .map(short_time)
                        .unwrap_or_else(|| "-".into()),
                ));
            }
            row.push(Cell::new(&f.message));
            table.add_row(row);
        }
        out.push_str(&format!("{table}\n\n"));
    }
    let allowed: Vec<&Finding> = findings.iter().filter(|f| f.allowed).collect();
    if !allowed.is_empty() {
        out.push_str(&format!(
            "allowed: findings waived by the allow-list, not failures ({})\n",
            allowed.len()
        ));
        let mut all = vec!["RULE"];
        all.extend(headers.iter().copied());
        all.extend(["REASON", "UNTIL"]);
        let mut table = new_table(&all);
        for f in allowed {
            let mut row = vec![Cell::new(f.rule.as_str())];
            place(f, &mut row);
            row.push(Cell::new(f.allow_reason.as_deref().unwrap_or("-")));
            row.push(Cell::new(
                f.allow_until
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
            ));
            table.add_row(row);
        }
        out.push_str(&format!("{table}\n\n"));
    }
    let summary = report.summary();
    let mark = match (report.failing(), report.failed) {
        (0, 0) => ("✓", Color::Green),
        _ => ("✗", Color::Red),
    };
    if color {
        let code = if mark.1 == Color::Green { 32 } else { 31 };
        out.push_str(&format!("\x1b[{code}m{}\x1b[0m {summary}\n", mark.0));
    } else {
        out.push_str(&format!("{} {summary}\n", mark.0));
    }
    out
}

/// One GitHub-flavoured Markdown table, worst first, for `$GITHUB_STEP_SUMMARY`.
pub fn markdown(report: &AuditReport<'_>) -> String {
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
        out.push_str(
            "| Rule | Cloud | Profile | User | Access key | Status | Age (days) | Last used | Finding | Allowed |\n",
        );
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
                last_used(f),
                markdown_escape(&f.message),
                markdown_escape(&allowed),
            ];
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
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

//! Tables for people: status and age readable at a glance, colour only when allowed.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{short_time, ProfileRow};
use crate::model::{Identity, KeyRecord, KeyStatus, NewKey};

fn new_table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().copied());
    table
}

fn colored(text: String, color: Option<Color>, enabled: bool) -> Cell {
    match (color, enabled) {
        (Some(color), true) => Cell::new(text).fg(color),
        _ => Cell::new(text),
    }
}

fn age_color(days: Option<i64>) -> Option<Color> {
    match days {
        Some(d) if d > 90 => Some(Color::Red),
        Some(d) if d > 60 => Some(Color::Yellow),
        _ => None,
    }
}

fn last_used(record: &KeyRecord) -> String {
    match &record.last_used_at {
        None => "never".to_string(),
        Some(at) => {
            let mut text = if record.last_used_precision.is_some() {
                at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid"))
                    .format("%Y-%m-%d")
                    .to_string()
            } else {
                short_time(at)
            };
            let place: Vec<&str> = [&record.last_used_service, &record.last_used_region]
                .into_iter()
                .filter_map(|v| v.as_deref())
                .collect();
            if !place.is_empty() {
                text.push_str(&format!(" ({})", place.join(", ")));
            }
            text
        }
    }
}

/// Key records; the provider and profile columns only when rows differ in them.
pub fn keys(records: &[KeyRecord], color: bool) -> String {
    if records.is_empty() {
        return "no access keys found\n".to_string();
    }
    let many_profiles = records.iter().any(|r| r.profile != records[0].profile);
    let many_providers = records.iter().any(|r| r.provider != records[0].provider);
    let mut headers = Vec::new();
    if many_providers {
        headers.push("CLOUD");
    }
    if many_profiles {
        headers.push("PROFILE");
    }
    headers.extend([
        "USER",
        "ACCESS KEY ID",
        "STATUS",
        "CREATED",
        "AGE",
        "LAST USED",
        "IDLE",
    ]);
    let mut table = new_table(&headers);
    for r in records {
        let mut row = Vec::new();
        if many_providers {
            row.push(Cell::new(r.provider.as_str()));
        }
        if many_profiles {
            row.push(Cell::new(&r.profile));
        }
        let status_color = match r.status {
            KeyStatus::Active => Color::Green,
            KeyStatus::Inactive => Color::DarkGrey,
        };
        row.push(Cell::new(r.user.as_deref().unwrap_or("-")));
        row.push(Cell::new(&r.access_key_id));
        row.push(colored(r.status.to_string(), Some(status_color), color));
        row.push(Cell::new(
            r.created_at
                .as_ref()
                .map(short_time)
                .unwrap_or_else(|| "-".into()),
        ));
        row.push(colored(
            r.age_days
                .map(|d| format!("{d}d"))
                .unwrap_or_else(|| "-".into()),
            age_color(r.age_days),
            color,
        ));
        row.push(Cell::new(last_used(r)));
        row.push(colored(
            r.idle_days
                .map(|d| format!("{d}d"))
                .unwrap_or_else(|| "-".into()),
            age_color(r.idle_days),
            color,
        ));
        table.add_row(row);
    }
    format!("{table}\n")
}

pub fn new_key(key: &NewKey, show_secret: bool, color: bool) -> String {
    let r = &key.record;
    let mut table = new_table(&["FIELD", "VALUE"]);
    table.add_row(vec!["profile", &r.profile]);
    table.add_row(vec!["user", r.user.as_deref().unwrap_or("-")]);
    table.add_row(vec!["access key id", &r.access_key_id]);
    table.add_row(vec!["status", r.status.as_str()]);
    if show_secret {
        table.add_row(vec![
            Cell::new("secret access key"),
            colored(key.secret.expose().to_string(), Some(Color::Yellow), color),
        ]);
    }
    let mut text = format!("{table}\n");
    if show_secret {
        text.push_str("This secret is shown once: store it now.\n");
    }
    text
}

pub fn identities(identities: &[Identity]) -> String {
    let mut table = new_table(&[
        "PROFILE",
        "PROVIDER",
        "ACCOUNT",
        "USER",
        "TYPE",
        "ACCESS KEY ID",
    ]);
    for i in identities {
        table.add_row(vec![
            i.profile.clone(),
            i.provider.to_string(),
            i.account_id.clone().unwrap_or_else(|| "-".into()),
            i.user.clone().unwrap_or_else(|| "-".into()),
            format!("{:?}", i.identity_type).to_lowercase(),
            i.access_key_id.clone(),
        ]);
    }
    format!("{table}\n")
}

pub fn profiles(rows: &[ProfileRow]) -> String {
    if rows.is_empty() {
        return "no profiles found\n".to_string();
    }
    let mut table = new_table(&["NAME", "PROVIDER", "ACCESS KEY ID", "REGION", "SOURCE"]);
    for p in rows {
        table.add_row(vec![
            p.name.clone(),
            p.provider.clone(),
            p.access_key_id.clone(),
            p.region.clone().unwrap_or_else(|| "-".into()),
            p.source.clone(),
        ]);
    }
    format!("{table}\n")
}

/// One FIELD/VALUE table per record, fields in `columns` order, `-` for null.
pub fn fields(values: &[serde_json::Value], columns: &[&str]) -> String {
    if values.is_empty() {
        return "nothing found\n".to_string();
    }
    let mut out = String::new();
    for value in values {
        let Some(map) = value.as_object() else {
            continue;
        };
        let mut table = new_table(&["FIELD", "VALUE"]);
        for column in columns {
            let text = super::cell(map, column);
            table.add_row(vec![
                column.to_string(),
                if text.is_empty() { "-".into() } else { text },
            ]);
        }
        out.push_str(&format!("{table}\n"));
    }
    out
}

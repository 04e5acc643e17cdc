//! Tables for people: status and age readable at a glance, colour only when allowed, and on
//! a terminal fitted to its width the way `gh` and `kubectl` do it: no borders, and the least
//! useful detail left out first, never an id split over lines.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};

use super::{cloud_day, ProfileRow, Zone};
use crate::model::{Identity, KeyRecord, KeyStatus, NewKey};

/// How tables are drawn: colour, the terminal width to fit (`None`: every column, no
/// fitting) and the zone times are shown in.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: Option<usize>,
    pub zone: Zone,
}

/// A drawn table and what was left out to fit it (for the one-line note on stderr).
#[derive(Debug, Default)]
pub struct Fitted {
    pub text: String,
    pub hidden: Vec<&'static str>,
}

impl Fitted {
    pub(super) fn push(&mut self, other: Fitted) {
        self.text.push_str(&other.text);
        for name in other.hidden {
            if !self.hidden.contains(&name) {
                self.hidden.push(name);
            }
        }
    }
}

/// One column: ids never wrap; a `wrap_to` column (free text) may wrap down to that width.
pub(super) struct Column {
    pub header: String,
    pub cells: Vec<Cell>,
    pub wrap_to: Option<usize>,
}

impl Column {
    pub fn new(header: impl Into<String>) -> Self {
        Column {
            header: header.into(),
            cells: Vec::new(),
            wrap_to: None,
        }
    }

    pub fn wrapping(header: impl Into<String>, wrap_to: usize) -> Self {
        Column {
            wrap_to: Some(wrap_to),
            ..Column::new(header)
        }
    }
}

/// One way to make a table narrower: `name` for the note, whether it `applies` to a shape,
/// what it does, and whether a later step made it `moot` (left out what it shortened).
pub(super) struct Step<S> {
    pub name: &'static str,
    pub applies: fn(&S) -> bool,
    pub apply: fn(&mut S),
    pub moot: fn(&S) -> bool,
}

/// Columns are two spaces apart, as in `gh` and `kubectl`.
const GAP: usize = 2;

/// The table of `columns`, and each column's `wrap_to`.
fn table_of(columns: Vec<Column>) -> (Table, Vec<Option<usize>>) {
    let wraps = columns.iter().map(|c| c.wrap_to).collect();
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(columns.iter().map(|c| Cell::new(&c.header)));
    let rows = columns.first().map_or(0, |c| c.cells.len());
    let mut cells: Vec<std::vec::IntoIter<Cell>> =
        columns.into_iter().map(|c| c.cells.into_iter()).collect();
    for _ in 0..rows {
        table.add_row(
            cells
                .iter_mut()
                .filter_map(Iterator::next)
                .collect::<Vec<_>>(),
        );
    }
    let count = table.column_count();
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if index + 1 < count { GAP as u16 } else { 0 }));
    }
    (table, wraps)
}

/// The width a table needs: its columns' widths (wrapping ones at their narrowest) and gaps.
fn needed(wraps: &[Option<usize>], natural: &[u16], wrapping: bool) -> usize {
    let content: usize = wraps
        .iter()
        .zip(natural)
        .map(|(wrap_to, &w)| match wrap_to {
            Some(m) if wrapping => (*m).min(w as usize),
            _ => w as usize,
        })
        .sum();
    content + GAP * natural.len().saturating_sub(1)
}

/// Draws the columns `build` gives for `shape`; with a width, first applies `steps` (each
/// leaves out something, named for the note) in order until the table fits, then lets
/// the free-text columns wrap. Ids never wrap: a line longer than the terminal is better
/// than a key id split in two.
pub(super) fn fit<S>(
    style: &Style,
    mut shape: S,
    steps: &[Step<S>],
    build: impl Fn(&S) -> Vec<Column>,
) -> Fitted {
    let (mut table, mut wraps) = table_of(build(&shape));
    let Some(width) = style.width else {
        return Fitted {
            text: render(table),
            hidden: Vec::new(),
        };
    };
    let mut taken = Vec::new();
    let mut natural = table.column_max_content_widths();
    for step in steps {
        if needed(&wraps, &natural, true) <= width {
            break;
        }
        if (step.applies)(&shape) {
            (step.apply)(&mut shape);
            taken.push(step);
            (table, wraps) = table_of(build(&shape));
            natural = table.column_max_content_widths();
        }
    }
    // Named in the note: what is missing in the end (no "time of day" once the times went).
    let hidden = taken
        .iter()
        .filter(|step| !(step.moot)(&shape))
        .map(|step| step.name)
        .collect();
    if needed(&wraps, &natural, false) > width {
        // Only the free-text columns give way; every other column keeps its whole width.
        table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        let last = wraps.len().saturating_sub(1);
        for (index, (column, wrap_to)) in table.column_iter_mut().zip(&wraps).enumerate() {
            // comfy-table's widths include the padding (the gap after all but the last).
            let padding = if index < last { GAP as u16 } else { 0 };
            column.set_constraint(match wrap_to {
                None => ColumnConstraint::Absolute(Width::Fixed(natural[index] + padding)),
                Some(least) => ColumnConstraint::LowerBoundary(Width::Fixed(
                    u16::try_from(*least)
                        .unwrap_or(u16::MAX)
                        .min(natural[index])
                        + padding,
                )),
            });
        }
    }
    Fitted {
        text: render(table),
        hidden,
    }
}

/// Lines without the trailing spaces of the last column.
fn render(table: Table) -> String {
    let mut text = table.trim_fmt();
    text.push('\n');
    text
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

/// A last use: the time (a cloud's calendar day in its own zone), then where.
pub(super) fn last_used_text(
    at: &Option<chrono::DateTime<chrono::Utc>>,
    date_only: bool,
    place: [&Option<String>; 2],
    zone: Zone,
    time_of_day: bool,
    with_place: bool,
) -> Option<String> {
    let at = at.as_ref()?;
    let mut text = if date_only {
        cloud_day(at)
    } else {
        zone.time(at, time_of_day)
    };
    let place: Vec<&str> = place.into_iter().filter_map(|v| v.as_deref()).collect();
    if with_place && !place.is_empty() {
        text.push_str(&format!(" ({})", place.join(", ")));
    }
    Some(text)
}

/// What the key table shows; fitting turns these off one by one.
#[derive(Clone)]
struct KeyShape {
    cloud: bool,
    profile: bool,
    time_of_day: bool,
    place: bool,
    created: bool,
    last_used: bool,
}

/// Least useful first: the time of day, where a key was last used, then the columns another
/// one repeats (AGE says what CREATED does, IDLE what LAST USED does), profile before cloud.
const KEY_STEPS: [Step<KeyShape>; 6] = [
    Step {
        name: "time of day",
        applies: |s| s.time_of_day,
        apply: |s| s.time_of_day = false,
        moot: |s| !s.created && !s.last_used,
    },
    Step {
        name: "service/region",
        applies: |s| s.place && s.last_used,
        apply: |s| s.place = false,
        moot: |s| !s.last_used,
    },
    Step {
        name: "CREATED",
        applies: |s| s.created,
        apply: |s| s.created = false,
        moot: |_| false,
    },
    Step {
        name: "LAST USED",
        applies: |s| s.last_used,
        apply: |s| s.last_used = false,
        moot: |_| false,
    },
    Step {
        name: "PROFILE",
        applies: |s| s.profile,
        apply: |s| s.profile = false,
        moot: |_| false,
    },
    Step {
        name: "CLOUD",
        applies: |s| s.cloud,
        apply: |s| s.cloud = false,
        moot: |_| false,
    },
];

/// Key records; the provider and profile columns only when rows differ in them.
pub fn keys(records: &[KeyRecord], style: &Style) -> Fitted {
    if records.is_empty() {
        return Fitted {
            text: "no access keys found\n".to_string(),
            hidden: Vec::new(),
        };
    }
    let shape = KeyShape {
        cloud: records.iter().any(|r| r.provider != records[0].provider),
        profile: records.iter().any(|r| r.profile != records[0].profile),
        time_of_day: true,
        place: true,
        created: true,
        last_used: true,
    };
    let color = style.color;
    let zone = style.zone;
    fit(style, shape, &KEY_STEPS, |shape| {
        let mut cloud = Column::new("CLOUD");
        let mut profile = Column::new("PROFILE");
        let mut user = Column::new("USER");
        let mut id = Column::new("ACCESS KEY ID");
        let mut status = Column::new("STATUS");
        let mut created = Column::new(zone.header("CREATED"));
        let mut age = Column::new("AGE");
        let mut last_used = Column::new(zone.header("LAST USED"));
        let mut idle = Column::new("IDLE");
        for r in records {
            cloud.cells.push(Cell::new(r.provider.as_str()));
            profile.cells.push(Cell::new(&r.profile));
            user.cells.push(Cell::new(r.user.as_deref().unwrap_or("-")));
            id.cells.push(Cell::new(&r.access_key_id));
            let status_color = match r.status {
                KeyStatus::Active => Color::Green,
                KeyStatus::Inactive => Color::DarkGrey,
            };
            status
                .cells
                .push(colored(r.status.to_string(), Some(status_color), color));
            created.cells.push(Cell::new(
                r.created_at
                    .as_ref()
                    .map(|t| zone.time(t, shape.time_of_day))
                    .unwrap_or_else(|| "-".into()),
            ));
            age.cells
                .push(colored(days(r.age_days), age_color(r.age_days), color));
            last_used.cells.push(Cell::new(
                last_used_text(
                    &r.last_used_at,
                    r.last_used_precision.is_some(),
                    [&r.last_used_service, &r.last_used_region],
                    zone,
                    shape.time_of_day,
                    shape.place,
                )
                .unwrap_or_else(|| "never".into()),
            ));
            idle.cells
                .push(colored(days(r.idle_days), age_color(r.idle_days), color));
        }
        let mut columns = Vec::new();
        if shape.cloud {
            columns.push(cloud);
        }
        if shape.profile {
            columns.push(profile);
        }
        columns.extend([user, id, status]);
        if shape.created {
            columns.push(created);
        }
        columns.push(age);
        if shape.last_used {
            columns.push(last_used);
        }
        columns.push(idle);
        columns
    })
}

pub(super) fn days(value: Option<i64>) -> String {
    value.map(|d| format!("{d}d")).unwrap_or_else(|| "-".into())
}

/// A table with no fitting steps: fitted only by wrapping its free-text columns.
fn plain(style: &Style, columns: Vec<Column>) -> String {
    let columns = std::cell::RefCell::new(Some(columns));
    // No steps: `build` runs once.
    fit(style, (), &[], |_| {
        columns.borrow_mut().take().unwrap_or_default()
    })
    .text
}

/// A FIELD/VALUE table (nothing in it wraps: a secret must copy whole).
fn field_table(style: &Style, rows: Vec<(String, Cell)>) -> String {
    let mut field = Column::new("FIELD");
    let mut value = Column::new("VALUE");
    for (name, cell) in rows {
        field.cells.push(Cell::new(name));
        value.cells.push(cell);
    }
    plain(style, vec![field, value])
}

pub fn new_key(key: &NewKey, show_secret: bool, style: &Style) -> String {
    let r = &key.record;
    let mut rows = vec![
        ("profile".to_string(), Cell::new(&r.profile)),
        (
            "user".to_string(),
            Cell::new(r.user.as_deref().unwrap_or("-")),
        ),
        ("access key id".to_string(), Cell::new(&r.access_key_id)),
        ("status".to_string(), Cell::new(r.status.as_str())),
    ];
    if show_secret {
        rows.push((
            "secret access key".to_string(),
            colored(
                key.secret.expose().to_string(),
                Some(Color::Yellow),
                style.color,
            ),
        ));
    }
    let mut text = field_table(style, rows);
    if show_secret {
        text.push_str("This secret is shown once: store it now.\n");
    }
    text
}

pub fn identities(identities: &[Identity], style: &Style) -> String {
    let headers = [
        "PROFILE",
        "PROVIDER",
        "ACCOUNT",
        "USER",
        "TYPE",
        "ACCESS KEY ID",
    ];
    let mut columns: Vec<Column> = headers.iter().map(|h| Column::new(*h)).collect();
    for i in identities {
        let values = [
            i.profile.clone(),
            i.provider.to_string(),
            i.account_id.clone().unwrap_or_else(|| "-".into()),
            i.user.clone().unwrap_or_else(|| "-".into()),
            format!("{:?}", i.identity_type).to_lowercase(),
            i.access_key_id.clone(),
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.cells.push(Cell::new(value));
        }
    }
    plain(style, columns)
}

pub fn profiles(rows: &[ProfileRow], style: &Style) -> String {
    if rows.is_empty() {
        return "no profiles found\n".to_string();
    }
    let mut columns: Vec<Column> = ["NAME", "PROVIDER", "ACCESS KEY ID", "REGION"]
        .iter()
        .map(|h| Column::new(*h))
        .collect();
    // Paths may wrap; names and ids may not.
    columns.push(Column::wrapping("SOURCE", 20));
    for p in rows {
        let values = [
            p.name.clone(),
            p.provider.clone(),
            p.access_key_id.clone(),
            p.region.clone().unwrap_or_else(|| "-".into()),
            p.source.clone(),
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.cells.push(Cell::new(value));
        }
    }
    plain(style, columns)
}

/// One FIELD/VALUE table per record, fields in `columns` order, `-` for null.
pub fn fields(values: &[serde_json::Value], columns: &[&str], style: &Style) -> String {
    if values.is_empty() {
        return "nothing found\n".to_string();
    }
    let mut out = String::new();
    for value in values {
        let Some(map) = value.as_object() else {
            continue;
        };
        let rows = columns
            .iter()
            .map(|column| {
                let text = super::cell(map, column);
                let text = if text.is_empty() { "-".into() } else { text };
                (column.to_string(), Cell::new(text))
            })
            .collect();
        out.push_str(&field_table(style, rows));
        out.push('\n');
    }
    out
}

//! Tables for people: status and age readable at a glance, colour only when allowed, and on
//! a terminal fitted to its width the way `gh` and `kubectl` do it: no borders, and the least
//! useful detail left out first, never an id split over lines.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};

use super::{cloud_day, ProfileRow, Zone};
use crate::model::{Identity, KeyRecord, KeyStatus, NewKey, ProviderKind};

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

/// The columns of a table over `rows`; a column whose name the shape hides is left out.
pub(super) struct Columns<'a, T> {
    rows: &'a [T],
    shape: &'a Shape,
    pub list: Vec<Column>,
}

impl<'a, T> Columns<'a, T> {
    pub fn new(rows: &'a [T], shape: &'a Shape) -> Self {
        Columns {
            rows,
            shape,
            list: Vec::new(),
        }
    }

    /// A column headed by its name.
    pub fn add(&mut self, name: &str, cell: impl Fn(&T) -> Cell) -> &mut Self {
        self.add_as(name, name.to_string(), None, cell)
    }

    /// A column with a header of its own (e.g. naming the zone); `wrap_to` as in [`Column`].
    pub fn add_as(
        &mut self,
        name: &str,
        header: String,
        wrap_to: Option<usize>,
        cell: impl Fn(&T) -> Cell,
    ) -> &mut Self {
        if self.shape.has(name) {
            let cells = self.rows.iter().map(cell).collect();
            self.list.push(Column {
                header,
                cells,
                wrap_to,
            });
        }
        self
    }
}

/// What a table shows: everything but the columns and details (by name) left out to fit it.
#[derive(Clone, Default)]
pub(super) struct Shape {
    hidden: Vec<&'static str>,
}

impl Shape {
    /// Everything but `hidden` (e.g. a CLOUD column when every row has the same cloud).
    pub fn without(hidden: impl IntoIterator<Item = Option<&'static str>>) -> Self {
        Shape {
            hidden: hidden.into_iter().flatten().collect(),
        }
    }

    /// Everything, but CLOUD and PROFILE only when the rows' (cloud, profile) differ in them.
    pub fn of_places<T>(rows: &[T], place: impl Fn(&T) -> (ProviderKind, &str)) -> Self {
        let places: Vec<_> = rows.iter().map(place).collect();
        let first = places.first();
        Shape::without([
            places
                .iter()
                .all(|p| Some(p.0) == first.map(|f| f.0))
                .then_some("CLOUD"),
            places
                .iter()
                .all(|p| Some(p.1) == first.map(|f| f.1))
                .then_some("PROFILE"),
        ])
    }

    pub fn has(&self, name: &str) -> bool {
        !self.hidden.contains(&name)
    }
}

/// One way to make a table narrower: leave out `name` (a column, or a detail of some), named
/// in the note unless all the columns it shortened (`of`) were left out later (moot).
pub(super) struct Step {
    pub name: &'static str,
    pub of: &'static [&'static str],
}

impl Step {
    /// Leaves out a whole column.
    pub const fn column(name: &'static str) -> Self {
        Step { name, of: &[] }
    }

    fn moot(&self, shape: &Shape) -> bool {
        !self.of.is_empty() && self.of.iter().all(|column| !shape.has(column))
    }
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
pub(super) fn fit(
    style: &Style,
    mut shape: Shape,
    steps: &[Step],
    build: impl Fn(&Shape) -> Vec<Column>,
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
        if shape.has(step.name) && !step.moot(&shape) {
            shape.hidden.push(step.name);
            taken.push(step);
            (table, wraps) = table_of(build(&shape));
            natural = table.column_max_content_widths();
        }
    }
    // Named in the note: what is missing in the end (no "time of day" once the times went).
    let hidden = taken
        .iter()
        .filter(|step| !step.moot(&shape))
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

/// Least useful first: the time of day, where a key was last used, then the columns another
/// one repeats (AGE says what CREATED does, IDLE what LAST USED does), profile before cloud.
const KEY_STEPS: [Step; 6] = [
    Step {
        name: "time of day",
        of: &["CREATED", "LAST USED"],
    },
    Step {
        name: "service/region",
        of: &["LAST USED"],
    },
    Step::column("CREATED"),
    Step::column("LAST USED"),
    Step::column("PROFILE"),
    Step::column("CLOUD"),
];

/// Key records; the provider and profile columns only when rows differ in them.
pub fn keys(records: &[KeyRecord], style: &Style) -> Fitted {
    if records.is_empty() {
        return Fitted {
            text: "no access keys found\n".to_string(),
            hidden: Vec::new(),
        };
    }
    let shape = Shape::of_places(records, |r| (r.provider, r.profile.as_str()));
    let color = style.color;
    let zone = style.zone;
    fit(style, shape, &KEY_STEPS, |shape| {
        let time_of_day = shape.has("time of day");
        let mut table = Columns::new(records, shape);
        table
            .add("CLOUD", |r| Cell::new(r.provider.as_str()))
            .add("PROFILE", |r| Cell::new(&r.profile))
            .add("USER", |r| Cell::new(r.user.as_deref().unwrap_or("-")))
            .add("ACCESS KEY ID", |r| Cell::new(&r.access_key_id))
            .add("STATUS", |r| {
                let status_color = match r.status {
                    KeyStatus::Active => Color::Green,
                    KeyStatus::Inactive => Color::DarkGrey,
                };
                colored(r.status.to_string(), Some(status_color), color)
            })
            .add_as("CREATED", zone.header("CREATED"), None, |r| {
                Cell::new(
                    r.created_at
                        .as_ref()
                        .map(|t| zone.time(t, time_of_day))
                        .unwrap_or_else(|| "-".into()),
                )
            })
            .add("AGE", |r| {
                colored(days(r.age_days), age_color(r.age_days), color)
            })
            .add_as("LAST USED", zone.header("LAST USED"), None, |r| {
                Cell::new(
                    last_used_text(
                        &r.last_used_at,
                        r.last_used_precision.is_some(),
                        [&r.last_used_service, &r.last_used_region],
                        zone,
                        time_of_day,
                        shape.has("service/region"),
                    )
                    .unwrap_or_else(|| "never".into()),
                )
            })
            .add("IDLE", |r| {
                colored(days(r.idle_days), age_color(r.idle_days), color)
            });
        table.list
    })
}

pub(super) fn days(value: Option<i64>) -> String {
    value.map(|d| format!("{d}d")).unwrap_or_else(|| "-".into())
}

/// A table with no fitting steps, of the columns `add` gives over `rows`: fitted only by
/// wrapping its free-text columns.
fn plain<T>(style: &Style, rows: &[T], add: impl Fn(&mut Columns<T>)) -> String {
    fit(style, Shape::default(), &[], |shape| {
        let mut table = Columns::new(rows, shape);
        add(&mut table);
        table.list
    })
    .text
}

/// A FIELD/VALUE table (nothing in it wraps: a secret must copy whole).
fn field_table(style: &Style, rows: Vec<(&str, Cell)>) -> String {
    plain(style, &rows, |table| {
        table
            .add("FIELD", |(name, _)| Cell::new(*name))
            .add("VALUE", |(_, value)| value.clone());
    })
}

pub fn new_key(key: &NewKey, show_secret: bool, style: &Style) -> String {
    let r = &key.record;
    let mut rows = vec![
        ("profile", Cell::new(&r.profile)),
        ("user", Cell::new(r.user.as_deref().unwrap_or("-"))),
        ("access key id", Cell::new(&r.access_key_id)),
        ("status", Cell::new(r.status.as_str())),
    ];
    if show_secret {
        let secret = key.secret.expose().to_string();
        rows.push((
            "secret access key",
            colored(secret, Some(Color::Yellow), style.color),
        ));
    }
    let mut text = field_table(style, rows);
    if show_secret {
        text.push_str("This secret is shown once: store it now.\n");
    }
    text
}

pub fn identities(identities: &[Identity], style: &Style) -> String {
    plain(style, identities, |table| {
        let or_dash = |value: &Option<String>| Cell::new(value.as_deref().unwrap_or("-"));
        table
            .add("PROFILE", |i| Cell::new(&i.profile))
            .add("PROVIDER", |i| Cell::new(i.provider.as_str()))
            .add("ACCOUNT", |i| or_dash(&i.account_id))
            .add("USER", |i| or_dash(&i.user))
            .add("TYPE", |i| {
                Cell::new(format!("{:?}", i.identity_type).to_lowercase())
            })
            .add("ACCESS KEY ID", |i| Cell::new(&i.access_key_id));
    })
}

pub fn profiles(rows: &[ProfileRow], style: &Style) -> String {
    if rows.is_empty() {
        return "no profiles found\n".to_string();
    }
    plain(style, rows, |table| {
        table
            .add("NAME", |p| Cell::new(&p.name))
            .add("PROVIDER", |p| Cell::new(&p.provider))
            .add("ACCESS KEY ID", |p| Cell::new(&p.access_key_id))
            .add("REGION", |p| Cell::new(p.region.as_deref().unwrap_or("-")))
            // Paths may wrap; names and ids may not.
            .add_as("SOURCE", "SOURCE".into(), Some(20), |p| {
                Cell::new(&p.source)
            });
    })
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
                (*column, Cell::new(text))
            })
            .collect();
        out.push_str(&field_table(style, rows));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Step; 3] = [
        Step {
            name: "time of day",
            of: &["WHEN"],
        },
        Step::column("WHEN"),
        Step::column("WHERE"),
    ];

    /// ID (20 wide), WHEN (16, or 10 without the time of day), WHERE (9): 49 with the gaps.
    fn draw(width: usize, shape: Shape) -> Fitted {
        let column = |header: &str, cell: &str| Column {
            header: header.into(),
            cells: vec![Cell::new(cell)],
            wrap_to: None,
        };
        let style = Style {
            color: false,
            width: Some(width),
            zone: Zone::Utc,
        };
        fit(&style, shape, &STEPS, |shape| {
            let mut columns = vec![column("ID", "AKIAIOSFODNN7EXAMPLE")];
            if shape.has("WHEN") {
                let when = if shape.has("time of day") {
                    "2025-06-01 12:00"
                } else {
                    "2025-06-01"
                };
                columns.push(column("WHEN", when));
            }
            if shape.has("WHERE") {
                columns.push(column("WHERE", "us-east-1"));
            }
            columns
        })
    }

    #[test]
    fn steps_apply_in_order_until_it_fits_and_moot_ones_go_unnamed() {
        let whole = draw(49, Shape::default());
        assert!(whole.hidden.is_empty() && whole.text.contains("12:00"));
        assert_eq!(draw(45, Shape::default()).hidden, ["time of day"]);
        // WHEN went too: its time of day is not worth a mention.
        let narrow = draw(40, Shape::default());
        assert_eq!(narrow.hidden, ["WHEN"]);
        assert!(narrow.text.contains("us-east-1") && !narrow.text.contains("2025"));
        // A column left out from the start is no step taken.
        assert_eq!(
            draw(37, Shape::without([Some("WHERE")])).hidden,
            ["time of day"]
        );
        assert!(draw(38, Shape::without([Some("WHERE")])).hidden.is_empty());
    }
}

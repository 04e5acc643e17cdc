//! Parsers for the clouds' time formats, all converted to UTC with their true zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// RFC 3339 / ISO 8601 with a zone (`2026-11-22T15:38:43Z`, fractions allowed).
pub fn parse_rfc3339(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        // Some APIs drop the zone letter; their times are UTC.
        .or_else(|| {
            NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Tencent's zone-less `2019-12-25 14:53:03`, which is Beijing time (UTC+8).
pub fn parse_beijing(value: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A Beijing calendar day (`2024-06-01`), as the UTC instant that day starts.
pub fn parse_beijing_date(value: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok()?;
    beijing()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Go's default time format: `2026-12-07 09:02:00.147 +0000 UTC` (fraction of any length,
/// numeric offset; the zone name is ignored).
pub fn parse_go_time(value: &str) -> Option<DateTime<Utc>> {
    let mut parts = value.split_whitespace();
    let (date, time, offset) = (parts.next()?, parts.next()?, parts.next()?);
    let stamp = format!("{date} {time} {offset}");
    DateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_time;

    /// Each parser turns each input into that UTC time, and refuses the rest.
    fn check(parse: fn(&str) -> Option<DateTime<Utc>>, good: &[(&str, &str)], bad: &[&str]) {
        for (input, utc) in good {
            let t = parse(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(format_time(&t), *utc, "{input}");
        }
        for input in bad {
            assert!(parse(input).is_none(), "{input}");
        }
    }

    #[test]
    fn rfc3339_variants() {
        let good = [
            ("2026-11-22T15:38:43.123456Z", "2026-11-22T15:38:43Z"),
            ("2026-11-22T15:38:43+08:00", "2026-11-22T07:38:43Z"),
        ];
        check(parse_rfc3339, &good, &["yesterday"]);
    }

    #[test]
    fn tencent_times_are_beijing_time() {
        let good = [
            // 23:30 in Beijing is 15:30 UTC the same day.
            ("2024-03-01 23:30:00", "2024-03-01T15:30:00Z"),
            // 05:00 in Beijing is the previous day in UTC.
            ("2024-03-01 05:00:00", "2024-02-29T21:00:00Z"),
        ];
        check(parse_beijing, &good, &["2024-13-01 00:00:00"]);
        check(
            parse_beijing_date,
            &[("2024-06-01", "2024-05-31T16:00:00Z")],
            &[],
        );
    }

    #[test]
    fn go_times() {
        let t = parse_go_time("2026-12-07 09:02:00.147 +0000 UTC").unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 147);
        let good = [
            ("2026-12-07 09:02:00.147 +0000 UTC", "2026-12-07T09:02:00Z"),
            (
                "2025-04-18 07:56:03.551866 +0800 CST",
                "2025-04-17T23:56:03Z",
            ),
            ("2025-04-18 07:56:03 +0000 UTC", "2025-04-18T07:56:03Z"),
        ];
        check(parse_go_time, &good, &["2025-04-18", ""]);
    }
}

use std::fmt;

use calamine::{Data, DataRef, ExcelDateTime};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Serialize, Serializer};

/// One typed cell value.
///
/// Whole numbers stored as floats (xlsx stores every number as a float) become [`Cell::Int`]
/// so that `50000` stays `50000`; whitespace-only text becomes [`Cell::Empty`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(untagged)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// A time of day without a date (an Excel serial below 1 with a time format).
    Time(NaiveTime),
    /// An elapsed time (`[h]:mm:ss` formats, ODS durations); serialised as seconds.
    Duration(#[serde(serialize_with = "serialize_seconds")] chrono::Duration),
    /// A formula error such as `#DIV/0!`.
    Error(String),
}

fn serialize_seconds<S: Serializer>(d: &chrono::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.num_milliseconds() as f64 / 1000.0)
}

/// The type a column holds once empty and error cells are set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Text,
    Int,
    /// Numbers with a fractional part, possibly mixed with whole numbers.
    Float,
    Bool,
    Date,
    /// Date-times, possibly mixed with plain dates.
    DateTime,
    Time,
    Duration,
    /// More than one incompatible type, e.g. text and numbers.
    Mixed,
    /// No values at all.
    Empty,
}

impl ColumnType {
    /// The narrowest type holding both, with int widening to float and date to date-time.
    pub fn merge(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (Empty, t) | (t, Empty) => t,
            (a, b) if a == b => a,
            (Int, Float) | (Float, Int) => Float,
            (Date, DateTime) | (DateTime, Date) => DateTime,
            _ => Mixed,
        }
    }
}

/// Largest magnitude at which every integer is exactly representable in an f64.
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

impl Cell {
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The column type this value contributes; errors count as missing values.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Cell::Empty | Cell::Error(_) => ColumnType::Empty,
            Cell::Text(_) => ColumnType::Text,
            Cell::Int(_) => ColumnType::Int,
            Cell::Float(_) => ColumnType::Float,
            Cell::Bool(_) => ColumnType::Bool,
            Cell::Date(_) => ColumnType::Date,
            Cell::DateTime(_) => ColumnType::DateTime,
            Cell::Time(_) => ColumnType::Time,
            Cell::Duration(_) => ColumnType::Duration,
        }
    }

    pub(crate) fn text(s: impl AsRef<str> + Into<String>) -> Cell {
        if s.as_ref().trim().is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.into())
        }
    }

    pub(crate) fn number(v: f64) -> Cell {
        if v.fract() == 0.0 && v.abs() < EXACT_INT_LIMIT {
            Cell::Int(v as i64)
        } else {
            Cell::Float(v)
        }
    }

    pub(crate) fn from_excel_datetime(dt: ExcelDateTime) -> Cell {
        if dt.is_duration() {
            return dt
                .as_duration()
                .map_or(Cell::Float(dt.as_f64()), Cell::Duration);
        }
        let serial = dt.as_f64();
        match dt.as_datetime() {
            // Serial 0.x is "no date, just a time" in the 1900 system; calamine would
            // render it as 1899-12-30/31.
            Some(ndt) if (0.0..1.0).contains(&serial) && ndt.year() < 1900 => {
                Cell::Time(ndt.time())
            }
            Some(ndt) if ndt.time() == NaiveTime::MIN => Cell::Date(ndt.date()),
            Some(ndt) => Cell::DateTime(ndt),
            None => Cell::number(serial),
        }
    }

    /// ODS stores dates as ISO text: `2023-04-01`, `2023-04-01T10:30:00`, or a bare time.
    pub(crate) fn from_iso_datetime(s: &str) -> Cell {
        if let Ok(ndt) = s.parse::<NaiveDateTime>() {
            if ndt.time() == NaiveTime::MIN {
                return Cell::Date(ndt.date());
            }
            return Cell::DateTime(ndt);
        }
        if let Ok(d) = s.parse::<NaiveDate>() {
            return Cell::Date(d);
        }
        if let Ok(t) = s.parse::<NaiveTime>() {
            return Cell::Time(t);
        }
        Cell::text(s)
    }

    pub(crate) fn from_iso_duration(s: &str) -> Cell {
        parse_iso_duration(s).map_or_else(|| Cell::text(s), Cell::Duration)
    }
}

impl From<Data> for Cell {
    fn from(d: Data) -> Cell {
        match d {
            Data::Int(i) => Cell::Int(i),
            Data::Float(f) => Cell::number(f),
            Data::String(s) => Cell::text(s),
            Data::Bool(b) => Cell::Bool(b),
            Data::DateTime(dt) => Cell::from_excel_datetime(dt),
            Data::DateTimeIso(s) => Cell::from_iso_datetime(&s),
            Data::DurationIso(s) => Cell::from_iso_duration(&s),
            Data::Error(e) => Cell::Error(e.to_string()),
            Data::Empty => Cell::Empty,
        }
    }
}

impl From<DataRef<'_>> for Cell {
    fn from(d: DataRef<'_>) -> Cell {
        match d {
            DataRef::Int(i) => Cell::Int(i),
            DataRef::Float(f) => Cell::number(f),
            DataRef::String(s) => Cell::text(s),
            DataRef::SharedString(s) => Cell::text(s),
            DataRef::Bool(b) => Cell::Bool(b),
            DataRef::DateTime(dt) => Cell::from_excel_datetime(dt),
            DataRef::DateTimeIso(s) => Cell::from_iso_datetime(&s),
            DataRef::DurationIso(s) => Cell::from_iso_duration(&s),
            DataRef::Error(e) => Cell::Error(e.to_string()),
            DataRef::Empty => Cell::Empty,
        }
    }
}

/// `PT12H30M05.5S`, `P1DT2H`, `-PT3M`: the forms ODS writes for `office:time-value`.
fn parse_iso_duration(s: &str) -> Option<chrono::Duration> {
    let (negative, rest) = match s.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.trim()),
    };
    let rest = rest.strip_prefix('P')?;
    let mut millis = 0f64;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for ch in rest.chars() {
        match ch {
            'T' => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if ch == ',' { '.' } else { ch }),
            unit => {
                let value: f64 = number.parse().ok()?;
                number.clear();
                any = true;
                let seconds = match (unit, in_time) {
                    ('W', false) => 7.0 * 86_400.0,
                    ('D', false) => 86_400.0,
                    ('H', true) => 3_600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
                millis += value * seconds * 1000.0;
            }
        }
    }
    if !any || !number.is_empty() || !millis.is_finite() || millis.abs() > 1e15 {
        return None;
    }
    let d = chrono::Duration::milliseconds(millis.round() as i64);
    Some(if negative { -d } else { d })
}

/// Formats a float the way a spreadsheet shows it: at most 15 significant digits, which
/// removes binary noise (`0.30000000000000004` -> `0.3`), and no trailing `.0`.
pub fn format_float(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let rounded: f64 = format!("{v:.14e}").parse().unwrap_or(v);
    let magnitude = rounded.abs();
    if magnitude != 0.0 && !(1e-6..1e16).contains(&magnitude) {
        return format!("{rounded:e}");
    }
    // Display prints the shortest text that round-trips, so 15-digit values print short.
    format!("{rounded}")
}

fn format_duration(d: &chrono::Duration) -> String {
    let sign = if *d < chrono::Duration::zero() {
        "-"
    } else {
        ""
    };
    let total_ms = d.num_milliseconds().unsigned_abs();
    let (secs, ms) = (total_ms / 1000, total_ms % 1000);
    let base = format!(
        "{sign}{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if ms == 0 {
        base
    } else {
        format!("{base}.{ms:03}")
    }
}

fn format_time(t: &NaiveTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M:%S%.3f").to_string()
    }
}

/// Renders a value as a person reading the sheet would write it: ISO dates, `TRUE`/`FALSE`,
/// floats without noise, nothing for an empty cell.
impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Empty => Ok(()),
            Cell::Text(s) => f.write_str(s),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(v) => f.write_str(&format_float(*v)),
            Cell::Bool(true) => f.write_str("TRUE"),
            Cell::Bool(false) => f.write_str("FALSE"),
            Cell::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Cell::DateTime(dt) => {
                write!(
                    f,
                    "{} {}",
                    dt.date().format("%Y-%m-%d"),
                    format_time(&dt.time())
                )
            }
            Cell::Time(t) => f.write_str(&format_time(t)),
            Cell::Duration(d) => f.write_str(&format_duration(d)),
            Cell::Error(e) => f.write_str(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn floats_print_without_noise() {
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(0.1000000001), "0.1000000001");
        assert_eq!(format_float(1234.5), "1234.5");
        assert_eq!(format_float(-0.000123), "-0.000123");
        assert_eq!(format_float(1e20), "1e20");
        assert_eq!(format_float(2.5e-9), "2.5e-9");
        assert_eq!(Cell::number(50000.0).to_string(), "50000");
        assert_eq!(Cell::number(50000.0), Cell::Int(50000));
        assert_eq!(Cell::number(0.5), Cell::Float(0.5));
        assert_eq!(Cell::number(1e300), Cell::Float(1e300));
    }

    #[test]
    fn excel_serials_become_dates_times_and_durations() {
        let date = ExcelDateTime::new(45017.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(
            Cell::from_excel_datetime(date),
            Cell::Date(NaiveDate::from_ymd_opt(2023, 4, 1).unwrap())
        );
        let dt = ExcelDateTime::new(45017.75, ExcelDateTimeType::DateTime, false);
        assert_eq!(
            Cell::from_excel_datetime(dt).to_string(),
            "2023-04-01 18:00:00"
        );
        let time = ExcelDateTime::new(0.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(Cell::from_excel_datetime(time).to_string(), "12:00:00");
        // The 1904 system counts from 1904-01-01; the same serial is 4 years and a day later.
        let d1904 = ExcelDateTime::new(45017.0 - 1462.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(Cell::from_excel_datetime(d1904).to_string(), "2023-04-01");
        let dur = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(Cell::from_excel_datetime(dur).to_string(), "36:00:00");
    }

    #[test]
    fn iso_values_from_ods() {
        assert_eq!(
            Cell::from_iso_datetime("2023-04-01").to_string(),
            "2023-04-01"
        );
        assert_eq!(
            Cell::from_iso_datetime("2023-04-01T00:00:00"),
            Cell::Date(NaiveDate::from_ymd_opt(2023, 4, 1).unwrap())
        );
        assert_eq!(
            Cell::from_iso_datetime("2023-04-01T10:30:00").to_string(),
            "2023-04-01 10:30:00"
        );
        assert_eq!(
            Cell::from_iso_duration("PT12H30M05S").to_string(),
            "12:30:05"
        );
        assert_eq!(Cell::from_iso_duration("P1DT2H").to_string(), "26:00:00");
        assert_eq!(
            Cell::from_iso_duration("-PT1M30.5S").to_string(),
            "-0:01:30.500"
        );
        assert_eq!(
            Cell::from_iso_duration("garbage"),
            Cell::Text("garbage".into())
        );
        assert_eq!(Cell::from_iso_duration("PT"), Cell::Text("PT".into()));
    }

    #[test]
    fn column_types_widen_sensibly() {
        use ColumnType::*;
        assert_eq!(Int.merge(Float), Float);
        assert_eq!(Empty.merge(Date).merge(DateTime), DateTime);
        assert_eq!(Int.merge(Text), Mixed);
        assert_eq!(Cell::Error("#N/A".into()).column_type(), Empty);
        assert_eq!(Cell::text("   "), Cell::Empty);
    }
}

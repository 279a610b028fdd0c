//! Timestamp normalization: RFC 3339 date-time with any offset and 0–9 (or more) fraction digits
//! to UTC `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (docs/vex-ingest.md "Timestamps"). The calendar
//! arithmetic is the SDK's (`evl_sdk::time`).

use evl_sdk::time::{civil_from_days, days_from_civil, days_in_month};

/// A timestamp that is not RFC 3339 date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadTimestamp;

/// A normalized timestamp and whether fraction digits beyond nanoseconds were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub(crate) text: String,
    pub(crate) truncated: bool,
}

/// Normalizes `s` to UTC with exactly nine fraction digits.
///
/// Accepts `T`/`t`/space between date and time, `Z`/`z` or `±HH:MM` (also `±HHMM`), seconds
/// 00–59 (a leap second `60` is rejected); the UTC result must fall in years 1970–9999 (the
/// range of SPEC.md §2.5 timestamps).
pub(crate) fn normalize(s: &str) -> Result<Normalized, BadTimestamp> {
    let b = s.trim().as_bytes();
    let mut i = 0usize;
    let num = |n: usize, i: &mut usize| -> Result<i64, BadTimestamp> {
        let part = b.get(*i..*i + n).ok_or(BadTimestamp)?;
        let mut v = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err(BadTimestamp);
            }
            v = v * 10 + i64::from(c - b'0');
        }
        *i += n;
        Ok(v)
    };
    let expect = |c: &[u8], i: &mut usize| -> Result<(), BadTimestamp> {
        match b.get(*i) {
            Some(x) if c.contains(x) => {
                *i += 1;
                Ok(())
            }
            _ => Err(BadTimestamp),
        }
    };
    let y = num(4, &mut i)?;
    expect(b"-", &mut i)?;
    let mo = num(2, &mut i)?;
    expect(b"-", &mut i)?;
    let d = num(2, &mut i)?;
    expect(b"Tt ", &mut i)?;
    let h = num(2, &mut i)?;
    expect(b":", &mut i)?;
    let mi = num(2, &mut i)?;
    expect(b":", &mut i)?;
    let se = num(2, &mut i)?;
    let mut nanos = 0i64;
    let mut truncated = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            let pos = i - start;
            if pos < 9 {
                nanos += i64::from(c - b'0') * 10i64.pow(8 - pos as u32);
            } else if *c != b'0' {
                truncated = true;
            }
            i += 1;
        }
        if i == start {
            return Err(BadTimestamp);
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            i += 1;
            let oh = num(2, &mut i)?;
            if b.get(i) == Some(&b':') {
                i += 1;
            }
            let om = num(2, &mut i)?;
            if oh > 23 || om > 59 {
                return Err(BadTimestamp);
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' { -o } else { o }
        }
        _ => return Err(BadTimestamp),
    };
    if i != b.len()
        || !(1..=12).contains(&mo)
        || d < 1
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || se > 59
    {
        return Err(BadTimestamp);
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    if !(1970..=9999).contains(&y) {
        return Err(BadTimestamp);
    }
    Ok(Normalized {
        text: format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        ),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).unwrap().text
    }

    #[test]
    fn sample_spellings() {
        assert_eq!(
            n("2023-01-08T18:02:03.647787998-06:00"),
            "2023-01-09T00:02:03.647787998Z"
        );
        assert_eq!(
            n("2023-12-05T05:04:34.77929844Z"),
            "2023-12-05T05:04:34.779298440Z"
        );
        assert_eq!(n("2022-03-03T11:00:00.000Z"), "2022-03-03T11:00:00.000000000Z");
        assert_eq!(n("2025-11-21T14:31:32+00:00"), "2025-11-21T14:31:32.000000000Z");
        assert_eq!(
            n("2024-07-09T11:38:00.115697+04:00"),
            "2024-07-09T07:38:00.115697000Z"
        );
        assert_eq!(n("2022-12-22T16:36:43-05:00"), "2022-12-22T21:36:43.000000000Z");
        assert_eq!(n("2023-07-01T00:00:00Z"), "2023-07-01T00:00:00.000000000Z");
        assert_eq!(n("2024-02-29t23:30:00+0130"), "2024-02-29T22:00:00.000000000Z");
        assert_eq!(n("1999-12-31T23:00:00-01:00"), "2000-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn truncation_is_reported() {
        let t = normalize("2023-01-01T00:00:00.1234567891Z").unwrap();
        assert_eq!(t.text, "2023-01-01T00:00:00.123456789Z");
        assert!(t.truncated);
        assert!(!normalize("2023-01-01T00:00:00.1234567890Z").unwrap().truncated);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "2023-01-01",
            "2023-01-01T00:00:00",
            "2023-02-29T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:00:60Z",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00+24:00",
            "2023-01-01T00:00:00Zjunk",
            "1970-01-01T00:00:00+00:01",
            "1969-12-31T23:59:59Z",
            "9999-12-31T23:59:59-00:01",
            "２０２３-01-01T00:00:00Z",
        ] {
            assert_eq!(normalize(bad), Err(BadTimestamp), "{bad}");
        }
    }
}

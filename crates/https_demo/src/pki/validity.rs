//! How long certificates live, and why.

use anyhow::{Result, bail};
use time::{Duration, OffsetDateTime};

/// Apple platforms reject TLS server certificates valid for more than 825 days, even from
/// user-installed roots (https://support.apple.com/en-us/103769).
pub const MAX_LEAF_DAYS: i64 = 825;

/// mkcert's choice: 2 years and 3 months, always under 825 days.
pub const DEFAULT_LEAF_MONTHS: u32 = 27;

/// A CA lives long, so that site certificates can be renewed under it without re-trusting.
pub const DEFAULT_CA_DAYS: i64 = 3650;

/// Whole seconds, so that the certificate shows exactly what was computed.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// The same day `months` later (clamped to the month's last day).
pub fn add_months(from: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = from.year() * 12 + (from.month() as i32 - 1) + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = time::Month::try_from(month0 as u8 + 1).expect("month in 1..=12");
    let mut day = from.day();
    loop {
        if let Ok(date) = time::Date::from_calendar_date(year, month, day) {
            return from.replace_date(date);
        }
        day -= 1;
    }
}

/// A leaf certificate's dates, from now: `days` (or the default), and never past its CA's
/// `ca_not_after`, which clients would refuse.
pub fn leaf_window(
    days: Option<i64>,
    ca_not_after: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let start = now();
    let not_after = leaf_not_after(start, days)?;
    if not_after > ca_not_after {
        bail!(
            "the certificate would outlive its CA, which expires on {}. Ask for fewer --days, or make a new CA.",
            super::inspect::show_time(ca_not_after)
        );
    }
    Ok((start, not_after))
}

/// The end of a site certificate that starts at `start`: `days` when asked, else mkcert's
/// 2 years 3 months. More than 825 days is refused, with the reason.
pub fn leaf_not_after(start: OffsetDateTime, days: Option<i64>) -> Result<OffsetDateTime> {
    match days {
        None => Ok(add_months(start, DEFAULT_LEAF_MONTHS)),
        Some(d) if d < 1 => bail!("--days must be at least 1"),
        Some(d) if d > MAX_LEAF_DAYS => bail!(
            "a site certificate valid for {d} days would be rejected by Apple platforms, which refuse TLS server \
             certificates valid for more than {MAX_LEAF_DAYS} days even from a root you installed. Ask for at most \
             {MAX_LEAF_DAYS} days (the default, 2 years 3 months, is {} days).",
            (add_months(start, DEFAULT_LEAF_MONTHS) - start).whole_days()
        ),
        Some(d) => Ok(start + Duration::days(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_is_two_years_three_months_and_under_the_apple_limit() {
        let start = datetime!(2026-11-30 12:00 UTC);
        let end = leaf_not_after(start, None).unwrap();
        assert_eq!(end, datetime!(2029-02-28 12:00 UTC));
        assert!((end - start).whole_days() < MAX_LEAF_DAYS);
    }

    #[test]
    fn longer_than_825_days_is_refused_with_the_reason() {
        let err = leaf_not_after(now(), Some(826)).unwrap_err().to_string();
        assert!(err.contains("825") && err.contains("Apple"), "{err}");
        assert!(leaf_not_after(now(), Some(825)).is_ok());
    }
}

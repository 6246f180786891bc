//! Numbers as a manager reads them: thousands separators, sizes in MB, rates in percent.

/// `12345` -> `"12,345"`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units, one decimal above KB.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A rate in 0..=1 as a whole percent ("87%"); tiny non-zero rates stay visible ("<1%").
pub(crate) fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p > 0.0 && p < 1.0 {
        "<1%".to_string()
    } else {
        format!("{:.0}%", p)
    }
}

/// A ratio of counts as a percent; `"–"` when the whole is zero.
pub(crate) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_string()
    } else {
        percent(part as f64 / whole as f64)
    }
}

/// Money with separators and no more precision than a budget needs.
pub(crate) fn money(amount: f64, currency: &str) -> String {
    let rounded = if amount.abs() >= 100.0 {
        let whole = amount.round();
        let sign = if whole < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(whole.abs() as u64))
    } else {
        format!("{amount:.2}")
    };
    if currency.is_empty() {
        rounded
    } else {
        format!("{currency} {rounded}")
    }
}

/// Agreement statistics keep two decimals (κ = 0.62).
pub(crate) fn stat(v: f64) -> String {
    format!("{v:.2}")
}

/// `"1 document"` / `"3 documents"`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_a_report() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(percent(0.004), "<1%");
        assert_eq!(percent(0.875), "88%");
        assert_eq!(share(1, 0), "–");
        assert_eq!(money(12345.6, "CNY"), "CNY 12,346");
        assert_eq!(money(3.456, ""), "3.46");
        assert_eq!(plural(1, "file", "files"), "1 file");
    }
}

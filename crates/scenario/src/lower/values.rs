//! Small values of a request written as text: status classes (`"2xx"`) and think times
//! (`"500ms"`, `"100ms..2s"`).

use stampede_plan::Think;

use crate::types::parse_duration;

/// `"2xx"` -> 200.
pub(super) fn status_class(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    match bytes {
        [d @ b'1'..=b'5', x, y]
            if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') =>
        {
            Some(u16::from(d - b'0') * 100)
        }
        _ => None,
    }
}

/// Parses a think time: a duration, a range `lo..hi`, or zero for none.
pub(crate) fn parse_think(text: &str) -> Result<Think, String> {
    let text = text.trim();
    if text == "none" {
        return Ok(Think::None);
    }
    if let Some((lo, hi)) = text.split_once("..") {
        let bad = |why: String| format!("invalid think range \"{text}\": {why}");
        let lo = parse_duration(lo).map_err(bad)?;
        let hi = parse_duration(hi).map_err(bad)?;
        if lo > hi {
            return Err(format!(
                "invalid think range \"{text}\": the low end is above the high end"
            ));
        }
        return Ok(if hi.is_zero() {
            Think::None
        } else {
            Think::Range(lo, hi)
        });
    }
    let fixed = parse_duration(text)?;
    Ok(if fixed.is_zero() {
        Think::None
    } else {
        Think::Fixed(fixed)
    })
}

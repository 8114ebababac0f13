//! Text from a scenario or a target made safe for the file it lands in.
//!
//! Request names come from scenario files and failure samples from the target's answers; a
//! spreadsheet opening steps.csv or failures.csv must not take either for a formula (CSV
//! injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is evaluated
//! by Excel, LibreOffice and Google Sheets). Such a cell gets a leading `'`, which spreadsheets
//! hide and every CSV reader keeps, so nothing is lost. Numbers never pass through here.

use std::borrow::Cow;

/// `text` as a CSV cell no spreadsheet evaluates.
pub(crate) fn csv_text(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_is_kept_as_text_and_plain_text_is_untouched() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_text(formula), format!("'{formula}"));
        }
        for plain in ["health", "GET /a=b", "", "'quoted"] {
            assert!(matches!(csv_text(plain), Cow::Borrowed(p) if p == plain));
        }
    }
}

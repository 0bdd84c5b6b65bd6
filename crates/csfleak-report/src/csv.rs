//! CSV tables for pandas / R (`summary.csv`, `errors.csv`): RFC 4180 quoting, a fixed header,
//! UTF-8 without BOM, `\n` line ends, empty cells for missing values.

use std::io::Write as _;
use std::path::Path;

use crate::Result;

/// One cell: text, a number, a boolean or missing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Missing (an empty cell; pandas reads `NaN`, R reads `NA`).
    Missing,
    /// Text (quoted when needed).
    Text(String),
    /// A number (written with up to `decimals` digits, trailing zeros trimmed).
    Number {
        /// The value; non-finite values are written as missing.
        value: f64,
        /// Digits after the decimal point.
        decimals: usize,
    },
    /// `true` / `false`.
    Bool(bool),
}

impl Cell {
    /// A number rounded to 3 decimals, or missing.
    pub fn num(value: Option<f64>) -> Self {
        value.map_or(Self::Missing, |value| Self::Number { value, decimals: 3 })
    }

    /// Text, or missing.
    pub fn text(value: Option<impl Into<String>>) -> Self {
        value.map_or(Self::Missing, |v| Self::Text(v.into()))
    }

    /// A boolean, or missing.
    pub fn flag(value: Option<bool>) -> Self {
        value.map_or(Self::Missing, Self::Bool)
    }

    fn render(&self) -> String {
        match self {
            Self::Missing => String::new(),
            Self::Text(s) => quote(s),
            Self::Bool(b) => b.to_string(),
            Self::Number { value, decimals } => {
                if !value.is_finite() {
                    return String::new();
                }
                let mut s = format!("{value:.decimals$}");
                if s.contains('.') {
                    while s.ends_with('0') {
                        s.pop();
                    }
                    if s.ends_with('.') {
                        s.pop();
                    }
                }
                if s == "-0" { "0".to_owned() } else { s }
            }
        }
    }
}

/// Quote a field when it holds a comma, quote, or line break (RFC 4180).
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A table with a fixed header; rows must have as many cells as the header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// The column names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Append a row; a row of the wrong length is padded with missing cells or cut (a bug in
    /// the caller, caught by `debug_assert`).
    pub fn push(&mut self, mut row: Vec<Cell>) {
        debug_assert_eq!(
            row.len(),
            self.header.len(),
            "row length differs from header"
        );
        row.resize(self.header.len(), Cell::Missing);
        self.rows.push(row);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The CSV text.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| cells.join(",") + "\n";
        out.push_str(&line(self.header.iter().map(|h| quote(h)).collect()));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(Cell::render).collect()));
        }
        out
    }

    /// Write the CSV to `path` through a temporary sibling and a rename.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = self.to_csv();
        crate::atomic::write_atomically(path, |w| w.write_all(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_numbers() {
        let mut t = Table::new(["id", "note", "x_mm", "ok"]);
        t.push(vec![
            Cell::Text("a".into()),
            Cell::Text("say \"hi\", then\nleave".into()),
            Cell::num(Some(2.500_04)),
            Cell::flag(Some(true)),
        ]);
        t.push(vec![
            Cell::Text("b".into()),
            Cell::Missing,
            Cell::num(Some(-0.0001)),
            Cell::flag(None),
        ]);
        assert_eq!(
            t.to_csv(),
            "id,note,x_mm,ok\na,\"say \"\"hi\"\", then\nleave\",2.5,true\nb,,0,\n"
        );
        assert_eq!(t.len(), 2);
        assert_eq!(Cell::num(Some(f64::NAN)).render(), "");
        assert_eq!(Cell::num(Some(120.0)).render(), "120");
    }

    #[test]
    fn write_is_atomic_and_complete() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        let mut t = Table::new(["a"]);
        t.push(vec![Cell::Text("x".into())]);
        t.write(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a\nx\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

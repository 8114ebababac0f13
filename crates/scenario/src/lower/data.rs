//! `[data]`: the CSV rows that feed `${data.column}`, read once at load time.
//!
//! Reading here rather than in the engine means a missing file or column is a validation error
//! with a line, and the engine never touches the file system.

use crate::file::{DataFile, DataModeFile};
use crate::spanned::Spanned;
use stampede_plan::{DataMode, DataSet};

use super::Lowerer;

impl Lowerer<'_> {
    pub(super) fn data_set(&mut self, data: &Spanned<DataFile>) -> Option<DataSet> {
        let Some(file) = &data.file else {
            self.sink.hint(
                data.span.clone(),
                "[data] has no `file`",
                "file = \"users.csv\" (relative to this scenario)",
            );
            return None;
        };
        let mode = match data.mode.as_ref().map(|m| m.value) {
            None | Some(DataModeFile::Sequential) => DataMode::Sequential,
            Some(DataModeFile::Random) => DataMode::Random,
            Some(DataModeFile::UniquePerVu) => DataMode::UniquePerVu,
        };
        let path = self.base_dir.join(&file.value);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                self.sink.hint(
                    file.span.clone(),
                    format!("data file `{}` not found", file.value),
                    "the path is relative to the scenario file",
                );
                return None;
            }
            Err(err) => {
                self.sink.error(
                    file.span.clone(),
                    format!("cannot read data file `{}`: {err}", file.value),
                );
                return None;
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_slice());
        let columns: Vec<String> = match reader.headers() {
            Ok(headers) => headers.iter().map(|h| h.trim().to_owned()).collect(),
            Err(err) => {
                self.sink.error(
                    file.span.clone(),
                    format!("data file `{}`: {err}", file.value),
                );
                return None;
            }
        };
        let mut rows = Vec::new();
        for record in reader.records() {
            match record {
                Ok(record) => rows.push(record.iter().map(str::to_owned).collect()),
                Err(err) => {
                    self.sink.error(
                        file.span.clone(),
                        format!("data file `{}`: {err}", file.value),
                    );
                    return None;
                }
            }
        }
        if columns.iter().all(String::is_empty) || rows.is_empty() {
            self.sink.hint(
                file.span.clone(),
                format!("data file `{}` has no rows", file.value),
                "the first line names the columns; each further line is one row",
            );
            return None;
        }
        Some(DataSet {
            file: file.value.clone(),
            columns,
            rows,
            mode,
        })
    }
}

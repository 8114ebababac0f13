//! `[data]`: the CSV rows that feed `${data.column}`, read once at load time.
//!
//! Reading here rather than in the engine means a missing file or column is a validation error
//! with a line, and the engine never touches the file system. The file must be a regular file
//! within the size, row and value limits (see [`crate::limits`]), so a device or a huge file
//! is refused rather than read.

use crate::file::{DataFile, DataModeFile};
use crate::limits;
use crate::read::{ReadError, read_capped};
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
        let text = match read_capped(&path, limits::MAX_DATA_BYTES) {
            Ok(text) => text,
            Err(ReadError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {
                self.sink.hint(
                    file.span.clone(),
                    format!("data file `{}` not found", file.value),
                    "the path is relative to the scenario file",
                );
                return None;
            }
            Err(err) => {
                let hint = err.hint();
                let message = format!("data file {}", err.message(&file.value));
                self.sink.maybe_hint(file.span.clone(), message, hint);
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
        let mut values = 0usize;
        for record in reader.records() {
            let too_many = rows.len() >= limits::MAX_DATA_ROWS
                || values.saturating_add(columns.len()) > limits::MAX_DATA_VALUES;
            if too_many {
                self.sink.hint(
                    file.span.clone(),
                    format!(
                        "data file `{}` has more than {} rows or {} values",
                        file.value,
                        limits::MAX_DATA_ROWS,
                        limits::MAX_DATA_VALUES
                    ),
                    "every row is held in memory for the whole run; use a smaller file",
                );
                return None;
            }
            values += columns.len();
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

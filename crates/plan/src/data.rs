//! `[data]`: a CSV file's rows, read once at load time, and which row an iteration reads.

/// A CSV file's rows, read once at load time; templates refer to columns by index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSet {
    /// The file as written in the scenario (for messages and `describe`).
    pub file: String,
    pub columns: Vec<String>,
    /// Never empty; every row has one value per column.
    pub rows: Vec<Vec<String>>,
    pub mode: DataMode,
}

/// Which row a user's `${data.column}` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    /// Each iteration takes the next row of one run-wide sequence, wrapping around.
    Sequential,
    /// Each iteration takes a row at random.
    Random,
    /// Each user keeps one row for the whole run: user `n` gets row `n` (wrapping around when
    /// there are more users than rows).
    UniquePerVu,
}

impl DataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::Sequential => "sequential",
            DataMode::Random => "random",
            DataMode::UniquePerVu => "unique-per-vu",
        }
    }
}

impl DataSet {
    /// The row for an iteration: `seq` is the run-wide sequence number, `random` any random
    /// number; the mode decides which one counts.
    pub fn row(&self, vu: u64, seq: u64, random: u64) -> &[String] {
        let n = self.rows.len() as u64;
        let index = match self.mode {
            DataMode::Sequential => seq % n,
            DataMode::Random => random % n,
            DataMode::UniquePerVu => vu % n,
        };
        &self.rows[index as usize]
    }
}

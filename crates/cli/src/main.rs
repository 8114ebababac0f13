//! The `stampede` binary (being written).
fn main() {}

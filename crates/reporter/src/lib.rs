//! reporter (being written).

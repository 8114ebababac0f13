//! Where results live on disk and how they get there: atomic writes, run ids, the scenario's
//! history, and the interval log of histograms (written as a run goes, read back by compare).

pub mod atomic;
pub mod clock;
pub mod history;
pub mod hlog;

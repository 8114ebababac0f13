//! Where results live on disk and how they get there: the results folder of each scenario and
//! its run folders, the run lock, atomic writes, run ids, the scenario's history, the run
//! record, and the interval log of histograms (written as a run goes, read back by compare).

pub mod atomic;
pub mod clock;
pub mod history;
pub mod hlog;
pub mod lock;
pub mod record;
pub mod results;

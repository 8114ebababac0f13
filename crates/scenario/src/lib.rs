//! Scenario files: parse, validate, and lower to a `Plan`.
//!
//! Knows nothing of sockets, tokio or CSV. A `Plan` is plain data.

pub mod plan;
pub mod template;

pub use plan::*;
pub use template::{Context, Part, Template, Var};

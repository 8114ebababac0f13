//! `[[flow]]` and `[setup]`: ordered walks over requests named by `[[request]]`.

use crate::file::Common;
use crate::limits;
use crate::spanned::Spanned;
use stampede_plan::{Flow, RequestId};

use super::Lowerer;

impl Lowerer<'_> {
    pub(super) fn flows(&mut self, common: &Common) -> Vec<Flow> {
        let Some(flows) = &common.flow else {
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        let mut out = Vec::new();
        if flows.len() > limits::MAX_REQUESTS {
            self.sink.error(
                flows.span.clone(),
                format!("more than {} flows", limits::MAX_REQUESTS),
            );
        }
        for flow in flows.iter() {
            let name = match &flow.name {
                Some(name) => {
                    if names.contains(&name.value) {
                        self.sink.error(
                            name.span.clone(),
                            format!("duplicate flow name `{}`", name.value),
                        );
                    }
                    names.push(name.value.clone());
                    name.value.clone()
                }
                None => {
                    self.sink.hint(
                        flow.span.clone(),
                        "flow has no `name`",
                        "name = \"checkout\"",
                    );
                    String::new()
                }
            };
            let steps = match &flow.steps {
                Some(steps) if !steps.is_empty() => {
                    self.request_ids(steps, &format!("flow `{name}`"))
                }
                Some(steps) => {
                    self.sink
                        .error(steps.span.clone(), format!("flow `{name}` has no steps"));
                    Vec::new()
                }
                None => {
                    self.sink.hint(
                        flow.span.clone(),
                        format!("flow `{name}` has no `steps`"),
                        "steps = [\"login\", \"post event\"]",
                    );
                    Vec::new()
                }
            };
            out.push(Flow {
                name,
                weight: flow.weight.as_ref().map_or(1, |w| w.value),
                steps,
            });
        }
        if !out.is_empty() && out.iter().all(|f| f.weight == 0) {
            self.sink.error(
                flows.span.clone(),
                "every flow has weight 0, so none would ever run",
            );
        }
        out
    }

    pub(super) fn setup(&mut self, common: &Common) -> Vec<RequestId> {
        let Some(setup) = &common.setup else {
            return Vec::new();
        };
        match &setup.requests {
            Some(requests) => self.request_ids(requests, "[setup]"),
            None => {
                self.sink.hint(
                    setup.span.clone(),
                    "[setup] has no `requests`",
                    "requests = [\"login\"]",
                );
                Vec::new()
            }
        }
    }

    fn request_ids(&mut self, names: &[Spanned<String>], context: &str) -> Vec<RequestId> {
        let mut ids = Vec::new();
        if let (Some(first), true) = (names.first(), names.len() > limits::MAX_REQUESTS) {
            self.sink.error(
                first.span.clone(),
                format!("{context} has more than {} steps", limits::MAX_REQUESTS),
            );
        }
        for name in names {
            match self.request_index(name) {
                Some(id) => ids.push(id),
                None => self.unknown_request(name, context),
            }
        }
        ids
    }
}

//! The rules [`crate::check`] enforces, one variant each: the twelve Kargo admission rules of
//! `../shared/kargo/README.md` (rule 6 split into dangling references and cycles, so tests can tell
//! them apart) and image-factory's own rules of SPEC §8.2.

use std::fmt;

/// Which rule a [`crate::check::Violation`] breaks.
///
/// `Display` gives the rule's stable id (`rule 5`, `names`, ...), the text `synth --validate`
/// prints; several variants of one README rule share its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Not a Kubernetes object (no `apiVersion`/`kind`, or not a mapping).
    Structure,
    /// Object and namespace names are DNS-1123 labels/subdomains (SPEC §8.2).
    Names,
    /// Every `${{ }}` / `${% %}` expression is closed, non-empty and parses as Kargo reads it (SPEC §8.2).
    Expressions,
    /// `uses:` names an open-source Kargo v1.11 step.
    UnknownStep,
    /// Rule 1: each `subscriptions[]` item has exactly one key of `image`, `git`, `chart`.
    SubscriptionShape,
    /// Rule 2: no two subscriptions of one Warehouse share a normalized repoURL.
    DuplicateRepoUrl,
    /// Rule 3: image subscription fields (strategy, constraint, tags, repoURL, discoveryLimit).
    ImageSubscription,
    /// Rule 4: durations are Go durations in hours, minutes and seconds.
    Duration,
    /// Rule 5: the shape of `requestedFreight` and of promotion steps.
    StageShape,
    /// Rule 6: a reference to a Warehouse, Stage, PromotionTask or AnalysisTemplate that does not
    /// exist.
    DanglingReference,
    /// Rule 6: the Stage graph has a cycle.
    StageCycle,
    /// Rule 7: ProjectConfig name, namespace, Project and promotion policies.
    ProjectConfig,
    /// Rule 8: Project is cluster-scoped without `spec`; objects live in a Project's namespace.
    ProjectScope,
    /// Rule 9: verification args are declared; AnalysisTemplates use `{{args.x}}`.
    VerificationArgs,
    /// Rule 10: metric names are at most 24 characters.
    MetricName,
    /// Rule 11: expressions Kargo evaluates itself are written without `${{ }}`.
    BareExpression,
    /// Rule 12: a Stage without steps (control flow) cannot hold Freight for verification.
    ControlFlowStage,
}

impl Rule {
    /// The number of the rule in `../shared/kargo/README.md` (`None` for image-factory's own rules).
    pub fn number(self) -> Option<u8> {
        Some(match self {
            Self::Structure | Self::Names | Self::Expressions | Self::UnknownStep => return None,
            Self::SubscriptionShape => 1,
            Self::DuplicateRepoUrl => 2,
            Self::ImageSubscription => 3,
            Self::Duration => 4,
            Self::StageShape => 5,
            Self::DanglingReference | Self::StageCycle => 6,
            Self::ProjectConfig => 7,
            Self::ProjectScope => 8,
            Self::VerificationArgs => 9,
            Self::MetricName => 10,
            Self::BareExpression => 11,
            Self::ControlFlowStage => 12,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.number(), self) {
            (Some(n), _) => write!(f, "rule {n}"),
            (None, Self::Structure) => f.write_str("structure"),
            (None, Self::Names) => f.write_str("names"),
            (None, Self::Expressions) => f.write_str("expressions"),
            (None, _) => f.write_str("steps"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable() {
        assert_eq!(Rule::SubscriptionShape.to_string(), "rule 1");
        assert_eq!(Rule::StageCycle.to_string(), "rule 6");
        assert_eq!(Rule::DanglingReference.to_string(), "rule 6");
        assert_eq!(Rule::ControlFlowStage.to_string(), "rule 12");
        assert_eq!(Rule::Names.to_string(), "names");
        assert_eq!(Rule::Structure.to_string(), "structure");
        assert_eq!(Rule::Expressions.to_string(), "expressions");
        assert_eq!(Rule::UnknownStep.to_string(), "steps");
    }
}

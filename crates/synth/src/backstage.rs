//! Backstage catalog entities (`ManagedImage`, `BaseImage`) in the format of the image-factory
//! Backstage plugin (`image-factory.io/v1alpha1`, the schemas the Python system shipped), with the
//! relations both ways (`dependsOn` / `dependencyOf` on managed images, `dependents` on base images)
//! and digest / last-built / last-updated annotations; written as files or as ConfigMaps.

use std::collections::BTreeMap;

use model::duration::Duration;
use model::enrollment::{EffectiveImage, Provider};
use model::names;
use model::settings::Settings;
use model::state::State;
use serde::Serialize;

use crate::kargo::{CORE_API, ConfigMap, ObjectMeta};
use crate::synthesize::Plan;

/// `apiVersion` of the entities.
pub const API_VERSION: &str = "image-factory.io/v1alpha1";
/// Label put on the ConfigMaps when `backstage.label` is not set.
pub const DEFAULT_LABEL: &str = "backstage.io/catalog";
/// `spec.system` of every entity.
pub const SYSTEM: &str = "image-factory";

/// A catalog entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// [`API_VERSION`].
    pub api_version: String,
    /// `ManagedImage` or `BaseImage`.
    pub kind: String,
    /// Metadata.
    pub metadata: EntityMeta,
    /// Spec.
    pub spec: EntitySpec,
}

/// Entity metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityMeta {
    /// Name (image name, or base id).
    pub name: String,
    /// Annotations (`image-factory.io/...`).
    pub annotations: BTreeMap<String, String>,
}

/// Entity spec (fields of both kinds; absent ones are not written).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitySpec {
    /// `managed-image` or `base-image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `production`.
    pub lifecycle: String,
    /// `image-factory` for managed images, `upstream` for base images.
    pub owner: String,
    /// [`SYSTEM`].
    pub system: String,
    /// Managed images: where they are built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<EntitySource>,
    /// Managed images: the rebuild policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild_policy: Option<RebuildPolicy>,
    /// Base images: what is watched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// Managed images: base images and managed parents it builds from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Relation>,
    /// Managed images: managed images built from it (cascade).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependency_of: Vec<Relation>,
    /// Base images: managed images built from it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependents: Vec<Relation>,
}

/// `spec.source` of a managed image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitySource {
    /// `github` or `gitlab`.
    pub provider: String,
    /// Repository.
    pub repo: String,
    /// Branch.
    pub branch: String,
    /// Dockerfile path.
    pub dockerfile: String,
    /// Workflow file (GitHub) .
    pub workflow: String,
}

/// `spec.rebuildPolicy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildPolicy {
    /// Delay in one unit (`7d`, `36h`, `90m`).
    pub delay: String,
    /// Whether rebuilds run without a human.
    pub auto_rebuild: bool,
}

/// `spec.upstream` of a base image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    /// Registry host.
    pub registry: String,
    /// Repository path.
    pub repository: String,
    /// Tag watched (or the pinned digest).
    pub tag: String,
}

/// A relation to another entity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    /// Entity name.
    pub resource: String,
    /// `base-image` or `managed-image`.
    #[serde(rename = "type")]
    pub kind: String,
}

fn relation(resource: &str, kind: &str) -> Relation {
    Relation {
        resource: resource.to_owned(),
        kind: kind.to_owned(),
    }
}

/// A delay in a single unit, as the plugin expects (`^\d+[dhm]$`), rounded up to minutes.
fn single_unit(delay: Duration) -> String {
    let s = delay.as_secs();
    if s.is_multiple_of(86_400) && s > 0 {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3_600) {
        format!("{}h", s / 3_600)
    } else {
        format!("{}m", s.div_ceil(60))
    }
}

fn ann(pairs: &[(&str, Option<String>)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (format!("image-factory.io/{k}"), v)))
        .collect()
}

/// The entities of a fleet, sorted by kind then name: managed images, then base images (upstream
/// bases with dependents, and external images).
pub fn entities(images: &[EffectiveImage], state: &State, plan: &Plan) -> Vec<Entity> {
    let mut children: BTreeMap<&str, Vec<Relation>> = BTreeMap::new();
    let mut dependents: BTreeMap<&str, Vec<Relation>> = BTreeMap::new();
    for (name, m) in &plan.managed {
        for p in &m.parents {
            children
                .entry(p.as_str())
                .or_default()
                .push(relation(name, "managed-image"));
        }
        for id in m.bases.iter().chain(&m.pinned) {
            dependents
                .entry(id.as_str())
                .or_default()
                .push(relation(name, "managed-image"));
        }
    }
    let mut managed = Vec::new();
    let mut bases = Vec::new();
    for image in images {
        let s = state.images.get(&image.name);
        let Some(source) = &image.source else {
            let r = image.image_ref();
            bases.push(Entity {
                api_version: API_VERSION.to_owned(),
                kind: "BaseImage".to_owned(),
                metadata: EntityMeta {
                    name: image.name.clone(),
                    annotations: ann(&[
                        ("registry", Some(image.registry.clone())),
                        ("repository", Some(image.repository.clone())),
                        ("digest", s.and_then(|s| s.current_digest.clone())),
                        ("external", Some("true".to_owned())),
                    ]),
                },
                spec: EntitySpec {
                    kind: "base-image".to_owned(),
                    lifecycle: "production".to_owned(),
                    owner: "upstream".to_owned(),
                    system: SYSTEM.to_owned(),
                    source: None,
                    rebuild_policy: None,
                    upstream: Some(Upstream {
                        registry: r
                            .as_ref()
                            .map_or(image.registry.clone(), |r| r.domain().to_owned()),
                        repository: r
                            .as_ref()
                            .map_or(image.repository.clone(), |r| r.path().to_owned()),
                        tag: r
                            .as_ref()
                            .map_or("latest".to_owned(), |r| r.tag_or_latest().to_owned()),
                    }),
                    depends_on: Vec::new(),
                    dependency_of: Vec::new(),
                    dependents: Vec::new(),
                },
            });
            continue;
        };
        let mut depends_on = Vec::new();
        if let Some(m) = plan.managed.get(&image.name) {
            depends_on.extend(
                m.bases
                    .iter()
                    .chain(&m.pinned)
                    .map(|id| relation(id, "base-image")),
            );
            depends_on.extend(m.parents.iter().map(|p| relation(p, "managed-image")));
        }
        depends_on.sort();
        let mut dependency_of = children.remove(image.name.as_str()).unwrap_or_default();
        dependency_of.sort();
        managed.push(Entity {
            api_version: API_VERSION.to_owned(),
            kind: "ManagedImage".to_owned(),
            metadata: EntityMeta {
                name: image.name.clone(),
                annotations: ann(&[
                    ("registry", Some(image.registry.clone())),
                    ("repository", Some(image.repository.clone())),
                    ("digest", s.and_then(|s| s.current_digest.clone())),
                    ("version", s.and_then(|s| s.current_version.clone())),
                    (
                        "last-built",
                        s.and_then(|s| s.last_built.map(|t| t.to_string())),
                    ),
                ]),
            },
            spec: EntitySpec {
                kind: "managed-image".to_owned(),
                lifecycle: "production".to_owned(),
                owner: SYSTEM.to_owned(),
                system: SYSTEM.to_owned(),
                source: Some(EntitySource {
                    provider: match source.provider {
                        Provider::Github => "github",
                        Provider::Gitlab => "gitlab",
                    }
                    .to_owned(),
                    repo: source.repo.clone(),
                    branch: source.branch.clone(),
                    dockerfile: source.dockerfile.clone(),
                    workflow: source.workflow.clone(),
                }),
                rebuild_policy: Some(RebuildPolicy {
                    delay: single_unit(image.rebuild_delay),
                    auto_rebuild: image.auto_rebuild,
                }),
                upstream: None,
                depends_on,
                dependency_of,
                dependents: Vec::new(),
            },
        });
    }
    for (id, base) in &state.bases {
        let Some(mut deps) = dependents.remove(id.as_str()) else {
            continue;
        };
        deps.sort();
        bases.push(Entity {
            api_version: API_VERSION.to_owned(),
            kind: "BaseImage".to_owned(),
            metadata: EntityMeta {
                name: id.clone(),
                annotations: ann(&[
                    ("registry", Some(base.registry.clone())),
                    ("repository", Some(base.repository.clone())),
                    ("tag", base.tag.clone()),
                    ("reference", Some(base.reference.clone())),
                    ("digest", base.current_digest.clone()),
                    ("last-updated", base.last_updated.map(|t| t.to_string())),
                ]),
            },
            spec: EntitySpec {
                kind: "base-image".to_owned(),
                lifecycle: "production".to_owned(),
                owner: "upstream".to_owned(),
                system: SYSTEM.to_owned(),
                source: None,
                rebuild_policy: None,
                upstream: Some(Upstream {
                    registry: base.registry.clone(),
                    repository: base.repository.clone(),
                    tag: base
                        .tag
                        .clone()
                        .or_else(|| base.pinned_digest.clone())
                        .unwrap_or_else(|| "latest".to_owned()),
                }),
                depends_on: Vec::new(),
                dependency_of: Vec::new(),
                dependents: deps,
            },
        });
    }
    managed.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    bases.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    managed.extend(bases);
    managed
}

/// Each entity as `(file name, YAML text)`: `managedimage-<name>.yaml`, `baseimage-<name>.yaml`.
pub fn files(images: &[EffectiveImage], state: &State, plan: &Plan) -> Vec<(String, String)> {
    entities(images, state, plan)
        .into_iter()
        .map(|e| {
            let name = format!("{}-{}.yaml", e.kind.to_lowercase(), e.metadata.name);
            (name, serde_saphyr::to_string(&e).unwrap_or_default())
        })
        .collect()
}

/// Each entity as a ConfigMap in `backstage.namespace` (default: the project namespace), labelled
/// with `backstage.label` (default [`DEFAULT_LABEL`]) `= "true"`.
pub fn config_maps(
    images: &[EffectiveImage],
    settings: &Settings,
    state: &State,
    plan: &Plan,
) -> Vec<ConfigMap> {
    let ns = settings
        .backstage
        .namespace
        .clone()
        .unwrap_or_else(|| settings.project.clone());
    let label = settings
        .backstage
        .label
        .clone()
        .unwrap_or_else(|| DEFAULT_LABEL.to_owned());
    entities(images, state, plan)
        .into_iter()
        .map(|e| {
            let name = names::label(&["catalog", &e.kind, &e.metadata.name]);
            let text = serde_saphyr::to_string(&e).unwrap_or_default();
            ConfigMap {
                api_version: CORE_API.to_owned(),
                kind: "ConfigMap".to_owned(),
                metadata: ObjectMeta {
                    name,
                    namespace: Some(ns.clone()),
                    labels: BTreeMap::from([
                        (label.clone(), "true".to_owned()),
                        (
                            crate::synthesize::MANAGED_BY.0.to_owned(),
                            crate::synthesize::MANAGED_BY.1.to_owned(),
                        ),
                    ]),
                    annotations: BTreeMap::new(),
                },
                data: BTreeMap::from([("entity.yaml".to_owned(), text)]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_in_one_unit() {
        assert_eq!(single_unit(Duration::from_days(7)), "7d");
        assert_eq!(single_unit(Duration::from_hours(36)), "36h");
        assert_eq!(single_unit(Duration::from_minutes(90)), "90m");
        assert_eq!(single_unit(Duration::ZERO), "0h");
    }
}

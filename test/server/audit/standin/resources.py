"""The resource types a stand-in can serve (rule 3 of the package docstring): ResourceType, the
built-in APPLICATIONS, TABLES, DYNAMODBTABLES, REPORTS and POLICYREPORTS (DEFAULT_KINDS), and
resource_type() to name one by resource or qualified name."""
import base64
import dataclasses
import hashlib
from typing import Optional

from .schema import POLICYREPORT_SCHEMA, REPORT_SCHEMA


_CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """A namespaced custom resource the stand-in can serve. schema=None keeps every field (like
    x-kubernetes-preserve-unknown-fields); a dict is a structural schema (see validate_schema)."""
    group: str
    version: str
    resource: str
    kind: str
    singular: str = ""
    short_names: tuple = ()
    categories: tuple = ()
    schema: Optional[dict] = dataclasses.field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def qualified(self) -> str:          # "reports.openreports.io" (GroupResource.String())
        return f"{self.resource}.{self.group}"

    @property
    def group_kind(self) -> str:         # "Report.openreports.io" (GroupKind.String())
        return f"{self.kind}.{self.group}"

    def discovery(self) -> dict:
        h = hashlib.sha256(f"{self.group}/{self.version}/{self.kind}".encode()).digest()[:8]
        d = {"name": self.resource, "singularName": self.singular or self.kind.lower(),
             "namespaced": True, "kind": self.kind, "verbs": list(_CR_VERBS)}
        if self.short_names:
            d["shortNames"] = list(self.short_names)
        if self.categories:
            d["categories"] = list(self.categories)
        d["storageVersionHash"] = base64.b64encode(h).decode()
        return d


APPLICATIONS = ResourceType("core.oam.dev", "v1beta1", "applications", "Application",
                            "application", ("app",), ("oam",))
TABLES = ResourceType("dynamodb.services.k8s.aws", "v1alpha1", "tables", "Table", "table",
                      (), ("aws",))
DYNAMODBTABLES = ResourceType("kro.run", "v1alpha1", "dynamodbtables", "DynamoDBTable",
                              "dynamodbtable")
REPORTS = ResourceType("openreports.io", "v1alpha1", "reports", "Report", "report", ("reps",),
                       schema=REPORT_SCHEMA)
POLICYREPORTS = ResourceType("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport",
                             "policyreport", ("polr",), schema=POLICYREPORT_SCHEMA)
DEFAULT_KINDS = (APPLICATIONS, TABLES, DYNAMODBTABLES, REPORTS, POLICYREPORTS)
_BY_NAME = {t.resource: t for t in DEFAULT_KINDS}
_BY_NAME.update({t.qualified: t for t in DEFAULT_KINDS})


def resource_type(name) -> ResourceType:
    """A ResourceType, or one of the built-in ones by resource name ("reports") or qualified
    name ("reports.openreports.io")."""
    if isinstance(name, ResourceType):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown resource {name!r}; known: "
                         + ", ".join(t.resource for t in DEFAULT_KINDS)) from None

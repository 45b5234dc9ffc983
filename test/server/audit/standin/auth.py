"""Authentication and authorization (rule 7 of the package docstring): bearer tokens and client
certificates (the certificate first, as in the apiserver's union authenticator), RBAC-like
grants per user, and the 403 with responsewriters.forbiddenMessage's text."""
from typing import Optional

from .httpserver import _Handler
from .status import ApiError, _details, _goq, status_failure


class _AuthMixin:
    """ApiServerStandin's tokens and grants (the state is set up by its constructor)."""

    # ------------------------------------------------------------------------- authentication
    def add_token(self, token: str, user: str) -> None:
        with self._lock:
            self._tokens[token] = user

    def remove_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    # -------------------------------------------------------------------------- authorization
    def allow(self, user: str, verbs="*", groups="*", resources="*",
              namespace: Optional[str] = None) -> None:
        """Grants `user` the verbs (get, list, watch, create, update, patch, delete,
        deletecollection) on the resources of the groups; each argument a name, a list of
        names or "*". namespace=None grants it in every namespace and at the cluster scope (a
        ClusterRoleBinding); a namespace name grants it there only (a RoleBinding)."""
        def norm(x):
            return frozenset([x]) if isinstance(x, str) else frozenset(x)
        with self._lock:
            self._rules.setdefault(user, []).append(
                (norm(verbs), norm(groups), norm(resources), namespace))

    def allow_all(self, user: str) -> None:
        self.allow(user, "*", "*", "*")

    def revoke(self, user: str) -> None:
        with self._lock:
            self._rules.pop(user, None)

    def authorized(self, user: str, verb: str, group: str, resource: str,
                   namespace: str = "") -> bool:
        with self._lock:
            for verbs, groups, resources, ns in self._rules.get(user, ()):
                if (("*" in verbs or verb in verbs) and ("*" in groups or group in groups)
                        and ("*" in resources or resource in resources)
                        and (ns is None or (namespace and ns == namespace))):
                    return True
        return False

    def _authenticate(self, h: _Handler) -> Optional[str]:
        # The union authenticator tries the client certificate before bearer tokens.
        if self.client_ca:
            cert = h.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return v
        auth = h.headers.get("Authorization", "")
        parts = auth.split(" ", 1)
        if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].strip():
            with self._lock:
                return self._tokens.get(parts[1].strip())
        return None

    def _forbidden(self, user, verb, group, resource, ns, name) -> ApiError:
        # responsewriters.forbiddenMessage wrapped by apierrors.NewForbidden.
        scope = f"in the namespace {_goq(ns)}" if ns else "at the cluster scope"
        why = (f"User {_goq(user)} cannot {verb} resource {_goq(resource)} in API group "
               f"{_goq(group)} {scope}")
        gr = f"{resource}.{group}" if group else resource
        head = f"{gr} {_goq(name)}" if name else gr
        return ApiError(status_failure(403, "Forbidden", f"{head} is forbidden: {why}",
                                       _details(name, group, resource)))

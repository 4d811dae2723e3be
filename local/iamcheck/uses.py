"""Every Google API use of each principal, derived from the code it runs.

A principal's code paths: a function runs ``functions/<name>/main.py`` and what it imports; the gateway VM runs
what its systemd units start (``ExecStart``: the executor, its watchdog, the supervisor, the health probe), its
startup script (``gcloud`` commands) and the Ops Agent. In those files:

- **Pub/Sub**: every ``<x>.publish(topic, message)`` (outside the publisher adapter) publishes to ``topic``;
  ``<x>.subscribe(path, ...)`` in a module using ``pubsub_v1`` consumes the subscription of ``path``.
- **Secret Manager**: ``<secrets>.read(name)`` / ``.write(name, value)`` / ``.delete(name)`` on a receiver named
  ``*secret*`` (``spreadpilot.secrets.Secrets``); a settings field typed ``SecretStr`` is a secret Cloud Run injects
  as its environment variable (terraform says which secret).
- **Cloud Storage**: in a module using ``google.cloud.storage``, ``.bucket(name)`` names the bucket; uploads create
  objects, downloads and signed GET URLs read them (a URL signed through IAM also signs a blob as the account).
- **Firestore**: a module using ``google.cloud.firestore`` reads and writes documents (no per-collection IAM).
- **Identity Platform**: in a module that calls ``identitytoolkit.googleapis.com``, each ``/accounts...`` path.

A Google client or URL used anywhere else, or a resource that does not resolve (``iamcheck.resolve``), is a
*problem*: the check cannot say what it needs, so it fails until the code names its resource plainly.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from iamcheck.accounts import EXECUTOR
from iamcheck.code import CodeBase, Module
from iamcheck.grants import BUCKET, OWN_ACCOUNT, PROJECT, SECRET, SUBSCRIPTION, TOPIC, Resource, secret_env
from iamcheck.resolve import WILDCARD, Prefix, Resolver, Text, Unknown, Value, settings_fields
from iamcheck.terraform import Terraform

PUBLISHER_ADAPTER = "spreadpilot.publisher"
SECRETS_ADAPTER = "spreadpilot.secrets"
IDENTITY_TOOLKIT = "identitytoolkit.googleapis.com"
# Identity Toolkit v1 admin paths → the permission Google documents for each (on the project).
IDENTITY_PERMISSIONS = {
    "": "firebaseauth.users.create", "update": "firebaseauth.users.update",
    "lookup": "firebaseauth.users.get", "batchGet": "firebaseauth.users.get", "query": "firebaseauth.users.get",
    "sendOobCode": "firebaseauth.users.sendEmail", "delete": "firebaseauth.users.delete",
    "batchDelete": "firebaseauth.users.delete",
}
STORAGE_CREATE = {"upload_from_string", "upload_from_file", "upload_from_filename", "compose"}
STORAGE_READ = {"download_as_bytes", "download_as_string", "download_as_text", "download_to_filename",
                "download_to_file", "exists", "reload", "open", "generate_signed_url"}
# Google URLs that need no IAM grant: the Sheets API is reached with the sheet shared to the key's e-mail, token
# certificates are public, OAuth scopes are names, not calls.
NO_IAM_URLS = ("https://sheets.googleapis.com", "https://www.googleapis.com/robot/v1/metadata/x509/",
               "https://www.googleapis.com/auth/")
# Google client packages and what recognises their calls (anything else is an unknown API).
KNOWN_CLIENTS = {"google.cloud.firestore", "google.cloud.pubsub_v1", "google.cloud.pubsub",
                 "google.cloud.secretmanager", "google.cloud.secretmanager_v1", "google.cloud.storage",
                 "google.auth", "google.auth.transport.requests", "google.oauth2"}
# A value that crosses Firestore, which the analysis cannot follow: (principal, module, parameter) → the resource
# and why. Each entry must still match a use in the code, or the check reports it as stale.
STORED_VALUES: dict[tuple[str, str, str], tuple[Resource, str]] = {
    ("admin_api", "admin_api.statements", "bucket"): (
        Resource(BUCKET, "statements"),
        "statement files are the gs:// paths reports stored in statements/{id} after uploading them"),
}
_BUCKET_REF = re.compile(r"^\$\{google_storage_bucket\.(\w+)\.name\}")


@dataclass(frozen=True, order=True)
class Use:
    """``principal`` needs ``permission`` on ``resource``, because of the code at ``where``."""

    principal: str
    permission: str
    resource: Resource
    where: str

    def describe(self) -> str:
        return f"{self.principal}: {self.permission} on {self.resource} ({self.where})"


@dataclass
class Derivation:
    """What one principal's code uses, and what could not be derived."""

    principal: str
    modules: list[Module]
    uses: list[Use] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stored_values_used: set[tuple[str, str, str]] = field(default_factory=set)

    def use(self, permission: str, resource: Resource, where: str) -> None:
        self.uses.append(Use(self.principal, permission, resource, where))

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.principal}: {text}")


# ---- principals and their code --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repo:
    """Where the code, the VM's files and terraform are (the repository, or a copy a test mutates)."""

    root: Path

    @property
    def functions(self) -> list[str]:
        import yaml

        declared = yaml.safe_load((self.root / "shared" / "spreadpilot" / "resources.yaml").read_text("utf-8"))
        return sorted(declared["functions"])

    @property
    def deploy(self) -> Path:
        return self.root / "gateway-vm" / "deploy"

    def terraform(self) -> Terraform:
        return Terraform.load(self.root / "terraform")


def vm_entries(repo: Repo, base: CodeBase) -> tuple[list[Path], list[str]]:
    """The Python files the VM's systemd units run, and the problems finding them."""
    entries: list[Path] = []
    problems: list[str] = []
    for unit in sorted((repo.deploy / "systemd").glob("*.service")):
        command = " ".join(line.split("=", 1)[1].rstrip("\\").strip() for line in _continued(unit)
                           if line.startswith("ExecStart="))
        words = shlex.split(command.replace("\\\n", " ")) if command else []
        for i, word in enumerate(words):
            if word.startswith("/opt/spreadpilot/deploy/") and word.endswith(".py"):
                entries.append(repo.deploy / word.removeprefix("/opt/spreadpilot/deploy/"))
            elif word == "-m" and i + 1 < len(words):
                found = base.find(words[i + 1] + ".__main__") or base.find(words[i + 1])
                if found is None:
                    problems.append(f"{unit.name} runs -m {words[i + 1]}, which is not in the repository")
                else:
                    entries.append(found)
    return entries, problems


def _continued(unit: Path) -> Iterator[str]:
    """The unit's lines with backslash continuations joined."""
    pending = ""
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""


def principals(repo: Repo) -> dict[str, tuple[CodeBase, list[Path]]]:
    """principal → (its code base, its entry files)."""
    shared = repo.root / "shared"
    found: dict[str, tuple[CodeBase, list[Path]]] = {}
    for name in repo.functions:
        folder = repo.root / "functions" / name
        found[name] = (CodeBase([folder, shared]), [folder / "main.py"])
    vm = CodeBase([repo.root / "gateway-vm", repo.deploy, shared])
    entries, _ = vm_entries(repo, vm)
    found[EXECUTOR] = (vm, entries)
    return found


# ---- derivation ---------------------------------------------------------------------------------------------


def derive(repo: Repo, tf: Terraform | None = None) -> list[Derivation]:
    """Every principal's uses."""
    tf = tf or repo.terraform()
    results = []
    for principal, (base, entries) in principals(repo).items():
        modules = base.reachable(entries)
        result = Derivation(principal, modules)
        if principal == EXECUTOR:
            _, problems = vm_entries(repo, base)
            result.problems.extend(f"{EXECUTOR}: {p}" for p in problems)
        resolver = Resolver(modules, settings_fields(modules), env_values(tf, principal))
        for module in modules:
            _scan(result, module, resolver)
        _secret_settings(result, resolver, tf)
        if principal == EXECUTOR:
            _startup_script(result, repo, tf)
        results.append(result)
    return results


def env_values(tf: Terraform, principal: str) -> dict[str, Value]:
    """The environment terraform gives ``principal`` (values as terraform writes them)."""
    loc = tf.locals
    if principal == EXECUTOR:
        return {"GOOGLE_CLOUD_PROJECT": Text("${var.project_id}")}
    env = {**loc.get("function_common_env", {}), **loc.get("function_derived_env", {}).get(principal, {})}
    return {k: Text(str(v)) for k, v in env.items()}


def _where(module: Module, node: ast.AST) -> str:
    return f"{module.name}:{getattr(node, 'lineno', '?')}"


def _receiver(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        target = call.func.value
        if isinstance(target, ast.Attribute):
            return target.attr
        if isinstance(target, ast.Name):
            return target.id
    return ""


def _imports(module: Module) -> set[str]:
    found = set()
    for base, name in module.import_list:
        found.add(base)
        if name:
            found.add(f"{base}.{name}")
    return found


def _scan(result: Derivation, module: Module, resolver: Resolver) -> None:
    imports = _imports(module)
    google = {i for i in imports if i.startswith(("google.cloud.", "google.auth", "google.oauth2", "googleapiclient"))}
    unknown = sorted(i for i in google if not any(i == k or i.startswith(k + ".") for k in KNOWN_CLIENTS)
                     and not i.startswith("google.cloud.secretmanager_v1.")
                     and i not in ("google.cloud.pubsub_v1.types",))
    for name in unknown:
        result.problem(f"{module.name} uses {name}, an API this check does not know: teach iamcheck.uses its calls")
    if "google.cloud.secretmanager" in imports and module.name != SECRETS_ADAPTER:
        result.problem(f"{module.name} uses Secret Manager directly: go through spreadpilot.secrets.Secrets")
    if "google.cloud.firestore" in imports:
        for permission in ("datastore.entities.get", "datastore.entities.update"):
            result.use(permission, Resource(PROJECT), module.name)
    storage = "google.cloud.storage" in imports
    identity = any(isinstance(n, ast.Constant) and isinstance(n.value, str) and IDENTITY_TOOLKIT in n.value
                   for n in module.nodes)
    subscriber = "google.cloud.pubsub_v1" in imports
    buckets: list[tuple[ast.Call, ast.expr]] = []
    storage_ops: list[tuple[ast.Call, str]] = []
    for node in module.nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            _check_url(result, module, node, identity)
            if identity:
                _identity_path(result, module, node)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Secrets":
                _secrets_binding(result, module, node)
            continue
        method = node.func.attr
        if method == "publish" and len(node.args) >= 2 and module.name != PUBLISHER_ADAPTER:
            _publish(result, module, node, resolver)
        elif method == "subscribe" and subscriber and node.args:
            _subscribe(result, module, node, resolver)
        elif method in ("read", "write", "delete") and "secret" in _receiver(node).lower() and node.args:
            _secret_call(result, module, node, method, resolver)
        elif storage and method == "bucket" and node.args:
            buckets.append((node, node.args[0]))
        elif storage and method in STORAGE_CREATE | STORAGE_READ:
            storage_ops.append((node, method))
    if storage_ops:
        _storage(result, module, resolver, buckets, storage_ops)


def _check_url(result: Derivation, module: Module, node: ast.Constant, identity_adapter: bool) -> None:
    text = str(node.value)
    if "googleapis.com" not in text or not re.match(r"^https?://\S+$", text):
        return  # prose (a docstring) is not a call
    if IDENTITY_TOOLKIT in text and identity_adapter:
        return
    if any(text.startswith(url) for url in NO_IAM_URLS):
        return
    result.problem(f"{_where(module, node)} calls {text!r}, a Google API this check does not know")


def _identity_path(result: Derivation, module: Module, node: ast.Constant) -> None:
    found = re.fullmatch(r"/accounts(?::(\w+))?", str(node.value))
    if not found:
        return
    permission = IDENTITY_PERMISSIONS.get(found.group(1) or "")
    if permission is None:
        result.problem(f"{_where(module, node)}: Identity Toolkit call {node.value!r} has no known permission")
    else:
        result.use(permission, Resource(PROJECT), _where(module, node))


def _resolved(result: Derivation, module: Module, node: ast.AST, values: frozenset[Value],
              what: str) -> Iterator[Text | Prefix]:
    for value in sorted(values, key=repr):
        if isinstance(value, Unknown):
            result.problem(f"{_where(module, node)}: the {what} does not resolve ({value.why})")
        else:
            yield value


def _publish(result: Derivation, module: Module, call: ast.Call, resolver: Resolver) -> None:
    for value in _resolved(result, module, call, resolver.values(call.args[0], module), "topic"):
        if isinstance(value, Text) and WILDCARD not in value.value:
            result.use("pubsub.topics.publish", Resource(TOPIC, value.value), _where(module, call))
        else:
            result.problem(f"{_where(module, call)}: the topic is only partly known ({value})")


def _subscribe(result: Derivation, module: Module, call: ast.Call, resolver: Resolver) -> None:
    for value in _resolved(result, module, call, resolver.values(call.args[0], module), "subscription path"):
        found = re.fullmatch(r"projects/[^/]+/subscriptions/([^/\uffff]+)", value.value)
        if isinstance(value, Text) and found:
            result.use("pubsub.subscriptions.consume", Resource(SUBSCRIPTION, found.group(1)), _where(module, call))
        else:
            result.problem(f"{_where(module, call)}: the subscription is only partly known ({value})")


def _secret_resources(result: Derivation, module: Module, call: ast.Call, resolver: Resolver) -> Iterator[Resource]:
    for value in _resolved(result, module, call, resolver.values(call.args[0], module), "secret name"):
        if isinstance(value, Text) and WILDCARD not in value.value:
            yield Resource(SECRET, value.value)
        else:
            yield Resource(SECRET, value.value.split(WILDCARD)[0], prefix=True)


def _secret_call(result: Derivation, module: Module, call: ast.Call, method: str, resolver: Resolver) -> None:
    where = _where(module, call)
    for resource in _secret_resources(result, module, call, resolver):
        if method == "read":
            result.use("secretmanager.versions.access", resource, where)
        elif method == "write":
            result.use("secretmanager.secrets.create", Resource(PROJECT), where)
            result.use("secretmanager.versions.add", resource, where)
        else:
            result.use("secretmanager.secrets.delete", resource, where)


def _secrets_binding(result: Derivation, module: Module, call: ast.Call) -> None:
    """A ``Secrets`` instance must be reached through a name with "secret" in it, so its calls are seen."""
    parent = module.parents.get(call)
    name = ""
    if isinstance(parent, ast.keyword):
        name = parent.arg or ""
    elif isinstance(parent, ast.Assign | ast.AnnAssign):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        name = " ".join(t.attr if isinstance(t, ast.Attribute) else t.id if isinstance(t, ast.Name) else ""
                        for t in targets)
    if "secret" not in name.lower():
        result.problem(f"{_where(module, call)}: bind Secrets(...) to a name with 'secret' in it (got {name!r}), so "
                       "the check sees its calls")


def _storage(result: Derivation, module: Module, resolver: Resolver, buckets: list[tuple[ast.Call, ast.expr]],
             ops: list[tuple[ast.Call, str]]) -> None:
    names: set[Resource] = set()
    for call, arg in buckets:
        for value in sorted(resolver.values(arg, module), key=repr):
            found = _BUCKET_REF.match(value.value) if isinstance(value, Text) else None
            key = (result.principal, module.name, ast.unparse(arg))
            if found:
                names.add(Resource(BUCKET, found.group(1)))
            elif key in STORED_VALUES:
                names.add(STORED_VALUES[key][0])
                result.stored_values_used.add(key)
            else:
                result.problem(f"{_where(module, call)}: the bucket does not resolve to a terraform bucket ({value})")
    if not names and ops:
        result.problem(f"{module.name} uses Cloud Storage without naming a bucket this check can resolve")
    for call, method in ops:
        permission = "storage.objects.create" if method in STORAGE_CREATE else "storage.objects.get"
        for bucket in sorted(names):
            result.use(permission, bucket, _where(module, call))
        signs_through_iam = method == "generate_signed_url" and any(
            k.arg in ("access_token", "service_account_email") for k in call.keywords)
        if signs_through_iam:
            result.use("iam.serviceAccounts.signBlob", Resource(OWN_ACCOUNT, result.principal), _where(module, call))


def _secret_settings(result: Derivation, resolver: Resolver, tf: Terraform) -> None:
    """``SecretStr`` settings are secrets Cloud Run injects as env; terraform maps each env var to its secret."""
    injected = secret_env(tf).get(result.principal, {})
    for spec in sorted(resolver.settings.values(), key=lambda s: s.name):
        if not spec.secret:
            continue
        envs = sorted(e for e in spec.env if e in injected)
        if not envs:
            result.problem(f"secret setting {spec.name} ({', '.join(sorted(spec.env))}) is injected from no secret: "
                           "map it in iam.tf's secret_accessors")
            continue
        result.use("secretmanager.versions.access", Resource(SECRET, injected[envs[0]]),
                   f"{spec.module.name}: {spec.name} (env {envs[0]})")


def _startup_script(result: Derivation, repo: Repo, tf: Terraform) -> None:
    script = repo.deploy / "startup.sh"
    text = script.read_text(encoding="utf-8")
    config = str(tf.resource("google_compute_instance", "gateway")["metadata"]["spreadpilot-config"])
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if "gcloud " not in code:
            continue
        where = f"startup.sh:{number}"
        command = re.search(r"gcloud ((?:[^|>)\"]|\"[^\"]*\")+)", code)
        words = shlex.split(command.group(1)) if command else []
        if words[:2] == ["storage", "cp"]:
            source = words[2]
            var = re.fullmatch(r"\$\{?(\w+)\}?", source)
            key = re.search(rf'{var.group(1)}="\$\(config_value (\w+)\)"', text) if var else None
            bucket = re.search(rf'{key.group(1)} *= *"gs://\$\{{google_storage_bucket\.(\w+)\.name\}}', config) \
                if key else None
            if bucket is None:
                result.problem(f"{where}: gcloud storage cp from {source}, which does not resolve to a bucket")
            else:
                result.use("storage.objects.get", Resource(BUCKET, bucket.group(1)), where)
        elif words[:3] == ["secrets", "versions", "access"] and "--secret" in words:
            name = words[words.index("--secret") + 1]
            literal = name.split("$", 1)[0]
            result.use("secretmanager.versions.access", Resource(SECRET, literal, prefix="$" in name), where)
        else:
            result.problem(f"{where}: gcloud {' '.join(words[:3])} is a call this check does not know")
    if "ops-agent.yaml" in text and "google-cloud-ops-agent" in text:
        # The Ops Agent ships logs and, by default, host metrics as the VM's service account.
        result.use("logging.logEntries.create", Resource(PROJECT), "ops-agent.yaml")
        result.use("monitoring.timeSeries.create", Resource(PROJECT), "ops-agent.yaml")

"""What hassfest, HACS and the brands rules check on a custom integration, from disk.

hassfest itself cannot run here (it lives in HA core's repository, not in the installed
package), so these tests encode its checks for custom integrations and read the rest
(manifest keys, core pins, brand image names, quality scale rules in use) from the
installed Home Assistant.
"""

import ast
from collections.abc import Iterator
import importlib
import json
import os
from pathlib import Path
import re
from typing import Any, get_args, get_type_hints
from unittest.mock import MagicMock
from urllib.parse import urlparse

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
import homeassistant
from homeassistant.bootstrap import CORE_INTEGRATIONS
from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.const import __version__ as ha_version
from homeassistant.loader import Manifest
from homeassistant.requirements import DISCOVERY_INTEGRATIONS
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image
import probatio as vol
from probatio.humanize import humanize_error
import pytest
import yaml
from zeroconf import BadTypeInNameException, service_type_name

ROOT = Path(__file__).parent.parent
DOMAIN = "smartplex"
INTEGRATION = ROOT / "custom_components" / DOMAIN
HA_COMPONENTS = Path(homeassistant.__file__).parent / "components"

MANIFEST_PATH = INTEGRATION / "manifest.json"
STRINGS_PATH = INTEGRATION / "strings.json"
TRANSLATIONS = INTEGRATION / "translations"
BRAND = INTEGRATION / "brand"
QUALITY_SCALE_PATH = INTEGRATION / "quality_scale.yaml"
CONFIG_FLOW_PATH = INTEGRATION / "config_flow.py"
HACS_PATH = ROOT / "hacs.json"

REQUIRED_FILES = [
    ROOT / "LICENSE",
    HACS_PATH,
    MANIFEST_PATH,
    STRINGS_PATH,
    TRANSLATIONS / "en.json",
    QUALITY_SCALE_PATH,
    BRAND / "icon.png",
    BRAND / "icon@2x.png",
]


def _load(path: Path) -> Any:
    """Return a JSON or YAML file's content, or an empty dict when it is absent."""
    if not path.is_file():
        return {}
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


MANIFEST: dict[str, Any] = _load(MANIFEST_PATH)
STRINGS: dict[str, Any] = _load(STRINGS_PATH)
TRANSLATION_FILES = sorted(TRANSLATIONS.glob("*.json"))


@pytest.mark.parametrize("path", REQUIRED_FILES, ids=_relative)
def test_required_file_exists(path: Path) -> None:
    assert path.is_file(), f"{_relative(path)} is missing"


# --- Repository (HACS) --------------------------------------------------------------

SKIPPED_DIRS = {"node_modules", "__pycache__"}

# Opening words of OSI-approved licenses, whitespace collapsed, with their SPDX id.
OSI_LICENSES = {
    "Apache License Version 2.0, January 2004": "Apache-2.0",
    "MIT License": "MIT",
    "GNU GENERAL PUBLIC LICENSE Version 3": "GPL-3.0-or-later",
    "GNU GENERAL PUBLIC LICENSE Version 2": "GPL-2.0-or-later",
    "GNU LESSER GENERAL PUBLIC LICENSE Version 3": "LGPL-3.0-or-later",
    "Mozilla Public License Version 2.0": "MPL-2.0",
    "BSD 3-Clause License": "BSD-3-Clause",
    "ISC License": "ISC",
}


def _repository_files(name: str) -> Iterator[Path]:
    """Yield every file called name in the repository, hidden folders (.venv) left out."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
        if name in files:
            yield Path(folder) / name


def _license_spdx() -> str | None:
    """Return the SPDX id of the OSI license in LICENSE, if it is one we know."""
    license_path = ROOT / "LICENSE"
    if not license_path.is_file():
        return None
    head = " ".join(license_path.read_text(encoding="utf-8")[:500].split())
    return next((spdx for title, spdx in OSI_LICENSES.items() if title in head), None)


def test_repository_has_exactly_one_manifest() -> None:
    """HACS refuses a repository with several integrations in it."""
    manifests = [_relative(path) for path in _repository_files("manifest.json")]
    assert manifests == [_relative(MANIFEST_PATH)]


def test_license_is_osi_approved_and_matches_pyproject() -> None:
    spdx = _license_spdx()
    assert spdx is not None, "LICENSE is not a known OSI-approved license"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'license = "{spdx}"' in pyproject


# --- manifest.json (hassfest's CUSTOM_INTEGRATION_MANIFEST_SCHEMA) ------------------

# Keys the loader's Manifest type describes, less the two the loader adds at runtime.
MANIFEST_KEYS = set(get_type_hints(Manifest)) - {"is_built_in", "overwrites_built_in"}
INTEGRATION_TYPES = set(get_args(get_type_hints(Manifest)["integration_type"])) - {
    "virtual"
}
# script/hassfest/manifest.py SUPPORTED_IOT_CLASSES.
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
# hassfest: domain, name, documentation, codeowners, iot_class, and version for a
# custom integration; HACS: codeowners, documentation, domain, issue_tracker, name,
# version.
REQUIRED_MANIFEST_KEYS = [
    "codeowners",
    "documentation",
    "domain",
    "iot_class",
    "issue_tracker",
    "name",
    "version",
]
# script/hassfest/manifest.py verify_version.
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def _core_pins() -> dict[str, set[str]]:
    """Return the versions HA core integrations pin, by canonical package name."""
    pins: dict[str, set[str]] = {}
    for manifest_path in HA_COMPONENTS.glob("*/manifest.json"):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for line in manifest.get("requirements", []):
            requirement = Requirement(line)
            pins.setdefault(canonicalize_name(requirement.name), set()).update(
                spec.version for spec in requirement.specifier if spec.operator == "=="
            )
    return pins


def test_manifest_keys_are_known() -> None:
    assert set(MANIFEST) - MANIFEST_KEYS == set()


@pytest.mark.parametrize("key", REQUIRED_MANIFEST_KEYS)
def test_manifest_has_required_key(key: str) -> None:
    assert MANIFEST.get(key), f"manifest.json needs a non-empty {key!r}"


def test_manifest_keys_sorted_domain_and_name_first() -> None:
    keys = list(MANIFEST)
    assert keys == ["domain", "name", *sorted(set(keys) - {"domain", "name"})]


def test_manifest_domain_is_folder_name() -> None:
    assert MANIFEST.get("domain") == INTEGRATION.name


def test_manifest_version_is_valid() -> None:
    version = AwesomeVersion(MANIFEST.get("version", ""))
    assert version.strategy in VERSION_STRATEGIES, f"{version!r} is not a version"


def test_manifest_iot_class_is_valid() -> None:
    assert MANIFEST.get("iot_class") in IOT_CLASSES


def test_manifest_integration_type_is_valid() -> None:
    assert MANIFEST.get("integration_type", "hub") in INTEGRATION_TYPES


@pytest.mark.parametrize("key", ["documentation", "issue_tracker"])
def test_manifest_url_is_https(key: str) -> None:
    url = urlparse(MANIFEST.get(key, ""))
    assert (url.scheme, bool(url.netloc)) == ("https", True), MANIFEST.get(key)


def test_manifest_documentation_is_our_own() -> None:
    """A custom integration documents itself, not at home-assistant.io (hassfest)."""
    assert not MANIFEST.get("documentation", "").startswith(
        "https://www.home-assistant.io/integrations"
    )


def test_domain_is_not_a_core_integration() -> None:
    """A custom domain that shadows a built-in integration draws a hassfest warning."""
    assert not (HA_COMPONENTS / DOMAIN).exists()


def test_manifest_codeowners_are_github_handles() -> None:
    codeowners = MANIFEST.get("codeowners", [])
    assert codeowners
    assert [owner for owner in codeowners if not owner.startswith("@")] == []


def test_manifest_requirements_are_pinned() -> None:
    unpinned = [
        line
        for line in MANIFEST.get("requirements", [])
        if [spec.operator for spec in Requirement(line).specifier] != ["=="]
    ]
    assert unpinned == []


def test_manifest_requirements_match_core_pins() -> None:
    """A package HA core also requires must be pinned identically, or installs clash."""
    core_pins = _core_pins()
    clashes = {}
    for line in MANIFEST.get("requirements", []):
        requirement = Requirement(line)
        ours = {spec.version for spec in requirement.specifier}
        core = core_pins.get(canonicalize_name(requirement.name), set())
        if core and ours != core:
            clashes[requirement.name] = {"ours": ours, "core": core}
    assert clashes == {}


def test_config_flow_module_matches_manifest() -> None:
    assert MANIFEST.get("config_flow", False) == CONFIG_FLOW_PATH.is_file()


# Manifest keys that make Home Assistant start a flow, with the step each one calls
# (script/hassfest/quality_scale_validation/discovery.py MANIFEST_KEYS).
DISCOVERY_KEYS = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")


def _lowercase(value: Any) -> str:
    if not isinstance(value, str) or value != value.lower():
        raise vol.Invalid("needs to be lowercase")
    return value


def _service_type(value: Any) -> str:
    """A DNS-SD service type python-zeroconf browses: _name._tcp.local. or _udp."""
    try:
        if service_type_name(value) == value:
            return str(value)
    except BadTypeInNameException as err:
        raise vol.Invalid(str(err)) from err
    raise vol.Invalid("a service type, not a service instance name")


# script/hassfest/manifest.py: a service type, or a matcher on it (the top-level
# macaddress, model and manufacturer matchers are deprecated, so not accepted here).
ZEROCONF_SCHEMA = vol.Schema(
    [
        vol.Any(
            vol.All(str, _service_type),
            vol.Schema(
                {
                    vol.Required("type"): vol.All(str, _service_type),
                    vol.Optional("name"): _lowercase,
                    vol.Optional("properties"): {str: _lowercase},
                }
            ),
        )
    ]
)


def _config_flow_class() -> type[ConfigFlow]:
    module = importlib.import_module(f"custom_components.{DOMAIN}.config_flow")
    (flow,) = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ConfigFlow)
        and obj.__module__ == module.__name__
    ]
    return flow


def test_manifest_zeroconf_entries_are_valid() -> None:
    entries = MANIFEST.get("zeroconf", [])
    try:
        ZEROCONF_SCHEMA(entries)
    except vol.Invalid as err:
        pytest.fail(f"manifest.json zeroconf: {humanize_error(entries, err)}")


def test_discoverable_flow_sets_a_unique_id() -> None:
    """hassfest: "Config flows that are discoverable need to set a unique ID"."""
    if any(MANIFEST.get(key) for key in DISCOVERY_KEYS):
        assert "self.async_set_unique_id" in CONFIG_FLOW_PATH.read_text("utf-8")


@pytest.mark.parametrize("key", [key for key in DISCOVERY_KEYS if key in MANIFEST])
def test_discovery_source_has_its_own_step(key: str) -> None:
    """Without its own step a discovery only opens the user step, with no address."""
    assert f"async_step_{key}" in vars(_config_flow_class())


# --- Python code (hassfest's config_schema and dependencies plugins) ---------------


def _module_names(tree: ast.Module) -> set[str]:
    """Names a module defines at its top level: functions and assignments."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _components_imported(tree: ast.Module) -> set[str]:
    """Home Assistant integrations a module imports from."""
    domains: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["homeassistant", "components"]:
                domains |= (
                    {parts[2]}
                    if len(parts) > 2
                    else {alias.name for alias in node.names}
                )
        elif isinstance(node, ast.Import):
            domains |= {
                alias.name.split(".")[2]
                for alias in node.names
                if alias.name.startswith("homeassistant.components.")
            }
    return domains


def test_async_setup_declares_a_config_schema() -> None:
    """An integration with async_setup must say what YAML it takes (CONFIG_SCHEMA)."""
    names = _module_names(ast.parse((INTEGRATION / "__init__.py").read_text("utf-8")))
    if names & {"async_setup", "setup"}:
        assert "CONFIG_SCHEMA" in names


def test_imported_integrations_are_dependencies() -> None:
    """Importing another integration needs it loaded first: declared, or our platform.

    Stricter than hassfest, which also lets any entity platform and a list of
    internal integrations through; here only what core always sets up is implied.
    """
    allowed = (
        set(CORE_INTEGRATIONS)
        | set(MANIFEST.get("dependencies", []))
        | set(MANIFEST.get("after_dependencies", []))
        | {
            domain
            for domain, keys in DISCOVERY_INTEGRATIONS.items()
            if any(key in MANIFEST for key in keys)
        }
    )
    undeclared = {
        f"{_relative(path)}: {domain}"
        for path in sorted(INTEGRATION.rglob("*.py"))
        for domain in _components_imported(ast.parse(path.read_text("utf-8")))
        if domain not in allowed
        and domain != DOMAIN
        and not (INTEGRATION / f"{domain}.py").is_file()
        and not (INTEGRATION / domain).is_dir()
    }
    assert undeclared == set()


# --- hacs.json, icons.json, services.yaml -------------------------------------------


def _minimum_ha_version(value: str) -> str:
    """Accept a minimum HA version this HA satisfies (the tests run on it)."""
    if AwesomeVersion(value) > AwesomeVersion(ha_version):
        raise vol.Invalid(f"newer than the installed Home Assistant {ha_version}")
    return value


def _mdi_icon(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("mdi:"):
        raise vol.Invalid("icons are Material Design Icons: 'mdi:...'")
    return value


def _nested_icons(value: Any) -> Any:
    """Every leaf of an icons.json section is an mdi icon."""
    if isinstance(value, dict):
        for item in value.values():
            _nested_icons(item)
        return value
    return _mdi_icon(value)


# The keys HACS accepts in hacs.json (hacs/integration's HACS_JSON schema).
HACS_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): vol.All(str, _minimum_ha_version),
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
    }
)
# script/hassfest/icons.py, for an integration that is not an entity component.
ICONS_SCHEMA = vol.Schema(
    {
        vol.Optional(section): _nested_icons
        for section in ("config", "entity", "issues", "options", "services")
    }
)
SERVICE_FIELD = vol.Schema(
    {
        vol.Optional("selector"): dict,
        vol.Optional("required"): bool,
        vol.Optional("example"): object,
        vol.Optional("default"): object,
        vol.Optional("advanced"): bool,
        vol.Optional("filter"): dict,
    }
)
SERVICE_SECTION = vol.Schema(
    {vol.Optional("collapsed"): bool, vol.Required("fields"): {str: SERVICE_FIELD}}
)
SERVICES_SCHEMA = vol.Schema(
    {
        str: vol.Any(
            None,
            vol.Schema(
                {
                    vol.Optional("target"): vol.Any(None, dict),
                    vol.Optional("fields"): {
                        str: vol.Any(SERVICE_SECTION, SERVICE_FIELD)
                    },
                }
            ),
        )
    }
)
METADATA_SCHEMAS = {
    HACS_PATH: HACS_SCHEMA,
    INTEGRATION / "icons.json": ICONS_SCHEMA,
    INTEGRATION / "services.yaml": SERVICES_SCHEMA,
}


@pytest.mark.parametrize(
    "path", [path for path in METADATA_SCHEMAS if path.is_file()], ids=_relative
)
def test_metadata_file_is_valid(path: Path) -> None:
    content = _load(path)
    try:
        METADATA_SCHEMAS[path](content)
    except vol.Invalid as err:
        pytest.fail(f"{_relative(path)}: {humanize_error(content, err)}")


# --- Brand images (HA 2026.3+: served from the integration's brand/ folder) ---------


def _brand_size_problem(name: str, width: int, height: int) -> str | None:
    """Check one image against the home-assistant/brands size rules."""
    hdpi = 2 if "@2x" in name else 1
    if "icon" in name:
        expected = (256 * hdpi, 256 * hdpi)
        return None if (width, height) == expected else f"must be {expected}"
    if not 128 * hdpi <= min(width, height) <= 256 * hdpi:
        return f"shortest side must be {128 * hdpi} to {256 * hdpi} pixels"
    return None


@pytest.mark.parametrize("path", sorted(BRAND.iterdir()), ids=lambda p: p.name)
def test_brand_image(path: Path) -> None:
    assert path.name in ALLOWED_IMAGES, "Home Assistant would not serve this file"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert _brand_size_problem(path.name, *image.size) is None
        left, top, right, bottom = image.convert("RGBA").getchannel("A").getbbox()
        width, height = image.size
    slack = max(width, height) // 100  # anti-aliased edges fade out
    assert max(left, width - right) <= slack or max(top, height - bottom) <= slack, (
        "the image should be trimmed to its content"
    )


# --- quality_scale.yaml ---------------------------------------------------------------

# script/hassfest/quality_scale.py ALL_RULES (home-assistant/core), plus docs-conditions
# and docs-triggers added to Bronze in 2026.
QUALITY_SCALE_RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}
ALL_RULES = {rule for rules in QUALITY_SCALE_RULES.values() for rule in rules}
# hassfest's rule schema; a todo also needs a comment, by this project's convention.
RULE_STATUS_SCHEMA = vol.Any(
    "done",
    vol.Schema({vol.Required("status"): "done", vol.Optional("comment"): str}),
    vol.Schema({vol.Required("status"): "todo", vol.Required("comment"): str}),
    vol.Schema({vol.Required("status"): "exempt", vol.Required("comment"): str}),
)
QUALITY_SCALE: dict[str, Any] = _load(QUALITY_SCALE_PATH).get("rules", {})


def test_known_rules_are_those_core_integrations_list() -> None:
    """Keep the list above in step with the installed HA (every core file lists all)."""
    in_core: set[str] = set()
    for path in HA_COMPONENTS.glob("*/quality_scale.yaml"):
        in_core |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    assert in_core == ALL_RULES


def test_quality_scale_lists_every_rule_and_no_other() -> None:
    assert {
        "missing": ALL_RULES - set(QUALITY_SCALE),
        "unknown": set(QUALITY_SCALE) - ALL_RULES,
    } == {"missing": set(), "unknown": set()}


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(rule, id=f"{tier}-{rule}")
        for tier, rules in QUALITY_SCALE_RULES.items()
        for rule in rules
    ],
)
def test_quality_scale_rule_status(rule: str) -> None:
    status = QUALITY_SCALE.get(rule)
    try:
        RULE_STATUS_SCHEMA(status)
    except vol.Invalid as err:
        pytest.fail(
            f"{rule}: {status!r} is not done, todo with a comment, or exempt with a "
            f"comment ({err})"
        )


def test_discovery_rule_done_needs_a_discovery_source() -> None:
    """script/hassfest/quality_scale_validation/discovery.py, for a done rule."""
    status = QUALITY_SCALE.get("discovery")
    if status == "done" or (isinstance(status, dict) and status["status"] == "done"):
        assert any(key in MANIFEST for key in DISCOVERY_KEYS)


# --- strings.json and translations --------------------------------------------------

KEY_REFERENCE = "[%key:"
HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)  # cv.string_with_no_html


def _leaves(
    tree: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (key path, value) for every leaf of a nested dict."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, tree


def _core_strings_sections() -> set[str]:
    """Top-level strings.json sections core hub, device and service integrations use."""
    sections: set[str] = set()
    for path in HA_COMPONENTS.glob("*/strings.json"):
        manifest = json.loads((path.parent / "manifest.json").read_text("utf-8"))
        if manifest.get("integration_type", "hub") in {"hub", "device", "service"}:
            sections |= set(json.loads(path.read_text(encoding="utf-8")))
    return sections


STRINGS_FILES = [STRINGS_PATH, *TRANSLATION_FILES]


def test_strings_sections_are_known() -> None:
    assert set(STRINGS) - _core_strings_sections() == set()


def test_english_translation_is_strings_json() -> None:
    """A custom integration ships translations/en.json itself; nothing generates it."""
    assert _load(TRANSLATIONS / "en.json") == STRINGS


@pytest.mark.parametrize("path", TRANSLATION_FILES, ids=lambda p: p.name)
def test_translation_has_the_keys_of_strings_json(path: Path) -> None:
    ours = {key for key, _ in _leaves(_load(path))}
    expected = {key for key, _ in _leaves(STRINGS)}
    assert {"missing": expected - ours, "extra": ours - expected} == {
        "missing": set(),
        "extra": set(),
    }


@pytest.mark.parametrize("path", STRINGS_FILES, ids=_relative)
def test_strings_are_plain_text_without_references(path: Path) -> None:
    """Nothing resolves [%key:...] for a custom integration; HA shows no HTML."""
    bad = {
        ".".join(key): value
        for key, value in _leaves(_load(path))
        if not isinstance(value, str) or KEY_REFERENCE in value or HTML.search(value)
    }
    assert bad == {}


def _flow_steps() -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Yield (path, step) for every config, subentry and options flow step."""
    flows = [("config",), ("options",)]
    flows += [
        ("config_subentries", kind) for kind in STRINGS.get("config_subentries", {})
    ]
    for flow in flows:
        section: Any = STRINGS
        for key in flow:
            section = section.get(key, {})
        for step_id, step in section.get("step", {}).items():
            yield (*flow, "step", step_id), step


@pytest.mark.parametrize(
    "step",
    [pytest.param(step, id=".".join(path)) for path, step in _flow_steps()],
)
def test_every_flow_field_has_a_description(step: dict[str, Any]) -> None:
    """The config-flow quality rule: each field explains itself in data_description."""
    assert set(step.get("data", {})) - set(step.get("data_description", {})) == set()


# --- Every string the code and YAML ask for exists in strings.json --------------------

FLOW_ABORTS = {
    "async_abort",
    "async_update_and_abort",
    "async_update_reload_and_abort",
    "_abort_if_unique_id_mismatch",
}


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments, to resolve translation keys."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign):
            target = node.target
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            constants[target.id] = node.value.value
    return constants


def _text(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _returned_texts(
    func: ast.AST, functions: dict[str, ast.AST], seen: set[str]
) -> Iterator[str]:
    """Yield the string literals a function can return, following its own helpers."""
    for node in ast.walk(func):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        for inner in ast.walk(node.value):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                if inner.value:
                    yield inner.value
            elif (
                isinstance(inner, ast.Call)
                and (name := _callee(inner)) in functions
                and name not in seen
            ):
                seen.add(name)
                yield from _returned_texts(functions[name], functions, seen)


def _error_texts(
    value: ast.expr, scope: ast.AST, functions: dict[str, ast.AST]
) -> Iterator[str]:
    """Yield the error keys an `errors[...] = value` can store.

    Follows a variable to its assignments in the same function, and a helper call
    (errors[...] = error, where info, error = await self._async_test(...)) to what
    the helper returns.
    """
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        yield value.value
    elif isinstance(value, ast.Call) and _callee(value) in functions:
        yield from _returned_texts(functions[_callee(value)], functions, set())
    elif isinstance(value, ast.Name):
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(name, ast.Name)
                and isinstance(name.ctx, ast.Store)
                and name.id == value.id
                for target in node.targets
                for name in ast.walk(target)
            ):
                yield from _error_texts(node.value, scope, functions)


def _flow_keys(
    cls: ast.ClassDef, functions: dict[str, ast.AST]
) -> Iterator[tuple[str, ...]]:
    """Yield the step, error, abort and progress keys a flow class uses."""
    for method in cls.body:
        for node in ast.walk(method):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "errors"
                for target in node.targets
            ):
                for error in _error_texts(node.value, method, functions):
                    yield ("error", error)
            # errors.update(_form_error(field, error)): the error is the second argument.
            if (
                isinstance(node, ast.Call)
                and _callee(node) == "update"
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "errors"
                and node.args
                and isinstance(helper := node.args[0], ast.Call)
                and _callee(helper) == "_form_error"
            ):
                for error in _error_texts(helper.args[1], method, functions):
                    yield ("error", error)
            # async_abort(reason=reason): every reason the variable can hold.
            if (
                isinstance(node, ast.Call)
                and _callee(node) in FLOW_ABORTS
                and isinstance(
                    reason := next(
                        (kw.value for kw in node.keywords if kw.arg == "reason"), None
                    ),
                    ast.Name,
                )
            ):
                for text in _error_texts(reason, method, functions):
                    yield ("abort", text)
    for node in ast.walk(cls):
        if not isinstance(node, ast.Call):
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords}
        callee = _callee(node)
        if (step_id := _text(keywords.get("step_id"), {})) is not None:
            yield ("step", step_id)
            if callee == "async_show_menu" and isinstance(
                options := keywords.get("menu_options"), ast.List
            ):
                for option in options.elts:
                    yield ("step", step_id, "menu_options", _text(option, {}) or "?")
        if (action := _text(keywords.get("progress_action"), {})) is not None:
            yield ("progress", action)
        if callee in FLOW_ABORTS and "translation_domain" not in keywords:
            reason = _text(keywords.get("reason"), {})
            if reason is None and callee == "_abort_if_unique_id_mismatch":
                reason = "unique_id_mismatch"  # its default; the others default to HA's
            if reason is not None:
                yield ("abort", reason)
        if callee == "_abort_if_unique_id_configured":
            yield ("abort", _text(keywords.get("error"), {}) or "already_configured")


def _flow_sections() -> dict[str, list[tuple[str, ...]]]:
    """Map each flow class in config_flow.py to the strings.json sections it fills."""
    module = importlib.import_module(f"custom_components.{DOMAIN}.config_flow")
    sections: dict[str, list[tuple[str, ...]]] = {}
    for name, obj in vars(module).items():
        if not isinstance(obj, type) or obj.__module__ != module.__name__:
            continue
        if issubclass(obj, ConfigFlow):
            sections.setdefault(name, []).append(("config",))
            for kind, flow in obj.async_get_supported_subentry_types(
                MagicMock()
            ).items():
                sections.setdefault(flow.__name__, []).append(
                    ("config_subentries", kind)
                )
        elif issubclass(obj, OptionsFlow):
            sections.setdefault(name, []).append(("options",))
    return sections


def _config_flow_strings() -> Iterator[tuple[tuple[str, ...], str]]:
    if not CONFIG_FLOW_PATH.is_file():
        return
    sections = _flow_sections()
    tree = ast.parse(CONFIG_FLOW_PATH.read_text(encoding="utf-8"))
    functions: dict[str, ast.AST] = {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("async_step_")
    }
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef):
            for section in sections.get(cls.name, []):
                for key in _flow_keys(cls, functions):
                    yield (*section, *key), f"{CONFIG_FLOW_PATH.name}:{cls.name}"


def _translation_key_strings() -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield the strings behind translation_key= arguments in the integration's code."""
    const_path = INTEGRATION / "const.py"
    shared = (
        _string_constants(ast.parse(const_path.read_text("utf-8")))
        if const_path.is_file()
        else {}
    )
    for path in sorted(INTEGRATION.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {**shared, **_string_constants(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            if "translation_key" not in keywords:
                continue
            key = _text(keywords["translation_key"], constants)
            callee = _callee(node)
            if key is None:
                continue
            if callee in {"async_create_issue", "create_issue"}:
                yield ("issues", key, "title"), path.name
            elif callee.endswith("EntityDescription"):
                yield ("entity", path.stem, key), path.name
            elif callee.endswith("SelectorConfig"):
                yield ("selector", key), path.name
            elif re.search(r"(Error|Exception|Failed|NotReady)$", callee):
                yield ("exceptions", key, "message"), path.name


def _service_strings() -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield the names and descriptions services.yaml needs from strings.json."""
    for service, spec in _load(INTEGRATION / "services.yaml").items():
        yield ("services", service, "name"), "services.yaml"
        yield ("services", service, "description"), "services.yaml"
        for field, field_spec in ((spec or {}).get("fields") or {}).items():
            if isinstance(field_spec, dict) and "fields" in field_spec:
                yield ("services", service, "sections", field, "name"), "services.yaml"
                fields = field_spec["fields"]
            else:
                fields = {field: field_spec}
            for name in fields:
                for text in ("name", "description"):
                    yield ("services", service, "fields", name, text), "services.yaml"


def _used_strings() -> list[Any]:
    used: dict[tuple[str, ...], str] = {}
    for sources in (_config_flow_strings, _translation_key_strings, _service_strings):
        for path, origin in sources():
            used.setdefault(path, origin)
    return [
        pytest.param(path, origin, id=".".join(path)) for path, origin in used.items()
    ]


def _lookup(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


@pytest.mark.parametrize(("path", "origin"), _used_strings())
def test_used_string_exists(path: tuple[str, ...], origin: str) -> None:
    assert _lookup(STRINGS, path), (
        f"{origin} uses {'.'.join(path)}, not in strings.json"
    )

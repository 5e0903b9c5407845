#!/usr/bin/env python3
"""Validates SIEM exports with definitions this project did not write (scripts/check-siem.sh runs it).

    validate_siem.py ocsf FILE             OCSF 1.5: each line through ocsf-emitter's generated models and its
                                           validator, plus: activity_name is the class's own name for
                                           activity_id, and no attribute the schema lacks (outside `unmapped`)
    validate_siem.py ecs FILE ECS_FLAT_YML ECS: every field exists in ecs_flat.yml with a value of its type,
                                           event.kind/category/type/outcome among the allowed values (type among
                                           the category's expected types), array fields as arrays; the custom
                                           field set `audit_log` (FORMAT.md, "SIEM formats") is skipped

Prints a summary (documents, classes or categories seen) and exits 1 with every problem found.
"""
import collections
import datetime
import ipaddress
import json
import sys


def fail(problems):
    for problem in problems[:50]:
        print("  " + problem, file=sys.stderr)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more", file=sys.stderr)
    sys.exit(1)


def lines(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            yield number, json.loads(line)


# OCSF


def extra_attributes(model, path=""):
    """Attributes present in `model` that its schema class does not define (pydantic `extra='allow'`)."""
    from pydantic import BaseModel

    found = []
    if isinstance(model, BaseModel):
        for name in (model.model_extra or {}):
            found.append(f"{path}{name}")
        for name in type(model).model_fields:
            if name == "unmapped":
                continue
            found += extra_attributes(getattr(model, name), f"{path}{name}.")
    elif isinstance(model, list):
        for i, item in enumerate(model):
            found += extra_attributes(item, f"{path[:-1]}[{i}].")
    return found


def validate_ocsf(path):
    import ocsf_emitter
    from ocsf_emitter import defaults, models

    problems, classes, count = [], collections.Counter(), 0
    for number, event in lines(path):
        count += 1
        spec = defaults.class_spec_by_uid(event.get("class_uid"))
        if spec is None:
            problems.append(f"line {number}: class_uid {event.get('class_uid')} is not an OCSF 1.5 class")
            continue
        try:
            instance = getattr(models, spec.model_name).model_validate(event)
            ocsf_emitter.validate(instance)
        except Exception as error:  # the validator's errors name the fields
            detail = getattr(error, "field_errors", None) or [str(error)]
            problems.append(f"line {number} ({spec.class_name}): {'; '.join(map(str, detail))}")
            continue
        activity = spec.action(event["activity_id"])
        if event.get("activity_name", "").lower() != activity.name.replace("_", " ").lower():
            problems.append(
                f"line {number}: activity_name {event.get('activity_name')!r} is not {activity.name} "
                f"(activity_id {event['activity_id']} of {spec.class_name})")
        if event.get("type_name") != f"{spec.class_name}: {event.get('activity_name')}":
            problems.append(f"line {number}: type_name {event.get('type_name')!r}")
        for name in extra_attributes(instance):
            problems.append(f"line {number}: {name} is not an attribute of {spec.class_name} in OCSF 1.5")
        classes[f"{spec.class_uid} {spec.class_name}: {event['activity_name']}"] += 1
    print(f"OCSF: {count} events valid against OCSF {defaults.OCSF_SCHEMA_VERSION}" if not problems else
          f"OCSF: {len(problems)} problems in {count} events")
    for name, n in sorted(classes.items()):
        print(f"  {n:6d}  {name}")
    if problems:
        fail(problems)


# ECS

STRINGS = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text"}
INTEGERS = {"long": 2**63, "integer": 2**31, "short": 2**15, "byte": 2**7}


def check_value(name, kind, value):
    if kind in STRINGS:
        return isinstance(value, str)
    if kind in INTEGERS:
        return isinstance(value, int) and not isinstance(value, bool) and -INTEGERS[kind] <= value < INTEGERS[kind]
    if kind in {"float", "scaled_float", "double", "half_float"}:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True
        except (AttributeError, ValueError):
            return False
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except (TypeError, ValueError):
            return False
    raise ValueError(f"{name}: type {kind} not handled by this validator")


def validate_ecs(path, definitions_path):
    import yaml

    with open(definitions_path, encoding="utf-8") as f:
        fields = yaml.safe_load(f)
    allowed = {name: {v["name"]: v for v in spec["allowed_values"]}
               for name, spec in fields.items() if spec.get("allowed_values")}
    problems, categories, count = [], collections.Counter(), 0

    def walk(number, prefix, value):
        if prefix == "audit_log":
            if not isinstance(value, dict):
                problems.append(f"line {number}: audit_log is not an object")
            return
        spec = fields.get(prefix)
        if spec is not None and spec["type"] in {"object", "flattened", "nested"}:
            if spec["type"] == "object" and spec.get("object_type"):
                for key, item in (value.items() if isinstance(value, dict) else []):
                    if not check_value(f"{prefix}.{key}", spec["object_type"], item):
                        problems.append(f"line {number}: {prefix}.{key} is not a {spec['object_type']}: {item!r}")
            return
        if isinstance(value, dict) and spec is None:
            for key, item in value.items():
                walk(number, f"{prefix}.{key}" if prefix else key, item)
            return
        if spec is None:
            problems.append(f"line {number}: {prefix} is not an ECS field")
            return
        items = value if isinstance(value, list) else [value]
        if "array" in (spec.get("normalize") or []) and not isinstance(value, list):
            problems.append(f"line {number}: {prefix} should be an array")
        for item in items:
            if not check_value(prefix, spec["type"], item):
                problems.append(f"line {number}: {prefix} is not a {spec['type']}: {item!r}")
            if prefix in allowed and item not in allowed[prefix]:
                problems.append(f"line {number}: {prefix} {item!r} is not an allowed value")

    for number, document in lines(path):
        count += 1
        walk(number, "", document)
        event = document.get("event", {})
        for required in ("@timestamp", "ecs"):
            if required not in document:
                problems.append(f"line {number}: no {required}")
        for category in (event.get("category") if isinstance(event.get("category"), list) else []):
            expected = allowed["event.category"].get(category, {}).get("expected_event_types", [])
            for kind in event.get("type", []):
                if kind not in expected:
                    problems.append(f"line {number}: event.type {kind} is not expected for category {category}")
            categories[f"{category}: {', '.join(event.get('type', []))}"] += 1
    print(f"ECS: {count} documents valid against {definitions_path}" if not problems else
          f"ECS: {len(problems)} problems in {count} documents")
    for name, n in sorted(categories.items()):
        print(f"  {n:6d}  {name}")
    if problems:
        fail(problems)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "ocsf":
        validate_ocsf(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "ecs":
        validate_ecs(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

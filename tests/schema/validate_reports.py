#!/usr/bin/python3
"""Validates every report the test suite produced (and the golden reports)
against docs/report.schema.json. Usage: validate_reports.py SOURCE_DIR REPORT_DIR
Uses Debian's python3-jsonschema (hence /usr/bin/python3)."""
import glob
import json
import os
import sys

import jsonschema

source, report_dir = sys.argv[1], sys.argv[2]
schema = json.load(open(os.path.join(source, "docs", "report.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
files = sorted(glob.glob(os.path.join(report_dir, "*.json")))
produced = len(files)
files += sorted(glob.glob(os.path.join(source, "tests", "regression", "golden", "*.json")))
if produced == 0:
    print(f"no reports found in {report_dir}: the producing tests did not run")
    sys.exit(1)
failures = 0
for f in files:
    errors = sorted(validator.iter_errors(json.load(open(f))), key=lambda e: list(e.path))
    for e in errors[:5]:
        print(f"{f}: {'/'.join(str(p) for p in e.path)}: {e.message}")
    failures += bool(errors)
print(f"report schema: {len(files) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)

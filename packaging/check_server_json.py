"""Checks the server.json scripts/package wrote: valid against the MCP registry's
published schema (2025-12-11, as skillsaw carries it), naming the bundle it sits
beside (file name and SHA-256) and the version of every other artefact.

    python check_server_json.py <server.json> <bundle.mcpb> <manifest.json> <version>
"""

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path

import jsonschema


def main() -> int:
    server_path, bundle, manifest_path, version = sys.argv[1:5]
    server = json.loads(Path(server_path).read_text())
    schema_file = resources.files("skillsaw.schemas.mcp_registry.v2025_12_11") / "server.schema.json"
    schema = json.loads(schema_file.read_text())
    if server.get("$schema") != schema["$id"]:
        print(f"server.json: $schema is {server.get('$schema')}, the schema checked is {schema['$id']}")
        return 1
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(server), key=lambda e: list(e.path))
    for error in errors:
        print(f"server.json: {'/'.join(map(str, error.path)) or '(root)'}: {error.message}")
    if errors:
        return 1
    package = next(p for p in server["packages"] if p["registryType"] == "mcpb")
    digest = hashlib.sha256(Path(bundle).read_bytes()).hexdigest()
    manifest = json.loads(Path(manifest_path).read_text())
    problems = [
        (package["fileSha256"] == digest, f"fileSha256 {package['fileSha256']} is not the bundle's {digest}"),
        (package["identifier"].endswith("/" + Path(bundle).name), f"{package['identifier']} does not name {Path(bundle).name}"),
        (server["version"] == version, f"version {server['version']} is not the crate's {version}"),
        (package["version"] == version, f"package version {package['version']} is not {version}"),
        (manifest["version"] == version, f"the bundle's manifest says {manifest['version']}, not {version}"),
    ]
    for ok, message in problems:
        if not ok:
            print(f"server.json: {message}")
    if not all(ok for ok, _ in problems):
        return 1
    print(f"server.json: valid against {schema['$id']}; names {Path(bundle).name} (sha256 {digest[:16]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

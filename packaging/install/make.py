#!/usr/bin/env python3
"""Tenet's packages for people without a Rust toolchain, from the release binary.

    make.py --binary PATH --version X.Y.Z --out DIR

Writes into DIR:
  - npm/: the launcher package (bin `tenet`, optional dependencies on one package per
    platform, the pattern esbuild and Biome use) and the package for this machine's
    platform, which carries the binary; each packed with `npm pack` into a .tgz.
    Run on another platform, it writes that platform's package: the launcher names
    every platform Tenet is built for.
  - the wheel: the binary as the wheel's script `tenet`, the layout of maturin's `bin`
    bindings (as ruff ships), so that `uvx`, `pipx run` and `pip install` give a
    `tenet` command. Built here from the binary already checked, rather than by a
    second release build under maturin.
Both carry LICENSE-MIT and LICENSE-APACHE. Names are packaging/install/names.json's.
"""

import argparse
import base64
import hashlib
import json
import os
import platform as host
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LICENSES = ["LICENSE-MIT", "LICENSE-APACHE"]
SUMMARY = "Tenet: a team's engineering standards served to every AI assistant over MCP, from one binary"
# Every platform a release is built for: (npm's os-cpu, the wheel's platform tags).
PLATFORMS = {
    "linux-x64": ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "musllinux_1_2_x86_64"],
    "linux-arm64": ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "musllinux_1_2_aarch64"],
    "darwin-x64": ["macosx_10_12_x86_64"],
    "darwin-arm64": ["macosx_11_0_arm64"],
    "win32-x64": ["win_amd64"],
}


def this_platform():
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[host.system()]
    cpu = {"x86_64": "x64", "AMD64": "x64", "aarch64": "arm64", "arm64": "arm64"}[host.machine()]
    return f"{system}-{cpu}"


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def npm_pack(folder, out):
    """`npm pack` of `folder` into `out`; returns the tarball's path."""
    made = subprocess.run(["npm", "pack", "--json", "--pack-destination", out], cwd=folder,
                          check=True, capture_output=True, text=True)
    return os.path.join(out, json.loads(made.stdout)[0]["filename"])


def npm(binary, version, names, out):
    platform = this_platform()
    npm_out = os.path.join(out, "npm")
    os.makedirs(npm_out, exist_ok=True)
    common = {"version": version, "license": "MIT OR Apache-2.0", "description": SUMMARY,
              "keywords": ["mcp", "model-context-protocol", "engineering-standards"]}
    # The platform's package: the binary, for npm to install only where it runs.
    folder = os.path.join(npm_out, f"tenet-{platform}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "bin"))
    exe = "tenet.exe" if platform.startswith("win32") else "tenet"
    shutil.copy2(binary, os.path.join(folder, "bin", exe))
    os.chmod(os.path.join(folder, "bin", exe), 0o755)
    system, cpu = platform.split("-")
    write_json(os.path.join(folder, "package.json"), {
        "name": names["npm_platform"].replace("{platform}", platform), **common,
        "description": f"The tenet binary for {platform} (installed by {names['npm']})",
        "os": [system], "cpu": [cpu], "files": ["bin", *LICENSES], "preferUnplugged": True})
    # The launcher: `tenet` on PATH, whichever platform npm runs on.
    launcher = os.path.join(npm_out, "tenet")
    shutil.rmtree(launcher, ignore_errors=True)
    os.makedirs(launcher)
    shutil.copy2(os.path.join(HERE, "npm", "tenet.js"), os.path.join(launcher, "tenet.js"))
    write_json(os.path.join(launcher, "names.json"), {"npm_platform": names["npm_platform"]})
    write_json(os.path.join(launcher, "package.json"), {
        "name": names["npm"], **common, "bin": {"tenet": "tenet.js"},
        "files": ["tenet.js", "names.json", *LICENSES], "engines": {"node": ">=18"},
        "optionalDependencies": {names["npm_platform"].replace("{platform}", p): version for p in PLATFORMS}})
    tarballs = []
    for folder in (os.path.join(npm_out, f"tenet-{platform}"), launcher):
        for license in LICENSES:
            shutil.copy2(os.path.join(ROOT, license), folder)
        tarballs.append(npm_pack(folder, npm_out))
    return tarballs


def pep440(version):
    """A Cargo version as Python spells it: `0.2.0-rc.1` is `0.2.0rc1`."""
    release, _, pre = version.partition("-")
    if not pre:
        return release
    label, _, number = pre.partition(".")
    short = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc"}.get(label)
    if short is None or not (number or "0").isdigit():
        raise SystemExit(f"make.py: cannot spell the version {version} for Python (PEP 440)")
    return f"{release}{short}{number or 0}"


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel(binary, version, names, out):
    platform = this_platform()
    dist = names["pypi"].replace("-", "_")
    tags = PLATFORMS[platform]
    version = pep440(version)
    name = f"{dist}-{version}-py3-none-{'.'.join(tags)}.whl"
    info = f"{dist}-{version}.dist-info"
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    metadata = "\n".join([
        "Metadata-Version: 2.4", f"Name: {names['pypi']}", f"Version: {version}", f"Summary: {SUMMARY}",
        "License-Expression: MIT OR Apache-2.0", *[f"License-File: {license}" for license in LICENSES],
        "Requires-Python: >=3.8", "Description-Content-Type: text/markdown", "", readme])
    wheel_file = "\n".join(["Wheel-Version: 1.0", "Generator: tenet packaging/install/make.py",
                            "Root-Is-Purelib: false", *[f"Tag: py3-none-{tag}" for tag in tags], ""])
    with open(binary, "rb") as f:
        exe = f.read()
    script = "tenet.exe" if platform.startswith("win32") else "tenet"
    entries = [(f"{dist}-{version}.data/scripts/{script}", exe, 0o755)]
    for license in LICENSES:
        with open(os.path.join(ROOT, license), "rb") as f:
            entries.append((f"{info}/licenses/{license}", f.read(), 0o644))
    entries += [(f"{info}/METADATA", metadata.encode(), 0o644), (f"{info}/WHEEL", wheel_file.encode(), 0o644)]
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data, _ in entries) + f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode(), 0o644))
    path = os.path.join(out, name)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for entry, data, mode in entries:
            item = zipfile.ZipInfo(entry, date_time=(2026, 1, 1, 0, 0, 0))
            item.external_attr = (0o100000 | mode) << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(item, data)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(HERE, "names.json")) as f:
        names = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    for path in [*npm(args.binary, args.version, names, args.out), wheel(args.binary, args.version, names, args.out)]:
        print(path)


if __name__ == "__main__":
    sys.exit(main())

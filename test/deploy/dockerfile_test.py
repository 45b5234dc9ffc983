#!/usr/bin/python3
"""The Dockerfile, read as text: what only its text can tell (the image itself is built and run by
scripts/image-test.sh).

Usage: dockerfile_test.py dockerfile --source DIR
(see deploy_support.py for the exit codes; needs no helm).
"""
import fnmatch
import os
import re
import subprocess

from deploy_support import check, main


def read(path):
    with open(path) as f:
        return f.read()


# The build stage's command, which docs/install.md ("Build the image") states word for word.
BUILD_COMMAND = ("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDSW_BUILD_TESTS=OFF"
                 " && cmake --build build -j2 --target dynamodb-streams-webhook")


def dockerfile_stages(text):
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append({"from": rest.strip(), "ins": []})
        elif stages:
            stages[-1]["ins"].append((word, re.sub(r"\s+", " ", rest.strip())))
    return stages


def dockerignored(patterns, path):
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.strip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1))
        if pat.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(p, pat[3:]) for p in parts)
        if hit:
            ignored = not neg
    return ignored


def group_dockerfile(t):
    """What only the Dockerfile's text can tell. The built image itself (its config against the
    chart, its size, every shared library of the binary resolving inside it, `serve` answering
    as uid 65532) is checked by scripts/image-test.sh, which builds the Dockerfile for real."""
    src = t.source
    text = read(os.path.join(src, "Dockerfile"))
    check(not re.match(r"\s*#\s*syntax\s*=", text, re.I),
          "no `# syntax=` line (BuildKit would fetch a frontend image: offline builds fail)")
    stages = dockerfile_stages(text)
    check(len(stages) == 2, f"the Dockerfile has a build and a final stage: {[s['from'] for s in stages]}")
    if len(stages) < 2:
        return
    build, final = stages[0], stages[-1]
    # scripts/image-test.sh makes exactly these two base images locally
    check(re.fullmatch(r"--platform=\$BUILDPLATFORM\s+debian:bookworm\s+AS\s+build", build["from"], re.I) is not None,
          f"build stage is debian:bookworm AS build, on the build platform: {build['from']}")
    check(final["from"] == "--platform=$TARGETPLATFORM debian:bookworm-slim",
          f"final stage is the target platform's debian:bookworm-slim: {final['from']}")
    runs_b = " ; ".join(a for w, a in build["ins"] if w == "RUN")
    runs_f = " ; ".join(a for w, a in final["ins"] if w == "RUN")
    check(re.search(r"(^|\s|/)scripts/install-deps\.sh --build\b", runs_b) is not None,
          "build stage installs packages with scripts/install-deps.sh --build")
    check("install-deps.sh --runtime-only" in runs_f, "final stage installs runtime libraries with install-deps.sh --runtime-only")
    check("apt-get install" not in runs_b + runs_f, "no package is installed outside scripts/install-deps.sh")
    check(BUILD_COMMAND in runs_b, f"build stage runs the documented build command: {BUILD_COMMAND}")
    check(re.search(r"\bstrip\b", runs_b) is not None, "build stage strips the binary it ships")
    install = read(os.path.join(src, "docs", "install.md"))
    section = re.search(r"^## Build the image\n(.*?)^## ", install, re.S | re.M)
    check(section is not None and BUILD_COMMAND in section.group(1),
          "docs/install.md's \"Build the image\" states the build stage's command word for word")
    check(section is not None and re.search(r"docker build (-t \S+ )?\.\n", section.group(1)) is not None,
          "docs/install.md builds the image from the repository root")
    check(section is not None and "--platform linux/amd64,linux/arm64" in section.group(1),
          "docs/install.md builds the image for both platforms")
    # .dockerignore keeps developer build trees out of the context and every file the build copies in
    patterns = [l.strip() for l in read(os.path.join(src, ".dockerignore")).splitlines()
                if l.strip() and not l.startswith("#")]
    for p in ("build/CMakeCache.txt", "build-deploy/CMakeCache.txt", "build-asan/x", ".git/HEAD"):
        check(dockerignored(patterns, p), f".dockerignore excludes {p}")
    copied = [a.split()[:-1] for w, a in build["ins"] + final["ins"] if w == "COPY" and not a.startswith("--from")]
    copied = {p.rstrip("/") for srcs in copied for p in srcs}
    check("scripts/install-deps.sh" in copied, f"both stages copy scripts/install-deps.sh: {sorted(copied)}")
    tracked = subprocess.run(["git", "ls-files"], cwd=src, capture_output=True, text=True).stdout.split()
    needed = [f for f in tracked if any(f == c or f.startswith(c + "/") for c in copied)]
    check(len(needed) > 5, f"git lists the files the Dockerfile copies ({len(needed)})")
    kept = [f for f in needed if dockerignored(patterns, f)]
    check(not kept, f".dockerignore keeps every file the build copies (excluded: {kept[:5]})")


GROUPS = {"dockerfile": group_dockerfile}

if __name__ == "__main__":
    main(GROUPS)

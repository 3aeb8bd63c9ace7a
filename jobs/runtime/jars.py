"""The JVM jars the project needs, resolved once from Maven Central into a project-local cache.

`make setup` runs `python -m jobs.runtime.jars`: each Maven coordinate is resolved with Spark's own Ivy
resolver (`spark-submit --packages`) into `<paths.jar_cache>/ivy`, and the resulting jar files are
listed in `<paths.jar_cache>/manifest.json`. Every SparkSession afterwards puts exactly those files
on its class path through `spark.jars`, so no session needs the network. A second run finds the
manifest and downloads nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pyspark.find_spark_home import _find_spark_home

# Required: Delta Lake for the pinned Spark minor (4.1) and Scala 2.13 (brings delta-storage).
# 4.4.1 is on PyPI but not on Maven Central, so both sides are pinned at 4.4.0.
COORDINATES: tuple[str, ...] = ("io.delta:delta-spark_4.1_2.13:4.4.0",)
# Optional: GraphFrames for Spark 4 (brings graphframes-graphx-spark4). The Maven Central reachable
# from this project's machines serves no io.graphframes artifact at all, so setup tries it once,
# says so when it is refused, and the linkage step then uses its own DataFrame implementation of
# the same algorithm (features/graph.py). Where the jar resolves it is cached, and
# `linkage.engine: auto` (or `graphframes`) runs GraphFrames' connected components (jobs/linkage.py).
GRAPHFRAMES = "io.graphframes:graphframes-spark4_2.13:0.12.3"
OPTIONAL_COORDINATES: tuple[str, ...] = (GRAPHFRAMES,)
MANIFEST = "manifest.json"
# Maven Central only (Ivy's ibiblio resolver defaults to it). Spark's built-in chain would also
# look in ~/.m2, where a pom without its jar (left by another tool) makes the download fail.
_IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="central"/>
  <resolvers><ibiblio name="central" m2compatible="true"/></resolvers>
</ivysettings>
"""


class JarCacheError(RuntimeError):
    """The jar cache is missing or incomplete; the message says what and how to fix it."""


def _read_manifest(cache_dir: str | Path) -> dict[str, Any]:
    manifest_path = Path(cache_dir) / MANIFEST
    if not manifest_path.is_file():
        raise JarCacheError(
            f"no jar cache at {cache_dir}: run `make setup` (or python -m jobs.runtime.jars)"
        )
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    wanted = {"required": list(COORDINATES), "optional": list(OPTIONAL_COORDINATES)}
    if manifest.get("coordinates") != wanted:
        raise JarCacheError(
            f"jar cache at {cache_dir} was resolved for {manifest.get('coordinates')}, "
            f"the project needs {wanted}: run `make setup`"
        )
    return manifest


def cached_jars(cache_dir: str | Path) -> list[str]:
    """The jar files recorded in the manifest, checked to exist; raises naming the missing ones."""
    manifest = _read_manifest(cache_dir)
    jars = [str(Path(cache_dir) / name) for name in manifest["jars"]]
    missing = [jar for jar in jars if not Path(jar).is_file()]
    if missing:
        raise JarCacheError(
            f"jar cache at {cache_dir} lacks {', '.join(Path(m).name for m in missing)}: "
            f"delete {Path(cache_dir) / MANIFEST} and run `make setup`"
        )
    return jars


def graphframes_available(cache_dir: str | Path) -> bool:
    """True when the optional GraphFrames jar was resolved into the cache (so every session of
    the project has it on its class path)."""
    return GRAPHFRAMES in _read_manifest(cache_dir)["optional_resolved"]


def resolve(cache_dir: str | Path) -> list[str]:
    """Resolve every coordinate into the cache (only if not done yet) and return the jar files.

    A required coordinate that cannot be fetched stops with a JarCacheError naming it; an optional
    one is recorded as unavailable, so that the next run does not ask again.
    """
    cache = Path(cache_dir)
    try:
        return cached_jars(cache)
    except JarCacheError:
        pass
    ivy_dir = cache / "ivy"
    ivy_dir.mkdir(parents=True, exist_ok=True)
    for coordinate in COORDINATES:
        error = _fetch(coordinate, ivy_dir)
        if error:
            raise JarCacheError(f"could not fetch {coordinate} from Maven Central: {error}")
    resolved = []
    for coordinate in OPTIONAL_COORDINATES:
        error = _fetch(coordinate, ivy_dir)
        if error:
            print(f"optional {coordinate} is not available ({error}); continuing without it")
        else:
            resolved.append(coordinate)
    jars = sorted(
        p.relative_to(cache).as_posix()
        for p in (ivy_dir / "jars").glob("*.jar")
        if _artifact_id(p.name) not in _spark_artifact_ids()
    )
    manifest = {
        "coordinates": {"required": list(COORDINATES), "optional": list(OPTIONAL_COORDINATES)},
        "optional_resolved": resolved,
        "jars": jars,
    }
    (cache / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return cached_jars(cache)


def _artifact_id(jar_name: str) -> str:
    """`org.slf4j_slf4j-api-2.0.13.jar` (Ivy's naming) or `slf4j-api-2.0.17.jar` -> `slf4j-api`."""
    stem = (
        jar_name.removesuffix(".jar").split("_", 1)[-1]
        if "_" in jar_name.split("-")[0]
        else jar_name.removesuffix(".jar")
    )
    return re.sub(r"-\d[\w.\-]*$", "", stem)


def _spark_artifact_ids() -> set[str]:
    """Artifacts Spark already ships: their older copies pulled in by Delta must not shadow them."""
    return {_artifact_id(p.name) for p in (Path(_find_spark_home()) / "jars").glob("*.jar")}


def _fetch(coordinate: str, ivy_dir: Path) -> str | None:
    """Resolve one coordinate with Spark's Ivy into `ivy_dir`; None on success, else the reason."""
    print(f"resolving {coordinate} into {ivy_dir}", flush=True)
    spark_home = _find_spark_home()
    with tempfile.TemporaryDirectory() as tmp:
        noop = Path(tmp) / "noop.py"
        noop.write_text("")  # spark-submit resolves --packages before it runs the (empty) app
        settings = Path(tmp) / "ivysettings.xml"
        settings.write_text(_IVY_SETTINGS)
        result = subprocess.run(
            [
                str(Path(spark_home) / "bin" / "spark-submit"),
                *("--master", "local[1]", "--packages", coordinate),
                *("--conf", f"spark.jars.ivy={ivy_dir}"),
                *("--conf", f"spark.jars.ivySettings={settings}"),
                str(noop),
            ],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "SPARK_HOME": spark_home,
                "PYSPARK_PYTHON": sys.executable,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            },
            check=False,
        )
    if result.returncode == 0:
        return None
    reasons = [ln.strip() for ln in result.stderr.splitlines() if "module not found" in ln]
    tail = result.stderr.strip().splitlines()[-1:] or ["spark-submit failed"]
    return "; ".join(reasons[:3]) or tail[0]


def main(argv: list[str] | None = None) -> int:
    from jobs.runtime.conf import load_conf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default=None, help="conf file over conf/base.yaml")
    args = parser.parse_args(argv)
    cache = load_conf(args.conf).paths.jar_cache
    try:
        jars = resolve(cache)
    except JarCacheError as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 1
    print(f"jar cache ready: {len(jars)} jars in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
